/**
 * One input partition's processing, without Kafka: records in, alerts and dead letters out, and
 * the position that may be committed once those are acknowledged.
 *
 * The commit rule: the committed offset never passes an event that open state still needs (the
 * lowest offset held in the reorder buffer or any detection's state), else it is the next offset
 * to read. After a crash the partition is read again from there and its windows are rebuilt.
 *
 * Alerts already published are not published again. Each commit carries, as offset metadata, how
 * far processing had got: the last processed offset M and the watermark W. A stateless detection saw
 * an event before that commit exactly when its offset is <= M; an ordered one when, besides, its
 * time is < W (the engine releases what the watermark passes, and late events at once). A
 * re-derived alert whose trigger satisfies that was published already, and is dropped (counted).
 */
import type { Alert } from '../alerts/alert.js';
import type { AvroDecodeResult } from '../ecs/avro.js';
import { decodeEvent, eventFromDocument, type EcsEvent } from '../ecs/event.js';
import { normalize, type InputFormat } from '../ecs/normalize/index.js';
import type { Detection } from '../detectors/detection.js';
import { Engine } from '../engine.js';
import type { InputRecord, OutputRecord } from './client.js';
import { deadLetterRecord } from './deadLetter.js';

/** How far a previous owner of the partition had published, read back from the commit metadata. */
export interface ResumePoint {
  readonly publishedThrough: number;
  readonly watermark: number;
}

type DecodeResult =
  ReturnType<typeof decodeEvent> | { readonly ok: false; readonly reason: string; readonly detail: string };

export interface RecordOutcome {
  readonly alerts: readonly Alert[];
  /** Re-derived alerts dropped because they were published before the last commit. */
  readonly duplicates: readonly Alert[];
  readonly deadLetter?: { readonly record: OutputRecord; readonly reason: string };
}

export interface PartitionOptions {
  readonly detections: readonly Detection[];
  readonly deadLetterTopic: string;
  readonly latenessMs: number;
  /** Shape of the topic's records (normalized to ECS before detection). */
  readonly format?: InputFormat;
  readonly resume?: ResumePoint;
  readonly onLate?: (event: EcsEvent) => void;
}

const METADATA_VERSION = 1;

/** Commit metadata: `{"v":1,"m":<last processed offset>,"w":<watermark ms or null>}`. */
export function parseCommitMetadata(text: string | null | undefined): ResumePoint | undefined {
  if (text === null || text === undefined || text === '') return undefined;
  try {
    // librdkafka's node binding commits metadata with its C string's terminating NUL.
    const m = JSON.parse(text.replace(/\0+$/, '')) as { v?: unknown; m?: unknown; w?: unknown };
    if (m.v !== METADATA_VERSION || typeof m.m !== 'number') return undefined;
    return { publishedThrough: m.m, watermark: typeof m.w === 'number' ? m.w : Number.NEGATIVE_INFINITY };
  } catch {
    return undefined;
  }
}

export class PartitionProcessor {
  private readonly engine: Engine;
  private readonly deadLetterTopic: string;
  private readonly format: InputFormat;
  private resume: ResumePoint | undefined;
  private lastProcessed: number | undefined;
  /** Wall time each held trigger candidate was read, for the alert-delay metric. */
  private readonly readAt = new WeakMap<EcsEvent, number>();

  constructor(
    readonly topic: string,
    readonly partition: number,
    opts: PartitionOptions,
  ) {
    this.engine = new Engine(opts.detections, { latenessMs: opts.latenessMs, onLate: opts.onLate });
    this.deadLetterTopic = opts.deadLetterTopic;
    this.format = opts.format ?? 'ecs';
    this.resume = opts.resume;
  }

  /**
   * One record. `avro` is the record's value already decoded from the Avro wire format (Avro input
   * topics); otherwise the value is read as JSON.
   */
  process(record: InputRecord, now: number, avro?: AvroDecodeResult): RecordOutcome {
    const offset = Number(record.offset);
    this.lastProcessed = offset;
    const origin = { kind: 'kafka', topic: record.topic, partition: record.partition, offset: record.offset } as const;
    const raw = record.value ?? new Uint8Array(0);
    let res: DecodeResult;
    if (avro === undefined) res = decodeEvent(raw, origin, offset, this.format);
    else if (!avro.ok) res = avro;
    else {
      const n = this.format === 'ecs' ? { ok: true as const, doc: avro.doc } : normalize(avro.doc, this.format);
      res = n.ok ? eventFromDocument(n.doc, raw, origin, offset) : n;
    }
    if (!res.ok) {
      return {
        alerts: [],
        duplicates: [],
        deadLetter: {
          reason: res.reason,
          record: deadLetterRecord(record, this.deadLetterTopic, res.reason, res.detail),
        },
      };
    }
    this.readAt.set(res.event, now);
    return this.filterPublished(this.engine.push(res.event));
  }

  /** No record for `idleMs` of wall time: let event time move on and release what it passes. */
  advanceIdle(idleMs: number): RecordOutcome {
    return this.filterPublished(this.engine.advanceIdle(idleMs));
  }

  /** Wall time the alert's trigger event was read, when known. */
  triggerReadAt(alert: Alert): number | undefined {
    return this.readAt.get(alert.trigger);
  }

  /**
   * Where to commit once every output so far is acknowledged: the lowest offset still held, else
   * the next one to read; with the metadata a later owner resumes from. Undefined before the first
   * record.
   */
  commitPoint(): { offset: string; metadata: string } | undefined {
    if (this.lastProcessed === undefined) return undefined;
    const held = this.engine.oldestHeldArrival();
    const next = this.lastProcessed + 1;
    const offset = held !== undefined && held < next ? held : next;
    const published = Math.max(this.lastProcessed, this.resume?.publishedThrough ?? -1);
    const w = Math.max(this.engine.watermark, this.resume?.watermark ?? Number.NEGATIVE_INFINITY);
    const metadata = JSON.stringify({ v: METADATA_VERSION, m: published, w: Number.isFinite(w) ? w : null });
    return { offset: String(offset), metadata };
  }

  get watermark(): number {
    return this.engine.watermark;
  }

  get buffered(): number {
    return this.engine.buffered;
  }

  stateSizes(): Map<string, number> {
    return this.engine.stateSizes();
  }

  private filterPublished(alerts: readonly Alert[]): RecordOutcome {
    const r = this.resume;
    if (r === undefined || alerts.length === 0) return { alerts, duplicates: [] };
    const published = (a: Alert): boolean =>
      a.trigger.arrival <= r.publishedThrough && (!a.ordered || a.trigger.time < r.watermark);
    return { alerts: alerts.filter((a) => !published(a)), duplicates: alerts.filter(published) };
  }
}
