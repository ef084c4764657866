/**
 * A flood of port-135 flows through D2 (RpcPairingDetector), to show that its state stays bounded
 * and what a flood costs per event. Prints figures; asserts nothing.
 *
 *   npx tsc -p tsconfig.json && node --expose-gc dist/bench/stateFlood.js [events] [scenario]
 *
 * Scenarios (1,000,000 events each by default, 1 ms of event time apart, watermark = event time
 * as replay gives it, default limits 100,000 keys × 64 entries, retention 10 min):
 * - one-host: every flow from one client to one server (Zeek conn records, no flow.id): one key;
 * - distinct-hosts: every flow from another client: keys up to the maxKeys bound;
 * - one-host-flow-ids: one client, every flow with its own flow.id (Packetbeat): the flow.id
 *   memory is bounded too.
 * Events are built in memory (no JSON decoding, which would dominate); "build only" is the same
 * loop without the detector, so the difference is the detector's cost.
 */
import { performance } from 'node:perf_hooks';
import { RpcPairingDetector } from '../src/detectors/rpcPairing.js';
import type { DetectionContext } from '../src/detectors/detection.js';
import type { EcsEvent } from '../src/ecs/event.js';

const N = Number(process.argv[2] ?? 1_000_000);
const T0 = Date.parse('2024-05-01T00:00:00.000Z');
const gc = (globalThis as { gc?: () => void }).gc;

type Scenario = 'one-host' | 'distinct-hosts' | 'one-host-flow-ids';

function ipOf(i: number): string {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
}

function flowEvent(scenario: Scenario, i: number): EcsEvent {
  const time = T0 + i;
  const doc: Record<string, unknown> = {
    '@timestamp': time,
    event: { category: ['network'], dataset: 'zeek.connection', start: time },
    network: { transport: 'tcp' },
    source: { ip: scenario === 'distinct-hosts' ? ipOf(i) : '10.0.1.6', port: 49152 + (i % 16384) },
    destination: { ip: '10.0.0.4', port: 135 },
  };
  if (scenario === 'one-host-flow-ids') doc.flow = { id: `flow-${i}` };
  return { doc, time, sequence: undefined, arrival: i, origin: { kind: 'file', file: 'flood', line: i + 1 }, raw: '' };
}

interface Memory {
  heapUsed: number;
  rss: number;
}

function memory(): Memory {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed, rss: m.rss };
}

function settle(): Memory {
  gc?.();
  gc?.();
  return memory();
}

interface Result {
  scenario: Scenario;
  events: number;
  buildOnlyPerSec: number;
  eventsPerSec: number;
  detectorNsPerEvent: number;
  stateSize: number;
  evictions: Record<string, number>;
  heapBeforeMiB: number;
  heapAfterMiB: number;
  heapAfterGcMiB: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
}

const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;

function run(scenario: Scenario): Result {
  // Build-only baseline: the same events, no detector.
  let sink = 0;
  const b0 = performance.now();
  for (let i = 0; i < N; i++) sink += flowEvent(scenario, i).arrival & 1;
  const buildMs = performance.now() - b0;

  const evictions: Record<string, number> = {};
  const ctx: DetectionContext = {
    limits: { maxKeys: 100_000, maxEntriesPerKey: 64 },
    settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
    countEviction: (reason, count = 1) => void (evictions[reason] = (evictions[reason] ?? 0) + count),
  };
  const before = settle();
  const det = new RpcPairingDetector(ctx);
  let alerts = 0;
  const emit = (): void => void alerts++;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const e = flowEvent(scenario, i);
    det.onEvent(e, emit);
    det.onWatermark(e.time);
  }
  const ms = performance.now() - t0;
  const after = memory();
  const afterGc = settle();
  if (alerts !== 0 || sink < 0) throw new Error('a mapper flood never alerts');
  return {
    scenario,
    events: N,
    buildOnlyPerSec: Math.round(N / (buildMs / 1000)),
    eventsPerSec: Math.round(N / (ms / 1000)),
    detectorNsPerEvent: Math.round(((ms - buildMs) * 1e6) / N),
    stateSize: det.stateSize(),
    evictions,
    heapBeforeMiB: mib(before.heapUsed),
    heapAfterMiB: mib(after.heapUsed),
    heapAfterGcMiB: mib(afterGc.heapUsed),
    rssBeforeMiB: mib(before.rss),
    rssAfterMiB: mib(afterGc.rss),
  };
}

const SCENARIOS: readonly Scenario[] = ['one-host', 'distinct-hosts', 'one-host-flow-ids'];
const only = process.argv[3];
const results = SCENARIOS.filter((s) => only === undefined || s === only).map(run);

const header = [
  'scenario',
  'events/s',
  'build only/s',
  'ns/event',
  'state',
  'heap before',
  'heap after',
  'after gc',
  'rss before',
  'rss after',
];
const rows = results.map((r) => [
  r.scenario,
  r.eventsPerSec.toLocaleString('en-US'),
  r.buildOnlyPerSec.toLocaleString('en-US'),
  String(r.detectorNsPerEvent),
  r.stateSize.toLocaleString('en-US'),
  `${r.heapBeforeMiB} MiB`,
  `${r.heapAfterMiB} MiB`,
  `${r.heapAfterGcMiB} MiB`,
  `${r.rssBeforeMiB} MiB`,
  `${r.rssAfterMiB} MiB`,
]);
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]): string =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(
  `stateFlood: ${N.toLocaleString('en-US')} port-135 flows per scenario, node ${process.version}${gc ? '' : ' (run with --expose-gc for settled heap figures)'}`,
);
console.log(line(header));
for (const r of rows) console.log(line(r));
for (const r of results) console.log(`  ${r.scenario}: evictions ${JSON.stringify(r.evictions)}`);
console.log(JSON.stringify({ bench: 'stateFlood', node: process.version, gcExposed: gc !== undefined, results }));
