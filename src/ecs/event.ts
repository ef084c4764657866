/**
 * A decoded input event: the ECS document plus what the engine needs to order it (event time,
 * `event.sequence`, arrival) and to cite it in an alert (origin, fingerprint).
 */
import { createHash } from 'node:crypto';
import { field, isJsonObject, type JsonObject } from './fields.js';
import { firstKeyword, firstNumber, keywordEquals } from './values.js';
import { parseEventTime } from './time.js';
import { normalize, type InputFormat, type NormalizeReason } from './normalize/index.js';

/** Where an event was read: a Kafka record, or a line (1-based) of a replayed file. */
export type Origin =
  | { readonly kind: 'kafka'; readonly topic: string; readonly partition: number; readonly offset: string }
  | { readonly kind: 'file'; readonly file: string; readonly line: number };

export interface EcsEvent {
  readonly doc: JsonObject;
  /** Event time, epoch milliseconds (see time.ts). */
  readonly time: number;
  /** `event.sequence`, the tiebreaker at equal times; undefined sorts after any number. */
  readonly sequence: number | undefined;
  /** Arrival order within its partition or file: the Kafka offset or the line number. */
  readonly arrival: number;
  readonly origin: Origin;
  /**
   * The message exactly as read; alert ids are derived from it. May be a view into a larger buffer
   * (a Kafka fetch response) until detachRaw() copies it out, when the event is kept in state.
   */
  readonly raw: string | Uint8Array;
}

const TIMESTAMP = field('@timestamp');
const SEQUENCE = field('event.sequence');
const EVENT_ID = field('event.id');
const EVENT_DATASET = field('event.dataset');
const DATA_STREAM_DATASET = field('data_stream.dataset');

/** Why a message could not be read. Each is a label of the unreadable-events metric. */
export type UnreadableReason =
  | 'empty'
  | 'invalid_utf8'
  | 'invalid_json'
  | 'not_an_object'
  | 'missing_timestamp'
  | 'invalid_timestamp'
  /** Longer than the allowed message size (DecodeLimits.maxMessageBytes). */
  | 'too_large'
  /** Objects and arrays nested deeper than DecodeLimits.maxDepth. */
  | 'too_deep'
  /** A repartition-topic record picket did not write (src/routing/routedEvent.ts). */
  | 'invalid_routed_record'
  | NormalizeReason;

/**
 * Bounds on what a message may cost before picket reads it. Messages come from the network: a
 * hostile one must be refused cheaply, not read at whatever cost it asks for.
 */
export interface DecodeLimits {
  /**
   * Messages longer than this (bytes) are `too_large`, refused before they are decoded. Default:
   * no limit here; the stream path (PartitionProcessor) applies DEFAULT_MAX_MESSAGE_BYTES.
   */
  readonly maxMessageBytes?: number;
  /** Deepest nesting of objects and arrays read (the top-level object is 1). Default MAX_DOCUMENT_DEPTH. */
  readonly maxDepth?: number;
}

/**
 * Kafka's own default for the largest record (broker `message.max.bytes`, consumer
 * `max.partition.fetch.bytes`): 1 MiB. A real ECS event is a few KB (the largest Windows events,
 * PowerShell script blocks, are split by Windows at 32 KB).
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/**
 * JSON.parse reads any depth without recursion, but picket's readers (FieldPath, the detections'
 * category checks, alert building, JSON.stringify of an alert) recurse once per level, so a
 * document of a few hundred thousand `[` would overflow the stack. Real ECS is at most about 6
 * levels deep (Elasticsearch refuses mappings deeper than 20 by default); 64 leaves ample room
 * and keeps every recursive reader far from the stack's limit.
 */
export const MAX_DOCUMENT_DEPTH = 64;

export type DecodeResult =
  | { readonly ok: true; readonly event: EcsEvent }
  | { readonly ok: false; readonly reason: UnreadableReason; readonly detail: string };

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads one message strictly: UTF-8 (RFC 3629) and JSON (RFC 8259), never repaired. A readable
 * event is a JSON object with a usable `@timestamp`, after normalizing it to ECS from `format`
 * (src/ecs/normalize; `ecs` takes the document as it is).
 */
export function decodeEvent(
  raw: string | Uint8Array,
  origin: Origin,
  arrival: number,
  format: InputFormat = 'ecs',
  limits: DecodeLimits = {},
): DecodeResult {
  const maxBytes = limits.maxMessageBytes ?? Number.POSITIVE_INFINITY;
  const maxDepth = limits.maxDepth ?? MAX_DOCUMENT_DEPTH;
  let text: string;
  if (typeof raw === 'string') {
    // A string's UTF-8 length is between its length and three times it: count only when in doubt.
    if (raw.length * 3 > maxBytes && (raw.length > maxBytes || Buffer.byteLength(raw) > maxBytes)) {
      return tooLarge(Buffer.byteLength(raw), maxBytes);
    }
    text = raw;
  } else {
    if (raw.length === 0) return { ok: false, reason: 'empty', detail: 'empty message' };
    if (raw.length > maxBytes) return tooLarge(raw.length, maxBytes);
    try {
      text = utf8.decode(raw);
    } catch {
      return { ok: false, reason: 'invalid_utf8', detail: 'message is not valid UTF-8' };
    }
  }
  if (text.length === 0) return { ok: false, reason: 'empty', detail: 'empty message' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: (err as Error).message.slice(0, 200) };
  }
  // Checked before normalizing too: the normalizers do not recurse, but what they copy does.
  if (nestsDeeperThan(doc, maxDepth)) return tooDeep(maxDepth);
  if (format !== 'ecs' && isJsonObject(doc)) {
    const parsed = doc;
    const n = normalize(doc, format);
    if (!n.ok) return { ok: false, reason: n.reason, detail: n.detail };
    doc = n.doc;
    // ECS passes through as the same object, already checked; a normalized document is new.
    if (doc === parsed) return readEvent(doc, raw, origin, arrival);
  }
  return eventFromDocument(doc, raw, origin, arrival, maxDepth);
}

