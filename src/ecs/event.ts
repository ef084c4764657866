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
  /** The message exactly as read; alert ids are derived from it. */
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
  | NormalizeReason;

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
): DecodeResult {
  let text: string;
  if (typeof raw === 'string') {
    text = raw;
  } else {
    if (raw.length === 0) return { ok: false, reason: 'empty', detail: 'empty message' };
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
  if (format !== 'ecs' && isJsonObject(doc)) {
    const n = normalize(doc, format);
    if (!n.ok) return { ok: false, reason: n.reason, detail: n.detail };
    doc = n.doc;
  }
  return eventFromDocument(doc, raw, origin, arrival);
}

/** The second half of decoding, for callers that already hold a parsed document. */
export function eventFromDocument(
  doc: unknown,
  raw: string | Uint8Array,
  origin: Origin,
  arrival: number,
): DecodeResult {
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

const fingerprints = new WeakMap<EcsEvent, string>();

/** A stable identity of the message bytes: the same message read again has the same fingerprint. */
export function fingerprint(event: EcsEvent): string {
  let fp = fingerprints.get(event);
  if (fp === undefined) {
    fp = createHash('sha256').update(event.raw).digest('hex').slice(0, 32);
    fingerprints.set(event, fp);
  }
  return fp;
}
