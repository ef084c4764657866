/**
 * normalize(): the input formats, `auto`'s recognition of each shape, ECS passed through as the
 * same object, failures as reasons, and the safety rules every normalizer follows (a new document,
 * the input untouched, no key reaching a prototype).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventFromDocument } from '../../../../src/ecs/event.js';
import type { JsonObject } from '../../../../src/ecs/fields.js';
import { detectShape, INPUT_FORMATS, isInputFormat, normalize } from '../../../../src/ecs/normalize/index.js';
import { DATASETS_SKIP } from '../../../support/datasets.js';
import { deepFreeze } from '../../../support/frozen.js';
import { rawLineText } from '../../../support/rawDatasets.js';

const ZEEK = {
  _path: 'dce_rpc',
  ts: 1588206048.592985,
  uid: 'CAGQDqsQlWvA6qoV5',
  'id.orig_h': '10.0.1.6',
  'id.orig_p': 56953,
  'id.resp_h': '10.0.0.4',
  'id.resp_p': 135,
  endpoint: 'epmapper',
  operation: 'ept_map',
};
const NXLOG = {
  EventID: 3,
  SourceName: 'Microsoft-Windows-Sysmon',
  Channel: 'Microsoft-Windows-Sysmon/Operational',
  Hostname: 'WORKSTATION6.theshire.local',
  UtcTime: '2020-09-20 16:16:56.019',
  Image: 'C:\\Windows\\System32\\services.exe',
  ProcessGuid: '{d273d0f0-e865-5f64-0b00-000000000800}',
  Protocol: 'tcp',
  Initiated: 'false',
  SourceIp: '172.18.39.5',
  SourcePort: '56608',
  DestinationIp: '172.18.39.6',
  DestinationPort: '49726',
};
const WINLOGBEAT_8 = {
  '@timestamp': '2020-09-20T16:16:58.000Z',
  agent: { type: 'winlogbeat', version: '8.12.0' },
  host: { name: 'wec' },
  event: { code: '3', kind: 'event', provider: 'Microsoft-Windows-Sysmon', created: '2020-09-20T16:16:59.000Z' },
  winlog: {
    api: 'wineventlog',
    channel: 'Microsoft-Windows-Sysmon/Operational',
    computer_name: 'WORKSTATION6.theshire.local',
    event_id: '3',
    provider_name: 'Microsoft-Windows-Sysmon',
    record_id: 2974698,
    event_data: {
      UtcTime: '2020-09-20 16:16:56.019',
      Image: 'C:\\Windows\\System32\\services.exe',
      ProcessGuid: '{d273d0f0-e865-5f64-0b00-000000000800}',
      Protocol: 'tcp',
      Initiated: 'false',
      SourceIp: '172.18.39.5',
      SourcePort: '56608',
      DestinationIp: '172.18.39.6',
      DestinationPort: '49726',
    },
  },
};
const ECS = {
  '@timestamp': '2024-05-01T00:00:00.000Z',
  event: { category: ['network'], dataset: 'zeek.connection' },
  network: { transport: 'tcp' },
  source: { ip: '10.0.1.6', port: 50000 },
  destination: { ip: '8.8.8.8', port: 135 },
};

test('input formats', () => {
  assert.deepEqual(INPUT_FORMATS, ['auto', 'ecs', 'zeek', 'winlogbeat', 'nxlog']);
  assert.ok(isInputFormat('nxlog'));
  assert.ok(!isInputFormat('avro'));
  assert.ok(!isInputFormat(undefined));
});

test('auto recognises each shape', () => {
  assert.equal(detectShape(ECS), 'ecs');
  assert.equal(detectShape({ '@timestamp': 1, 'source.ip': '10.0.0.1' }), 'ecs');
  assert.equal(detectShape({ 'event.category': 'network' }), 'ecs', 'ECS without @timestamp: missing_timestamp later');
  assert.equal(detectShape(ZEEK), 'zeek');
  assert.equal(detectShape(NXLOG), 'nxlog');
  assert.equal(detectShape(WINLOGBEAT_8), 'winlogbeat');
  assert.equal(detectShape({ foo: 1 }), 'unknown');
  // A document some pipeline already mapped is ECS, even with winlog.* and a Beats marker.
  assert.equal(detectShape({ ...WINLOGBEAT_8, event: { ...WINLOGBEAT_8.event, category: ['network'] } }), 'ecs');
  // The datasets' ECS conversions keep winlog.* and zeek.* but no raw marker.
  assert.equal(detectShape({ ...ECS, winlog: { event_id: 3, channel: 'x' }, zeek: { session_id: 'C1' } }), 'ecs');
});

test('ECS is passed through as the same object, nested or dotted', () => {
  for (const doc of [ECS, { '@timestamp': 1, 'event.category': ['network'], 'source.ip': '10.0.0.1' }]) {
    for (const format of ['auto', 'ecs'] as const) {
      const r = normalize(doc, format);
      assert.ok(r.ok && r.doc === doc, format);
    }
  }
});

test('auto and the explicit format give the same document', () => {
  const pairs: [JsonObject, 'zeek' | 'nxlog' | 'winlogbeat'][] = [
    [ZEEK, 'zeek'],
    [NXLOG, 'nxlog'],
    [WINLOGBEAT_8, 'winlogbeat'],
  ];
  for (const [doc, format] of pairs) {
    const a = normalize(deepFreeze(structuredClone(doc)), 'auto');
    const b = normalize(deepFreeze(structuredClone(doc)), format);
    assert.ok(a.ok && b.ok);
    assert.deepEqual(a.doc, b.doc, format);
  }
});

test('Winlogbeat 8 raw and NXLog give the same detection fields for the same Sysmon event', () => {
  const a = normalize(WINLOGBEAT_8, 'auto');
  const b = normalize(NXLOG, 'auto');
  assert.ok(a.ok && b.ok);
  for (const doc of [a.doc, b.doc]) {
    assert.equal(doc['@timestamp'], '2020-09-20T16:16:56.019Z');
    assert.deepEqual(doc.host, {
      id: 'workstation6.theshire.local',
      name: 'workstation6.theshire.local',
      os: { type: 'windows', family: 'windows' },
    });
    assert.deepEqual(doc.network, { transport: 'tcp', direction: 'ingress' });
    assert.deepEqual(doc.source, { ip: '172.18.39.5', port: 56608 });
    assert.equal((doc.process as JsonObject).name, 'services.exe');
  }
});

test('a format that does not fit the document is a reason, with the keys it saw', () => {
  const r = normalize(NXLOG, 'zeek');
  assert.equal(!r.ok && r.reason, 'unrecognized_shape');
  assert.match(!r.ok ? r.detail : '', /EventID/);
  const u = normalize({ foo: 1, bar: 2 }, 'auto');
  assert.equal(!u.ok && u.reason, 'unrecognized_shape');
  const w = normalize(ZEEK, 'winlogbeat');
  assert.equal(!w.ok && w.reason, 'unrecognized_shape');
  const n = normalize(ZEEK, 'nxlog');
  assert.equal(!n.ok && n.reason, 'unrecognized_shape');
  // ecs is the identity: a raw record read as ECS has no @timestamp, which decoding reports.
  const e = normalize(ZEEK, 'ecs');
  assert.ok(e.ok);
  const ev = eventFromDocument(e.doc, '', { kind: 'file', file: 'x', line: 1 }, 1);
  assert.equal(!ev.ok && ev.reason, 'missing_timestamp');
});

test('the result is an event the engine reads', () => {
  for (const doc of [ZEEK, NXLOG, WINLOGBEAT_8]) {
    const r = normalize(doc, 'auto');
    assert.ok(r.ok);
    const ev = eventFromDocument(r.doc, JSON.stringify(doc), { kind: 'file', file: 'x', line: 1 }, 1);
    assert.ok(ev.ok);
  }
});

test('a Splunk export line reads as the record inside it', { skip: DATASETS_SKIP }, async () => {
  const log = 'elastic-integrations/packages/zeek/data_stream/dce_rpc/_dev/test/pipeline/test-dce-rpc.log';
  const plain = deepFreeze(JSON.parse(await rawLineText(log, 1)) as JsonObject);
  const wrapped = deepFreeze(JSON.parse(await rawLineText(log, 2)) as JsonObject);
  assert.equal(detectShape(wrapped), 'splunk');
  const a = normalize(plain, 'auto');
  for (const format of ['auto', 'zeek'] as const) {
    const b = normalize(wrapped, format);
    assert.ok(a.ok && b.ok, format);
    assert.deepEqual(b.doc, a.doc, format);
  }
  const bad = normalize({ preview: false, result: { _raw: 'not json' } }, 'auto');
  assert.equal(!bad.ok && bad.reason, 'invalid_wrapped_record');
  const nested = normalize({ result: { _raw: JSON.stringify({ result: { _raw: '{}' } }) } }, 'auto');
  assert.equal(!nested.ok && nested.reason, 'unrecognized_shape', 'one level of wrapping only');
});

test('inputs are never mutated and outputs are new objects', () => {
  for (const doc of [ZEEK, NXLOG, WINLOGBEAT_8]) {
    const before = structuredClone(doc);
    const frozen = deepFreeze(structuredClone(doc));
    const r = normalize(frozen, 'auto');
    assert.ok(r.ok);
    assert.notEqual(r.doc, frozen);
    assert.deepEqual(frozen, before);
    const sub = (frozen as JsonObject).winlog;
    for (const v of Object.values(r.doc)) assert.notEqual(v, sub);
  }
});

test('__proto__ and constructor keys anywhere never pollute a prototype', () => {
  const texts = [
    '{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}},"EventID":1,"SourceName":"Microsoft-Windows-Sysmon","Hostname":"__proto__","UtcTime":"2020-01-01 00:00:00.000","User":"__proto__\\\\constructor","Image":"C:\\\\__proto__"}',
    '{"ts":1,"uid":"C","__proto__":{"polluted":1},"id":{"__proto__":{"polluted":1},"orig_h":"10.0.0.1"},"_path":"__proto__"}',
    '{"ts":1,"uid":"C","_path":"constructor","id.orig_h":"10.0.0.1"}',
    '{"@timestamp":"2020-01-01T00:00:00Z","zeek":{"__proto__":{"ts":1,"polluted":1},"constructor":{"ts":2}},"source.__proto__":{"polluted":1}}',
    '{"@timestamp":"2020-01-01T00:00:00Z","winlog.api":"x","winlog.event_id":4624,"winlog.provider_name":"Microsoft-Windows-Security-Auditing","winlog.event_data.__proto__":{"polluted":1},"winlog.event_data.LogonType":"constructor"}',
    '{"result":{"_raw":"{\\"__proto__\\":{\\"polluted\\":1},\\"ts\\":1,\\"uid\\":\\"C\\",\\"endpoint\\":\\"x\\"}"}}',
  ];
  for (const text of texts) {
    for (const format of INPUT_FORMATS) {
      const r = normalize(deepFreeze(JSON.parse(text) as JsonObject), format);
      if (r.ok) JSON.stringify(r.doc);
      assert.equal(({} as JsonObject).polluted, undefined, `${format}: ${text}`);
      assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
    }
  }
});
