/**
 * Memory soak: `picket run` (a child process, all detections, default settings) under a steady load
 * of the benchmark mix for a while; its resident memory is sampled every 10 s, with its V8 heap in
 * use and the entries its detections hold (from /metrics: nodejs_heap_size_used_bytes,
 * picket_state_entries, picket_published_alert_ids), so that a rise can be told apart: state filling
 * its windows, the heap growing, or memory outside the heap. Prints the samples, the peak and the
 * slopes of the second half (flat memory: about 0 MB/min). Asserts nothing.
 *
 *   npm run build && node dist/bench/soak.js [seconds=300] [events/s=5000] [--json FILE]
 *
 * Kafka: KAFKA_BROKERS when set, else a local broker (src/localkafka).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createKafkaClient } from '../src/consumers/clientFactory.js';
import { startLocalKafka } from '../src/localkafka/localBroker.js';
import { createLogger } from '../src/observability/logger.js';
import { benchMix } from './mix.js';

const { values, positionals } = parseArgs({ options: { json: { type: 'string' } }, allowPositionals: true });
const seconds = Number(positionals[0] ?? 300);
const rate = Number(positionals[1] ?? 5000);
const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

const local = process.env.KAFKA_BROKERS === undefined ? await startLocalKafka() : undefined;
const brokers = (process.env.KAFKA_BROKERS ?? local!.brokers).split(',');
const config = loadConfig({ overrides: { 'kafka.brokers': brokers } });
const client = await createKafkaClient(config, createLogger('error'), { clientId: 'bench-soak' });
const suffix = Date.now().toString(36);
const topic = `soak-in-${suffix}`;
const admin = client.admin();
await admin.ensureTopics([{ topic, numPartitions: 4 }]);

const port = 20000 + Math.floor(Math.random() * 20000);
const child = spawn(join(REPO, 'bin', 'picket'), ['run'], {
  env: {
    ...process.env,
    KAFKA_BROKERS: brokers.join(','),
    PICKET_INPUT_TOPICS: topic,
    PICKET_OUTPUT_TOPIC: `soak-alerts-${suffix}`,
    PICKET_DEAD_LETTER_TOPIC: `soak-dlq-${suffix}`,
    PICKET_GROUP_ID: `soak-${suffix}`,
    PICKET_HTTP_PORT: String(port),
    PICKET_HTTP_HOST: '127.0.0.1',
    PICKET_LOG_LEVEL: 'warn',
  },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const rssMb = (field: 'VmRSS' | 'VmHWM'): number => {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) / 1024;
};

const producer = client.producer({ acks: 1, compression: 'none' });
await producer.connect();
interface Sample {
  t: number;
  rssMb: number;
  heapUsedMb: number;
  stateEntries: number;
  publishedIds: number;
}
const samples: Sample[] = [];
/** Sums of the named metrics' series on picket's /metrics (NaN when it does not answer). */
async function scrape(names: readonly string[]): Promise<number[]> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    return names.map((name) => {
      let sum = 0;
      for (const line of text.split('\n')) {
        if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
      }
      return sum;
    });
  } catch {
    return names.map(() => Number.NaN);
  }
}
const start = Date.now();
let sent = 0;
let nextSample = start;
for (let tick = 0; Date.now() - start < seconds * 1000; tick++) {
  const t = Date.now();
  // Event time follows the wall clock, a little behind it (attacks span up to 2 s).
  const chunk = benchMix(t - 2600, 100, rate / 10, { seed: 5000 + tick });
  await producer.send(chunk.lines.map((value, j) => ({ topic, key: chunk.keys[j]!, value })));
  sent += chunk.lines.length;
  if (t >= nextSample) {
    const [heap, entries, ids] = await scrape([
      'nodejs_heap_size_used_bytes',
      'picket_state_entries',
      'picket_published_alert_ids',
    ]);
    samples.push({
      t: (t - start) / 1000,
      rssMb: rssMb('VmRSS'),
      heapUsedMb: heap! / 2 ** 20,
      stateEntries: entries!,
      publishedIds: ids!,
    });
    nextSample += 10_000;
  }
  const wait = 100 - (Date.now() - t);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
const peak = rssMb('VmHWM');
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await producer.disconnect();
await admin.close();
await local?.stop();

// Least-squares slope of the second half (after warm-up), per minute.
const half = samples.slice(Math.floor(samples.length / 2));
function slopeOf(y: (s: Sample) => number): number {
  const n = half.length;
  const mx = half.reduce((a, s) => a + s.t, 0) / n;
  const my = half.reduce((a, s) => a + y(s), 0) / n;
  const sxy = half.reduce((a, s) => a + (s.t - mx) * (y(s) - my), 0);
  return (
    (sxy /
      Math.max(
        1e-9,
        half.reduce((a, s) => a + (s.t - mx) ** 2, 0),
      )) *
    60
  );
}
const slope = slopeOf((s) => s.rssMb);
const heapSlope = slopeOf((s) => s.heapUsedMb);
console.log(
  `soak: ${sent} events in ${seconds} s (${Math.round(sent / seconds)} ev/s offered), client ${config.kafka.client}`,
);
console.log(`rss samples (s: MB): ${samples.map((s) => `${s.t.toFixed(0)}: ${s.rssMb.toFixed(0)}`).join(', ')}`);
console.log(`heap used (s: MB): ${samples.map((s) => `${s.t.toFixed(0)}: ${s.heapUsedMb.toFixed(0)}`).join(', ')}`);
console.log(
  `state entries, published ids (s: n/n): ${samples.map((s) => `${s.t.toFixed(0)}: ${s.stateEntries}/${s.publishedIds}`).join(', ')}`,
);
console.log(
  `peak rss ${peak.toFixed(0)} MB; second-half slope ${slope.toFixed(2)} MB/min (heap used ${heapSlope.toFixed(2)} MB/min)`,
);
if (values.json !== undefined) {
  const result = {
    soak_seconds: seconds,
    soak_rate_eps: rate,
    events: sent,
    rss_peak_mb: Math.round(peak),
    rss_slope_mb_per_min: Number(slope.toFixed(2)),
    heap_used_slope_mb_per_min: Number(heapSlope.toFixed(2)),
    samples,
  };
  writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
}
