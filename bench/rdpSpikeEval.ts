/**
 * The labelled evaluation of D4 (src/eval/rdpSpikeEval.ts): simulated weeks of RDP traffic with
 * injected spikes, replayed through the detector (early firing), the same model firing at bucket
 * close, and a static threshold; then replay throughput. Prints figures; asserts nothing.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/rdpSpikeEval.js [--seeds 1,2,3] [--weeks 8]
 *     [--destinations 400] [--spikes 20] [--no-throughput] [--throughput-weeks 8] [--verbose]
 */
import {
  DEFAULT_EVAL_CONFIG,
  evaluateSeed,
  measureThroughput,
  type EvalConfig,
  type MethodResult,
  type SeedResult,
} from '../src/eval/rdpSpikeEval.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seeds = (arg('seeds') ?? '1,2,3').split(',').map(Number);
const base: EvalConfig = {
  ...DEFAULT_EVAL_CONFIG,
  weeks: Number(arg('weeks') ?? DEFAULT_EVAL_CONFIG.weeks),
  destinations: Number(arg('destinations') ?? DEFAULT_EVAL_CONFIG.destinations),
  spikesPerShape: Number(arg('spikes') ?? DEFAULT_EVAL_CONFIG.spikesPerShape),
};
const verbose = process.argv.includes('--verbose');

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const min = (x: number): string =>
  Number.isNaN(x) ? '–' : x < 120 ? `${x.toFixed(1)} min` : `${(x / 60).toFixed(1)} h`;
const pad = (s: string, n: number): string => s.padEnd(n);

function row(seed: string, m: MethodResult): string {
  const shapes = (['fan-in', 'doubling', 'ramp'] as const)
    .map((s) => `${m.byShape[s].detected}/${m.byShape[s].spikes} ${min(m.byShape[s].medianMinutes)}`)
    .map((s) => pad(s, 18))
    .join('');
  return (
    pad(seed, 6) +
    pad(m.name, 20) +
    pad(`${pct(m.recall)} (${m.detected}/${m.spikes})`, 18) +
    pad(`${m.falsePer100DestinationWeeks.toFixed(2)} (${m.falseAlerts})`, 14) +
    pad(min(m.medianMinutes), 11) +
    pad(min(m.p90Minutes), 11) +
    shapes
  );
}

console.log(
  `D4 evaluation: ${base.weeks} weeks, ${base.destinations} destinations, ${base.warmupWeeks} warm-up weeks, ` +
    `${base.spikesPerShape} spikes per shape, seeds ${seeds.join(', ')}\n`,
);
console.log(
  pad('seed', 6) +
    pad('method', 20) +
    pad('recall', 18) +
    pad('FP/100dw', 14) +
    pad('median TTA', 11) +
    pad('p90 TTA', 11) +
    pad('fan-in', 18) +
    pad('doubling', 18) +
    'ramp',
);
const results: SeedResult[] = [];
for (const seed of seeds) {
  const r = evaluateSeed({ ...base, seed });
  results.push(r);
  for (const m of r.methods) console.log(row(String(seed), m));
  if (verbose) {
    console.log(
      `      ${r.events} events (${r.rdpEvents} RDP evidence), ${r.destinationWeeks.toFixed(0)} destination-weeks`,
    );
    for (const a of r.falseAlerts) {
      const d = a.details as Record<string, unknown> | undefined;
      const brief =
        d === undefined
          ? ''
          : JSON.stringify({
              score: d.score,
              count: d.count,
              typical: d.typical_count,
              so_far: d.expected_count_so_far,
              recent: d.recent,
              p: d.probability,
              h: d.history_buckets,
              new: d.new_source_count,
            });
      console.log(`      false alert: ${a.destination} at ${new Date(a.time).toISOString()} ${brief}`);
    }
    for (const m of r.missed) {
      console.log(
        `      missed ${m.shape} on ${m.kind} ${m.destination} at ${new Date(m.start).toISOString()}: ` +
          `${m.sources} sources over ${((m.end - m.start) / 60_000).toFixed(0)} min, typical ${m.typical.toFixed(1)}`,
      );
    }
  }
}

// Pooled over seeds: recall and false alerts summed, TTA medians of the per-seed medians.
console.log('');
for (let i = 0; i < results[0]!.methods.length; i++) {
  const ms = results.map((r) => r.methods[i]!);
  const detected = ms.reduce((a, m) => a + m.detected, 0);
  const spikes = ms.reduce((a, m) => a + m.spikes, 0);
  const fa = ms.reduce((a, m) => a + m.falseAlerts, 0);
  const dw = results.reduce((a, r) => a + r.destinationWeeks, 0);
  const medians = ms.map((m) => m.medianMinutes).sort((a, b) => a - b);
  console.log(
    pad('all', 6) +
      pad(ms[0]!.name.replace(/\(T=.*\)/, '(calibrated)'), 20) +
      pad(`${pct(detected / spikes)} (${detected}/${spikes})`, 18) +
      pad(`${((100 * fa) / dw).toFixed(2)} (${fa})`, 14) +
      `median of medians ${min(medians[Math.floor(medians.length / 2)]!)}`,
  );
}

if (!process.argv.includes('--no-throughput')) {
  const weeks = Number(arg('throughput-weeks') ?? base.weeks);
  const t = measureThroughput({ ...base, seed: seeds[0]!, weeks });
  console.log(
    `\nthroughput (${weeks} weeks, ${t.events} events, mean ${t.meanBytes.toFixed(0)} bytes as JSON):\n` +
      `  detector on pre-built events:   ${(t.detectorEventsPerSecond / 1000).toFixed(0)} k events/s\n` +
      `  JSON decode + detector:         ${(t.decodeAndDetectorEventsPerSecond / 1000).toFixed(0)} k events/s\n` +
      `  JSON decode alone (the bound):  ${(t.decodeEventsPerSecond / 1000).toFixed(0)} k events/s`,
  );
}
