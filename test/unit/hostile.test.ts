/**
 * Issue 10 items 1 and 2: hostile messages and time poisoning. Every hostile message either goes to
 * the dead-letter topic with its own reason or is processed safely, and none changes the alerts of
 * the clean events around it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Alert } from '../../src/alerts/alert.js';
import type { InputRecord } from '../../src/consumers/client.js';
import { DEAD_LETTER_HEADERS, deadLetterRecord } from '../../src/consumers/deadLetter.js';
import { PartitionProcessor } from '../../src/consumers/partitionProcessor.js';
import { createDetections } from '../../src/detectors/registry.js';
import { decodeEvent, MAX_DOCUMENT_DEPTH, nestsDeeperThan } from '../../src/ecs/event.js';
import { DEFAULT_MAX_AHEAD_MS, Engine } from '../../src/engine.js';
import { ecsEvent } from '../support/events.js';

const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

/** D3 stage 1: an inbound high-port connection to services.exe on host h1. */
const connection = (t: number, host = 'h1') => ({
  '@timestamp': iso(t),
  event: { category: ['network'], type: ['connection', 'start'] },
  host: { id: host, name: host, os: { type: 'windows' } },
  network: { transport: 'tcp', direction: 'ingress' },
  process: { name: 'services.exe', entity_id: `{svc-${host}}` },
  source: { ip: '10.0.0.5', port: 50123 },
  destination: { ip: '10.0.0.9', port: 49700 },
});

/** D3 stage 2: services.exe starts a process on h1. */
const child = (t: number, host = 'h1') => ({
  '@timestamp': iso(t),
  event: { category: ['process'], type: ['start'] },
  host: { id: host, name: host, os: { type: 'windows' } },
  process: {
    name: 'evil.exe',
    executable: 'C:\\Windows\\evil.exe',
    entity_id: `{child-${host}}`,
    parent: { name: 'services.exe', entity_id: `{svc-${host}}` },
  },
});

/** D2: a port-135 flow and an endpoint flow of the same pair 500 ms later. */
const mapper = (t: number) => ({
  '@timestamp': iso(t),
  event: { category: ['network'] },
  network: { transport: 'tcp' },
  source: { ip: '10.1.0.1', port: 50001 },
  destination: { ip: '10.1.0.2', port: 135 },
});
const endpoint = (t: number) => ({
  '@timestamp': iso(t),
  event: { category: ['network'] },
  network: { transport: 'tcp' },
  source: { ip: '10.1.0.1', port: 50002 },
  destination: { ip: '10.1.0.2', port: 49800 },
});

/** D1: RPC to the Internet. */
const rpcOut = (t: number) => ({
  '@timestamp': iso(t),
  event: { category: ['network'] },
  network: { transport: 'tcp' },
  source: { ip: '10.0.0.1' },
  destination: { ip: '8.8.8.8', port: 135 },
  host: { id: 'h2' },
});

function record(offset: number, value: string | Uint8Array, headers: InputRecord['headers'] = {}): InputRecord {
  return {
    topic: 'in',
    partition: 0,
    offset: String(offset),
    key: null,
    value: Buffer.from(value),
    timestamp: String(T0),
    headers,
  };
}

const processor = () =>
  new PartitionProcessor('in', 0, {
    detections: createDetections(),
    deadLetterTopic: 'dlq',
    latenessMs: 2000,
    maxAheadMs: DEFAULT_MAX_AHEAD_MS,
  });

const deep = (n: number, open: string, close: string, leaf: string): string => open.repeat(n) + leaf + close.repeat(n);
const at = (extra: Record<string, unknown>): string => JSON.stringify({ ...connection(T0 + 300, 'hx'), ...extra });
const withRaw = (key: string, rawValue: string): string => `{"@timestamp":"${iso(T0 + 300)}","${key}":${rawValue}}`;

/**
 * Hostile messages, by kind: each with the dead-letter reason it must get, or `processed`. Every
 * one is sent in the middle of a D1 event, a D2 pair and a D3 sequence.
 */
