import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RPC_PAIRING_RULE, RpcPairingDetector, type RpcPairingOptions } from '../../../src/detectors/rpcPairing.js';
import type { DetectionContext, Finding, StateLimits } from '../../../src/detectors/detection.js';
import { DETECTION_KEYS, createDetections } from '../../../src/detectors/registry.js';
import { Engine } from '../../../src/engine.js';
import { compareEvents, eventId, type EcsEvent } from '../../../src/ecs/event.js';
import { ecsEvent } from '../../support/events.js';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
const CLIENT = '10.0.1.6';
const SERVER = '10.0.0.4';

type Doc = Record<string, unknown>;

interface ConnOptions {
  src?: string;
  dst?: string;
  srcPort?: number | string;
  dstPort?: number | string;
  /** Replaces or adds `event.*` fields. */
  event?: Doc;
  /** Other top-level fields, replacing the defaults. */
  top?: Doc;
}

/** A Zeek conn record as the ECS conversion writes it: @timestamp = event.start = ts. */
function conn(id: string, t: number, o: ConnOptions = {}): Doc {
  return {
    '@timestamp': iso(t),
    event: { id, kind: 'event', category: ['network'], dataset: 'zeek.connection', start: iso(t), ...o.event },
    network: { transport: 'tcp' },
    source: { ip: o.src ?? CLIENT, port: o.srcPort ?? 56953 },
    destination: { ip: o.dst ?? SERVER, port: o.dstPort ?? 135 },
    ...o.top,
  };
}
const mapper = (id: string, t: number, o: ConnOptions = {}): Doc => conn(id, t, { srcPort: 56953, dstPort: 135, ...o });
const endpoint = (id: string, t: number, o: ConnOptions = {}): Doc =>
  conn(id, t, { srcPort: 56954, dstPort: 49667, ...o });

const SETTINGS = { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 };

function context(
  limits: StateLimits,
  countEviction: DetectionContext['countEviction'] = () => undefined,
): DetectionContext {
  return { limits, settings: SETTINGS, countEviction };
}

interface Run {
  readonly det: RpcPairingDetector;
  readonly findings: Finding[];
  readonly evictions: Map<string, number>;
  /** onEvent, then onWatermark when given. */
  feed(doc: Doc | EcsEvent, watermark?: number): void;
  /** `M>E` by event.id, in alert order. */
  pairs(): string[];
}

function detector(limits: StateLimits = { maxKeys: 1000, maxEntriesPerKey: 64 }, opts?: RpcPairingOptions): Run {
  const evictions = new Map<string, number>();
  const det = new RpcPairingDetector(
    context(limits, (reason, count = 1) => void evictions.set(reason, (evictions.get(reason) ?? 0) + count)),
    opts,
  );
  const findings: Finding[] = [];
  return {
    det,
    findings,
    evictions,
    feed(doc, watermark) {
      const event = 'doc' in doc && 'arrival' in doc ? (doc as EcsEvent) : ecsEvent(doc as Doc);
      det.onEvent(event, (f) => void findings.push(f));
      if (watermark !== undefined) det.onWatermark(watermark);
    },
    pairs: () => findings.map((f) => f.events.map((e) => eventId(e)).join('>')),
  };
}

/** The engine's order (event time, sequence, arrival), watermark = each event's time. */
function runSorted(docs: Doc[], limits?: StateLimits, opts?: RpcPairingOptions): Run {
  const r = detector(limits, opts);
  const events = docs.map((d, i) => ecsEvent(d, i + 1)).sort(compareEvents);
  for (const e of events) r.feed(e, e.time);
  return r;
}

const pairsOf = (docs: Doc[]): string[] => runSorted(docs).pairs();

