/**
 * The compact form of an event on a repartition topic: what a keyed detection needs of it, and
 * what makes its alerts the ones the event read straight from the input would give.
 *
 *   {"v":1,"t":<event time ms>,"s":<event.sequence or null>,
 *    "o":[<input topic>,<partition>,"<offset>"],"f":"<fingerprint>","d":{...}}
 *
 * - `d` is the normalized ECS document cut down to the top-level fields in ROUTED_FIELDS, each key
 *   kept exactly as it arrived (nested, dotted or mixed), so every field reads as it did;
 * - `t`/`s` are the event time and sequence as the router read them (no second parse of time);
 * - `o` is where the event was read: the alert's `picket.events` cites the input record, not the
 *   repartition record;
 * - `f` is the fingerprint of the input message's bytes: alert ids hash fingerprints, so a routed
 *   alert has the same `event.id` as in a single process.
 *
 * The detector stage orders routed events by (time, sequence, repartition offset): events of one
 * input partition keep their input order (one router, one producer, one repartition partition).
 *
 * A **heartbeat** carries an input partition's watermark to every repartition partition:
 *
 *   {"v":1,"hb":[<input topic>,<partition>],"w":<watermark ms>,"idle":<bool>}
 *
 * The detector stage's event time is the lowest watermark of the input partitions it hears from
 * (originWatermarks.ts), so an input partition that falls behind (its router crashed, and the
 * partition waits for the group to notice) holds event time back instead of having its events
 * arrive late.
 */
import { fingerprint, setFingerprint, type DecodeResult, type EcsEvent } from '../ecs/event.js';
import { isJsonObject, type JsonObject } from '../ecs/fields.js';

export const ROUTED_FORMAT_VERSION = 1;

/**
 * Top-level ECS fields a routed event keeps: every field a keyed detection reads (event.*, host.*,
 * source.*, destination.*, network.*, process.*, flow.id, data_stream.dataset, winlog.event_data.*)
 * and every entity an alert copies (host, source, destination, network, process, user), plus the
 * fields exceptions in a tuning file most often name (agent, observer, labels, tags). A tuning
 * condition on a routed detection sees only these (docs/tuning.md).
 */
export const ROUTED_FIELDS: ReadonlySet<string> = new Set([
  '@timestamp',
  'event',
  'host',
  'source',
  'destination',
  'network',
  'process',
  'user',
  'flow',
  'data_stream',
  'winlog',
  'agent',
  'observer',
  'labels',
  'tags',
]);

/** The document's top-level keys whose first dotted segment is a routed field, as they are. */
export function pruneForRouting(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(doc)) {
    const dot = k.indexOf('.');
    if (!ROUTED_FIELDS.has(dot < 0 ? k : k.slice(0, dot))) continue;
    Object.defineProperty(out, k, { value: doc[k], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The repartition record value of an event read from a Kafka input record. */
export function encodeRoutedEvent(event: EcsEvent): string {
  const o = event.origin;
  if (o.kind !== 'kafka') throw new Error('only events read from Kafka are routed');
  return JSON.stringify({
    v: ROUTED_FORMAT_VERSION,
    t: event.time,
    s: event.sequence ?? null,
    o: [o.topic, o.partition, o.offset],
    f: fingerprint(event),
    d: pruneForRouting(event.doc),
  });
}

/**
 * Reads a repartition record back into an event; `arrival` is its offset in the repartition
 * partition (the detector stage's order and commit position). A record picket did not write is
 * `invalid_routed_record` (dead-lettered like any unreadable message).
 */
export function decodeRoutedEvent(value: Uint8Array | null, arrival: number): DecodeResult {
  const bad = (detail: string): DecodeResult => ({ ok: false, reason: 'invalid_routed_record', detail });
  if (value === null || value.length === 0) return bad('empty repartition record');
  let m: unknown;
  try {
    m = JSON.parse(Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8'));
  } catch (err) {
    return bad(`not JSON: ${(err as Error).message.slice(0, 120)}`);
  }
  if (!isJsonObject(m) || m.v !== ROUTED_FORMAT_VERSION) return bad('not a picket repartition record (v)');
  const { t, s, o, f, d } = m;
  if (typeof t !== 'number' || !Number.isFinite(t)) return bad('no event time (t)');
  if (s !== null && typeof s !== 'number') return bad('bad sequence (s)');
  if (!Array.isArray(o) || typeof o[0] !== 'string' || typeof o[1] !== 'number' || typeof o[2] !== 'string') {
    return bad('no origin (o)');
  }
  if (typeof f !== 'string' || f === '') return bad('no fingerprint (f)');
  if (!isJsonObject(d)) return bad('no document (d)');
  const event: EcsEvent = {
    doc: d,
    time: t,
    sequence: s ?? undefined,
    arrival,
    origin: { kind: 'kafka', topic: o[0], partition: o[1], offset: o[2] },
    raw: value,
  };
  setFingerprint(event, f);
  return { ok: true, event };
}

/** The first bytes of every heartbeat (encodeHeartbeat writes `v` then `hb`). */
const HEARTBEAT_PREFIX = Buffer.from(`{"v":${ROUTED_FORMAT_VERSION},"hb":`);

function startsWith(value: Uint8Array, prefix: Uint8Array): boolean {
  if (value.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (value[i] !== prefix[i]) return false;
  return true;
}

/** A heartbeat's value: the router's watermark of one input partition. */
export function encodeHeartbeat(topic: string, partition: number, watermark: number, idle = false): string {
  return JSON.stringify({ v: ROUTED_FORMAT_VERSION, hb: [topic, partition], w: watermark, idle });
}

export type RoutedRecord =
  | { readonly kind: 'event'; readonly event: EcsEvent }
  | { readonly kind: 'heartbeat'; readonly origin: string; readonly watermark: number; readonly idle: boolean }
  | { readonly kind: 'unreadable'; readonly reason: 'invalid_routed_record'; readonly detail: string };

/** `<topic>/<partition>`: the input partition an event or heartbeat comes from. */
export function originKey(topic: string, partition: number): string {
  return `${topic}/${partition}`;
}

/** Reads a repartition record: an event, or a heartbeat (see the module comment). */
export function decodeRoutedRecord(value: Uint8Array | null, arrival: number): RoutedRecord {
  // Heartbeats start with their own key: told apart by their first bytes, without a second decode.
  if (value !== null && startsWith(value, HEARTBEAT_PREFIX)) {
    try {
      const text = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('utf8');
      const m = JSON.parse(text) as { hb?: unknown; w?: unknown; idle?: unknown };
      const hb = m.hb;
      if (Array.isArray(hb) && typeof hb[0] === 'string' && typeof hb[1] === 'number' && typeof m.w === 'number') {
        return { kind: 'heartbeat', origin: originKey(hb[0], hb[1]), watermark: m.w, idle: m.idle === true };
      }
    } catch {
      // fall through: reported as unreadable below
    }
    return { kind: 'unreadable', reason: 'invalid_routed_record', detail: 'bad heartbeat' };
  }
  const r = decodeRoutedEvent(value, arrival);
  return r.ok
    ? { kind: 'event', event: r.event }
    : { kind: 'unreadable', reason: 'invalid_routed_record', detail: r.detail };
}
