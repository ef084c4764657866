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
 */
import { buildAlert, type Alert } from './alerts/alert.js';
import type { Detection, Finding } from './detectors/detection.js';
import type { EcsEvent } from './ecs/event.js';
import { ReorderBuffer } from './state/reorderBuffer.js';

export interface EngineOptions {
  /** Allowed lateness of the stream, ms of event time (push() only). */
  latenessMs?: number;
  /** Called for each late event (older than the watermark when it arrived). */
  onLate?: (event: EcsEvent) => void;
}

function isOrdered(d: Detection): boolean {
  return d.ordered ?? d.onWatermark !== undefined;
}

export class Engine {
  private readonly pending: Alert[] = [];
  private readonly stateless: { d: Detection; emit: (f: Finding) => void }[] = [];
  private readonly ordered: { d: Detection; emit: (f: Finding) => void }[] = [];
  private readonly buffer: ReorderBuffer;
  private readonly onLate: ((event: EcsEvent) => void) | undefined;
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
    this.buffer = new ReorderBuffer(opts.latenessMs ?? 0);
    this.onLate = opts.onLate;
  }

  /** In-order input: runs every detection on the event now; returns the alerts it completed. */
  process(event: EcsEvent): readonly Alert[] {
    for (const s of this.stateless) s.d.onEvent(event, s.emit);
    for (const o of this.ordered) o.d.onEvent(event, o.emit);
    this.notifyWatermark(event.time);
    return this.take();
  }

  /** Stream input: see the class comment. Returns the alerts completed by this arrival. */
  push(event: EcsEvent): readonly Alert[] {
    for (const s of this.stateless) s.d.onEvent(event, s.emit);
    if (this.ordered.length === 0) return this.take();
    if (!this.anyWants(event)) {
      this.buffer.observe(event.time);
    } else if (!this.buffer.push(event)) {
      this.onLate?.(event);
      for (const o of this.ordered) o.d.onEvent(event, o.emit);
    }
    this.releaseBuffered();
    return this.take();
  }

  /** The partition has been idle for `idleMs` of wall time: let event time move on. */
  advanceIdle(idleMs: number): readonly Alert[] {
    this.buffer.advanceIdle(idleMs);
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