const HOSTILE: readonly { kind: string; value: string | Uint8Array; expect: string }[] = [
  { kind: 'empty', value: '', expect: 'empty' },
  { kind: 'invalid UTF-8: lone byte', value: Buffer.from([0x7b, 0xff, 0x7d]), expect: 'invalid_utf8' },
  { kind: 'invalid UTF-8: overlong', value: Buffer.from([0x22, 0xc0, 0xaf, 0x22]), expect: 'invalid_utf8' },
  { kind: 'invalid UTF-8: surrogate', value: Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), expect: 'invalid_utf8' },
  { kind: 'truncated JSON', value: at({}).slice(0, 80), expect: 'invalid_json' },
  { kind: 'trailing garbage', value: `${at({})}x`, expect: 'invalid_json' },
  { kind: 'raw control character', value: `{"@timestamp":"${iso(T0)}","m":"a\u0001b"}`, expect: 'invalid_json' },
  { kind: 'NaN literal', value: withRaw('source.port', 'NaN'), expect: 'invalid_json' },
  { kind: 'non-object: array', value: `[${at({})}]`, expect: 'not_an_object' },
  { kind: 'non-object: string', value: '"x"', expect: 'not_an_object' },
  { kind: 'non-object: number', value: '1e400', expect: 'not_an_object' },
  { kind: 'deep arrays (400 000)', value: deep(400_000, '[', ']', '1'), expect: 'too_deep' },
  {
    kind: 'deep @timestamp',
    value: `{"@timestamp":${deep(100_000, '[', ']', `"${iso(T0)}"`)}}`,
    expect: 'too_deep',
  },
  {
    kind: 'deep event.category',
    value: `{"@timestamp":"${iso(T0)}","event":{"category":${deep(10_000, '[', ']', '"network"')}}}`,
    expect: 'too_deep',
  },
  {
    kind: 'deep objects',
    value: `{"@timestamp":"${iso(T0)}","host":${deep(100_000, '{"a":', '}', '1')}}`,
    expect: 'too_deep',
  },
  { kind: 'huge (2 MiB, over the 1 MiB default)', value: at({ message: 'x'.repeat(2 << 20) }), expect: 'too_large' },
  { kind: 'missing @timestamp', value: '{"event":{"category":"network"}}', expect: 'missing_timestamp' },
  { kind: 'timestamp before 1970', value: at({ '@timestamp': '1969-12-31T23:59:59Z' }), expect: 'invalid_timestamp' },
  { kind: 'timestamp after 9999', value: at({ '@timestamp': '10000-01-01T00:00:00Z' }), expect: 'invalid_timestamp' },
  { kind: 'timestamp NaN string', value: at({ '@timestamp': 'NaN' }), expect: 'invalid_timestamp' },
  { kind: 'timestamp Infinity', value: withRaw('@timestamp', '1e400'), expect: 'invalid_timestamp' },
  { kind: 'timestamp negative', value: at({ '@timestamp': -1 }), expect: 'invalid_timestamp' },
  { kind: 'timestamp object', value: at({ '@timestamp': { $date: 1 } }), expect: 'invalid_timestamp' },
  { kind: 'timestamp 30 February', value: at({ '@timestamp': '2024-02-30T00:00:00Z' }), expect: 'invalid_timestamp' },
  // Processed safely: readable documents with values picket cannot use (they read as missing).
  { kind: 'timestamp next year', value: at({ '@timestamp': iso(T0 + 365 * 86_400_000) }), expect: 'processed' },
  { kind: 'timestamp 1970', value: at({ '@timestamp': '1970-01-01T00:00:00Z' }), expect: 'processed' },
  { kind: '__proto__ at the top', value: `{"__proto__":{"polluted":1},${at({}).slice(1)}`, expect: 'processed' },
  {
    kind: '__proto__ in host and process (joins nothing)',
    value: at({ host: { __proto__: { id: 'h1' }, id: 'hx', os: { type: 'windows' } } }).replace(
      '"host":{"id"',
      '"host":{"__proto__":{"id":"h1","polluted":1},"id"',
    ),
    expect: 'processed',
  },
  {
    kind: 'constructor.prototype, dotted __proto__',
    value: `{"constructor":{"prototype":{"polluted":1}},"host.__proto__.polluted":1,"__proto__.polluted":1,${at({}).slice(1)}`,
    expect: 'processed',
  },
  {
    kind: 'negative port, NaN pid',
    value: at({ source: { ip: '10.0.0.5', port: -1 }, process: { pid: 'NaN' } }),
    expect: 'processed',
  },
  {
    kind: 'huge numbers',
    value: withRaw('source', '{"port":1e400,"ip":"10.0.0.5"},"destination":{"port":-1e308}'),
    expect: 'processed',
  },
  {
    kind: 'port 2^53+1, fractional',
    value: at({ destination: { ip: '8.8.8.8', port: Number.MAX_SAFE_INTEGER + 2.5 } }),
    expect: 'processed',
  },
  {
    kind: 'arrays where strings are expected',
    value: at({ host: { id: ['h1', ['h1']], os: { type: [['windows']] } } }),
    expect: 'processed',
  },
  {
    kind: 'objects where numbers are expected',
    value: at({ source: { port: { value: 50123 } }, destination: { port: [] } }),
    expect: 'processed',
  },
  {
    kind: 'wrong top-level types',
    value: at({ event: 'network', host: 7, network: [null], process: true }),
    expect: 'processed',
  },
  {
    kind: 'enormous array (100 000)',
    value: at({ event: { category: new Array(100_000).fill('network') } }),
    expect: 'processed',
  },
  {
    kind: 'escaped control characters and lone surrogates',
    value: at({ host: { id: 'h\u0000\ud800\u2028', os: { type: 'windows' } } }),
    expect: 'processed',
  },
  {
    kind: 'huge string under the limit',
    value: at({ process: { name: '*'.repeat(900_000), entity_id: 'x' } }),
    expect: 'processed',
  },
];

