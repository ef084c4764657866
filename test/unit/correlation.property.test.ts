/**
 * The stream gives the replay's answer: random arrival orders within the lateness produce exactly
 * the alerts of the sorted stream, with the real correlating detections (D2, D3) and the engine's
 * reorder buffer; and a Zeek-style endpoint connection written minutes late still pairs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../src/demo/sampleTraffic.js';
import { createDetections } from '../../src/detectors/registry.js';
import { compareEvents, type EcsEvent } from '../../src/ecs/event.js';
import { Engine } from '../../src/engine.js';
import { ecsEvent } from '../support/events.js';

const BASE = Date.UTC(2024, 3, 1, 12);
const HOSTS = ['10.0.0.1', '10.0.0.2', '10.0.0.3'];

/** A random mix of mapper/endpoint flows and services.exe connections/children, with near-misses. */
function scenario(r: () => number, n: number): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const t = BASE + Math.floor(r() * 40) * 250 + Math.floor(r() * 3) * 1000; // many ties and edges
    const src = HOSTS[Math.floor(r() * HOSTS.length)]!;
    const dst = HOSTS[Math.floor(r() * HOSTS.length)]!;
    const kind = r();
    if (kind < 0.3) {
      docs.push({
        '@timestamp': t,
        event: { id: `m${i}`, category: ['network'] },
        network: { transport: 'tcp' },
        source: { ip: src, port: 50000 + i },
        destination: { ip: dst, port: 135 },
      });
    } else if (kind < 0.6) {
      docs.push({
        '@timestamp': t,
        event: { id: `e${i}`, category: ['network'] },
        network: { transport: 'tcp' },
        source: { ip: src, port: 50000 + i },
        destination: { ip: dst, port: r() < 0.9 ? 49700 : 49151 },
      });
    } else if (kind < 0.8) {
      docs.push({
        '@timestamp': t,
        event: { id: `s${i}`, category: ['network'], ...(r() < 0.3 ? { sequence: Math.floor(r() * 3) } : {}) },
        host: { id: `h-${dst}`, os: { type: 'windows' } },
        process: { name: 'services.exe', entity_id: `svc-${dst}` },
        network: { direction: 'ingress', transport: 'tcp' },
        source: { ip: src, port: 50000 + i },
        destination: { ip: dst, port: 49670 },
      });
    } else {
      docs.push({
        '@timestamp': t,
        event: {
          id: `c${i}`,
          category: ['process'],
          type: ['start'],
          ...(r() < 0.3 ? { sequence: Math.floor(r() * 3) } : {}),
        },
        host: { id: `h-${dst}`, os: { type: 'windows' } },
        process: {
          entity_id: `child-${i}`,
          executable: 'C:\\Windows\\Temp\\x.exe',
          parent: { name: 'services.exe', entity_id: `svc-${dst}` },
        },
      });
    }
  }
  return docs;
}

function sortedAnswer(events: EcsEvent[]): string[] {
  const engine = new Engine(createDetections(['rpc_pairing', 'remote_services']));
  const ids: string[] = [];
  for (const e of [...events].sort(compareEvents)) for (const a of engine.process(e)) ids.push(a.id);
  return ids.sort();
}

test('property: any arrival order within the lateness gives the alerts of the sorted stream', () => {
  const r = rng(2024);
  let alerts = 0;
  for (let round = 0; round < 150; round++) {
    const docs = scenario(r, 10 + Math.floor(r() * 50));
    const lateness = 500 + Math.floor(r() * 15000);
    // Each event is delayed by less than the lateness after its own time; arrival order follows.
    const arrivals = docs
      .map((doc) => ({ doc, at: (doc['@timestamp'] as number) + Math.floor(r() * lateness) }))
      .sort((a, b) => a.at - b.at);
    const events = arrivals.map((a, i) => ecsEvent(a.doc, i + 1));
    const expected = sortedAnswer(events);
    alerts += expected.length;
    const engine = new Engine(createDetections(['rpc_pairing', 'remote_services']), {
      latenessMs: lateness,
      onLate: () => assert.fail('no event is late within the lateness'),
    });
    const got: string[] = [];
    for (const e of events) for (const a of engine.push(e)) got.push(a.id);
    for (const a of engine.flush()) got.push(a.id);
    assert.deepEqual(got.sort(), expected, `round ${round}`);
  }
  assert.ok(alerts > 100, `the scenarios must produce alerts to compare (${alerts})`);
});

test('a Zeek-style endpoint connection written minutes after it started still pairs with its mapper', () => {
  let late = 0;
  const engine = new Engine(createDetections(['rpc_pairing']), { latenessMs: 10_000, onLate: () => late++ });
  const flow = (t: number, id: string, sport: number, dport: number) =>
    ecsEvent({
      '@timestamp': new Date(t).toISOString(),
      event: { id, category: ['network'], dataset: 'zeek.connection', start: new Date(t).toISOString() },
      network: { transport: 'tcp' },
      source: { ip: '10.0.1.6', port: sport },
      destination: { ip: '10.0.0.4', port: dport },
    });
  const alerts: string[] = [];
  const push = (e: EcsEvent) => alerts.push(...engine.push(e).map((a) => (a.doc.picket as any).events[1].event.id));
  push(flow(BASE, 'mapper', 56953, 135)); // short: written at once
  // Five minutes of other traffic move the watermark far past the mapper.
  for (let s = 1; s <= 300; s += 5) push(flow(BASE + s * 1000, `other${s}`, 40000 + s, 443));
  assert.equal(alerts.length, 0);
  // The long endpoint connection started 3 ms after the mapper; Zeek writes it when it ends.
  push(flow(BASE + 3, 'endpoint', 56954, 49667));
  assert.equal(late, 1, 'it is late, and counted');
  assert.deepEqual(alerts, ['endpoint'], 'and still pairs');
  // Past the mapper retention (10 minutes) it would not.
  for (let s = 310; s <= 700; s += 10) push(flow(BASE + s * 1000, `more${s}`, 40000 + s, 443));
  push(flow(BASE + 4, 'too-late', 56955, 49668));
  assert.deepEqual(alerts, ['endpoint']);
});
