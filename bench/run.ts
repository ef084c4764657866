/**
 * `npm run bench`: how fast picket is, against what it could be, measured side by side in one run.
 * Prints a table; `--json FILE` writes the same figures as JSON (the keys are a promise: scripts and
 * dashboards read them — extend, never rename). `--quick` runs a smaller version (well under a
 * minute) with the same keys. Asserts nothing.
 *
 *   npm run bench [-- --quick] [-- --json bench.json]
 *
 * Figures (bench/README.md has the latest):
 *   parse_only_eps     JSON.parse alone on the input bytes (the naive limit), one core
 *   engine_eps         picket's engine on the same bytes: decode, normalize, all detections, one core
 *                      (with the fast path, the default: src/ecs/fastPath.ts)
 *   engine_full_parse_eps  the same engine with the fast path off: every record parsed
 *   engine_js_scanner_eps  the same engine with the fast path's byte pass in JavaScript instead of
 *                      WebAssembly (what the WebAssembly scanner gains)
 *   fast_path_scanner  the byte pass `run` uses: wasm, or js when the WebAssembly build is missing
 *   fast_path_skipped_share  share of the input the fast path skipped without parsing
 *   null_consumer_eps  a consumer that reads the input topic and discards it, through the broker
 *   e2e_eps            `picket run` (a child process, all detections) on the same topic
 *   alert_delay_p50_ms / alert_delay_p99_ms
 *                      producing the trigger event → the alert readable on the output topic, at a
 *                      fixed offered load (alert_delay_rate_eps), with the lateness given
 *   rss_peak_mb        peak resident memory of the `picket run` processes (VmHWM)
 *
 * Kafka: KAFKA_BROKERS when set, else a local broker (src/localkafka). The client is the one
 * `picket run` is configured with (kafka.client when set in the environment, else the default).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../src/config.js';
import { createKafkaClient } from '../src/consumers/clientFactory.js';
import type { KafkaClient } from '../src/consumers/client.js';
import { PartitionProcessor } from '../src/consumers/partitionProcessor.js';
import { createDetections } from '../src/detectors/registry.js';
import type { FastPathScanner } from '../src/ecs/fastPath.js';
import { startLocalKafka } from '../src/localkafka/localBroker.js';
import { createLogger } from '../src/observability/logger.js';
import { benchMix } from './mix.js';

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, json: { type: 'string' } },
  allowPositionals: false,
});
const quick = values.quick === true;
const N = quick ? 60_000 : 400_000;
const DELAY_SECONDS = quick ? 8 : 45;
const DELAY_RATE = 20_000;
const DELAY_LATENESS_MS = quick ? 2000 : 15_000;
const DELAY_IDLE_MS = quick ? 1000 : 5000;
const PARTITIONS = 4;
const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

const log = (s: string): void => void process.stderr.write(`bench: ${s}\n`);
const round = (x: number): number => Math.round(x);

// ---- input ---------------------------------------------------------------------------------
const START = Date.UTC(2024, 4, 1);
const mix = benchMix(START, 3_600_000, N, { seed: 11 });
log(`input: ${mix.lines.length} events, ${(mix.bytes / mix.lines.length).toFixed(0)} B/event`);

// ---- one core, no Kafka ---------------------------------------------------------------------
function timeBest(fn: () => void, runs = quick ? 2 : 3): number {
  fn(); // warm-up
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

const parseSeconds = timeBest(() => {
  for (const b of mix.lines) JSON.parse(b.toString('utf8'));
});
let engineAlerts = 0;
let skippedShare = 0;
/**
 * What `run` does per record, without Kafka: PartitionProcessor (the fast path as configured by
 * default, decode, normalize with the default input format, the stream engine with the default
 * lateness, all detections). `fastPath: false` is the full-parse reference.
 */