/** The second half of decoding, for callers that already hold a parsed document. */
export function eventFromDocument(
  doc: unknown,
  raw: string | Uint8Array,
  origin: Origin,
  arrival: number,
  maxDepth = MAX_DOCUMENT_DEPTH,
): DecodeResult {
  if (nestsDeeperThan(doc, maxDepth)) return tooDeep(maxDepth);
  return readEvent(doc, raw, origin, arrival);
}

function readEvent(doc: unknown, raw: string | Uint8Array, origin: Origin, arrival: number): DecodeResult {
  if (!isJsonObject(doc)) {
    const kind = Array.isArray(doc) ? 'an array' : doc === null ? 'null' : `a ${typeof doc}`;
    return { ok: false, reason: 'not_an_object', detail: `JSON value is ${kind}, not an object` };
  }
  const ts = TIMESTAMP.values(doc);
  if (ts.length === 0) return { ok: false, reason: 'missing_timestamp', detail: 'no @timestamp' };
  const time = parseEventTime(ts[0]);
  if (time === undefined) {
    const shown = JSON.stringify(ts[0]) ?? String(ts[0]);
    return { ok: false, reason: 'invalid_timestamp', detail: `@timestamp ${shown.slice(0, 64)} is not a usable time` };
  }
  const sequence = firstNumber(doc, SEQUENCE);
  return { ok: true, event: { doc, time, sequence, arrival, origin, raw } };
}

function tooLarge(bytes: number, max: number): DecodeResult {
  return { ok: false, reason: 'too_large', detail: `message of ${bytes} bytes is larger than ${max} bytes` };
}

function tooDeep(max: number): DecodeResult {
  return { ok: false, reason: 'too_deep', detail: `objects and arrays nested more than ${max} levels deep` };
}

/**
 * True when `v` nests objects and arrays more than `max` levels (a top-level object or array is
 * level 1). Recursive, but never more than `max` frames deep; stops at the first level too deep.
 */
export function nestsDeeperThan(v: unknown, max: number): boolean {
  if (typeof v !== 'object' || v === null) return false;
  if (max <= 0) return true;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === 'object' && x !== null && nestsDeeperThan(x, max - 1)) return true;
    }
    return false;
  }
  const o = v as JsonObject;
  // JSON.parse makes only own, enumerable properties; `o[k]` of an own `__proto__` reads that own one.
  for (const k in o) {
    const x = o[k];
    if (typeof x === 'object' && x !== null && nestsDeeperThan(x, max - 1)) return true;
  }
  return false;
}

/** Total order of detections.md: event time, then `event.sequence` (missing last), then arrival. */
export function compareEvents(a: EcsEvent, b: EcsEvent): number {
  if (a.time !== b.time) return a.time - b.time;
  if (a.sequence !== b.sequence) {
    if (a.sequence === undefined) return 1;
    if (b.sequence === undefined) return -1;
    return a.sequence - b.sequence;
  }
  return a.arrival - b.arrival;
}

/** `event.dataset` and `data_stream.dataset` are interchangeable. */
export function datasetIs(doc: JsonObject, dataset: string): boolean {
  return keywordEquals(doc, EVENT_DATASET, dataset) || keywordEquals(doc, DATA_STREAM_DATASET, dataset);
}

export function eventId(event: EcsEvent): string | undefined {
  return firstKeyword(event.doc, EVENT_ID);
}

/**
 * Gives the event its own copy of `raw` when it is a view into a larger buffer. A Kafka client
 * hands each record's value as a slice of the fetch response (megabytes); an event kept in state
 * for minutes (a mapper flow in D2, the first event of a D4 bucket) would keep that whole response
 * alive, and memory would grow with the input rate (seen in the soak: +350 MB/min at 5 k events/s).
 */
export function detachRaw(event: EcsEvent): void {
  const raw = event.raw;
  if (typeof raw === 'string' || raw.byteLength === raw.buffer.byteLength) return;
  const copy = Buffer.from(new ArrayBuffer(raw.byteLength));
  copy.set(raw);
  (event as { raw: string | Uint8Array }).raw = copy;
}

const fingerprints = new WeakMap<EcsEvent, string>();

/**
 * Gives an event the fingerprint of the message it was first read from: a routed event
 * (src/routing/routedEvent.ts) carries its input message's fingerprint, so its alerts have the ids
 * the same events read straight from the input would give.
 */
export function setFingerprint(event: EcsEvent, fp: string): void {
  fingerprints.set(event, fp);
}

/** A stable identity of the message bytes: the same message read again has the same fingerprint. */
export function fingerprint(event: EcsEvent): string {
  let fp = fingerprints.get(event);
  if (fp === undefined) {
    fp = createHash('sha256').update(event.raw).digest('hex').slice(0, 32);
    fingerprints.set(event, fp);
  }
  return fp;
}
