/**
 * The per-partition pipeline: events in, alerts out. Pure: no Kafka, no files, no wall clock.
 * `replay` and `run` are thin shells around it, so every detection is tested and benchmarked
 * without a broker.
 *
 * Two ways in:
 * - process(): the caller gives events already in order (replay sorts its files);
 * - push(): a stream (run). Stateless detections see each event at once; ordered ones see it
 *   through the reorder buffer (src/state/reorderBuffer.ts), in event-time order within the
 *   allowed lateness. Late events are counted and handed to the ordered detections at once.
 *
 * Time poisoning. In a stream, one event that claims to be from next year would raise the
 * watermark by a year: every window of the partition would close and every later event would be
 * late. So push() takes the wall clock and bounds how far event time may run ahead of it
 * (`maxAheadMs`):
 * - an event ahead of the clock by at most maxAheadMs (a host whose clock is a little fast) is
 *   ordered and detected as usual, but moves the partition's event time only up to the wall clock:
 *   its own release waits until the clock reaches it, and nobody else's events become late;
 * - an event further ahead is suspect. It is counted (onFuture) and shown to the stateless
 *   detections only (D1 still sees an RPC connection to the Internet from a host with a wrong
 *   clock), never to the ordered ones: they could not place it in time without letting it move the
 *   watermark, and holding it in their state would pin the partition's committed offset until the
 *   wall clock reached it. It is not dead-lettered: it was read, and its stateless result stands.
 * process() (replay: a sorted file, no wall clock) has no such bound: a sorted file's future event
 * comes last and delays nothing.
 */
import { buildAlert, type Alert } from './alerts/alert.js';
import type { Detection, Finding } from './detectors/detection.js';
import { detachRaw, type EcsEvent } from './ecs/event.js';
import { ReorderBuffer } from './state/reorderBuffer.js';

export interface EngineOptions {
  /** Allowed lateness of the stream, ms of event time (push() only). */
  latenessMs?: number;
  /** Called for each late event (older than the watermark when it arrived). */
  onLate?: (event: EcsEvent) => void;
  /**
   * How far, in ms, an event's time may run ahead of the wall clock given to push() (see the
   * module comment). Undefined, 0 or Infinity: no bound, push() ignores the clock (the engine
   * stays pure; `run` sets it, DEFAULT_MAX_AHEAD_MS unless configured).
   */
  maxAheadMs?: number;
  /** Called for each suspect event: more than maxAheadMs ahead of the wall clock. */
  onFuture?: (event: EcsEvent, aheadMs: number) => void;
  /**
   * The watermark is given by the caller (advanceTo()), not derived from the events' times: the
   * detector stage, whose events come from many input partitions, takes the lowest of their
   * watermarks (src/routing/originWatermarks.ts). latenessMs is then unused.
   */
  externalWatermark?: boolean;
}

/**
 * Five minutes: Kerberos's default tolerance for clock skew ("Maximum tolerance for computer clock
 * synchronization"), so a Windows domain whose clocks are further apart already fails to log on.
 * Within it, a fast clock costs only its own events a little delay (they move time no further than
 * the wall clock).
 */
export const DEFAULT_MAX_AHEAD_MS = 5 * 60_000;

function isOrdered(d: Detection): boolean {
  return d.ordered ?? d.onWatermark !== undefined;
}

export class Engine {
  private readonly pending: Alert[] = [];
  private readonly stateless: { d: Detection; emit: (f: Finding) => void }[] = [];
  private readonly ordered: { d: Detection; emit: (f: Finding) => void }[] = [];
  private readonly buffer: ReorderBuffer;
  private readonly onLate: ((event: EcsEvent) => void) | undefined;
  private readonly onFuture: ((event: EcsEvent, aheadMs: number) => void) | undefined;
  /** Undefined when there is no bound. */
  private readonly maxAheadMs: number | undefined;
  private lastWatermark = Number.NEGATIVE_INFINITY;

  constructor(
    readonly detections: readonly Detection[],
    opts: EngineOptions = {},
  ) {
    for (const d of detections) {
      const ordered = isOrdered(d);
      const entry = { d, emit: (finding: Finding) => void this.pending.push(buildAlert(finding, d.key, ordered)) };
      (ordered ? this.ordered : this.stateless).push(entry);
    }
    this.buffer = new ReorderBuffer(opts.latenessMs ?? 0, opts.externalWatermark ?? false);
    this.onLate = opts.onLate;
    this.onFuture = opts.onFuture;
    const ahead = opts.maxAheadMs;
    if (ahead !== undefined && !(ahead >= 0)) throw new RangeError(`maxAheadMs must be >= 0 (got ${ahead})`);
    this.maxAheadMs = ahead === undefined || ahead === 0 || ahead === Number.POSITIVE_INFINITY ? undefined : ahead;
  }