let scannerUsed = 'none';
const engineRun = (fastPath?: boolean, fastPathScanner?: FastPathScanner) => (): void => {
  const config = loadConfig({ env: {} });
  const p = new PartitionProcessor('bench', 0, {
    detections: createDetections(),
    deadLetterTopic: 'dlq',
    latenessMs: config.ordering.latenessMs,
    format: config.input.format,
    ...(fastPath === undefined ? {} : { fastPath }),
    ...(fastPathScanner === undefined ? {} : { fastPathScanner }),
  });
  let alerts = 0;
  mix.lines.forEach((value, i) => {
    alerts += p.process(
      { topic: 'bench', partition: 0, offset: String(i), key: null, value, timestamp: '0', headers: {} },
      0,
    ).alerts.length;
  });
  if (fastPath === undefined && fastPathScanner === undefined) {
    engineAlerts = alerts;
    skippedShare = p.skipped / mix.lines.length;
    scannerUsed = p.fastPathScanner ?? 'none';
  } else if (alerts !== engineAlerts) throw new Error(`full parse: ${alerts} alerts, fast path ${engineAlerts}`);
};
const engineSeconds = timeBest(engineRun());
const fullParseSeconds = timeBest(engineRun(false));
const jsScannerSeconds = timeBest(engineRun(undefined, 'js'));
const parseOnlyEps = round(mix.lines.length / parseSeconds);
const engineEps = round(mix.lines.length / engineSeconds);
const engineFullParseEps = round(mix.lines.length / fullParseSeconds);
const engineJsScannerEps = round(mix.lines.length / jsScannerSeconds);
log(
  `parse only ${parseOnlyEps} ev/s, engine ${engineEps} ev/s (${engineAlerts} alerts, ` +
    `${(skippedShare * 100).toFixed(1)} % skipped by the fast path, ${scannerUsed} scanner), engine with the js ` +
    `scanner ${engineJsScannerEps} ev/s, with full parse ${engineFullParseEps} ev/s`,
);

