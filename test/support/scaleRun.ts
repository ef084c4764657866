/**
 * The scale test's run against a real broker, shared by bench/scaleTest.ts and
 * test/integration/scaleOut.test.ts: N `picket run` processes in one consumer group read a
 * many-partition input topic; the scenario's events are produced in time order, round-robin over
 * the partitions, at a given rate; while they flow, instances are stopped (SIGKILL or SIGTERM) and
 * started again; at the end every alert on the output topic is read and compared, by `event.id`,
 * with a reference (test/support/scaleReference.ts): missing, unexpected and duplicated alerts.
 *
 * Progress is followed through the group's commits: picket commits, with each partition's offset,
 * metadata saying through which offset alerts were published (`m`). The input is consumed when
 * every partition's `m` reaches its last offset; the output is then read until it has been quiet
 * for `quietMs` (the idle timeout releases what the reorder buffers still hold).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { parseCommitMetadata } from '../../src/consumers/partitionProcessor.js';
import { createTopics, uniqueName } from './kafka.js';
import { startPicket, TopicCollector, type PicketProcess } from './picketProcess.js';
import type { AlertRef } from './scaleReference.js';
import { partitionOf, SCALE_DETECTION_ENV, type ScaleScenario } from './scaleScenario.js';

export type Topology = 'routed' | 'direct';

/**
 * Stream settings of `run` in the scale test (and of the references): the stream is ten days of event
 * time in a few seconds, so a short lateness and idle timeout lose nothing and end the run quickly;
 * sessions expire after 6 s (the broker's minimum) so a SIGKILL is noticed soon.
 */
export const SCALE_RUN_ENV: Readonly<Record<string, string>> = {
  ...SCALE_DETECTION_ENV,
  PICKET_LATENESS_MS: '2000',
  PICKET_IDLE_TIMEOUT_MS: '1000',
  PICKET_SESSION_TIMEOUT_MS: '6000',
  PICKET_COMMIT_INTERVAL_MS: '500',
};

export interface ScaleAction {
  /** When: once this fraction of the stream has been produced (0–1). */
  readonly at: number;
  readonly signal: 'SIGKILL' | 'SIGTERM';
  /** Which instance (0-based). */
  readonly instance: number;
  /** Started again this long after it exited (undefined: never). */
  readonly restartAfterMs?: number;
}

export interface ScaleRunOptions {
  readonly brokers: string[];
  readonly scenario: ScaleScenario;
  readonly instances: number;
  readonly partitions: number;
  readonly topology: Topology;
  readonly actions?: readonly ScaleAction[];
  /** Events/s offered (0: as fast as the producer goes). */
  readonly rate: number;
  /** Extra environment of every picket process. */
  readonly env?: Readonly<Record<string, string>>;
  /** The output must be quiet this long at the end (default 5 s). */
  readonly quietMs?: number;
  /** Give up waiting for the input to be consumed after this long (default 120 s). */
  readonly timeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Each process's output is written there (instance-<i>-<n>.log). */
  readonly logDir?: string;
}

export interface OutputAlert {
  readonly id: string;
  readonly rule: string;
  readonly partition: number;
  readonly offset: string;
}

export interface Disruption {
  readonly signal: 'SIGKILL' | 'SIGTERM' | 'start';
  readonly instance: number;
  /** ms since the first record was produced. */
  readonly atMs: number;
  /** Exit code after SIGTERM (0: drained and left the group). */
  readonly exitCode?: number | null;
  /** start: spawn → /readyz 200 (joined the group, state restored). */
  readonly readyMs?: number;
  /**
   * SIGKILL/SIGTERM: the longest stall of a partition's commit progress that began at this moment
   * (within a second: commits are 0.5 s apart) and before the next stop (or 30 s), the restart's
   * rebalance included: about how long the group stopped processing some of its input. Commit
   * progress is sampled every 200 ms.
   */
  pauseMs?: number;
}

export interface ScaleRunResult {
  readonly inputTopic: string;
  readonly outputTopic: string;
  readonly groupId: string;
  readonly produced: number;
  /** First record produced → every partition published through its last offset. */
  readonly consumedMs: number;
  readonly alerts: readonly OutputAlert[];
  readonly disruptions: readonly Disruption[];
  /** Processes that exited without being told to. */
  readonly crashes: readonly { instance: number; code: number | null }[];
  /** Of the processes alive at the end: alerts dropped as already published (picket_alerts_deduplicated_total). */
  readonly deduplicatedAtEnd: number;
}

