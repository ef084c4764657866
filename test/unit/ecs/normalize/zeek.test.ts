/**
 * Raw Zeek JSON → ECS, field by field, on records from the shared datasets: the APT29 recordings
 * (underscored `id_orig_h`, `@stream`, epoch `ts`), the WRCCDC logs (dotted `id.orig_h`, `_path`,
 * ISO `ts`), the Stratosphere and Beats conn logs (no log name at all). Each expected document is
 * what the datasets' ECS conversion holds for that line, event.id aside.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeZeek } from '../../../../src/ecs/normalize/zeek.js';
import { inferZeekLog } from '../../../../src/ecs/normalize/zeekLogs.js';
import { epochSecondsToMillis, zeekTimeToMillis } from '../../../../src/ecs/normalize/times.js';
import { isJsonObject, type JsonObject } from '../../../../src/ecs/fields.js';
import { DATASETS_SKIP } from '../../../support/datasets.js';
import { ecsLineText, rawLineText } from '../../../support/rawDatasets.js';
import { deepFreeze, frozenJson } from '../../../support/frozen.js';

const APT29 = 'otrf-security-datasets/datasets/compound/apt29/day1/zeek/individual_zeek_logs';

function ok(record: JsonObject, hint?: string): JsonObject {
  const r = normalizeZeek(record, hint);
  if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
  return r.doc;
}

/** The conversion's document for a line, without its trace id (the normalizer keeps the uid). */
async function converted(ecs: string, line: number, uid: string): Promise<JsonObject> {
  const doc = JSON.parse(await ecsLineText(ecs, line)) as JsonObject;
  (doc.event as JsonObject).id = uid;
  return doc;
}

test('APT29 conn (underscored id, @stream, epoch ts): every field', { skip: DATASETS_SKIP }, async () => {
  const record = frozenJson(await rawLineText(`${APT29}/NASHUA_conn.log`, 2));
  const doc = ok(record);
  assert.deepEqual(doc, {
    '@timestamp': '2020-04-30T00:06:39.827Z',
    event: {
      id: 'CJ21Le4zsTUcyKKi98',
      kind: 'event',
      module: 'zeek',
      dataset: 'zeek.connection',
      category: ['network'],
      type: ['connection', 'info'],
      start: '2020-04-30T00:06:39.827Z',
      duration: 10761076927,
    },
    source: { ip: '10.0.1.6', port: 56880, bytes: 1307, packets: 12 },
    destination: { ip: '10.0.0.4', port: 445, bytes: 2133, packets: 11 },
    network: { transport: 'tcp', protocol: 'gssapi,smb,krb' },
    zeek: { session_id: 'CJ21Le4zsTUcyKKi98', connection: { state: 'RSTO', history: 'ShADdaR', missed_bytes: 0 } },
  });
  assert.deepEqual(doc, await converted(`${APT29}/NASHUA_conn.log.ndjson.gz`, 2, 'CJ21Le4zsTUcyKKi98'));
});

test('APT29 dce_rpc to the endpoint mapper: dataset, action, fixed transport', { skip: DATASETS_SKIP }, async () => {
  const doc = ok(frozenJson(await rawLineText(`${APT29}/NASHUA_dce_rpc.log`, 1)));
  assert.deepEqual(doc, {
    '@timestamp': '2020-04-30T00:20:48.592Z',
    event: {
      id: 'CAGQDqsQlWvA6qoV5',
      kind: 'event',
      module: 'zeek',
      dataset: 'zeek.dce_rpc',
      category: ['network'],
      type: ['connection', 'protocol', 'info'],
      action: 'ept_map',
    },
    source: { ip: '10.0.1.6', port: 56953 },
    destination: { ip: '10.0.0.4', port: 135 },
    network: { transport: 'tcp', protocol: 'dce_rpc' },
    zeek: {
      session_id: 'CAGQDqsQlWvA6qoV5',
      dce_rpc: { endpoint: 'epmapper', operation: 'ept_map', named_pipe: '135', rtt: 0.0008161067962646484 },
    },
  });
});