/** The clean stream: D3 connection, D2 mapper, D1, then the D3 child and D2 endpoint; hostile at offset 10. */
function runStream(hostile: string | Uint8Array | undefined): { alerts: string[]; reasons: string[] } {
  const p = processor();
  const alerts: Alert[] = [];
  const reasons: string[] = [];
  const push = (offset: number, v: string | Uint8Array, now: number): void => {
    const out = p.process(record(offset, v), now);
    alerts.push(...out.alerts);
    if (out.deadLetter !== undefined) reasons.push(out.deadLetter.reason);
  };
  push(1, JSON.stringify(connection(T0)), T0);
  push(2, JSON.stringify(mapper(T0 + 100)), T0 + 100);
  push(3, JSON.stringify(rpcOut(T0 + 200)), T0 + 200);
  if (hostile !== undefined) push(10, hostile, T0 + 300);
  push(20, JSON.stringify(child(T0 + 500)), T0 + 500);
  push(21, JSON.stringify(endpoint(T0 + 600)), T0 + 600);
  alerts.push(...p.advanceIdle(10_000).alerts);
  // Only the clean events' alerts (a hostile event may raise its own).
  const clean = alerts.filter((a) =>
    (a.doc.picket as { events: { offset: number }[] }).events.every((e) => e.offset !== 10),
  );
  return { alerts: clean.map((a) => JSON.stringify(a.doc)).sort(), reasons };
}

test('hostile messages: each is dead-lettered with its reason or processed, and no clean alert changes', () => {
  const baseline = runStream(undefined);
  assert.equal(baseline.alerts.length, 3, 'D1, D2 and D3 each alert once on the clean stream');
  for (const h of HOSTILE) {
    const r = runStream(h.value);
    assert.deepEqual(r.reasons, h.expect === 'processed' ? [] : [h.expect], h.kind);
    assert.deepEqual(r.alerts, baseline.alerts, `${h.kind}: clean alerts unchanged`);
  }
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined, 'no prototype was polluted');
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
});

test('__proto__ keys stay data: they are read as own fields and copied into alerts as own properties', () => {
  const raw = `{"@timestamp":"${iso(T0)}","event":{"category":["network"]},"network":{"transport":"tcp"},"source":{"ip":"10.0.0.1"},"destination":{"ip":"8.8.8.8","port":135},"host":{"__proto__":{"polluted":1},"id":"h3"}}`;
  const r = decodeEvent(raw, { kind: 'file', file: 'f', line: 1 }, 1);
  assert.ok(r.ok);
  const engine = new Engine(createDetections(['rpc_to_internet']));
  const [alert] = engine.process(r.event);
  assert.ok(alert !== undefined);
  const host = alert.doc.host as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(host), Object.prototype);
  assert.ok(Object.prototype.hasOwnProperty.call(host, '__proto__'));
  assert.equal(host.polluted, undefined);
  assert.match(JSON.stringify(alert.doc), /"__proto__":\{"polluted":1\}/);
});

test('a dead letter keeps a __proto__ header as a header', () => {
  const headers = JSON.parse('{"__proto__":"x","trace":"t"}') as Record<string, string>;
  const dl = deadLetterRecord(record(1, 'not json', headers), 'dlq', 'invalid_json', 'd');
  const out = dl.headers!;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, 'x');
  assert.equal(out[DEAD_LETTER_HEADERS.reason], 'invalid_json');
});