test('rule metadata follows detections.md D2 and the CAR analytic', () => {
  const r = RPC_PAIRING_RULE;
  assert.equal(r.id, 'CAR-2014-05-001');
  assert.equal(r.name, 'RPC Activity');
  assert.equal(r.severity, 'medium');
  assert.equal(r.riskScore, 47);
  assert.deepEqual(r.threat, [
    { tactic: { id: 'TA0008', name: 'Lateral Movement' }, techniques: [{ id: 'T1021', name: 'Remote Services' }] },
  ]);
  assert.deepEqual(r.author, ['MITRE', 'picket']);
  assert.equal(r.license, 'Apache-2.0');
  assert.deepEqual(r.references, [
    'https://car.mitre.org/analytics/CAR-2014-05-001/',
    'https://github.com/mitre-attack/car/blob/master/analytics/CAR-2014-05-001.yaml',
  ]);
  assert.equal(r.version, '1');
  assert.ok(DETECTION_KEYS.includes('rpc_pairing'), 'registered');
  assert.equal(new RpcPairingDetector(context({ maxKeys: 1, maxEntriesPerKey: 1 })).key, 'rpc_pairing');
});

test('the gap must be strictly below 2000 ms: 1999 pairs, 2000 does not, 1 pairs', () => {
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 1999)]), ['M>E']);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 2000)]), []);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 1)]), ['M>E']);
});

test('equal times never pair, whatever the order', () => {
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0)]), []);
  assert.deepEqual(pairsOf([endpoint('E', T0), mapper('M', T0)]), []);
  for (const order of [
    [mapper('M', T0), endpoint('E', T0)],
    [endpoint('E', T0), mapper('M', T0)],
  ]) {
    const r = detector();
    for (const d of order) r.feed(d);
    assert.deepEqual(r.pairs(), []);
  }
});

test('an endpoint flow before the mapper flow does not pair, whatever the processing order', () => {
  assert.deepEqual(pairsOf([endpoint('E', T0), mapper('M', T0 + 5)]), []);
  const r = detector();
  r.feed(mapper('M', T0 + 5));
  r.feed(endpoint('E', T0)); // processed after, but earlier in time
  assert.deepEqual(r.pairs(), []);
});

test('an endpoint flow needs both ports >= 49152: 49151 on either side does not pair', () => {
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { srcPort: 49151 })]), []);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { dstPort: 49151 })]), []);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { srcPort: 49152, dstPort: 49152 })]), ['M>E']);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { srcPort: 65535, dstPort: '65535' })]), ['M>E']);
  assert.deepEqual(pairsOf([mapper('M', T0, { dstPort: 136 }), endpoint('E', T0 + 10)]), [], 'mapper needs port 135');
  assert.deepEqual(pairsOf([mapper('M', T0, { dstPort: '135' }), endpoint('E', T0 + 10)]), ['M>E'], 'numeric string');
});

test('the endpoint flow must go the same way: destination to source does not pair', () => {
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { src: SERVER, dst: CLIENT })]), []);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { src: '10.0.1.7' })]), [], 'other source');
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { dst: '10.0.0.5' })]), [], 'other destination');
});

test('with two mappers the most recent one is named', () => {
  assert.deepEqual(pairsOf([mapper('M1', T0), mapper('M2', T0 + 1000), endpoint('E', T0 + 1500)]), ['M2>E']);
  // The newer one is outside the window (equal time): the older one is still a partner.
  assert.deepEqual(pairsOf([mapper('M1', T0), mapper('M2', T0 + 1500), endpoint('E', T0 + 1500)]), ['M1>E']);
  // Processed in the other order (M2 late): still M2.
  const r = detector();
  r.feed(mapper('M2', T0 + 1000));
  r.feed(mapper('M1', T0));
  r.feed(endpoint('E', T0 + 1500));
  assert.deepEqual(r.pairs(), ['M2>E']);
});

