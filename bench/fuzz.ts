/**
 * Hostile input, measured (issue 10): what a huge message costs beside JSON.parse of the same bytes
 * (decode with no size limit + all detections through the stream engine), and how fast each kind
 * of mutant (test/support/fuzz.ts) goes through the stream path. Prints figures; asserts nothing.
 *
 *   npm run build && node dist/bench/fuzz.js [mutants per kind]
 */
import { performance } from 'node:perf_hooks';
import { createDetections } from '../src/detectors/registry.js';
import { decodeEvent, DEFAULT_MAX_MESSAGE_BYTES } from '../src/ecs/event.js';
import { Engine } from '../src/engine.js';
import { MUTATION_KINDS, Mutator, quarantine } from '../test/support/fuzz.js';

const PER_KIND = Number(process.argv[2] ?? 2000);
const T0 = Date.UTC(2024, 2, 1, 10);
const ORIGIN = { kind: 'kafka', topic: 'bench', partition: 0, offset: '1' } as const;
const MB = 1 << 20;

const base = {
  '@timestamp': new Date(T0).toISOString(),
  event: { category: ['network', 'process'], type: ['start'] },
  host: { id: 'h1', os: { type: 'windows' } },
  network: { transport: 'tcp', direction: 'ingress' },
  source: { ip: '10.0.0.5', port: 50123 },
  destination: { ip: '8.8.8.8', port: 135 },
  process: { name: 'services.exe', entity_id: '{svc}', parent: { name: 'services.exe', entity_id: '{p}' } },
};

const huge: Record<string, () => unknown> = {
  'one 10 MB string': () => ({ ...base, message: 'x'.repeat(10 * MB) }),
  '1 M-element event.category': () => ({ ...base, event: { category: new Array(MB).fill('network') } }),
  '500 k source.ip addresses': () => ({ ...base, source: { ip: new Array(500_000).fill('10.0.0.1'), port: 50123 } }),
  '10 MB wildcard bait (services.exe*…)': () => ({
    ...base,
    process: { ...base.process, name: 'services.exe*'.repeat(800_000), executable: '?\\'.repeat(MB) },
  }),
  '200 k dotted host.* keys': () => {
    const doc: Record<string, unknown> = { ...base };
    for (let i = 0; i < 200_000; i++) doc[`host.k${i}`] = i;
    return doc;
  },
};

function best(fn: () => void, runs = 3): number {
  let min = Infinity;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

console.log(
  `Huge messages (no size limit; the stream default refuses above ${DEFAULT_MAX_MESSAGE_BYTES} bytes at once)`,
);
console.log('message                                   MB   JSON.parse ms   decode+detect ms   ratio   ms/MB');
for (const [name, make] of Object.entries(huge)) {
  const text = JSON.stringify(make());
  const bytes = Buffer.from(text);
  const parse = best(() => JSON.parse(text));
  const full = best(() => {
    const engine = new Engine(createDetections(), { latenessMs: 1000 });
    const r = decodeEvent(bytes, ORIGIN, 1, 'auto', { maxMessageBytes: Infinity });
    if (r.ok) {
      engine.push(r.event, T0);
      engine.flush();
    }
  });
  const mb = bytes.length / MB;
  console.log(
    `${name.padEnd(40)} ${mb.toFixed(1).padStart(4)} ${parse.toFixed(0).padStart(15)} ${full.toFixed(0).padStart(18)} ${(full / parse).toFixed(1).padStart(7)} ${(full / mb).toFixed(0).padStart(7)}`,
  );
}

console.log(`\nMutants through decode + the stream engine (${PER_KIND} per kind, ~1 KB templates)`);
console.log('kind                  mutants/s   µs each');
const templates = [
  base,
  { ...base, event: { category: ['network'] } },
  { ...base, destination: { ip: '10.0.0.9', port: 49700 } },
].map((d) => JSON.stringify(quarantine(d)));
const mutator = new Mutator(7);
for (const kind of MUTATION_KINDS) {
  const mutants = Array.from({ length: PER_KIND }, () => mutator.mutate(mutator.pick(templates), kind).bytes);
  const engine = new Engine(createDetections(), { latenessMs: 15_000, maxAheadMs: 300_000 });
  const ms = best(() => {
    for (let i = 0; i < mutants.length; i++) {
      const r = decodeEvent(mutants[i]!, ORIGIN, i, 'ecs', { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES });
      if (r.ok) engine.push(r.event, T0);
    }
  }, 1);
  console.log(
    `${kind.padEnd(20)} ${String(Math.round((PER_KIND / ms) * 1000)).padStart(10)} ${((ms * 1000) / PER_KIND).toFixed(1).padStart(9)}`,
  );
}
