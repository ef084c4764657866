/**
 * `npm run scale-test`: picket scaled out as a consumer group (issue 9), against a real broker.
 *
 * Default mode (correctness): N `picket run` processes in one group read an input topic of P
 * partitions; the scale scenario (test/support/scaleScenario.ts: background traffic and attacks of
 * all four kinds, ten days of event time) is produced in time order, round-robin over the partitions,
 * at --rate events/s; while it flows, K random instances are SIGKILLed at random moments and started
 * again after a random delay, and one is stopped with SIGTERM and started again. Once every partition
 * is published through its last offset and the output is quiet, every alert on the output topic is
 * compared, by `event.id`, with the single-process replay of the same events (missing, unexpected,
 * duplicated, per rule). Exits 1 when they differ. The rebalance pause of each disruption is shown.
 *
 *   npm run scale-test -- [--instances 3] [--partitions 12] [--events 40000] [--rate 2000]
 *                         [--kills 2] [--seed 1] [--topology routed|direct] [--json FILE]
 *
 * --throughput: no kills; for N = 1, 2, 3 (or --instances N), a larger stream (--events, default
 * 200,000) is produced into the topic while the group's processes are stopped (SIGSTOP, after they
 * joined), then they are let go (SIGCONT): events/s of the group and per instance, from then until
 * every partition is published through its last offset.
 *
 * --topology is passed as PICKET_ROUTING_TOPOLOGY (routed: re-key by each detection's join key;
 * direct: every input partition on its own). The output is also compared with what `direct`
 * gives (run's per-partition processing of each partition's share), for information.
 *
 * Kafka: KAFKA_BROKERS when set, else a local broker (test/support/kafka.ts).
 */
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { parseCommitMetadata } from '../src/consumers/partitionProcessor.js';
import { createTopics, startTestKafka, uniqueName } from '../test/support/kafka.js';
import { startPicket, type PicketProcess } from '../test/support/picketProcess.js';
import { directReference, replayReference } from '../test/support/scaleReference.js';
import {
  compareAlerts,
  formatComparison,
  metricSum,
  runScale,
  sameAlerts,
  SCALE_RUN_ENV,
  type ScaleAction,
  type Topology,
} from '../test/support/scaleRun.js';
import { partitionOf, scaleScenario, splitAttacks, type ScaleScenario } from '../test/support/scaleScenario.js';
import { rng } from '../src/demo/sampleTraffic.js';