test('equal mapper times: the later one in event order is named, even when it was processed first', () => {
  // Packetbeat-like: same event.start, different report times.
  const m1 = mapper('M1', T0 + 10_000, { event: { start: iso(T0) } });
  const m2 = mapper('M2', T0 + 20_000, { event: { start: iso(T0) } });
  const e = endpoint('E', T0 + 20_000, { event: { start: iso(T0 + 100) } });
  assert.deepEqual(pairsOf([m1, m2, e]), ['M2>E']);
  // Same @timestamp too: arrival (line) decides.
  const a = mapper('A', T0);
  const b = mapper('B', T0);
  const r = detector();
  r.feed(ecsEvent(a, 1));
  r.feed(ecsEvent(b, 2));
  r.feed(endpoint('E', T0 + 100));
  assert.deepEqual(r.pairs(), ['B>E']);
  const late = detector();
  late.feed(ecsEvent(b, 2));
  late.feed(ecsEvent(a, 1)); // earlier in order, processed later
  late.feed(endpoint('E', T0 + 100));
  assert.deepEqual(late.pairs(), ['B>E']);
});

test('one mapper flow pairs with every endpoint flow in its window', () => {
  assert.deepEqual(
    pairsOf([
      mapper('M', T0),
      endpoint('E1', T0 + 3, { srcPort: 50001 }),
      endpoint('E2', T0 + 30, { srcPort: 50002 }),
      endpoint('E3', T0 + 1999, { srcPort: 50003 }),
      endpoint('E4', T0 + 2000, { srcPort: 50004 }),
    ]),
    ['M>E1', 'M>E2', 'M>E3'],
  );
});

test('a repeated flow.id counts once: the first report, at its event.start', () => {
  // Packetbeat reports both flows at the same period tick, 10 s after they started.
  const report = (id: string, at: number, flowId: string, start: number, o: ConnOptions): Doc =>
    conn(id, at, {
      ...o,
      event: { dataset: 'network_traffic.flow', category: ['network_traffic', 'network'], start: iso(start) },
      top: { flow: { id: flowId } },
    });
  const m = (id: string, at: number): Doc => report(id, at, 'FM', T0, { srcPort: 56953, dstPort: 135 });
  const e = (id: string, at: number): Doc => report(id, at, 'FE', T0 + 400, { srcPort: 56954, dstPort: 49667 });
  // event.start, not @timestamp: the reports are 10 s apart from the starts but 400 ms from each other.
  assert.deepEqual(pairsOf([m('M@10', T0 + 10_000), e('E@10', T0 + 10_000), e('E@20', T0 + 20_000)]), ['M@10>E@10']);
  // A repeated mapper report is not a newer mapper: the first report is the one named.
  assert.deepEqual(pairsOf([m('M@10', T0 + 10_000), m('M@20', T0 + 20_000), e('E@20', T0 + 20_000)]), ['M@10>E@20']);
  // The second report is not a flow of its own: on its own @timestamp it would pair with M-late.
  assert.deepEqual(
    pairsOf([
      m('M@10', T0 + 10_000),
      e('E@10', T0 + 10_000),
      mapper('M-late', T0 + 19_000, { src: CLIENT, dst: SERVER }),
      e('E@20', T0 + 20_000),
    ]),
    ['M@10>E@10'],
  );
});

test('the same flow.id in the other orientation is another flow', () => {
  const netflow = (id: string, t: number, o: ConnOptions): Doc =>
    conn(id, t, { ...o, event: { dataset: undefined, category: ['network_traffic'] }, top: { flow: { id: 'X' } } });
  const docs = [
    mapper('M-ab', T0, { src: CLIENT, dst: SERVER }),
    mapper('M-ba', T0, { src: SERVER, dst: CLIENT }),
    netflow('E-ab', T0 + 100, { src: CLIENT, srcPort: 50001, dst: SERVER, dstPort: 50002 }),
    netflow('E-ba', T0 + 100, { src: SERVER, srcPort: 50002, dst: CLIENT, dstPort: 50001 }),
    netflow('E-ab-again', T0 + 200, { src: CLIENT, srcPort: 50001, dst: SERVER, dstPort: 50002 }),
  ];
  assert.deepEqual(pairsOf(docs), ['M-ab>E-ab', 'M-ba>E-ba']);
});