test('depth limit: exactly MAX_DOCUMENT_DEPTH levels are read, one more is too deep', () => {
  const n = MAX_DOCUMENT_DEPTH - 1; // the top-level object is level 1
  const ok = `{"@timestamp":"${iso(T0)}","a":${deep(n - 1, '[', ']', '[]')}}`;
  const bad = `{"@timestamp":"${iso(T0)}","a":${deep(n, '[', ']', '[]')}}`;
  const origin = { kind: 'file', file: 'f', line: 1 } as const;
  assert.ok(decodeEvent(ok, origin, 1).ok);
  const r = decodeEvent(bad, origin, 1);
  assert.ok(!r.ok && r.reason === 'too_deep');
  assert.equal(nestsDeeperThan(JSON.parse(ok), MAX_DOCUMENT_DEPTH), false);
  // Splunk-wrapped records are parsed a second time by the normalizer: that document is checked too.
  const inner = JSON.stringify(`{"ts":1709287200,"uid":"C1","id.orig_h":${deep(100, '[', ']', '"10.0.0.1"')}}`);
  const wrapped = decodeEvent(`{"result":{"_raw":${inner}}}`, origin, 1, 'auto');
  assert.ok(!wrapped.ok);
  assert.ok(['too_deep', 'unknown_zeek_log', 'invalid_wrapped_record'].includes(wrapped.reason), wrapped.reason);
});

test('size limit: larger messages are refused before they are read; the limit is per processor', () => {
  const origin = { kind: 'file', file: 'f', line: 1 } as const;
  const big = at({ message: 'é'.repeat(600_000) }); // 1.2 MB of UTF-8 in 0.6 M characters
  assert.ok(decodeEvent(big, origin, 1).ok, 'no limit unless asked');
  const r = decodeEvent(big, origin, 1, 'ecs', { maxMessageBytes: 1 << 20 });
  assert.ok(!r.ok && r.reason === 'too_large');
  const rb = decodeEvent(Buffer.from(big), origin, 1, 'ecs', { maxMessageBytes: 1 << 20 });
  assert.ok(!rb.ok && rb.reason === 'too_large');
  const p = new PartitionProcessor('in', 0, {
    detections: createDetections(),
    deadLetterTopic: 'dlq',
    latenessMs: 0,
    maxMessageBytes: 4 << 20,
  });
  assert.equal(p.process(record(1, big), T0).deadLetter, undefined);
});

test('a 10 MB message costs time in proportion to its size (generous ratio to JSON.parse)', () => {
  const origin = { kind: 'file', file: 'f', line: 1 } as const;
  const shapes = [
    at({ message: 'x'.repeat(10 << 20) }),
    at({ event: { category: new Array(1 << 20).fill('network') } }),
    at({ process: { name: 'services.exe*'.repeat(800_000), parent: { name: '*'.repeat(1 << 20) } } }),
  ];
  for (const text of shapes) {
    const bytes = Buffer.from(text);
    const t0 = performance.now();
    JSON.parse(text);
    const parse = performance.now() - t0;
    const engine = new Engine(createDetections(), { latenessMs: 1000 });
    const t1 = performance.now();
    const r = decodeEvent(bytes, origin, 1, 'auto', { maxMessageBytes: Infinity });
    assert.ok(r.ok);
    engine.push(r.event, T0);
    engine.flush();
    const total = performance.now() - t1;
    // Not a benchmark (bench/fuzz.ts prints figures): only a guard against super-linear work,
    // which on 10 MB would take seconds, not a few times JSON.parse.
    assert.ok(
      total < 30 * parse + 1000,
      `${(bytes.length / 1e6).toFixed(1)} MB: ${total.toFixed(0)} ms vs parse ${parse.toFixed(0)} ms`,
    );
  }
});

// ---- Time poisoning (issue 10 item 2) ----

const YEAR = 365 * 86_400_000;

function poisonedStream(maxAheadMs: number | undefined, poison: Record<string, unknown>[]) {
  let future = 0;
  let late = 0;
  const engine = new Engine(createDetections(), {
    latenessMs: 2000,
    maxAheadMs,
    onFuture: () => future++,
    onLate: () => late++,
  });
  const alerts: Alert[] = [];
  const push = (doc: Record<string, unknown>, now: number, line: number): void => {
    alerts.push(...engine.push(ecsEvent(doc, line), now));
  };
  push(connection(T0), T0, 1);
  push(mapper(T0 + 100), T0 + 100, 2);
  poison.forEach((doc, i) => push(doc, T0 + 200, 10 + i));
  const watermarkAfterPoison = engine.watermark;
  push(child(T0 + 500), T0 + 500, 20);
  push(endpoint(T0 + 600), T0 + 600, 21);
  alerts.push(...engine.advanceIdle(5000));
  const rules = alerts.map((a) => a.rule.id).sort();
  return { rules, future, late, watermarkAfterPoison, alerts };
}