const { values } = parseArgs({
  options: {
    instances: { type: 'string' },
    partitions: { type: 'string', default: '12' },
    events: { type: 'string' },
    rate: { type: 'string', default: '2000' },
    kills: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
    topology: { type: 'string', default: 'routed' },
    throughput: { type: 'boolean', default: false },
    json: { type: 'string' },
    logs: { type: 'string' },
  },
  allowPositionals: false,
});
const int = (name: string, v: string | undefined, min: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name}: an integer >= ${min} (got ${v})`);
  return n;
};
const topology = values.topology as Topology;
if (topology !== 'routed' && topology !== 'direct') throw new Error('--topology: routed or direct');
const partitions = int('partitions', values.partitions, 1);
const seed = int('seed', values.seed, 0);
const throughput = values.throughput === true;
const events = int('events', values.events ?? (throughput ? '200000' : '40000'), 100);
const log = (s: string): void => void process.stderr.write(`scale-test: ${s}\n`);

const kafka = await startTestKafka();
const brokers = kafka.brokers;
log(`Kafka (${kafka.kind}) at ${brokers.join(',')}`);
const machine = { cpus: cpus().length, cpu_model: cpus()[0]?.model ?? '', node: process.version };
const scenario = scaleScenario({ seed, events });
const bytes = scenario.events.reduce((n, e) => n + Buffer.byteLength(e.json), 0);
log(
  `scenario: ${scenario.events.length} events (${Math.round(bytes / scenario.events.length)} B avg), ` +
    `attacks ${JSON.stringify(scenario.attacks)}, seed ${seed}`,
);

let exitCode = 0;
try {
  if (throughput) await throughputMode();
  else exitCode = await correctnessMode();
} finally {
  await kafka.stop();
}
process.exit(exitCode);

// ---------------------------------------------------------------------------------------------

async function correctnessMode(): Promise<number> {
  const instances = int('instances', values.instances ?? '3', 1);
  const kills = int('kills', values.kills, 0);
  const rate = int('rate', values.rate, 0);
  const single = await replayReference(scenario, SCALE_RUN_ENV);
  const direct = directReference(scenario, partitions, SCALE_RUN_ENV);
  const split = splitAttacks(scenario, partitions);
  log(
    `single-process replay: ${single.length} alerts; direct would give ${direct.length} ` +
      `(${split.size} attacks have events on several partitions)`,
  );

  // K SIGKILLs and one SIGTERM at random moments of the stream, each followed by a restart.
  const r = rng(seed * 7919 + 17);
  const n = kills + 1;
  const sigterm = Math.floor(r() * n);
  const first = Math.floor(r() * instances); // then the next instance each time
  const actions: ScaleAction[] = Array.from({ length: n }, (_, j) => ({
    at: 0.05 + (0.85 * (j + 0.2 + 0.6 * r())) / n,
    signal: j === sigterm ? 'SIGTERM' : 'SIGKILL',
    instance: (first + j) % instances,
    restartAfterMs: Math.floor(r() * 3000),
  }));
  const logDir = values.logs ?? join(tmpdir(), `picket-scale-${Date.now().toString(36)}`);
  const result = await runScale({
    brokers,
    scenario,
    instances,
    partitions,
    topology,
    rate,
    actions,
    timeoutMs: 300_000,
    log,
    logDir,
  });
  const c = compareAlerts(single, result.alerts);
  const vsDirect = compareAlerts(direct, result.alerts);
  const same = sameAlerts(c);
  console.log(
    `picket scale test: ${instances} instances, ${partitions} partitions, topology ${topology}, ` +
      `${result.produced} events at ${rate || 'max'} ev/s, seed ${seed}`,
  );
  console.log('');
  console.log(
    '| t (s) | disruption | instance | ready after (ms) | longest partition stall after the stop, restart included (ms) |',
  );
  console.log('|---:|---|---:|---:|---:|');
  for (const d of result.disruptions) {
    const what = d.signal === 'SIGTERM' ? `SIGTERM (exit ${d.exitCode})` : d.signal;
    console.log(
      `| ${(d.atMs / 1000).toFixed(1)} | ${what} | ${d.instance} | ${d.readyMs ?? ''} | ${d.pauseMs ?? ''} |`,
    );
  }
  console.log('');
  console.log(`against the single-process replay (${same ? 'SAME' : 'DIFFERENT'}):`);
  console.log(formatComparison(single, result.alerts, c));
  console.log('');
  console.log(
    `against the direct (per-partition) answer: missing ${vsDirect.missing.length}, ` +
      `unexpected ${vsDirect.unexpected.length}, duplicated ${vsDirect.duplicated.length}`,
  );
  console.log(
    `input consumed in ${(result.consumedMs / 1000).toFixed(1)} s; alerts dropped as already published ` +
      `by the processes alive at the end: ${result.deduplicatedAtEnd}; crashes: ${result.crashes.length}; logs in ${logDir}`,
  );
  if (values.json !== undefined) {
    const out = {
      mode: 'correctness',
      instances,
      partitions,
      topology,
      seed,
      events: result.produced,
      rate_eps: rate,
      same,
      expected: c.expected,
      output: c.actual,
      missing: c.missing,
      unexpected: c.unexpected,
      duplicated: c.duplicated,
      versus_direct: {
        expected: direct.length,
        missing: vsDirect.missing.length,
        unexpected: vsDirect.unexpected.length,
        duplicated: vsDirect.duplicated.length,
      },
      disruptions: result.disruptions,
      crashes: result.crashes,
      consumed_ms: result.consumedMs,
      machine,
    };
    writeFileSync(values.json, JSON.stringify(out, null, 2) + '\n');
    log(`wrote ${values.json}`);
  }
  return same && result.crashes.length === 0 ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------

interface ThroughputRow {
  instances: number;
  group_eps: number;
  per_instance_eps: number;
  seconds: number;
  read_by_instance: number[];
  alerts: number;
}

async function throughputMode(): Promise<void> {
  const counts = values.instances !== undefined ? [int('instances', values.instances, 1)] : [1, 2, 3];
  const rows: ThroughputRow[] = [];
  for (const n of counts) rows.push(await throughputRun(n, scenario));
  console.log(
    `picket scale test, throughput: ${scenario.events.length} events (${Math.round(bytes / scenario.events.length)} B avg), ` +
      `${partitions} partitions, topology ${topology}, ${machine.cpus} cores (${machine.cpu_model}), Node ${machine.node}`,
  );
  console.log('| instances | group ev/s | per instance ev/s | seconds | events read by each | alerts |');
  console.log('|---:|---:|---:|---:|---|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.instances} | ${r.group_eps.toLocaleString('en')} | ${r.per_instance_eps.toLocaleString('en')} | ` +
        `${r.seconds.toFixed(1)} | ${r.read_by_instance.map((x) => x.toLocaleString('en')).join(' / ')} | ${r.alerts} |`,
    );
  }
  if (values.json !== undefined) {
    const out = { mode: 'throughput', partitions, topology, events: scenario.events.length, bytes, rows, machine };
    writeFileSync(values.json, JSON.stringify(out, null, 2) + '\n');
    log(`wrote ${values.json}`);
  }
}

