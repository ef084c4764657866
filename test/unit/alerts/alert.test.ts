import { test } from 'node:test';
import assert from 'node:assert/strict';
import { alertToJson, buildAlert } from '../../../src/alerts/alert.js';
import { RPC_TO_INTERNET_RULE } from '../../../src/detectors/rpcToInternet.js';
import { decodeEvent } from '../../../src/ecs/event.js';
import { pickSubtrees } from '../../../src/ecs/nest.js';

const RAW = JSON.stringify({
  '@timestamp': '2024-05-01T10:00:00.123456Z',
  event: { id: 'evt-1', category: ['network'] },
  'host.id': 'h-1',
  host: { name: 'ws-1', os: { type: 'windows' } },
  source: { ip: '10.1.2.3', port: 50000 },
  'destination.ip': '45.33.32.156',
  'destination.port': 135,
  user: { name: 'alice' },
});

function event(origin: Parameters<typeof decodeEvent>[1], raw = RAW) {
  const r = decodeEvent(raw, origin, 1);
  assert.ok(r.ok);
  return r.event;
}

function alertFor(origin: Parameters<typeof decodeEvent>[1], raw = RAW) {
  const e = event(origin, raw);
  return buildAlert(
    {
      rule: RPC_TO_INTERNET_RULE,
      events: [e],
      entities: pickSubtrees(e.doc, ['host', 'source', 'destination', 'user']),
      details: { note: 'x' },
    },
    'rpc_to_internet',
  );
}

test('the alert document has what Kibana external alerts need', () => {
  const a = alertFor({ kind: 'file', file: 'f.ndjson', line: 12 });
  const doc = JSON.parse(alertToJson(a, Date.UTC(2024, 4, 1, 10, 0, 5))) as Record<string, any>;
  assert.equal(doc['@timestamp'], '2024-05-01T10:00:00.123Z');
  assert.equal(doc.message, 'RPC (Remote Procedure Call) to the Internet');
  assert.equal(doc.event.kind, 'alert');
  assert.equal(doc.event.severity, 73);
  assert.equal(doc.event.risk_score, 73);
  assert.equal(doc.event.created, '2024-05-01T10:00:05.000Z');
  assert.match(doc.event.id, /^[0-9a-f]{32}$/);
  assert.equal(doc.rule.id, RPC_TO_INTERNET_RULE.id);
  assert.equal(doc.rule.name, RPC_TO_INTERNET_RULE.name);
  assert.equal(doc.rule.ruleset, 'picket');
  assert.match(doc.rule.reference, /^https:\/\//);
  assert.equal(doc.threat.framework, 'MITRE ATT&CK');
  assert.deepEqual(doc.threat.tactic.id, ['TA0001', 'TA0008']);
  assert.deepEqual(doc.threat.technique.id, ['T1190', 'T1021']);
  assert.deepEqual(doc.threat.technique.subtechnique.id, ['T1021.003']);
  assert.deepEqual(doc.threat.technique.subtechnique.reference, ['https://attack.mitre.org/techniques/T1021/003/']);
  // Entities come out nested whatever shape they came in.
  assert.deepEqual(doc.host, { id: 'h-1', name: 'ws-1', os: { type: 'windows' } });
  assert.deepEqual(doc.destination, { ip: '45.33.32.156', port: 135 });
  assert.deepEqual(doc.user, { name: 'alice' });
  assert.deepEqual(doc.related.ip, ['10.1.2.3', '45.33.32.156']);
  assert.deepEqual(doc.related.user, ['alice']);
  assert.deepEqual(doc.picket.rpc_to_internet, { note: 'x' });
  assert.deepEqual(doc.picket.events, [
    { '@timestamp': '2024-05-01T10:00:00.123Z', event: { id: 'evt-1' }, file: 'f.ndjson', line: 12 },
  ]);
  assert.equal(a.key, 'h-1');
});

test('a Kafka origin is cited as topic, partition and offset', () => {
  const a = alertFor({ kind: 'kafka', topic: 'ecs', partition: 2, offset: '41' });
  assert.deepEqual((a.doc.picket as any).events[0], {
    '@timestamp': '2024-05-01T10:00:00.123Z',
    event: { id: 'evt-1' },
    topic: 'ecs',
    partition: 2,
    offset: 41,
  });
});

test('event.id is deterministic: the same message gives the same id wherever it was read', () => {
  const fromFile = alertFor({ kind: 'file', file: 'f.ndjson', line: 12 });
  const fromKafka = alertFor({ kind: 'kafka', topic: 'ecs', partition: 2, offset: '41' });
  assert.equal(fromFile.id, fromKafka.id);
  const other = alertFor({ kind: 'file', file: 'f.ndjson', line: 12 }, RAW.replace('evt-1', 'evt-2'));
  assert.notEqual(other.id, fromFile.id);
  // event.created does not enter the id.
  const j1 = JSON.parse(alertToJson(fromFile, 1)).event.id;
  const j2 = JSON.parse(alertToJson(fromFile, 2)).event.id;
  assert.equal(j1, j2);
});

test('without host.id the record key is the alert id', () => {
  const raw = JSON.stringify({ '@timestamp': 1, source: { ip: '10.0.0.1' } });
  const a = alertFor({ kind: 'file', file: 'f', line: 1 }, raw);
  assert.equal(a.key, a.id);
});

test('__proto__ keys in an event are copied as data, never as prototypes', () => {
  const raw = '{"@timestamp":1,"host":{"__proto__":{"polluted":true},"id":"h"}}';
  const a = alertFor({ kind: 'file', file: 'f', line: 1 }, raw);
  const host = a.doc.host as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(host), Object.prototype);
  assert.equal((host as any).polluted, undefined);
  assert.equal(JSON.stringify(host), '{"__proto__":{"polluted":true},"id":"h"}');
  assert.equal(({} as any).polluted, undefined);
});