  /** In-order input: runs every detection on the event now; returns the alerts it completed. */
  process(event: EcsEvent): readonly Alert[] {
    for (const s of this.stateless) s.d.onEvent(event, s.emit);
    for (const o of this.ordered) o.d.onEvent(event, o.emit);
    this.notifyWatermark(event.time);
    return this.take();
  }

  /**
   * Stream input: see the module comment. `now` is the wall clock (epoch ms) when the event was
   * read; without it (or without maxAheadMs) event time is not bounded. Returns the alerts
   * completed by this arrival.
   */
  push(event: EcsEvent, now?: number): readonly Alert[] {
    let observeAs = event.time;
    if (now !== undefined && this.maxAheadMs !== undefined && event.time > now) {
      if (event.time - now > this.maxAheadMs) {
        this.onFuture?.(event, event.time - now);
        for (const s of this.stateless) s.d.onEvent(event, s.emit);
        return this.take();
      }
      observeAs = now;
    }
    for (const s of this.stateless) s.d.onEvent(event, s.emit);
    // Event time moves on also without ordered detections: the tuning's windows follow it (a
    // router stage runs only the stateless detection).
    if (this.ordered.length === 0 || !this.anyWants(event)) {
      this.buffer.observe(observeAs);
      return this.releaseAndTake();
    }
    // Held in the buffer, maybe kept in state: it must not pin the client's fetch buffer.
    detachRaw(event);
    if (!this.buffer.push(event, observeAs)) {
      this.onLate?.(event);
      for (const o of this.ordered) o.d.onEvent(event, o.emit);
    }
    return this.releaseAndTake();
  }

  /**
   * An event that no detection can use, known only by its time (the fast path proved it without
   * parsing it, src/ecs/fastPath.ts): exactly what push() does with such an event. Undefined when
   * the event is too far ahead of the clock: push() hands it to onFuture, so the caller must push
   * the decoded event instead.
   */
  observeUnwanted(time: number, now?: number): readonly Alert[] | undefined {
    let observeAs = time;
    if (now !== undefined && this.maxAheadMs !== undefined && time > now) {
      if (time - now > this.maxAheadMs) return undefined;
      observeAs = now;
    }
    // As push() does: event time moves on also without ordered detections (the tuning follows it).
    this.buffer.observe(observeAs);
    return this.releaseAndTake();
  }

  private releaseAndTake(): readonly Alert[] {
    this.releaseBuffered();
    return this.take();
  }

  /** The partition has been idle for `idleMs` of wall time: let event time move on. */
  advanceIdle(idleMs: number): readonly Alert[] {
    this.buffer.advanceIdle(idleMs);
    this.releaseBuffered();
    return this.take();
  }

  /** External watermark (EngineOptions.externalWatermark): event time has reached `watermark`. */
  advanceTo(watermark: number): readonly Alert[] {
    this.buffer.raise(watermark);
    this.releaseBuffered();
    return this.take();
  }

  /** End of input: release everything buffered. */
  flush(): readonly Alert[] {
    for (const e of this.buffer.drain()) for (const o of this.ordered) o.d.onEvent(e, o.emit);
    this.notifyWatermark(this.buffer.watermark);
    return this.take();
  }

  /** The stream's watermark: events older than this are late. */
  get watermark(): number {
    return this.buffer.watermark;
  }

  /** Events waiting in the reorder buffer. */
  get buffered(): number {
    return this.buffer.size;
  }

  /** Arrival of the oldest event still held (in the buffer or a detection's state), if any. */
  oldestHeldArrival(): number | undefined {
    let min = this.buffer.oldestArrival();
    for (const o of this.ordered) {
      const a = o.d.oldestHeldArrival?.();
      if (a !== undefined && (min === undefined || a < min)) min = a;
    }
    return min;
  }

  /** Entries held in state, by detection key (ordered detections that report it). */
  stateSizes(): Map<string, number> {
    const out = new Map<string, number>();
    for (const o of this.ordered) {
      const n = o.d.stateSize?.();
      if (n !== undefined) out.set(o.d.key, n);
    }
    return out;
  }

  private anyWants(event: EcsEvent): boolean {
    for (const o of this.ordered) if (o.d.wants === undefined || o.d.wants(event)) return true;
    return false;
  }

  private releaseBuffered(): void {
    const released = this.buffer.release();
    for (const e of released) for (const o of this.ordered) o.d.onEvent(e, o.emit);
    this.notifyWatermark(this.buffer.watermark);
  }

  private notifyWatermark(w: number): void {
    if (w <= this.lastWatermark) return;
    this.lastWatermark = w;
    for (const o of this.ordered) o.d.onWatermark?.(w);
  }

  private take(): readonly Alert[] {
    if (this.pending.length === 0) return NO_ALERTS;
    return this.pending.splice(0);
  }
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]);