test('Zeek protocol logs and Packetbeat transactions are not flows', () => {
  const dceRpc = { dataset: 'zeek.dce_rpc', category: ['network'] };
  assert.deepEqual(pairsOf([mapper('M', T0, { event: dceRpc }), endpoint('E', T0 + 10)]), []);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { event: dceRpc })]), []);
  assert.deepEqual(
    pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { event: { dataset: 'zeek.rdp', category: ['network'] } })]),
    [],
  );
  const dns = { dataset: 'network_traffic.dns', category: ['network'] };
  assert.deepEqual(pairsOf([mapper('M', T0, { event: dns }), endpoint('E', T0 + 10)]), []);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { event: dns })]), []);
  // data_stream.dataset counts the same as event.dataset.
  assert.deepEqual(
    pairsOf([
      mapper('M', T0, { event: { dataset: undefined }, top: { data_stream: { dataset: 'zeek.dce_rpc' } } }),
      endpoint('E', T0 + 10),
    ]),
    [],
  );
});

test('what counts as a flow: network or network_traffic category, or a flow dataset; tcp; both ends', () => {
  const onlyCategory = (c: string[]): ConnOptions => ({ event: { dataset: undefined, category: c } });
  assert.deepEqual(pairsOf([mapper('M', T0, onlyCategory(['network_traffic'])), endpoint('E', T0 + 10)]), ['M>E']);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, onlyCategory(['network_traffic', 'network']))]), [
    'M>E',
  ]);
  const onlyDataset = (d: string): ConnOptions => ({ event: { category: undefined, dataset: d } });
  assert.deepEqual(pairsOf([mapper('M', T0, onlyDataset('network_traffic.flow')), endpoint('E', T0 + 10)]), ['M>E']);
  assert.deepEqual(pairsOf([mapper('M', T0, onlyDataset('zeek.connection')), endpoint('E', T0 + 10)]), ['M>E']);
  assert.deepEqual(pairsOf([mapper('M', T0, onlyCategory(['process'])), endpoint('E', T0 + 10)]), []);
  assert.deepEqual(
    pairsOf([mapper('M', T0, { event: { category: undefined, dataset: 'windows.sysmon' } }), endpoint('E', T0 + 10)]),
    [],
  );
  assert.deepEqual(pairsOf([mapper('M', T0, { top: { network: { transport: 'udp' } } }), endpoint('E', T0 + 10)]), []);
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { top: { network: { transport: 'TCP' } } })]), []);
  assert.deepEqual(
    pairsOf([mapper('M', T0, { top: { source: { ip: CLIENT } } }), endpoint('E', T0 + 10)]),
    [],
    'a mapper without source.port is not a flow',
  );
  assert.deepEqual(
    pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { top: { destination: { port: 49667 } } })]),
    [],
    'no destination.ip',
  );
  assert.deepEqual(pairsOf([mapper('M', T0), endpoint('E', T0 + 10, { dst: 'not-an-ip' })]), [], 'unparsable IP');
});

test('dotted and mixed documents read the same as nested ones', () => {
  const dotted = (id: string, t: number, srcPort: number, dstPort: number): Doc => ({
    '@timestamp': iso(t),
    'event.id': id,
    'event.category': 'network',
    'network.transport': 'tcp',
    'source.ip': CLIENT,
    'source.port': srcPort,
    'destination.ip': SERVER,
    'destination.port': String(dstPort),
  });
  assert.deepEqual(pairsOf([dotted('M', T0, 56953, 135), dotted('E', T0 + 10, 56954, 49667)]), ['M>E']);
  const mixed: Doc = {
    '@timestamp': iso(T0 + 20),
    event: { id: 'E2', category: ['network'] },
    'network.transport': 'tcp',
    source: { ip: CLIENT },
    'source.port': 56955,
    'destination.ip': SERVER,
    destination: { port: 49668 },
  };
  assert.deepEqual(pairsOf([dotted('M', T0, 56953, 135), mixed]), ['M>E2']);
  // Arrays: a condition holds when any element does.
  const arrays = endpoint('E3', T0 + 30, { top: { destination: { ip: SERVER, port: [80, 49669] } } });
  assert.deepEqual(pairsOf([dotted('M', T0, 56953, 135), arrays]), ['M>E3']);
});

