/**
 * Zeek JSON as Zeek writes it (its JSON writer, `json-streaming-logs`, the Kafka writer) → ECS, the
 * way the Filebeat `zeek` module and its ingest pipeline map it (reference/rules.md §D.3; the
 * datasets README). The connection id is read in the three spellings found in the wild: dotted
 * `id.orig_h` (Zeek's own), underscored `id_orig_h` (writers that cannot use dots, e.g. the APT29
 * recordings) and nested `id: {orig_h}`.
 *
 * The log is `_path` or `@stream` when the record names it, else the caller's hint (a file name),
 * else inferred from its fields (zeekLogs.ts).
 */
import type { JsonObject } from '../fields.js';
import { bool, integer, lookup, own, ownObject, port, put, setOwn, text } from './build.js';
import { isoMillis, zeekTimeToMillis } from './times.js';
import { CONN_STATE_TYPES, inferZeekLog, zeekLogSpec, type ZeekLogSpec } from './zeekLogs.js';
import type { NormalizeResult } from './result.js';

/** The log named by the record itself (`_path`, `@stream`), if any. */
export function namedZeekLog(record: JsonObject): string | undefined {
  return text(own(record, '_path')) ?? text(own(record, '@stream'));
}

/** A connection-id member in any of its spellings (`orig_h` → `id.orig_h` | `id_orig_h` | `id.orig_h` nested). */
function idField(record: JsonObject, member: string): unknown {
  const dotted = own(record, `id.${member}`);
  if (dotted !== undefined) return dotted;
  const underscored = own(record, `id_${member}`);
  if (underscored !== undefined) return underscored;
  const nested = ownObject(record, 'id');
  return nested === undefined ? undefined : own(nested, member);
}

/** True when the record carries a Zeek connection id in any spelling. */
export function hasZeekConnId(record: JsonObject): boolean {
  return idField(record, 'orig_h') !== undefined || idField(record, 'resp_h') !== undefined;
}

/** Filebeat's `network.direction` from Zeek's `local_orig`/`local_resp`. */
function direction(localOrig: boolean | undefined, localResp: boolean | undefined): string | undefined {
  if (localOrig === undefined || localResp === undefined) return undefined;
  if (localOrig) return localResp ? 'internal' : 'outbound';
  return localResp ? 'inbound' : 'external';
}

/** A Zeek value as ECS keeps it: unset (`-`, null) is missing, everything else as written. */
function value(v: unknown): unknown {
  if (v === null || v === undefined || v === '-') return undefined;
  return v;
}

/**
 * Maps one Zeek record. `logHint` names the log when the record does not (for example from the
 * file name `conn.log`); a record that names its log itself wins.
 */
export function normalizeZeek(record: JsonObject, logHint?: string): NormalizeResult {
  const log = namedZeekLog(record) ?? logHint ?? inferZeekLog(record);
  if (log === undefined) {
    return {
      ok: false,
      reason: 'unknown_zeek_log',
      detail: 'Zeek record names no log (_path, @stream) and its fields match none picket knows',
    };
  }
  const ms = zeekTimeToMillis(own(record, 'ts'));
  if (ms === undefined) {
    const shown = JSON.stringify(own(record, 'ts')) ?? 'nothing';
    return { ok: false, reason: 'invalid_event_time', detail: `Zeek ts ${shown.slice(0, 64)} is not a usable time` };
  }
  return { ok: true, doc: zeekToEcs(record, log === 'connection' ? 'conn' : log, ms) };
}