test('WRCCDC dce_rpc (dotted id, _path, ISO ts with microseconds)', { skip: DATASETS_SKIP }, async () => {
  const record = frozenJson(await rawLineText('brimdata-zed-sample-data/zeek-json/dce_rpc.json.gz', 2));
  const doc = ok(record);
  assert.equal(doc['@timestamp'], '2018-03-24T17:15:41.356Z', 'ts 17:15:41.356590 truncated to the millisecond');
  assert.deepEqual(doc.source, { ip: '10.128.0.233', port: 33692 });
  assert.deepEqual(doc.destination, { ip: '10.47.21.25', port: 135 });
  assert.equal((doc.event as JsonObject).dataset, 'zeek.dce_rpc');
  assert.equal((doc.event as JsonObject).action, 'ComplexPing');
  assert.deepEqual(
    doc,
    await converted('brimdata-zed-sample-data/zeek-json/dce_rpc.json.ndjson.gz', 2, 'CT1orU31pfzjVTClIh'),
  );
});

test('WRCCDC rdp with a cookie; an rdp record without _path is still rdp', { skip: DATASETS_SKIP }, async () => {
  const record = frozenJson(await rawLineText('brimdata-zed-sample-data/zeek-json/rdp.json.gz', 256));
  const doc = ok(record);
  assert.deepEqual(doc, {
    '@timestamp': '2018-03-24T17:15:24.719Z',
    event: {
      id: 'CyLXr04rsb8J2mO2F',
      kind: 'event',
      module: 'zeek',
      dataset: 'zeek.rdp',
      category: ['network'],
      type: ['protocol', 'info'],
    },
    source: { ip: '10.164.94.120', port: 40755 },
    destination: { ip: '10.47.8.208', port: 3389 },
    network: { transport: 'tcp', protocol: 'rdp' },
    zeek: { session_id: 'CyLXr04rsb8J2mO2F', rdp: { cookie: 'nessus', result: 'Success', security_protocol: 'RDP' } },
  });
  const unnamed: JsonObject = { ...record };
  delete unnamed._path;
  assert.equal(inferZeekLog(unnamed), 'rdp');
  assert.deepEqual(ok(unnamed), doc);
});

test(
  'a conn record with no log name (Stratosphere): inferred, with network.direction',
  { skip: DATASETS_SKIP },
  async () => {
    const record = frozenJson(await rawLineText('stratosphere-slips/dataset/port-scans/vertical/conn.log', 28));
    assert.equal(inferZeekLog(record), 'conn');
    const doc = ok(record);
    assert.deepEqual(doc, {
      '@timestamp': '2023-11-24T12:16:57.923Z',
      event: {
        id: 'CrUczR2lFedKQpQA2a',
        kind: 'event',
        module: 'zeek',
        dataset: 'zeek.connection',
        category: ['network'],
        type: ['connection', 'start', 'denied'],
        start: '2023-11-24T12:16:57.923Z',
        duration: 203716993,
      },
      source: { ip: '192.168.1.9', port: 46100, bytes: 60, packets: 1 },
      destination: { ip: '45.33.32.156', port: 135, bytes: 40, packets: 1 },
      network: { transport: 'tcp', direction: 'outbound' },
      zeek: {
        session_id: 'CrUczR2lFedKQpQA2a',
        connection: { state: 'REJ', history: 'Sr', local_orig: true, local_resp: false, missed_bytes: 0 },
      },
    });
    assert.deepEqual(
      doc,
      await converted('stratosphere-slips/dataset/port-scans/vertical/conn.log.ndjson.gz', 28, 'CrUczR2lFedKQpQA2a'),
    );
  },
);

test(
  'ICMP: the type and code Zeek writes in the port columns move to zeek.connection.icmp',
  { skip: DATASETS_SKIP },
  async () => {
    const log = 'elastic-beats/x-pack/filebeat/module/zeek/connection/test/connection-json.log';
    const doc = ok(frozenJson(await rawLineText(log, 4)));
    assert.deepEqual(doc.source, { ip: '192.0.2.205', bytes: 107, packets: 1 });
    assert.deepEqual(doc.destination, { ip: '198.51.100.249', bytes: 0, packets: 0 });
    assert.deepEqual((doc.zeek as JsonObject).connection, {
      icmp: { type: 3, code: 3 },
      state: 'OTH',
      local_orig: false,
      local_resp: false,
      missed_bytes: 0,
    });
    assert.equal((doc.network as JsonObject).direction, 'external');
    assert.equal((doc.event as JsonObject).duration, undefined, 'no duration in the record, none in ECS');
  },
);