test('IP addresses are keys as addresses: IPv4-mapped IPv6 and any IPv6 spelling are equal', () => {
  assert.deepEqual(pairsOf([mapper('M', T0, { src: '::ffff:10.0.1.6' }), endpoint('E', T0 + 10, { src: CLIENT })]), [
    'M>E',
  ]);
  assert.deepEqual(
    pairsOf([
      mapper('M', T0, { src: 'FE80::1', dst: 'fe80:0:0:0:0:0:0:2' }),
      endpoint('E', T0 + 10, { src: 'fe80::1', dst: 'FE80::2' }),
    ]),
    ['M>E'],
  );
  assert.deepEqual(
    pairsOf([
      mapper('M', T0, { src: '0:0:0:0:0:0:0:1', dst: '::1' }),
      endpoint('E', T0 + 10, { src: '::1', dst: '::1' }),
    ]),
    ['M>E'],
  );
  assert.deepEqual(pairsOf([mapper('M', T0, { src: '::ffff:10.0.1.7' }), endpoint('E', T0 + 10)]), []);
});

test('a late endpoint flow still pairs within retention, and not past it', () => {
  const minutes = (n: number): number => n * 60_000;
  const scenario = (watermarkWhenLate: number): string[] => {
    const r = detector();
    r.feed(mapper('M', T0), T0);
    // Later traffic moves event time on by several minutes.
    for (let i = 1; i <= 5; i++) r.feed(conn(`other${i}`, T0 + minutes(i), { dstPort: 443 }), T0 + minutes(i));
    r.feed(mapper('M-other', T0 + minutes(5), { src: '10.0.1.9' }), watermarkWhenLate);
    // Zeek wrote the endpoint connection when it ended: it arrives now, with its start time.
    r.feed(endpoint('E', T0 + 700));
    return r.pairs();
  };
  assert.deepEqual(scenario(T0 + minutes(5)), ['M>E'], 'five minutes late');
  assert.deepEqual(scenario(T0 + minutes(10)), ['M>E'], 'exactly the retention: M.time is not before the horizon');
  assert.deepEqual(scenario(T0 + minutes(10) + 1), [], 'past retention the mapper flow has expired');
  // A shorter retention, configured.
  const r = detector(undefined, { mapperRetentionMs: 60_000 });
  r.feed(mapper('M', T0), T0 + 60_001);
  r.feed(endpoint('E', T0 + 700));
  assert.deepEqual(r.pairs(), []);
  // Without the option, the context's settings (configuration `detections.*`) decide.
  const fromSettings = new RpcPairingDetector({
    ...context({ maxKeys: 10, maxEntriesPerKey: 10 }),
    settings: { ...SETTINGS, mapperRetentionMs: 60_000 },
  });
  assert.equal(fromSettings.mapperRetentionMs, 60_000);
  assert.equal(new RpcPairingDetector(context({ maxKeys: 10, maxEntriesPerKey: 10 })).mapperRetentionMs, 600_000);
});

test('a mapper flow processed after its endpoint flow still pairs (Zeek writes at the end, Packetbeat per period)', () => {
  const r = detector();
  r.feed(endpoint('E1', T0 + 500, { srcPort: 50001 }), T0 + 500);
  r.feed(endpoint('E2', T0 + 1500, { srcPort: 50002 }), T0 + 1500);
  r.feed(endpoint('E3', T0 + 2500, { srcPort: 50003 }), T0 + 2500);
  r.feed(mapper('M', T0));
  assert.deepEqual(r.pairs(), ['M>E1', 'M>E2'], 'every waiting endpoint flow in (M, M + 2 s)');
  // Each endpoint flow alerts once: a second mapper flow finds them gone.
  r.feed(mapper('M-again', T0 + 100));
  assert.deepEqual(r.pairs(), ['M>E1', 'M>E2']);
  // E3 found no partner and still waits; a mapper flow at E3 - 1999 pairs with it.
  r.feed(mapper('M3', T0 + 501));
  assert.deepEqual(r.pairs(), ['M>E1', 'M>E2', 'M3>E3']);
});

