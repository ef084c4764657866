/**
 * Filebeat's `zeek` module output as it stands on Kafka: the Beat-side processors have run (the
 * record moved under `zeek.<log>`, the connection id renamed to `source.*`/`destination.*`, conn's
 * `proto`/`service`/byte counts renamed, reference/rules.md §D.3), the ingest pipeline has not. So
 * `@timestamp` is when Filebeat read the line and the event's own time is still `zeek.<log>.ts`.
 *
 * The record is put back as Zeek wrote it (the renames reversed) and mapped by zeek.ts, so that a
 * Zeek record gives the same ECS whether it came straight from Zeek or through Filebeat.
 */
import { isJsonObject, type JsonObject } from '../fields.js';
import { parseEventTime } from '../time.js';
import { own, ownObject, put, setOwn, topObjects } from './build.js';
import type { NormalizeResult } from './result.js';
import { zeekToEcs } from './zeek.js';
import { zeekTimeToMillis } from './times.js';

/** The log object under `zeek` that still holds Zeek's `ts` (`zeek.dce_rpc`), with its name. */
export function filebeatZeekLog(zeek: JsonObject): { name: string; record: JsonObject } | undefined {
  for (const name in zeek) {
    const v = own(zeek, name);
    if (isJsonObject(v) && own(v, 'ts') !== undefined) return { name, record: v };
  }
  return undefined;
}

export function normalizeFilebeatZeek(doc: JsonObject): NormalizeResult {
  const top = topObjects(doc);
  const zeek = top('zeek');
  const found = zeek === undefined ? undefined : filebeatZeekLog(zeek);
  if (zeek === undefined || found === undefined) {
    return { ok: false, reason: 'unrecognized_shape', detail: 'no zeek.<log>.ts: not Filebeat zeek module output' };
  }
  const log = found.name === 'connection' ? 'conn' : found.name;
  const source = top('source') ?? {};
  const destination = top('destination') ?? {};
  const network = top('network') ?? {};
  const event = top('event') ?? {};

  const record: JsonObject = {};
  for (const k in found.record) {
    if (k !== 'icmp') setOwn(record, k, own(found.record, k));
  }
  put(record, ['uid'], own(zeek, 'session_id') ?? own(event, 'id'));
  put(record, ['id.orig_h'], own(source, 'address') ?? own(source, 'ip'));
  put(record, ['id.orig_p'], own(source, 'port'));
  put(record, ['id.resp_h'], own(destination, 'address') ?? own(destination, 'ip'));
  put(record, ['id.resp_p'], own(destination, 'port'));
  if (own(record, 'proto') === undefined) put(record, ['proto'], own(network, 'transport'));
  if (log === 'conn') {
    put(record, ['service'], own(network, 'protocol'));
    put(record, ['duration'], own(top('temp') ?? {}, 'duration'));
    put(record, ['orig_ip_bytes'], own(source, 'bytes'));
    put(record, ['resp_ip_bytes'], own(destination, 'bytes'));
    put(record, ['orig_pkts'], own(source, 'packets'));
    put(record, ['resp_pkts'], own(destination, 'packets'));
    put(record, ['conn_state'], own(found.record, 'state'));
    const icmp = ownObject(found.record, 'icmp');
    if (icmp !== undefined) {
      put(record, ['id.orig_p'], own(icmp, 'type'));
      put(record, ['id.resp_p'], own(icmp, 'code'));
    }
  }
  // As the pipeline's date processor: when ts is unusable the event keeps Filebeat's read time.
  const ms = zeekTimeToMillis(own(found.record, 'ts')) ?? parseEventTime(own(doc, '@timestamp'));
  if (ms === undefined) {
    return { ok: false, reason: 'invalid_event_time', detail: 'neither zeek.<log>.ts nor @timestamp is a usable time' };
  }
  return { ok: true, doc: zeekToEcs(record, log, ms) };
}
