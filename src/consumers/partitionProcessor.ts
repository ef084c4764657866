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
import {
  decodeEvent,
  DEFAULT_MAX_MESSAGE_BYTES,
  eventFromDocument,
  MAX_DOCUMENT_DEPTH,
  type DecodeLimits,
  type EcsEvent,
} from '../ecs/event.js';
import { normalize, type InputFormat } from '../ecs/normalize/index.js';
import { interestsOf, type Detection } from '../detectors/detection.js';
import { FastPath, type FastPathScanner } from '../ecs/fastPath.js';
import { Engine } from '../engine.js';
import { OriginWatermarks } from '../routing/originWatermarks.js';
import { decodeRoutedRecord, originKey } from '../routing/routedEvent.js';
import type { Router } from '../routing/router.js';
import { Tuner, type TunedAlert } from '../tuning/tuner.js';
import { EMPTY_TUNING } from '../tuning/tuningConfig.js';
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
  /** The detections' alerts (re-derived duplicates removed), before tuning. */
  readonly alerts: readonly Alert[];
  /**
   * What to publish: the alerts that passed the tuning (exceptions, suppression, circuit breaker;
   * overrides applied), and follow-ups and summaries that fell due (src/tuning/tuner.ts).
   */
  readonly outputs: readonly TunedAlert[];
  /** Re-derived alerts dropped because they were published before the last commit. */
  readonly duplicates: readonly Alert[];
  /** Repartition records carrying the event to the keyed detections that can use it (router stage). */
  readonly routed: readonly OutputRecord[];
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
  /** The tuning stage (exceptions, suppression, …) of this partition; none: everything is published. */
  readonly tuner?: Tuner;
  /** Event time allowed ahead of the wall clock (Engine `maxAheadMs`; undefined, 0 or Infinity: no bound). */
  readonly maxAheadMs?: number;
  /** Called for each event further ahead of the wall clock than that (Engine `onFuture`). */
  readonly onFuture?: (event: EcsEvent, aheadMs: number) => void;
  /** Larger records are dead-lettered as `too_large` (default DEFAULT_MAX_MESSAGE_BYTES, 1 MiB). */
  readonly maxMessageBytes?: number;
  /** Deeper documents are dead-lettered as `too_deep` (default MAX_DOCUMENT_DEPTH). */
  readonly maxDepth?: number;
  /** Router stage: routes each readable event to the keyed detections' repartition topics. */
  readonly router?: Router;
  /** Called with the detection key of each repartition record (the routed-events metric). */
  readonly onRouted?: (detection: string) => void;
  /**
   * Detector stage: the records are repartition records (routedEvent.ts), not input messages, and
   * event time is the lowest watermark of the input partitions heard from (originWatermarks.ts):
   * one not heard for `silenceMs` stops holding it back; nothing moves until `warmupMs` after the
   * first record. latenessMs is then unused (the router stage applied it).
   */
  readonly routedInput?: { readonly silenceMs: number; readonly warmupMs: number };
  /**
   * Skip, without parsing them, the `ecs` records (and `auto` ones read as ECS) that no detection
   * could use (src/ecs/fastPath.ts);
   * default true. Off, every record takes the full path (the reference, for tests and benchmarks).
   */
  readonly fastPath?: boolean;
  /** The fast path's byte pass: `wasm` (default; `js` when its build is missing) or `js` (benchmarks, tests). */
  readonly fastPathScanner?: FastPathScanner;
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
  readonly tuner: Tuner;
  private readonly deadLetterTopic: string;
  private readonly format: InputFormat;
  private readonly limits: DecodeLimits;
  private readonly router: Router | undefined;
  private readonly onRouted: ((detection: string) => void) | undefined;
  /** Wall time of the last record that was not a heartbeat (idleness counts from it). */
  lastDataAt: number | undefined;
  /** Detector stage: the input partitions' watermarks (PartitionOptions.routedInput). */
  private readonly origins: OriginWatermarks | undefined;
  private resume: ResumePoint | undefined;
  private lastProcessed: number | undefined;
  private readonly fastPath: FastPath | undefined;
  /** Records the fast path skipped (read their time only). */
  skipped = 0;
  /** Wall time each held trigger candidate was read, for the alert-delay metric. */
  private readonly readAt = new WeakMap<EcsEvent, number>();

  constructor(
    readonly topic: string,
    readonly partition: number,
    opts: PartitionOptions,
  ) {
    this.engine = new Engine(opts.detections, {
      latenessMs: opts.latenessMs,
      onLate: opts.onLate,
      maxAheadMs: opts.maxAheadMs,
      onFuture: opts.onFuture,
      externalWatermark: opts.routedInput !== undefined,
    });
    this.limits = {
      maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      maxDepth: opts.maxDepth ?? MAX_DOCUMENT_DEPTH,
    };
    this.deadLetterTopic = opts.deadLetterTopic;
    this.format = opts.format ?? 'ecs';
    this.resume = opts.resume;
    this.tuner = opts.tuner ?? new Tuner(EMPTY_TUNING);
    this.router = opts.router !== undefined && opts.router.size > 0 ? opts.router : undefined;
    this.onRouted = opts.onRouted;
    this.origins =
      opts.routedInput === undefined
        ? undefined
        : new OriginWatermarks(opts.routedInput.silenceMs, opts.routedInput.warmupMs);
    const format = this.format;
    // Not on repartition records; on the input, an event is skipped only if neither a detection run
    // here nor one it is routed to could use it.
    const fast = opts.fastPath !== false && this.origins === undefined && (format === 'ecs' || format === 'auto');
    const interests = fast ? interestsOf([...opts.detections, ...(this.router?.detections ?? [])]) : undefined;
    this.fastPath =
      interests === undefined || !(format === 'ecs' || format === 'auto')
        ? undefined
        : FastPath.compile(interests, this.limits as Required<DecodeLimits>, format, opts.fastPathScanner);
  }

  /** The fast path's byte pass in use; undefined when nothing can be skipped here. */
  get fastPathScanner(): FastPathScanner | undefined {
    return this.fastPath?.scanner;
  }

  /**
   * One record. `avro` is the record's value already decoded from the Avro wire format (Avro input
   * topics); otherwise the value is read as JSON.
   */
  process(record: InputRecord, now: number, avro?: AvroDecodeResult): RecordOutcome {
    const offset = Number(record.offset);
    this.lastProcessed = offset;
    const raw = record.value ?? new Uint8Array(0);
    if (this.origins === undefined) this.lastDataAt = now;
    if (avro === undefined && this.fastPath !== undefined) {
      const time = this.fastPath.skippableTime(raw);
      const alerts = time >= 0 ? this.engine.observeUnwanted(time, now) : undefined;
      if (alerts !== undefined) {
        this.skipped++;
        return this.filterPublished(alerts);
      }
    }
    const origin = { kind: 'kafka', topic: record.topic, partition: record.partition, offset: record.offset } as const;
    let res: DecodeResult;
    if (this.origins !== undefined) {
      const r = decodeRoutedRecord(record.value, offset);
      if (r.kind === 'heartbeat') {
        this.origins.heard(r.origin, r.watermark, now, r.idle);
        return this.filterPublished(this.engine.advanceTo(this.origins.watermark(now)));
      }
      this.lastDataAt = now;
      if (r.kind === 'event') {
        const o = r.event.origin;
        if (o.kind === 'kafka') this.origins.heard(originKey(o.topic, o.partition), Number.NEGATIVE_INFINITY, now);
      }
      res = r.kind === 'event' ? { ok: true, event: r.event } : { ok: false, reason: r.reason, detail: r.detail };
    } else if (avro === undefined) res = decodeEvent(raw, origin, offset, this.format, this.limits);
    else if (!avro.ok) res = avro;
    else {
      const n = this.format === 'ecs' ? { ok: true as const, doc: avro.doc } : normalize(avro.doc, this.format);
      res = n.ok ? eventFromDocument(n.doc, raw, origin, offset, this.limits.maxDepth) : n;
    }
    if (!res.ok) {
      return {
        alerts: [],
        outputs: [],
        duplicates: [],
        routed: NONE,
        deadLetter: {
          reason: res.reason,
          record: deadLetterRecord(record, this.deadLetterTopic, res.reason, res.detail),
        },
      };
    }
    this.readAt.set(res.event, now);
    const routed = this.router?.route(res.event, this.onRouted) ?? NONE;
    const outcome = this.filterPublished(this.engine.push(res.event, now));
    return routed.length === 0 ? outcome : { ...outcome, routed };
  }

  /**
   * No record for `idleMs` of wall time: let event time move on and release what it passes. In the
   * detector stage, event time follows the input partitions' watermarks instead: `now` (wall
   * clock) tells which of them went silent.
   */
  advanceIdle(idleMs: number, now: number = Date.now()): RecordOutcome {
    if (this.origins !== undefined && !this.origins.allQuiet(now)) {
      return this.filterPublished(this.engine.advanceTo(this.origins.watermark(now)));
    }
    // Every input partition idle (or no heartbeat heard): event time moves on with this partition's
    // own idleness, from the newest event it holds.
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

  /**
   * Drops re-derived alerts published before the last commit, then tunes the rest. Duplicates go
   * before tuning: the tuning state restored with the partition already counted them.
   */
  private filterPublished(derived: readonly Alert[]): RecordOutcome {
    const r = this.resume;
    let alerts = derived;
    let duplicates: readonly Alert[] = NONE;
    if (r !== undefined && derived.length > 0) {
      const published = (a: Alert): boolean =>
        a.trigger.arrival <= r.publishedThrough && (!a.ordered || a.trigger.time < r.watermark);
      alerts = derived.filter((a) => !published(a));
      duplicates = derived.filter(published);
    }
    return { alerts, duplicates, outputs: this.tune(alerts), routed: NONE };
  }

  /** Tuning decisions on event time: windows close as the partition's watermark passes them. */
  private tune(alerts: readonly Alert[]): readonly TunedAlert[] {
    // Every record comes through here: most have no alert, and without open windows nothing can fall due.
    if (alerts.length === 0 && this.tuner.size === 0) return NO_OUTPUTS;
    const now = this.engine.watermark;
    const out: TunedAlert[] = [];
    for (const a of alerts) out.push(...this.tuner.decide(a, { events: a.events, now }).publish);
    if (Number.isFinite(now)) out.push(...this.tuner.advance(now));
    return out.length === 0 ? NO_OUTPUTS : out;
  }
}

/** An empty list of any kind (never written to). */
const NONE: readonly never[] = Object.freeze([]);
const NO_OUTPUTS: readonly TunedAlert[] = Object.freeze([]);