test('a more recent mapper flow processed after an endpoint flow already paired does not re-pair it', () => {
  // The limitation of alerting from onEvent: in event order E pairs with M2; here M2 comes last.
  const r = detector();
  r.feed(mapper('M1', T0));
  r.feed(endpoint('E', T0 + 1500));
  r.feed(mapper('M2', T0 + 1000));
  assert.deepEqual(r.pairs(), ['M1>E'], 'one alert, with the most recent partner held when E came');
  assert.deepEqual(pairsOf([mapper('M1', T0), endpoint('E', T0 + 1500), mapper('M2', T0 + 1000)]), ['M2>E']);
});

test('pairs do not depend on processing order within retention (each endpoint flow has one candidate)', () => {
  const docs: Doc[] = [];
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let k = 0; k < 20; k++) {
    const src = `10.0.1.${k % 5}`;
    const dst = `10.0.0.${k % 3}`;
    const t = T0 + k * 5000;
    docs.push(mapper(`M${k}`, t, { src, dst }));
    for (let j = 0; j < 3; j++) {
      docs.push(endpoint(`E${k}.${j}`, t + rand(2500), { src, dst, srcPort: 50000 + j }));
    }
  }
  const expected = pairsOf(docs).sort();
  assert.ok(expected.length > 20, `the scenario pairs (${expected.length})`);
  for (let round = 0; round < 20; round++) {
    const shuffled = docs.map((d, i) => ecsEvent(d, i + 1));
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = rand(i + 1);
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const r = detector();
    let watermark = -Infinity;
    for (const e of shuffled) {
      r.feed(e);
      // A watermark that trails the highest time seen by one minute, as a lateness of one minute would.
      watermark = Math.max(watermark, e.time - 60_000);
      r.det.onWatermark(watermark);
    }
    assert.deepEqual(r.pairs().sort(), expected, `round ${round}`);
  }
});

test('state is bounded and evictions are counted by reason; expiry is not counted', () => {
  const r = detector({ maxKeys: 2, maxEntriesPerKey: 2 });
  for (let i = 0; i < 5; i++) r.feed(mapper(`M${i}`, T0 + i));
  assert.equal(r.evictions.get('max_entries_per_key'), 3);
  r.feed(mapper('Mb', T0 + 10, { src: '10.0.1.7' }));
  r.feed(mapper('Mc', T0 + 11, { src: '10.0.1.8' }));
  assert.equal(r.evictions.get('max_keys'), 2, 'the first key went with its two entries');
  assert.equal(r.det.stateSize(), 2);
  r.det.onWatermark(T0 + 20 + 600_000);
  assert.equal(r.det.stateSize(), 0);
  assert.equal(r.evictions.get('max_keys'), 2);
  assert.equal(r.evictions.get('max_entries_per_key'), 3);
});

test('a flood of port-135 flows from one host holds one key with at most maxEntriesPerKey entries', () => {
  const r = detector({ maxKeys: 1000, maxEntriesPerKey: 64 });
  const doc = mapper('flood', T0);
  for (let i = 0; i < 100_000; i++) {
    // One document, shared, with growing arrival and time: what matters here is the state.
    r.det.onEvent(
      { doc, time: T0 + i, sequence: undefined, arrival: i, origin: { kind: 'file', file: 'f', line: i }, raw: '' },
      () => assert.fail('a mapper flow alone never alerts'),
    );
  }
  assert.equal(r.det.stateSize(), 64);
  assert.equal(r.evictions.get('max_entries_per_key'), 100_000 - 64);
});