// ---- through Kafka --------------------------------------------------------------------------
const local = process.env.KAFKA_BROKERS === undefined ? await startLocalKafka() : undefined;
const brokers = (process.env.KAFKA_BROKERS ?? local!.brokers).split(',');
const logger = createLogger('error');
// The client `picket run` uses too: kafka.client from the environment (PICKET_KAFKA_CLIENT).
const clientConfig = loadConfig({ overrides: { 'kafka.brokers': brokers } });
const clientName = clientConfig.kafka.client;
const client: KafkaClient = await createKafkaClient(clientConfig, logger, { clientId: 'bench' });
const suffix = Date.now().toString(36);
const inputTopic = `bench-in-${suffix}`;
const admin = client.admin();
await admin.ensureTopics([{ topic: inputTopic, numPartitions: PARTITIONS }]);
const producer = client.producer({ acks: 1, compression: 'none' });
await producer.connect();
{
  const t0 = performance.now();
  for (let i = 0; i < mix.lines.length; i += 2000) {
    await producer.send(
      mix.lines.slice(i, i + 2000).map((value, j) => ({ topic: inputTopic, key: mix.keys[i + j]!, value })),
    );
  }
  log(`produced ${mix.lines.length} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/** A consumer that reads the whole input topic and discards it: the client's limit. */
async function nullConsumer(): Promise<number> {
  const consumer = client.consumer({
    groupId: `bench-null-${suffix}`,
    sessionTimeoutMs: 30000,
    maxBytesPerPartition: loadConfig({ env: {} }).consumer.maxBytesPerPartition,
  });
  let read = 0;
  let first = 0;
  let done!: (s: number) => void;
  const finished = new Promise<number>((r) => (done = r));
  await consumer.connect();
  await consumer.subscribe([inputTopic], true);
  await consumer.run(async (batch, control) => {
    if (first === 0) first = performance.now();
    read += batch.records.length;
    const last = batch.records.at(-1);
    if (last !== undefined) control.markProcessed(last.offset);
    if (read >= mix.lines.length) done((performance.now() - first) / 1000);
  });
  const seconds = await finished;
  await consumer.disconnect();
  return round(mix.lines.length / seconds);
}

interface Picket {
  child: ChildProcess;
  port: number;
  /** The sum of a metric's series (those whose labels contain `label`, when given). */
  metric(name: string, label?: string): Promise<number>;
  peakRssMb(): number;
  stop(): Promise<void>;
}

async function startPicket(env: Record<string, string>): Promise<Picket> {
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(join(REPO, 'bin', 'picket'), ['run'], {
    env: {
      ...process.env,
      KAFKA_BROKERS: brokers.join(','),
      PICKET_HTTP_PORT: String(port),
      PICKET_HTTP_HOST: '127.0.0.1',
      PICKET_LOG_LEVEL: 'warn',
      PICKET_FROM_BEGINNING: 'true',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`picket run exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('picket run not ready after 60 s');
    const ok = await fetch(`${base}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    port,
    async metric(name, label) {
      const text = await (await fetch(`${base}/metrics`)).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!(line.startsWith(name + '{') || line.startsWith(name + ' '))) continue;
        if (label === undefined || line.includes(label)) sum += Number(line.split(' ').pop());
      }
      return sum;
    },
    peakRssMb() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return kb / 1024;
    },
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** `picket run` over the same topic: from its first record read until every record was read and processed. */
async function e2e(): Promise<{ eps: number; rssMb: number; alerts: number }> {
  const picket = await startPicket({
    PICKET_INPUT_TOPICS: inputTopic,
    PICKET_OUTPUT_TOPIC: `bench-alerts-${suffix}`,
    PICKET_DEAD_LETTER_TOPIC: `bench-dlq-${suffix}`,
    PICKET_GROUP_ID: `bench-e2e-${suffix}`,
  });
  // Timed from its first record read to its last, as the null consumer is (group join excluded).
  let first = 0;
  let read = 0;
  // Records of the input topic only: in the routed topology picket also reads its repartition topics.
  const input = `topic="${inputTopic}"`;
  while (first === 0 && (read = await picket.metric('picket_events_read_total', input)) === 0) {
    await new Promise((r) => setTimeout(r, 10));
  }
  first = performance.now();
  const firstCount = read;
  // Polled every 100 ms: each scrape costs picket a few ms (at 25 ms, ~7 % of its time went to them).
  while ((read = await picket.metric('picket_events_read_total', input)) < mix.lines.length) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const seconds = (performance.now() - first) / 1000;
  const alerts = await picket.metric('picket_alerts_total');
  const rssMb = picket.peakRssMb();
  await picket.stop();
  return { eps: round((mix.lines.length - firstCount) / seconds), rssMb, alerts };
}

/**
 * Alert delay at a fixed offered load: fresh traffic (event time = now) is produced at DELAY_RATE;
 * for each alert read back, the time since its trigger event (the last in picket.events) was produced.
 */
async function alertDelay(): Promise<{
  p50: number;
  p99: number;
  alerts: number;
  byRule: Record<string, object>;
  rssMb: number;
  offered: number;
}> {
  const topic = `bench-delay-in-${suffix}`;
  const output = `bench-delay-alerts-${suffix}`;
  await admin.ensureTopics([{ topic, numPartitions: PARTITIONS }, { topic: output }]);
  const picket = await startPicket({
    PICKET_INPUT_TOPICS: topic,
    PICKET_OUTPUT_TOPIC: output,
    PICKET_DEAD_LETTER_TOPIC: `bench-delay-dlq-${suffix}`,
    PICKET_GROUP_ID: `bench-delay-${suffix}`,
    PICKET_LATENESS_MS: String(DELAY_LATENESS_MS),
    PICKET_IDLE_TIMEOUT_MS: String(DELAY_IDLE_MS),
  });
  const producedAt = new Map<string, number>();
  const delays = new Map<string, number[]>();
  const reader = client.consumer({
    groupId: `bench-delay-reader-${suffix}`,
    sessionTimeoutMs: 30000,
    maxBytesPerPartition: 1 << 20,
  });
  await reader.connect();
  await reader.subscribe([output], true);
  await reader.run(async (batch, control) => {
    const now = Date.now();
    for (const r of batch.records) {
      const alert = JSON.parse(r.value!.toString()) as {
        rule: { name: string };
        picket: { events: { event?: { id: string } }[] };
      };
      const trigger = alert.picket.events.at(-1)?.event?.id;
      const at = trigger === undefined ? undefined : producedAt.get(trigger);
      if (at !== undefined) {
        const list = delays.get(alert.rule.name) ?? [];
        list.push(now - at);
        delays.set(alert.rule.name, list);
      }
      control.markProcessed(r.offset);
    }
  });
  const tickMs = 100;
  const end = Date.now() + DELAY_SECONDS * 1000;
  let offered = 0;
  for (let seed = 1; Date.now() < end; seed++) {
    const t = Date.now();
    // Event time half a second behind the wall clock (Beats ship with some delay), so that no
    // event of the chunk (attacks span up to 2 s) is from the future.
    // Numbered on from the previous chunk: each trigger id names one event (ids repeated from chunk
    // to chunk made alerts look as recent as the latest event of the same id).
    const chunk = benchMix(t - tickMs - 2500, tickMs, (DELAY_RATE * tickMs) / 1000, {
      seed: 1000 + seed,
      firstIndex: seed * 1_000_000,
    });
    const stamp = Date.now();
    for (const b of chunk.lines) {
      const id = (JSON.parse(b.toString()) as { event?: { id?: string } }).event?.id;
      if (id !== undefined) producedAt.set(id, stamp);
    }
    await producer.send(chunk.lines.map((value, j) => ({ topic, key: chunk.keys[j]!, value })));
    offered += chunk.lines.length;
    const wait = tickMs - (Date.now() - t);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  const offeredEps = round(offered / DELAY_SECONDS);
  // The traffic stops: what the reorder buffers hold is released after the idle timeout.
  await new Promise((r) => setTimeout(r, DELAY_LATENESS_MS + DELAY_IDLE_MS + 3000));
  const rssMb = picket.peakRssMb();
  await reader.disconnect();
  await picket.stop();
  const q = (xs: number[], p: number): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  };
  const all = [...delays.values()].flat();
  const byRule: Record<string, object> = {};
  for (const [rule, xs] of delays) byRule[rule] = { alerts: xs.length, p50_ms: q(xs, 0.5), p99_ms: q(xs, 0.99) };
  return { p50: q(all, 0.5), p99: q(all, 0.99), alerts: all.length, byRule, rssMb, offered: offeredEps };
}

const nullEps = await nullConsumer();
log(`null consumer ${nullEps} ev/s`);
const run = await e2e();
log(`picket run ${run.eps} ev/s (${run.alerts} alerts), peak RSS ${run.rssMb.toFixed(0)} MB`);
const delay = await alertDelay();
log(
  `alert delay p50 ${delay.p50} ms, p99 ${delay.p99} ms over ${delay.alerts} alerts at ${delay.offered} ev/s offered`,
);
await producer.disconnect();
await admin.close();
await local?.stop();

// ---- report ---------------------------------------------------------------------------------
const result = {
  parse_only_eps: parseOnlyEps,
  engine_eps: engineEps,
  engine_full_parse_eps: engineFullParseEps,
  engine_js_scanner_eps: engineJsScannerEps,
  fast_path_scanner: scannerUsed,
  fast_path_skipped_share: Number(skippedShare.toFixed(4)),
  null_consumer_eps: nullEps,
  e2e_eps: run.eps,
  alert_delay_p50_ms: delay.p50,
  alert_delay_p99_ms: delay.p99,
  rss_peak_mb: round(Math.max(run.rssMb, delay.rssMb)),
  engine_vs_parse: Number((engineEps / parseOnlyEps).toFixed(3)),
  e2e_vs_null_consumer: Number((run.eps / nullEps).toFixed(3)),
  alert_delay_rate_eps: delay.offered,
  alert_delay_lateness_ms: DELAY_LATENESS_MS,
  alert_delay_alerts: delay.alerts,
  alert_delay_by_rule: delay.byRule,
  input: {
    events: mix.lines.length,
    bytes: mix.bytes,
    avg_event_bytes: round(mix.bytes / mix.lines.length),
    partitions: PARTITIONS,
    mix: mix.kinds,
    engine_alerts: engineAlerts,
  },
  kafka_client: clientName,
  quick,
  machine: { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '', node: process.version },
};

const rows: [string, string][] = [
  ['JSON.parse only (one core)', `${parseOnlyEps.toLocaleString('en')} ev/s`],
  [
    'engine: decode, normalize, D1–D4 (one core)',
    `${engineEps.toLocaleString('en')} ev/s (${result.engine_vs_parse}× parse)`,
  ],
  [
    'engine, fast path in JavaScript instead of WebAssembly',
    `${engineJsScannerEps.toLocaleString('en')} ev/s (${(engineJsScannerEps / parseOnlyEps).toFixed(3)}× parse; ${scannerUsed} in use)`,
  ],
  [
    'engine without the fast path (every record parsed)',
    `${engineFullParseEps.toLocaleString('en')} ev/s (fast path skips ${(skippedShare * 100).toFixed(1)} %)`,
  ],
  [`null consumer (${clientName})`, `${nullEps.toLocaleString('en')} ev/s`],
  [
    'picket run, all detections',
    `${run.eps.toLocaleString('en')} ev/s (${result.e2e_vs_null_consumer}× null consumer)`,
  ],
  [
    `alert delay p50 / p99 at ${delay.offered.toLocaleString('en')} ev/s, lateness ${DELAY_LATENESS_MS} ms`,
    `${delay.p50} / ${delay.p99} ms (${delay.alerts} alerts)`,
  ],
  ['picket run peak RSS', `${result.rss_peak_mb} MB`],
];
console.log(
  `input: ${mix.lines.length.toLocaleString('en')} events, ${result.input.avg_event_bytes} B/event, ${PARTITIONS} partitions${quick ? ' (quick)' : ''}`,
);
console.log('| what | figure |');
console.log('|---|---:|');
for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
for (const [rule, r] of Object.entries(delay.byRule)) console.log(`|   ${rule} | ${JSON.stringify(r)} |`);
if (values.json !== undefined) {
  writeFileSync(values.json, JSON.stringify(result, null, 2) + '\n');
  log(`wrote ${values.json}`);
}
