/**
 * The routing stage's decisions (src/routing/router.ts): which detection runs where, the join key
 * of each keyed detection, which events are routed, and the repartition record format.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDetections } from '../../../src/detectors/registry.js';
import { RDP_POPULATION_KEY } from '../../../src/detectors/rdpSpike.js';
import type { Detection } from '../../../src/detectors/detection.js';
import { decodeEvent, fingerprint, type EcsEvent } from '../../../src/ecs/event.js';
import { decodeRoutedEvent, encodeRoutedEvent, pruneForRouting } from '../../../src/routing/routedEvent.js';
import { detectorGroupId, planTopology, repartitionTopic, Router } from '../../../src/routing/router.js';

let offset = 0;
function ev(doc: object): EcsEvent {
  const r = decodeEvent(
    JSON.stringify(doc),
    { kind: 'kafka', topic: 'in', partition: 3, offset: String(++offset) },
    offset,
  );
  if (!r.ok) throw new Error(r.detail);
  return r.event;
}

const T = '2024-05-01T10:00:00.000Z';
const flow = (src: string, sport: number, dst: string, dport: number, extra: object = {}): object => ({
  '@timestamp': T,
  event: { category: ['network'], dataset: 'network_traffic.flow' },
  network: { transport: 'tcp' },
  source: { ip: src, port: sport },
  destination: { ip: dst, port: dport },
  ...extra,
});
const windowsHost = { id: 'host-42', name: 'ws-42', os: { type: 'windows' } };
const servicesConnection = {
  '@timestamp': T,
  event: { category: ['network'] },
  host: windowsHost,
  network: { transport: 'tcp', direction: 'incoming' },
  process: { name: 'services.exe', entity_id: '{svc}' },
  source: { ip: '10.0.0.5', port: 50123 },
  destination: { ip: '10.0.0.9', port: 49670 },
};
const serviceChild = {
  '@timestamp': T,
  event: { category: ['process'], type: ['start'] },
  host: windowsHost,
  process: {
    name: 'evil.exe',
    executable: 'C:\\Temp\\evil.exe',
    entity_id: '{child}',
    parent: { name: 'services.exe', entity_id: '{svc}' },
  },
};

function detection(key: string): Detection {
  return createDetections([key])[0]!;
}

test('routed topology: the stateless detection stays on the input, every keyed one gets a repartition topic', () => {
  const plan = planTopology(createDetections(), 'routed', 'picket-prod');
  assert.deepEqual(plan.inputDetections, ['rpc_to_internet']);
  assert.deepEqual(
    plan.routed.map((r) => [r.key, r.topic]),
    [
      ['rpc_pairing', 'picket-prod-rpc_pairing-repartition'],
      ['rdp_spike', 'picket-prod-rdp_spike-repartition'],
      ['remote_services', 'picket-prod-remote_services-repartition'],
    ],
  );
  assert.equal(repartitionTopic('a', 'b'), 'a-b-repartition');
  assert.equal(detectorGroupId('picket-prod'), 'picket-prod-detector');
});

test('direct topology: the host-keyed detection runs on the input, the others are still routed', () => {
  const plan = planTopology(createDetections(), 'direct', 'p');
  assert.deepEqual(plan.inputDetections, ['rpc_to_internet', 'remote_services']);
  assert.deepEqual(
    plan.routed.map((r) => r.key),
    ['rpc_pairing', 'rdp_spike'],
  );
  // Only the enabled detections are planned.
  assert.deepEqual(planTopology(createDetections(['rpc_to_internet']), 'routed', 'p').routed, []);
});

test('D2 key: the (source, destination) pair, the same for a mapper and its endpoint flows, as addresses', () => {
  const d2 = detection('rpc_pairing');
  const mapper = d2.routeKey!(ev(flow('10.0.0.5', 50000, '10.0.0.9', 135)));
  const endpoint = d2.routeKey!(ev(flow('10.0.0.5', 50001, '10.0.0.9', 49700)));
  assert.equal(mapper, '10.0.0.5>10.0.0.9');
  assert.equal(endpoint, mapper);
  // The same hosts written differently are the same key; the other direction is another pair.
  assert.equal(d2.routeKey!(ev(flow('::ffff:10.0.0.5', 50000, '10.0.0.9', 135))), mapper);
  assert.equal(d2.routeKey!(ev(flow('FE80::1', 50000, 'fe80::2', 135))), 'fe80::1>fe80::2');
  assert.equal(d2.routeKey!(ev(flow('10.0.0.9', 50000, '10.0.0.5', 135))), '10.0.0.9>10.0.0.5');
  // Not a flow D2 can use: another port, UDP, a Zeek protocol log, no address.
  assert.equal(d2.routeKey!(ev(flow('10.0.0.5', 50000, '10.0.0.9', 443))), undefined);
  assert.equal(
    d2.routeKey!(ev(flow('10.0.0.5', 50000, '10.0.0.9', 135, { network: { transport: 'udp' } }))),
    undefined,
  );
  assert.equal(
    d2.routeKey!(
      ev(flow('10.0.0.5', 50000, '10.0.0.9', 135, { event: { category: ['network'], dataset: 'zeek.dce_rpc' } })),
    ),
    undefined,
  );
  assert.equal(d2.routeKey!(ev(flow('not-an-ip', 50000, '10.0.0.9', 135))), undefined);
});

test('D3 key: host.id of both stages; an event without one is not routed (it never joins)', () => {
  const d3 = detection('remote_services');
  assert.equal(d3.routeKey!(ev(servicesConnection)), 'host-42');
  assert.equal(d3.routeKey!(ev(serviceChild)), 'host-42');
  assert.equal(d3.routeKey!(ev({ ...serviceChild, host: { name: 'ws-42', os: { type: 'windows' } } })), undefined);
  // Not a stage: the parent is not services.exe; a Linux host.
  assert.equal(
    d3.routeKey!(ev({ ...serviceChild, process: { ...serviceChild.process, parent: { name: 'explorer.exe' } } })),
    undefined,
  );
  assert.equal(d3.routeKey!(ev({ ...servicesConnection, host: { id: 'h', os: { type: 'linux' } } })), undefined);
});

test('D4 key: one population key for every RDP connection, whichever evidence shows it; nothing else', () => {
  const d4 = detection('rdp_spike');
  assert.equal(d4.routeKey!(ev(flow('10.1.1.1', 50000, '10.0.0.20', 3389))), RDP_POPULATION_KEY);
  assert.equal(
    d4.routeKey!(
      ev({
        '@timestamp': T,
        event: { code: '4624', category: ['authentication'] },
        host: { ip: ['10.0.0.21', 'fe80::5'] },
        source: { ip: '10.1.1.2' },
        winlog: { event_data: { LogonType: '10' } },
      }),
    ),
    RDP_POPULATION_KEY,
  );
  assert.equal(
    d4.routeKey!(
      ev({
        '@timestamp': T,
        event: { category: ['process'] },
        host: { ip: '10.0.0.22' },
        process: { Ext: { session_info: { logon_type: 'RemoteInteractive', client_address: '10.1.1.3' } } },
      }),
    ),
    RDP_POPULATION_KEY,
  );
  assert.equal(d4.routeKey!(ev(flow('10.1.1.1', 50000, '10.0.0.20', 3390))), undefined);
  // A 4624 that is not a remote-interactive logon is no evidence.
  assert.equal(
    d4.routeKey!(
      ev({
        '@timestamp': T,
        event: { code: '4624' },
        host: { ip: '10.0.0.21' },
        source: { ip: '10.1.1.2' },
        winlog: { event_data: { LogonType: '3' } },
      }),
    ),
    undefined,
  );
});

test('the router sends each event to exactly the keyed detections that can use it, keyed by their join key', () => {
  const plan = planTopology(createDetections(), 'routed', 'p');
  const instances = new Map(createDetections().map((d) => [d.key, d]));
  const router = new Router(plan.routed.map((r) => ({ detection: instances.get(r.key)!, topic: r.topic })));
  const counted: string[] = [];
  assert.deepEqual(
    router.route(ev(flow('10.0.0.5', 50000, '93.184.216.34', 443)), (k) => counted.push(k)),
    [],
  );
  const mapper = router.route(ev(flow('10.0.0.5', 50000, '10.0.0.9', 135)), (k) => counted.push(k));
  assert.deepEqual(
    mapper.map((r) => [r.topic, r.key]),
    [['p-rpc_pairing-repartition', '10.0.0.5>10.0.0.9']],
  );
  const conn = router.route(ev(servicesConnection));
  assert.deepEqual(
    conn.map((r) => [r.topic, r.key]),
    [
      // Both ports dynamic: also a D2 endpoint flow candidate.
      ['p-rpc_pairing-repartition', '10.0.0.5>10.0.0.9'],
      ['p-remote_services-repartition', 'host-42'],
    ],
  );
  assert.equal(conn[0]!.value, conn[1]!.value, 'one encoding shared by the records of an event');
  assert.deepEqual(counted, ['rpc_pairing']);
  assert.throws(() => new Router([{ detection: instances.get('rpc_to_internet')!, topic: 'x' }]), /no join key/);
});

test('a repartition record reads back as the event: time, sequence, origin, fingerprint, the fields detections read', () => {
  const doc = {
    '@timestamp': '2024-05-01T10:00:00.123456Z',
    'event.sequence': 7,
    event: { category: ['network'] },
    'source.ip': '10.0.0.5',
    source: { port: 50000 },
    destination: { ip: '10.0.0.9', port: 135 },
    network: { transport: 'tcp' },
    message: 'x'.repeat(2000),
    winlog: { event_data: { LogonType: '10' } },
    zeek: { conn: { history: 'ShADadFf' } },
  };
  const original = ev(doc);
  const value = Buffer.from(encodeRoutedEvent(original));
  assert.ok(value.length < 600, `compact: ${value.length} bytes for a ${JSON.stringify(doc).length}-byte event`);
  const back = decodeRoutedEvent(value, 99);
  assert.ok(back.ok);
  const e = back.event;
  assert.equal(e.time, original.time);
  assert.equal(e.sequence, 7);
  assert.equal(e.arrival, 99, 'arrival is the repartition offset');
  assert.deepEqual(e.origin, original.origin);
  assert.equal(fingerprint(e), fingerprint(original));
  assert.deepEqual(Object.keys(e.doc), [
    '@timestamp',
    'event.sequence',
    'event',
    'source.ip',
    'source',
    'destination',
    'network',
    'winlog',
  ]);
  assert.deepEqual(pruneForRouting({ ['__proto__']: 1, 'host.name': 'h' } as never), { 'host.name': 'h' });
});

test('a repartition record picket did not write is unreadable with its reason', () => {
  for (const bad of ['', 'not json', '{"v":2}', '{"v":1,"t":"x"}', '{"v":1,"t":1,"s":null,"o":["t",0,"1"],"f":"ab"}']) {
    const r = decodeRoutedEvent(Buffer.from(bad), 0);
    assert.equal(r.ok, false, bad);
    assert.equal(!r.ok && r.reason, 'invalid_routed_record');
  }
});