test('oldestHeldArrival is the earliest arrival still held, across mapper, waiting and flow.id state', () => {
  const r = detector();
  assert.equal(r.det.oldestHeldArrival(), undefined);
  r.feed(ecsEvent(mapper('M', T0 + 1000), 40));
  r.feed(ecsEvent(endpoint('E', T0 + 5000), 41)); // no partner: waits
  r.feed(ecsEvent(endpoint('F', T0 + 900, { top: { flow: { id: 'f1' } } }), 30));
  assert.equal(r.det.oldestHeldArrival(), 30);
  assert.equal(r.det.stateSize(), 4, 'M, E waiting, F waiting and its flow.id');
  r.det.onWatermark(T0 + 901 + 600_000); // F and its flow.id expire
  assert.equal(r.det.oldestHeldArrival(), 40);
  r.det.onWatermark(T0 + 5001 + 600_000);
  assert.equal(r.det.oldestHeldArrival(), undefined);
  assert.equal(r.det.stateSize(), 0);
});

test('events that are not candidate flows are rejected after reading destination.port alone', () => {
  const det = new RpcPairingDetector(context({ maxKeys: 10, maxEntriesPerKey: 10 }));
  for (const doc of [
    { '@timestamp': iso(T0), event: { category: ['process'] }, process: { name: 'cmd.exe' } },
    conn('https', T0, { dstPort: 443 }),
  ]) {
    const event = ecsEvent(doc);
    const reads: string[] = [];
    const spy = new Proxy(event.doc, {
      get(target, prop, receiver) {
        reads.push(String(prop));
        return Reflect.get(target, prop, receiver);
      },
    });
    det.onEvent({ ...event, doc: spy }, () => assert.fail('no alert'));
    assert.deepEqual(reads, ['destination', 'destination.port']);
    assert.equal(det.wants(event), false, 'the engine need not buffer it');
  }
  assert.equal(det.stateSize(), 0);
  assert.equal(det.wants(ecsEvent(mapper('M', T0))), true);
  assert.equal(det.wants(ecsEvent(endpoint('E', T0))), true);
  assert.equal(det.ordered, true);
});

test('the alert: events in stage order, entities of the endpoint flow, small details, same id in any order', () => {
  const m = mapper('M', T0, { srcPort: 56953 });
  const e = endpoint('E', T0 + 3, {
    srcPort: 56954,
    dstPort: 49667,
    top: { host: { name: 'sensor' }, process: { name: 'x' } },
  });
  const inOrder = new Engine(createDetections(['rpc_pairing']));
  const a1 = [...inOrder.process(ecsEvent(m, 1)), ...inOrder.process(ecsEvent(e, 2))];
  const reversed = new Engine(createDetections(['rpc_pairing']));
  const a2 = [...reversed.process(ecsEvent(e, 2)), ...reversed.process(ecsEvent(m, 1))];
  assert.equal(a1.length, 1);
  assert.equal(a2.length, 1);
  assert.equal(a1[0]!.id, a2[0]!.id, 'the alert id does not depend on which flow came first');
  const doc = a1[0]!.doc as any;
  assert.equal(doc['@timestamp'], iso(T0 + 3));
  assert.equal(doc.rule.id, 'CAR-2014-05-001');
  assert.deepEqual(doc.threat.technique.id, ['T1021']);
  assert.deepEqual(doc.source, { ip: CLIENT, port: 56954 });
  assert.deepEqual(doc.destination, { ip: SERVER, port: 49667 });
  assert.deepEqual(doc.host, { name: 'sensor' });
  assert.equal(doc.process, undefined, 'only host, source, destination, network');
  assert.deepEqual(
    doc.picket.events.map((r: any) => r.event.id),
    ['M', 'E'],
  );
  assert.deepEqual(doc.picket.rpc_pairing, {
    mapper: { time: iso(T0), source: { port: 56953 }, destination: { port: 135 } },
    endpoint: { time: iso(T0 + 3) },
    gap_ms: 3,
  });
});

test('retention shorter than the pairing window is refused', () => {
  assert.throws(
    () => new RpcPairingDetector(context({ maxKeys: 1, maxEntriesPerKey: 1 }), { mapperRetentionMs: 1000 }),
    /mapperRetentionMs/,
  );
});