test('time poisoning: an event a year ahead does not move the watermark or break D2 and D3 sequences', () => {
  // The poison: a D3 connection and a D2 mapper of other hosts, and a plain event, all next year.
  const poison = [
    connection(T0 + YEAR, 'h9'),
    { ...mapper(T0 + YEAR), source: { ip: '10.9.9.9', port: 50001 } },
    { '@timestamp': iso(T0 + YEAR) },
  ];
  const bounded = poisonedStream(DEFAULT_MAX_AHEAD_MS, poison);
  assert.deepEqual(bounded.rules, ['CAR-2014-05-001', 'aa9a274d-6b53-424d-ac5e-cb8ca4251650'], 'both sequences alert');
  assert.equal(bounded.future, 3, 'each suspect event is counted');
  assert.equal(bounded.late, 0, 'no clean event became late');
  assert.ok(bounded.watermarkAfterPoison < T0, `watermark ${bounded.watermarkAfterPoison} stayed in the present`);
  // The same stream without the bound: the watermark jumps a year, both sequences break.
  const unbounded = poisonedStream(undefined, poison);
  assert.deepEqual(unbounded.rules, []);
  assert.ok(unbounded.late >= 2);
});

test('time poisoning: a suspect event still gets the stateless detections (D1) but no ordered state', () => {
  const r = poisonedStream(DEFAULT_MAX_AHEAD_MS, [rpcOut(T0 + YEAR)]);
  assert.equal(r.future, 1);
  assert.deepEqual(r.rules, [
    '32923416-763a-4531-bb35-f33b9232ecdb',
    'CAR-2014-05-001',
    'aa9a274d-6b53-424d-ac5e-cb8ca4251650',
  ]);
});

test('a little ahead of the wall clock: processed in order, but time moves only as far as the clock', () => {
  let future = 0;
  const engine = new Engine(createDetections(), { latenessMs: 2000, maxAheadMs: 300_000, onFuture: () => future++ });
  const alerts: Alert[] = [];
  // h1's clock is 60 s fast: its connection and child arrive when the wall clock says T0.
  alerts.push(...engine.push(ecsEvent(connection(T0 + 60_000)), T0));
  assert.equal(engine.watermark, T0 - 2000, 'time moved to the wall clock, not to the event');
  // Another host, on time: not late.
  alerts.push(...engine.push(ecsEvent(mapper(T0 + 100)), T0 + 100));
  alerts.push(...engine.push(ecsEvent(endpoint(T0 + 600)), T0 + 600));
  alerts.push(...engine.push(ecsEvent(child(T0 + 60_500)), T0 + 600));
  assert.equal(engine.buffered > 0, true, 'the fast host waits for the clock');
  // The wall clock catches up (events of other hosts, then idleness).
  alerts.push(...engine.push(ecsEvent({ '@timestamp': iso(T0 + 61_000) }), T0 + 61_000));
  alerts.push(...engine.advanceIdle(5000));
  assert.equal(future, 0);
  assert.deepEqual(alerts.map((a) => a.rule.id).sort(), ['CAR-2014-05-001', 'aa9a274d-6b53-424d-ac5e-cb8ca4251650']);
});

test('maxAheadMs: 0 or Infinity is no bound; negative is refused; process() is not bounded', () => {
  for (const maxAheadMs of [0, Infinity, undefined]) {
    let future = 0;
    const engine = new Engine(createDetections(), { latenessMs: 0, maxAheadMs, onFuture: () => future++ });
    engine.push(ecsEvent({ '@timestamp': iso(T0 + YEAR) }), T0);
    assert.equal(future, 0);
    assert.equal(engine.watermark, T0 + YEAR);
  }
  assert.throws(() => new Engine([], { maxAheadMs: -1 }), RangeError);
  let future = 0;
  const engine = new Engine(createDetections(), { maxAheadMs: 1000, onFuture: () => future++ });
  engine.process(ecsEvent({ '@timestamp': iso(T0 + YEAR) }));
  assert.equal(future, 0);
});