/** The ECS document of a Zeek record whose log and time are known. */
export function zeekToEcs(record: JsonObject, log: string, ms: number): JsonObject {
  const spec = zeekLogSpec(log);
  const time = isoMillis(ms);
  const uid = text(own(record, 'uid'));
  const event: JsonObject = { kind: 'event', module: 'zeek', dataset: spec.dataset };
  const doc: JsonObject = { '@timestamp': time, event };
  if (uid !== undefined) event.id = uid;
  if (spec.category !== undefined) event.category = [...spec.category];
  if (spec.type !== undefined) event.type = [...spec.type];
  if (spec.action !== undefined) put(event, ['action'], text(own(record, spec.action)));

  const icmp = log === 'conn' && own(record, 'proto') === 'icmp';
  put(doc, ['source', 'ip'], text(idField(record, 'orig_h')));
  if (!icmp) put(doc, ['source', 'port'], port(idField(record, 'orig_p')));
  put(doc, ['destination', 'ip'], text(idField(record, 'resp_h')));
  if (!icmp) put(doc, ['destination', 'port'], port(idField(record, 'resp_p')));

  const zeek: JsonObject = {};
  if (uid !== undefined) zeek.session_id = uid;
  const detail: JsonObject = {};
  if (log === 'conn') mapConnection(record, doc, event, detail, time, icmp);
  else mapProtocol(record, spec, doc);
  for (const k of spec.keep) {
    const v = value(own(record, k));
    if (v !== undefined) setOwn(detail, k, v);
  }
  if (Object.keys(detail).length > 0) setOwn(zeek, log === 'conn' ? 'connection' : log, detail);
  if (Object.keys(zeek).length > 0) doc.zeek = zeek;

  // Stratosphere's labelled conn logs add two columns; the conversion keeps them as labels.
  const label = text(own(record, 'label'));
  const detailed = text(own(record, 'detailedlabel'));
  if (label !== undefined || detailed !== undefined) {
    const labels: JsonObject = {};
    if (label !== undefined) labels.stratosphere_label = label;
    if (detailed !== undefined) labels.stratosphere_detailedlabel = detailed;
    doc.labels = labels;
  }
  return doc;
}

function mapConnection(
  record: JsonObject,
  doc: JsonObject,
  event: JsonObject,
  detail: JsonObject,
  time: string,
  icmp: boolean,
): void {
  const state = text(own(record, 'conn_state'));
  const types = state === undefined ? undefined : lookup(CONN_STATE_TYPES, state);
  if (types !== undefined) event.type = [...types];
  // Zeek's ts is the connection's first packet; D2 times flows by event.start.
  event.start = time;
  const duration = own(record, 'duration');
  if (typeof duration === 'number' && Number.isFinite(duration)) event.duration = Math.round(duration * 1e9);
  put(doc, ['source', 'bytes'], integer(own(record, 'orig_ip_bytes')));
  put(doc, ['source', 'packets'], integer(own(record, 'orig_pkts')));
  put(doc, ['destination', 'bytes'], integer(own(record, 'resp_ip_bytes')));
  put(doc, ['destination', 'packets'], integer(own(record, 'resp_pkts')));
  put(doc, ['network', 'transport'], text(own(record, 'proto')));
  put(doc, ['network', 'protocol'], text(own(record, 'service')));
  const localOrig = bool(own(record, 'local_orig'));
  const localResp = bool(own(record, 'local_resp'));
  put(doc, ['network', 'direction'], direction(localOrig, localResp));
  if (icmp) {
    // Filebeat moves ICMP's type and code, which Zeek writes in the port columns, out of the ports.
    const icmpDetail: JsonObject = {};
    put(icmpDetail, ['type'], port(idField(record, 'orig_p')));
    put(icmpDetail, ['code'], port(idField(record, 'resp_p')));
    detail.icmp = icmpDetail;
  }
  put(detail, ['state'], state);
  put(detail, ['local_orig'], localOrig);
  put(detail, ['local_resp'], localResp);
}

function mapProtocol(record: JsonObject, spec: ZeekLogSpec, doc: JsonObject): void {
  if (spec.transport === 'tcp') put(doc, ['network', 'transport'], 'tcp');
  else if (spec.transport === 'proto') put(doc, ['network', 'transport'], text(own(record, 'proto')));
  if (spec.protocol !== undefined) put(doc, ['network', 'protocol'], spec.protocol);
  switch (spec.dataset) {
    case 'zeek.ntlm': {
      const success = bool(own(record, 'success'));
      if (success !== undefined) put(doc, ['event', 'outcome'], success ? 'success' : 'failure');
      put(doc, ['user', 'name'], text(own(record, 'username')));
      put(doc, ['user', 'domain'], text(own(record, 'domainname')));
      break;
    }
    case 'zeek.dns':
      put(doc, ['dns', 'question', 'name'], text(own(record, 'query')));
      break;
  }
}

/** True when `doc` looks like a Zeek record: an object with `ts` and a uid or connection id. */
export function looksLikeZeek(doc: JsonObject): boolean {
  if (own(doc, 'ts') === undefined) return false;
  return own(doc, 'uid') !== undefined || hasZeekConnId(doc) || namedZeekLog(doc) !== undefined;
}