interface Slot {
  proc: PicketProcess | undefined;
  starts: number;
  /** Stopped on purpose (its exit is not a crash). */
  stopping: boolean;
}

/** Sum of a Prometheus counter over its labels. */
export function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name + '{') || line.startsWith(name + ' ')) sum += Number(line.split(' ').pop());
  }
  return sum;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runScale(opts: ScaleRunOptions): Promise<ScaleRunResult> {
  const { brokers, scenario, partitions } = opts;
  const log = opts.log ?? (() => undefined);
  const inputTopic = uniqueName('scale-in');
  const outputTopic = uniqueName('scale-alerts');
  const groupId = uniqueName('picket-scale');
  await createTopics(brokers, [
    { topic: inputTopic, numPartitions: partitions },
    { topic: outputTopic, numPartitions: 3 },
  ]);
  const env: Record<string, string> = {
    KAFKA_BROKERS: brokers.join(','),
    PICKET_INPUT_TOPICS: inputTopic,
    PICKET_OUTPUT_TOPIC: outputTopic,
    PICKET_DEAD_LETTER_TOPIC: uniqueName('scale-dlq'),
    PICKET_GROUP_ID: groupId,
    PICKET_FROM_BEGINNING: 'true',
    PICKET_ROUTING_TOPOLOGY: opts.topology,
    ...SCALE_RUN_ENV,
    ...opts.env,
  };
  const collector = new TopicCollector(brokers, outputTopic);
  await collector.start();
  const kafka = new Kafka({ clientId: 'picket-scale', brokers, logLevel: logLevel.NOTHING });
  const admin: Admin = kafka.admin();
  await admin.connect();
  const producer: Producer = kafka.producer();
  await producer.connect();

  const slots: Slot[] = Array.from({ length: opts.instances }, () => ({ proc: undefined, starts: 0, stopping: false }));
  const crashes: { instance: number; code: number | null }[] = [];
  const disruptions: Disruption[] = [];
  const background: Promise<void>[] = [];
  let t0 = 0;
  const since = (): number => (t0 === 0 ? 0 : Date.now() - t0);

  const saveLog = (i: number, p: PicketProcess, n: number): void => {
    if (opts.logDir === undefined) return;
    mkdirSync(opts.logDir, { recursive: true });
    writeFileSync(join(opts.logDir, `instance-${i}-${n}.log`), p.output());
  };
  async function start(i: number): Promise<number> {
    const slot = slots[i]!;
    const n = ++slot.starts;
    const began = Date.now();
    const p = await startPicket(env);
    slot.proc = p;
    slot.stopping = false;
    void p.exited.then((code) => {
      saveLog(i, p, n);
      if (!slot.stopping && slot.proc === p) {
        crashes.push({ instance: i, code });
        log(`instance ${i} exited by itself with ${code}`);
      }
    });
    await p.waitReady(60_000);
    return Date.now() - began;
  }
  async function disrupt(a: ScaleAction): Promise<void> {
    const slot = slots[a.instance]!;
    const p = slot.proc;
    if (p === undefined || p.child.exitCode !== null) return;
    slot.stopping = true;
    const d: Disruption = { signal: a.signal, instance: a.instance, atMs: since() };
    disruptions.push(d);
    log(`${(d.atMs / 1000).toFixed(1)} s: ${a.signal} instance ${a.instance}`);
    p.child.kill(a.signal);
    const code = await p.exited;
    if (a.signal === 'SIGTERM') (d as { exitCode?: number | null }).exitCode = code;
    if (a.restartAfterMs === undefined) return;
    await sleep(a.restartAfterMs);
    const s: Disruption = { signal: 'start', instance: a.instance, atMs: since() };
    disruptions.push(s);
    log(`${(s.atMs / 1000).toFixed(1)} s: start instance ${a.instance}`);
    (s as { readyMs?: number }).readyMs = await start(a.instance);
  }

  // Actions on one instance wait for the previous one (and its restart) to finish.
  const chains = slots.map(() => Promise.resolve());
  function schedule(a: ScaleAction): Promise<void> {
    const next = chains[a.instance]!.then(() => disrupt(a));
    chains[a.instance] = next.catch(() => undefined);
    return next;
  }

  // Commit progress of every partition, sampled: [wall ms, published-through offset].
  const progress: [number, number][][] = Array.from({ length: partitions }, () => []);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const [r] = await admin.fetchOffsets({ groupId, topics: [inputTopic] });
        const t = Date.now();
        for (const p of r?.partitions ?? []) {
          const m = parseCommitMetadata(p.metadata)?.publishedThrough ?? -1;
          const series = progress[p.partition];
          if (series !== undefined && (series.length === 0 || series.at(-1)![1] !== m)) series.push([t, m]);
        }
      } catch {
        // the coordinator may be moving; sample again
      }
      await sleep(200);
    }
  })();

  const lastOffset = new Array<number>(partitions).fill(-1);
  scenario.events.forEach((_, i) => lastOffset[partitionOf(i, partitions)]!++);
  const consumed = (): boolean =>
    progress.every((s, p) => lastOffset[p]! < 0 || (s.length > 0 && s.at(-1)![1] >= lastOffset[p]!));

  try {
    await Promise.all(slots.map((_, i) => start(i)));
    log(`${opts.instances} instances ready in group ${groupId}`);

    // ---- produce in time order, round-robin, at the rate; disrupt on the way -----------------
    const actions = [...(opts.actions ?? [])].sort((a, b) => a.at - b.at);
    const total = scenario.events.length;
    const tickMs = 100;
    const perTick = opts.rate > 0 ? Math.max(1, Math.round((opts.rate * tickMs) / 1000)) : 2000;
    t0 = Date.now();
    let produced = 0;
    while (produced < total) {
      const tick = Date.now();
      const end = Math.min(total, produced + perTick);
      const messages = [];
      for (let i = produced; i < end; i++) {
        messages.push({ partition: partitionOf(i, partitions), value: scenario.events[i]!.json });
      }
      await producer.send({ topic: inputTopic, messages });
      produced = end;
      while (actions.length > 0 && actions[0]!.at * total <= produced) background.push(schedule(actions.shift()!));
      const wait = opts.rate > 0 ? tickMs - (Date.now() - tick) : 0;
      if (wait > 0) await sleep(wait);
    }
    for (const a of actions) background.push(schedule(a));
    log(`${(since() / 1000).toFixed(1)} s: produced ${produced} events over ${partitions} partitions`);
    await Promise.all(background);

    // ---- wait until every partition is published through its end, then for a quiet output ------
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    while (!consumed()) {
      if (Date.now() > deadline) {
        const where = progress.map((s, p) => `${p}:${s.at(-1)?.[1] ?? -1}/${lastOffset[p]}`).join(' ');
        throw new Error(`input not consumed in time (partition:published/last ${where})`);
      }
      await sleep(200);
    }
    const consumedMs = since();
    log(`${(consumedMs / 1000).toFixed(1)} s: every partition published through its last offset`);
    const quietMs = opts.quietMs ?? 5000;
    let count = collector.records.length;
    let quietSince = Date.now();
    while (Date.now() - quietSince < quietMs) {
      await sleep(200);
      if (collector.records.length !== count) {
        count = collector.records.length;
        quietSince = Date.now();
      }
    }

    let deduplicatedAtEnd = 0;
    for (const s of slots) {
      if (s.proc !== undefined && s.proc.child.exitCode === null) {
        deduplicatedAtEnd += metricSum(await s.proc.metrics(), 'picket_alerts_deduplicated_total');
      }
    }
    sampling = false;
    await sampler;
    for (const d of disruptions) {
      const pause = pauseAfter(d, disruptions, progress, t0);
      if (pause !== undefined) d.pauseMs = pause;
    }

    const alerts = collector.records.map((r) => {
      const doc = JSON.parse(r.value) as { event?: { id?: string }; rule?: { name?: string } };
      return { id: doc.event?.id ?? '?', rule: doc.rule?.name ?? '?', partition: r.partition, offset: r.offset };
    });
    return {
      inputTopic,
      outputTopic,
      groupId,
      produced,
      consumedMs,
      alerts,
      disruptions,
      crashes,
      deduplicatedAtEnd,
    };
  } finally {
    sampling = false;
    await sampler;
    for (const s of slots) {
      s.stopping = true;
      s.proc?.child.kill('SIGKILL');
    }
    await Promise.all(slots.map((s) => s.proc?.exited));
    await Promise.allSettled(background);
    await producer.disconnect();
    await admin.disconnect();
    await collector.stop();
  }
}

