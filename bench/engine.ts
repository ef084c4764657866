/**
 * Engine throughput on one core, no Kafka: the realistic sample mix (Packetbeat flows and Sysmon
 * events with attacks mixed in) through decode + all detections, beside JSON.parse alone on the
 * same bytes (the naive limit); and a replay of every ECS file of the shared datasets (gunzip,
 * decode, sort, detect). Prints figures; asserts nothing.
 *
 *   npm run build && node dist/bench/engine.js [events]
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateTraffic } from '../src/demo/sampleTraffic.js';
import { createDetections } from '../src/detectors/registry.js';
import { decodeEvent } from '../src/ecs/event.js';
import { Engine } from '../src/engine.js';
import { replayFile } from '../src/replay/replay.js';

const N = Number(process.argv[2] ?? 300_000);

function timeIt(label: string, events: number, fn: () => void): { label: string; eps: number; seconds: number } {
  fn(); // warm-up pass
  const t0 = performance.now();
  fn();
  const seconds = (performance.now() - t0) / 1000;
  return { label, eps: Math.round(events / seconds), seconds };
}

const lines = generateTraffic(Date.UTC(2024, 4, 1), N * 20, N, { seed: 5, attackEvery: 400 }).map((e) =>
  Buffer.from(JSON.stringify(e)),
);
const bytes = lines.reduce((n, b) => n + b.length, 0);
let alerts = 0;

const parseOnly = timeIt('JSON.parse only', lines.length, () => {
  for (const b of lines) JSON.parse(b.toString('utf8'));
});
const engineRun = timeIt('decode + D1–D3 (stream, lateness 15 s)', lines.length, () => {
  alerts = 0;
  const engine = new Engine(createDetections(), { latenessMs: 15_000 });
  lines.forEach((b, i) => {
    const r = decodeEvent(b, { kind: 'kafka', topic: 'bench', partition: 0, offset: String(i) }, i);
    if (r.ok) alerts += engine.push(r.event).length;
  });
  alerts += engine.flush().length;
});

const rows = [parseOnly, engineRun];
let replay: { files: number; events: number; seconds: number; eps: number } | undefined;
const here = fileURLToPath(new URL('.', import.meta.url));
const datasets = process.env.PICKET_DATASETS ?? resolve(here, '..', '..', '..', 'shared', 'datasets');
if (existsSync(join(datasets, 'ecs'))) {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ndjson.gz')) files.push(p);
    }
  };
  walk(join(datasets, 'ecs'));
  let events = 0;
  const t0 = performance.now();
  for (const f of files) events += (await replayFile(f, { onAlert: () => undefined })).stats.events;
  const seconds = (performance.now() - t0) / 1000;
  replay = { files: files.length, events, seconds, eps: Math.round(events / seconds) };
}

const mem = process.memoryUsage();
console.log(`input: ${lines.length} events, ${(bytes / lines.length).toFixed(0)} B/event on average, ${alerts} alerts`);
console.log('| what | events/s | seconds |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.label} | ${r.eps.toLocaleString('en')} | ${r.seconds.toFixed(2)} |`);
if (replay !== undefined) {
  console.log(
    `| replay of ${replay.files} dataset files (${replay.events} events, gunzip + sort) | ${replay.eps.toLocaleString('en')} | ${replay.seconds.toFixed(2)} |`,
  );
}
console.log(`rss ${(mem.rss / 2 ** 20).toFixed(0)} MiB, heap used ${(mem.heapUsed / 2 ** 20).toFixed(0)} MiB`);
console.log(
  JSON.stringify({
    events: lines.length,
    bytes,
    alerts,
    parse_only_eps: parseOnly.eps,
    engine_eps: engineRun.eps,
    replay_datasets_eps: replay?.eps ?? null,
  }),
);