test('the three spellings of the connection id read the same', () => {
  const base = { ts: 1588206048.592985, uid: 'C1', rtt: 0.1, endpoint: 'epmapper', operation: 'ept_map' };
  const dotted = { ...base, 'id.orig_h': '10.0.1.6', 'id.orig_p': 56953, 'id.resp_h': '10.0.0.4', 'id.resp_p': 135 };
  const underscored = { ...base, id_orig_h: '10.0.1.6', id_orig_p: 56953, id_resp_h: '10.0.0.4', id_resp_p: 135 };
  const nested = { ...base, id: { orig_h: '10.0.1.6', orig_p: 56953, resp_h: '10.0.0.4', resp_p: 135 } };
  const a = ok(deepFreeze(dotted));
  assert.deepEqual(a.source, { ip: '10.0.1.6', port: 56953 });
  assert.deepEqual(a.destination, { ip: '10.0.0.4', port: 135 });
  assert.deepEqual(ok(deepFreeze(underscored)), a);
  assert.deepEqual(ok(deepFreeze(nested)), a);
});

test('ts: epoch seconds truncated on its decimal digits, ISO strings, numeric strings', () => {
  assert.equal(epochSecondsToMillis(1547188417.857497), 1547188417857);
  // 1547188417.857 * 1000 is 1547188417856.9998 in floating point; the event is at .857.
  assert.equal(epochSecondsToMillis(1547188417.857), 1547188417857);
  assert.equal(epochSecondsToMillis(1234.5678919), 1234567);
  assert.equal(epochSecondsToMillis(928.943457), 928943);
  assert.equal(epochSecondsToMillis(1700000000), 1700000000000);
  assert.equal(epochSecondsToMillis('1588205199.82437'), 1588205199824);
  assert.equal(epochSecondsToMillis(-1), undefined);
  assert.equal(epochSecondsToMillis(Number.NaN), undefined);
  assert.equal(zeekTimeToMillis('2018-03-24T17:15:41.356590Z'), Date.parse('2018-03-24T17:15:41.356Z'));
  assert.equal(zeekTimeToMillis('1521911741.356590'), 1521911741356);
  assert.equal(zeekTimeToMillis('yesterday'), undefined);
  assert.equal(zeekTimeToMillis(true), undefined);
});

test('unknown log, unusable ts: reasons, not exceptions', () => {
  const bare = {
    ts: 1588205199.832602,
    uid: 'C1',
    id_orig_h: '10.0.1.6',
    id_orig_p: 1,
    id_resp_h: '10.0.0.4',
    id_resp_p: 445,
  };
  const r1 = normalizeZeek(deepFreeze(bare));
  assert.equal(r1.ok, false);
  assert.equal(!r1.ok && r1.reason, 'unknown_zeek_log');
  // The same record with its log named by the writer (as APT29's @stream does) reads.
  const named = normalizeZeek(deepFreeze({ ...bare, '@stream': 'kerberos' }));
  assert.ok(named.ok && (named.doc.event as JsonObject).dataset === 'zeek.kerberos');
  const r2 = normalizeZeek(deepFreeze({ ...bare, _path: 'conn', ts: 'not a time' }));
  assert.equal(!r2.ok && r2.reason, 'invalid_event_time');
  const unknownPath = normalizeZeek(deepFreeze({ ...bare, _path: 'smtp' }));
  assert.ok(unknownPath.ok);
  assert.equal((unknownPath.doc.event as JsonObject).dataset, 'zeek.smtp');
});

test('keys such as __proto__ and constructor never reach a prototype', () => {
  const text =
    '{"_path":"conn","ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.2",' +
    '"id.resp_p":135,"proto":"tcp","conn_state":"constructor","__proto__":{"polluted":1},' +
    '"constructor":{"prototype":{"polluted":1}},"history":"__proto__","label":"__proto__"}';
  const doc = ok(frozenJson(text));
  assert.equal(({} as JsonObject).polluted, undefined);
  assert.equal(Object.getPrototypeOf(doc), Object.prototype);
  assert.equal((doc.event as JsonObject).type, undefined, 'conn_state "constructor" is no state');
  assert.equal(((doc.zeek as JsonObject).connection as JsonObject).history, '__proto__');
  for (const v of [doc.event, doc.source, doc.zeek])
    assert.ok(isJsonObject(v) && Object.getPrototypeOf(v) === Object.prototype);
});