const STALL_SLACK_MS = 1000;

/** See Disruption.pauseMs. `t0`: wall ms that the disruptions' atMs count from. */
function pauseAfter(
  d: Disruption,
  all: readonly Disruption[],
  progress: readonly [number, number][][],
  t0: number,
): number | undefined {
  const at = t0 + d.atMs;
  if (d.signal === 'start') return undefined; // counted with the stop it follows
  const next =
    t0 +
    all.filter((x) => x.signal !== 'start' && x.atMs > d.atMs).reduce((m, x) => Math.min(m, x.atMs), d.atMs + 30_000);
  let worst = 0;
  for (const series of progress) {
    // Gaps between consecutive advances that begin after the disruption and before the next one
    // (less the commit interval: a partition's last commit before a kill is up to that much older).
    for (let i = 1; i < series.length; i++) {
      const a = series[i - 1]![0];
      const b = series[i]![0];
      if (b > at && a >= at - STALL_SLACK_MS && a < next - STALL_SLACK_MS) worst = Math.max(worst, b - Math.max(a, at));
    }
  }
  return worst;
}

export interface Comparison {
  readonly expected: number;
  readonly actual: number;
  readonly missing: readonly AlertRef[];
  readonly unexpected: readonly OutputAlert[];
  /** Ids published more than once, with how many times. */
  readonly duplicated: readonly { id: string; rule: string; count: number }[];
}

