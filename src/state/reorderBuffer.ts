/**
 * Event-time ordering for one partition: a watermark and a reorder buffer.
 *
 * The watermark is the highest event time seen minus the allowed lateness. Events at or after the
 * watermark wait in a min-heap and are released in the total order of detections.md (time, then
 * event.sequence, then arrival) once the watermark passes them, so any arrival order within the
 * lateness gives the same sequence as the sorted stream. An event older than the watermark is
 * late: it is not buffered but handed back at once, for the caller to count and process.
 *
 * When the partition is idle, the caller advances time itself (advanceIdle), so a quiet partition
 * does not hold its last events back forever.
 */
import { compareEvents, type EcsEvent } from '../ecs/event.js';

const NOTHING: readonly EcsEvent[] = Object.freeze([]);

export class ReorderBuffer {
  private readonly heap: EcsEvent[] = [];
  private maxTime = Number.NEGATIVE_INFINITY;
  private mark = Number.NEGATIVE_INFINITY;

  /**
   * `external`: events do not move the watermark; the caller does (raise(), or advanceIdle() when
   * the sources are idle). The detector stage takes it from the router stage's heartbeats (src/routing/).
   */
  constructor(
    readonly latenessMs: number,
    readonly external = false,
  ) {
    if (!(latenessMs >= 0)) throw new Error(`lateness must be >= 0 (got ${latenessMs})`);
  }

  /** Every event still to come that is not late has time >= watermark. */
  get watermark(): number {
    return this.mark;
  }

  get size(): number {
    return this.heap.length;
  }

  /** The highest event time seen; -Infinity before the first event. */
  get maxEventTime(): number {
    return this.maxTime;
  }

  /**
   * Adds an event; returns false (and keeps nothing) when it is late. Call release() afterwards to
   * take what the watermark has passed. `observeAs` is the time the event moves event time on to:
   * its own, unless the caller holds back an event that claims to be ahead of the wall clock.
   */
  push(event: EcsEvent, observeAs: number = event.time): boolean {
    if (event.time < this.mark) return false;
    this.observe(observeAs);
    this.heapPush(event);
    return true;
  }

  /**
   * Notes the time of an event that is not buffered (no ordered detection wants it): event time
   * moves on with every event of the partition, not only with the ones kept.
   */
  observe(time: number): void {
    if (time > this.maxTime) {
      this.maxTime = time;
      if (!this.external) this.raise(this.maxTime - this.latenessMs);
    }
  }

  /** Raises the watermark (never lowers it). */
  raise(watermark: number): void {
    if (watermark > this.mark) this.mark = watermark;
  }

  /**
   * The partition has been idle for `idleMs` of wall time after its last event: event time is
   * taken to have moved on by as much, as if a heartbeat event had arrived.
   */
  advanceIdle(idleMs: number): void {
    if (this.maxTime === Number.NEGATIVE_INFINITY) return;
    this.raise(this.maxTime + idleMs - this.latenessMs);
  }

  /** Removes and returns, in order, the buffered events the watermark has passed (time < watermark). */
  release(): readonly EcsEvent[] {
    if (this.heap.length === 0 || this.heap[0]!.time >= this.mark) return NOTHING;
    const out: EcsEvent[] = [];
    while (this.heap.length > 0 && this.heap[0]!.time < this.mark) out.push(this.heapPop());
    return out;
  }

  /** Removes and returns everything, in order (end of input). */
  drain(): EcsEvent[] {
    const out: EcsEvent[] = [];
    while (this.heap.length > 0) out.push(this.heapPop());
    if (this.maxTime > this.mark) this.mark = this.maxTime;
    return out;
  }

  /** Lowest arrival (offset) among the buffered events; a linear scan, called once per commit. */
  oldestArrival(): number | undefined {
    let min: number | undefined;
    for (const e of this.heap) if (min === undefined || e.arrival < min) min = e.arrival;
    return min;
  }

  private heapPush(e: EcsEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compareEvents(h[parent]!, h[i]!) <= 0) break;
      [h[parent], h[i]] = [h[i]!, h[parent]!];
      i = parent;
    }
  }

  private heapPop(): EcsEvent {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && compareEvents(h[l]!, h[m]!) < 0) m = l;
        if (r < h.length && compareEvents(h[r]!, h[m]!) < 0) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}