/**
 * N processes join the group on an empty topic and are stopped (SIGSTOP); the whole stream is
 * produced; they are let go (SIGCONT) and timed until every partition is published through its end.
 * So neither the group joins nor the producer share the two cores with the measured work.
 */
async function throughputRun(n: number, s: ScaleScenario): Promise<ThroughputRow> {
  const input = uniqueName('scale-tp-in');
  const output = uniqueName('scale-tp-alerts');
  const groupId = uniqueName('picket-scale-tp');
  await createTopics(brokers, [
    { topic: input, numPartitions: partitions },
    { topic: output, numPartitions: 3 },
  ]);
  const env = {
    KAFKA_BROKERS: brokers.join(','),
    PICKET_INPUT_TOPICS: input,
    PICKET_OUTPUT_TOPIC: output,
    PICKET_DEAD_LETTER_TOPIC: uniqueName('scale-tp-dlq'),
    PICKET_GROUP_ID: groupId,
    PICKET_FROM_BEGINNING: 'true',
    PICKET_ROUTING_TOPOLOGY: topology,
    PICKET_LOG_LEVEL: 'warn',
    ...SCALE_RUN_ENV,
    // Stopped for the whole production: the session must outlast it.
    PICKET_SESSION_TIMEOUT_MS: '60000',
  };
  const procs: PicketProcess[] = [];
  const client = new Kafka({ clientId: 'picket-scale-tp', brokers, logLevel: logLevel.NOTHING });
  const admin = client.admin();
  const producer = client.producer();
  await admin.connect();
  await producer.connect();
  try {
    for (let i = 0; i < n; i++) procs.push(await startPicket(env));
    await Promise.all(procs.map((p) => p.waitReady(60_000)));
    // Joined and settled: no rebalance for 2 s, every process ready.
    let last = '';
    for (let stable = 0; stable < 2000; stable += 250) {
      const now = (await Promise.all(procs.map(async (p) => metricSum(await p.metrics(), 'picket_rebalances_total'))))
        .map(String)
        .join(',');
      if (now !== last) stable = 0;
      last = now;
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const p of procs) p.child.kill('SIGSTOP');
    const ends = new Array<number>(partitions).fill(-1);
    for (let i = 0; i < s.events.length; i += 2000) {
      const messages = [];
      for (let j = i; j < Math.min(s.events.length, i + 2000); j++) {
        const p = partitionOf(j, partitions);
        ends[p]!++;
        messages.push({ partition: p, value: s.events[j]!.json });
      }
      await producer.send({ topic: input, messages });
    }
    log(`N=${n}: produced ${s.events.length} events; SIGCONT`);
    const t0 = Date.now();
    for (const p of procs) p.child.kill('SIGCONT');
    for (;;) {
      const [r] = await admin.fetchOffsets({ groupId, topics: [input] });
      const done = (r?.partitions ?? []).every(
        (x) => (parseCommitMetadata(x.metadata)?.publishedThrough ?? -1) >= ends[x.partition]!,
      );
      if (done) break;
      if (Date.now() - t0 > 600_000) throw new Error(`N=${n}: not consumed in 10 minutes`);
      await new Promise((r2) => setTimeout(r2, 100));
    }
    const seconds = (Date.now() - t0) / 1000;
    const texts = await Promise.all(procs.map((p) => p.metrics()));
    const read = texts.map((t) => metricSum(t, 'picket_events_read_total'));
    const alerts = texts.reduce((a, t) => a + metricSum(t, 'picket_alerts_total'), 0);
    const group = Math.round(s.events.length / seconds);
    const row = {
      instances: n,
      group_eps: group,
      per_instance_eps: Math.round(group / n),
      seconds,
      read_by_instance: read,
      alerts,
    };
    log(`N=${n}: ${JSON.stringify(row)}`);
    return row;
  } finally {
    for (const p of procs) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    await Promise.all(procs.map((p) => p.exited));
    await producer.disconnect();
    await admin.disconnect();
  }
}