export function compareAlerts(expected: readonly AlertRef[], actual: readonly OutputAlert[]): Comparison {
  const want = new Set(expected.map((a) => a.id));
  const counts = new Map<string, { rule: string; count: number }>();
  for (const a of actual) {
    const c = counts.get(a.id);
    if (c === undefined) counts.set(a.id, { rule: a.rule, count: 1 });
    else c.count++;
  }
  return {
    expected: expected.length,
    actual: actual.length,
    missing: expected.filter((a) => !counts.has(a.id)),
    unexpected: actual.filter((a, i) => !want.has(a.id) && actual.findIndex((b) => b.id === a.id) === i),
    duplicated: [...counts].filter(([, c]) => c.count > 1).map(([id, c]) => ({ id, rule: c.rule, count: c.count })),
  };
}

export function sameAlerts(c: Comparison): boolean {
  return c.missing.length === 0 && c.unexpected.length === 0 && c.duplicated.length === 0;
}

/** Per rule: expected, on the output, missing, unexpected, duplicated; then the differing ids. */
export function formatComparison(expected: readonly AlertRef[], actual: readonly OutputAlert[], c: Comparison): string {
  const rules = [...new Set([...expected.map((a) => a.rule), ...actual.map((a) => a.rule)])].sort();
  const lines = ['| rule | expected | output | missing | unexpected | duplicated |', '|---|---:|---:|---:|---:|---:|'];
  const n = (xs: readonly { rule: string }[], rule: string): number => xs.filter((x) => x.rule === rule).length;
  for (const rule of rules) {
    lines.push(
      `| ${rule} | ${n(expected, rule)} | ${n(actual, rule)} | ${n(c.missing, rule)} | ${n(c.unexpected, rule)} | ${n(c.duplicated, rule)} |`,
    );
  }
  lines.push(
    `| all | ${c.expected} | ${c.actual} | ${c.missing.length} | ${c.unexpected.length} | ${c.duplicated.length} |`,
  );
  for (const a of c.missing) lines.push(`  missing     ${a.id}  ${a.rule} @ ${a.time}`);
  for (const a of c.unexpected) lines.push(`  unexpected  ${a.id}  ${a.rule}`);
  for (const a of c.duplicated) lines.push(`  duplicated  ${a.id}  ${a.rule} ×${a.count}`);
  return lines.join('\n');
}
