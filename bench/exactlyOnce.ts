/**
 * The cost of the two ways to publish alerts exactly once (issue 9), side by side in one run,
 * through a real broker:
 *
 *   idempotent  what picket does now: per partition batch, an idempotent producer (acks=-1) sends
 *               the batch's outputs and awaits them, then the consumer commits the offset with
 *               metadata (~50 B); alerts carry deterministic ids and a restarted partition skips
 *               what its metadata says was published. Commit every batch (`idem-batch`) or at
 *               most every 1 s (`idem-1s`; outputs are still sent and awaited every batch).
 *   transactional
 *               a kafkajs transactional producer: outputs and the input offsets (sendOffsets, with
 *               the same metadata) in one transaction. One transaction per batch (`txn-batch`), or
 *               one spanning the batches of ~100 ms (`txn-100ms`) or ~1 s (`txn-1s`). Each with
 *               kafkajs' default retry (initialRetryTime 300 ms) and with a fast one (10 ms, `-fast`):
 *               the transaction after a commit waits for the coordinator to finish the previous
 *               one (CONCURRENT_TRANSACTIONS), and kafkajs waits that out with its retry backoff.
 *
 * Per batch the "stage" writes 1 output record per 100 input records (an alert, ~300 B) to the
 * output topic and a copy of 10 % of the records to a repartition topic (what the routing stage
 * would forward). Figures per mode:
 *   eps                  input records/s, first batch → last offset durably committed
 *   commit_p50/p99_ms    batch end → the batch durable (outputs acknowledged and offset committed;
 *                        for transactions: the commit of the transaction holding it returned)
 *   publish_p50/p99_ms   batch end → its outputs acknowledged (idempotent modes; a crash after
 *                        this re-derives them and the published position drops them)
 *   visible_p50/p99_ms   batch end → an output record read by a read_committed kafkajs consumer
 *   markers              offsets of the output and repartition topics taken by transaction markers
 *   offsets_topic_records / txn_state_records
 *                        records written to __consumer_offsets / __transaction_state during the mode
 *   errors               kafkajs ERROR log lines, by message (retried protocol errors included)
 * Checks, per mode: the read_committed reader saw each output exactly once, and the group's
 * committed offsets (admin.fetchOffsets) are the partitions' ends with the last metadata.
 *
 *   npm run build && node dist/bench/exactlyOnce.js [--records 200000] [--partitions 4]
 *     [--modes idem-batch,txn-1s,...] [--rounds 1] [--json FILE]
 *
 * Kafka: KAFKA_BROKERS when set, else a local broker (src/localkafka). Asserts nothing.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Kafka, logLevel, type Consumer, type LogEntry, type Message, type Producer, type Transaction } from 'kafkajs';
import { startLocalKafka } from '../src/localkafka/localBroker.js';
import { benchMix } from './mix.js';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '200000' },
    partitions: { type: 'string', default: '4' },
    modes: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
  allowPositionals: false,
});
const N = Number(values.records);
const PARTITIONS = Number(values.partitions);
const ROUNDS = Number(values.rounds);
const ALERT_EVERY = 100;
const REPARTITION_EVERY = 10;

interface Mode {
  readonly name: string;
  readonly kind: 'idempotent' | 'transactional';
  /** 0: every batch. Idempotent: commit interval; transactional: transaction length. */
  readonly intervalMs: number;
  /** The producer's initialRetryTime (kafkajs default 300 ms). */
  readonly retryMs?: number;
}
const ALL_MODES: Mode[] = [
  { name: 'idem-batch', kind: 'idempotent', intervalMs: 0 },
  { name: 'idem-1s', kind: 'idempotent', intervalMs: 1000 },
  { name: 'txn-batch', kind: 'transactional', intervalMs: 0 },
  { name: 'txn-batch-fast', kind: 'transactional', intervalMs: 0, retryMs: 10 },
  { name: 'txn-100ms', kind: 'transactional', intervalMs: 100 },
  { name: 'txn-100ms-fast', kind: 'transactional', intervalMs: 100, retryMs: 10 },
  { name: 'txn-1s', kind: 'transactional', intervalMs: 1000 },
  { name: 'txn-1s-fast', kind: 'transactional', intervalMs: 1000, retryMs: 10 },
];
const wanted = values.modes?.split(',');
const MODES = wanted === undefined ? ALL_MODES : ALL_MODES.filter((m) => wanted.includes(m.name));

const log = (s: string): void => void process.stderr.write(`exactlyOnce: ${s}\n`);

// ---- kafkajs, with its ERROR lines counted per mode ------------------------------------------
const errors = new Map<string, number>();
const logCreator =
  () =>
  ({ level, log: entry }: LogEntry): void => {
    if (level !== logLevel.ERROR) return;
    const error = typeof entry.error === 'string' ? `: ${entry.error}` : '';
    const key = `${entry.message}${error}`.slice(0, 200);
    errors.set(key, (errors.get(key) ?? 0) + 1);
  };

const local = process.env.KAFKA_BROKERS === undefined ? await startLocalKafka() : undefined;
const brokers = (process.env.KAFKA_BROKERS ?? local!.brokers).split(',');
const kafka = new Kafka({ clientId: 'bench-eos', brokers, logLevel: logLevel.ERROR, logCreator });
const admin = kafka.admin();
await admin.connect();
const run = Date.now().toString(36);
const inputTopic = `bench-eos-in-${run}`;
await admin.createTopics({ topics: [{ topic: inputTopic, numPartitions: PARTITIONS }], waitForLeaders: true });

// ---- input ------------------------------------------------------------------------------------
const mix = benchMix(Date.UTC(2024, 4, 1), 3_600_000, N, { seed: 11 });
{
  const loader = kafka.producer();
  await loader.connect();
  for (let i = 0; i < mix.lines.length; i += 2000) {
    await loader.send({
      topic: inputTopic,
      acks: 1,
      messages: mix.lines.slice(i, i + 2000).map((value, j) => ({ key: mix.keys[i + j]!, value })),
    });
  }
  await loader.disconnect();
}
const ends = new Map<number, bigint>();
for (const o of await admin.fetchTopicOffsets(inputTopic)) ends.set(o.partition, BigInt(o.high));
let expectedAlerts = 0;
let expectedCopies = 0;
for (const end of ends.values()) {
  expectedAlerts += Number((end + BigInt(ALERT_EVERY) - 1n) / BigInt(ALERT_EVERY));
  expectedCopies += Number((end + BigInt(REPARTITION_EVERY) - 1n) / BigInt(REPARTITION_EVERY));
}
log(
  `input: ${mix.lines.length} records over ${PARTITIONS} partitions, ${(mix.bytes / mix.lines.length).toFixed(0)} B/record; ` +
    `outputs per pass: ${expectedAlerts} alerts + ${expectedCopies} repartition copies`,
);

// ---- helpers ----------------------------------------------------------------------------------
function pct(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]! * 10) / 10;
}

async function highSum(topic: string): Promise<number> {
  let n = 0;
  for (const o of await admin.fetchTopicOffsets(topic)) n += Number(o.high);
  return n;
}

/** Serialises the batch handler and the transaction timer. */
function serial(): <T>(fn: () => Promise<T>) => Promise<T> {
  let chain: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const p = chain.then(fn);
    chain = p.catch(() => undefined);
    return p;
  };
}

/** A read_committed consumer of the output topic: each alert's delay from its batch end, and its ids. */
async function startReader(topic: string): Promise<{
  delays: number[];
  seen: Set<string>;
  duplicates: number;
  stop(): Promise<void>;
}> {
  const consumer = kafka.consumer({ groupId: `bench-eos-reader-${topic}`, maxWaitTimeInMs: 100 });
  const out = { delays: [] as number[], seen: new Set<string>(), duplicates: 0, stop: () => consumer.disconnect() };
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let joined!: () => void;
  const ready = new Promise<void>((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const now = Date.now();
      for (const m of batch.messages) {
        const doc = JSON.parse(m.value!.toString('utf8')) as { id: string; batchEnd: number };
        if (out.seen.has(doc.id)) out.duplicates++;
        out.seen.add(doc.id);
        out.delays.push(now - doc.batchEnd);
      }
    },
  });
  await ready;
  return out;
}

interface Result {
  mode: string;
  round: number;
  eps: number;
  batches: number;
  commits: number;
  commit_p50_ms: number;
  commit_p99_ms: number;
  publish_p50_ms: number;
  publish_p99_ms: number;
  visible_p50_ms: number;
  visible_p99_ms: number;
  markers: number;
  offsets_topic_records: number;
  txn_state_records: number;
  alerts_read: number;
  duplicates_read: number;
  committed_ok: boolean;
  errors: Record<string, number>;
}

// ---- one mode ----------------------------------------------------------------------------------
async function runMode(mode: Mode, round: number): Promise<Result> {
  const tag = `${mode.name}-${round}-${run}`;
  const outTopic = `bench-eos-out-${tag}`;
  const repTopic = `bench-eos-rep-${tag}`;
  const groupId = `bench-eos-${tag}`;
  await admin.createTopics({
    topics: [
      { topic: outTopic, numPartitions: PARTITIONS },
      { topic: repTopic, numPartitions: PARTITIONS },
    ],
    waitForLeaders: true,
  });
  errors.clear();
  const offsetsBefore = await highSum('__consumer_offsets');
  const txnStateBefore = await highSum('__transaction_state').catch(() => 0);
  const reader = await startReader(outTopic);

  const producer: Producer =
    mode.kind === 'idempotent'
      ? kafka.producer({ idempotent: true, maxInFlightRequests: 1 })
      : kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          transactionalId: `bench-eos-${tag}`,
          ...(mode.retryMs !== undefined ? { retry: { initialRetryTime: mode.retryMs } } : {}),
        });
  await producer.connect();
  const consumer: Consumer = kafka.consumer({
    groupId,
    sessionTimeout: 30000,
    maxBytesPerPartition: 1048576,
    retry: { retries: 10 },
  });
  await consumer.connect();
  await consumer.subscribe({ topic: inputTopic, fromBeginning: true });

  const commitDelays: number[] = [];
  const publishDelays: number[] = [];
  let batches = 0;
  let commits = 0;
  let first = 0;
  let lastMetadata = new Map<number, string>();
  /** Next offset per partition processed but not yet durably committed, with the batch ends it covers. */
  const pending = new Map<number, { offset: bigint; metadata: string }>();
  let pendingBatchEnds: number[] = [];
  const committed = new Map<number, bigint>();
  let published = 0;
  let finish!: () => void;
  let fail!: (err: unknown) => void;
  const finished = new Promise<void>((res, rej) => {
    finish = res;
    fail = rej;
  });
  const checkDone = (): void => {
    for (const [p, end] of ends) if ((committed.get(p) ?? 0n) < end) return;
    finish();
  };
  const locked = serial();

  // The open transaction (transactional modes), and when it began.
  let txn: Transaction | undefined;
  let txnStart = 0;
  let lastCommitAt = performance.now();

  async function commitPending(): Promise<void> {
    if (pending.size === 0) return;
    const offsets = [...pending].map(([partition, { offset, metadata }]) => ({
      partition,
      offset: offset.toString(),
      metadata,
    }));
    if (mode.kind === 'idempotent') {
      await consumer.commitOffsets(offsets.map((o) => ({ topic: inputTopic, ...o })));
    } else {
      await txn!.sendOffsets({ consumerGroupId: groupId, topics: [{ topic: inputTopic, partitions: offsets }] });
      await txn!.commit();
      txn = undefined;
    }
    const t = performance.now();
    for (const b of pendingBatchEnds) commitDelays.push(t - b);
    pendingBatchEnds = [];
    for (const [p, { offset, metadata }] of pending) {
      committed.set(p, offset);
      lastMetadata.set(p, metadata);
    }
    pending.clear();
    commits++;
    lastCommitAt = t;
    checkDone();
  }

  const timer = setInterval(() => {
    if (mode.intervalMs === 0 || pending.size === 0) return;
    const age = performance.now() - (mode.kind === 'idempotent' ? lastCommitAt : txnStart);
    if (age >= mode.intervalMs) locked(commitPending).catch(fail);
  }, 10);

  await consumer.run({
    autoCommit: false,
    eachBatchAutoResolve: false,
    partitionsConsumedConcurrently: 1,
    eachBatch: ({ batch, resolveOffset }) =>
      locked(async () => {
        if (first === 0) first = performance.now();
        const batchEndWall = Date.now();
        const outputs: { topic: string; messages: Message[] }[] = [
          { topic: outTopic, messages: [] },
          { topic: repTopic, messages: [] },
        ];
        for (const m of batch.messages) {
          const offset = BigInt(m.offset);
          if (offset % BigInt(ALERT_EVERY) === 0n) {
            const id = `${batch.topic}/${batch.partition}/${m.offset}`;
            outputs[0]!.messages.push({
              key: m.key,
              value: JSON.stringify({
                id,
                batchEnd: batchEndWall,
                rule: { id: 'bench-rule', name: 'Exactly-once bench' },
                event: { kind: 'alert', severity: 47 },
                source: { ip: '10.40.1.20' },
                destination: { ip: '10.10.0.5', port: 135 },
                picket: { input: { topic: batch.topic, partition: batch.partition, offset: m.offset } },
              }),
            });
          }
          if (offset % BigInt(REPARTITION_EVERY) === 0n) outputs[1]!.messages.push({ key: m.key, value: m.value });
        }
        const last = batch.messages.at(-1);
        if (last === undefined) return;
        const batchEnd = performance.now();
        const next = BigInt(last.offset) + 1n;
        published += outputs[0]!.messages.length;
        const metadata = JSON.stringify({ v: 1, published: published, at: batchEndWall });
        batches++;
        if (mode.kind === 'idempotent') {
          await producer.sendBatch({ acks: -1, topicMessages: outputs });
          publishDelays.push(performance.now() - batchEnd);
          pending.set(batch.partition, { offset: next, metadata });
          pendingBatchEnds.push(batchEnd);
          if (mode.intervalMs === 0 || performance.now() - lastCommitAt >= mode.intervalMs) await commitPending();
        } else {
          if (txn === undefined) {
            txn = await producer.transaction();
            txnStart = performance.now();
          }
          await txn.sendBatch({ acks: -1, topicMessages: outputs });
          pending.set(batch.partition, { offset: next, metadata });
          pendingBatchEnds.push(batchEnd);
          if (mode.intervalMs === 0 || performance.now() - txnStart >= mode.intervalMs) await commitPending();
        }
        // The end of the input: commit what is left at once.
        if (next >= ends.get(batch.partition)!) {
          let all = true;
          for (const [p, end] of ends) if ((pending.get(p)?.offset ?? committed.get(p) ?? 0n) < end) all = false;
          if (all) await commitPending();
        }
        resolveOffset(last.offset);
      }).catch((err: unknown) => {
        fail(err);
        throw err;
      }),
  });

  await finished;
  const seconds = (performance.now() - first) / 1000;
  clearInterval(timer);
  await consumer.disconnect();
  await producer.disconnect();
  // Let the reader catch up with the last transaction.
  const deadline = Date.now() + 20_000;
  while (reader.seen.size < expectedAlerts && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await reader.stop();

  let markers = 0;
  for (const t of [outTopic, repTopic]) markers += await highSum(t);
  markers -= expectedAlerts + expectedCopies;
  const committedOffsets = await admin.fetchOffsets({ groupId, topics: [inputTopic] });
  let committedOk = true;
  for (const p of committedOffsets[0]?.partitions ?? []) {
    if (BigInt(p.offset) !== ends.get(p.partition) || p.metadata !== lastMetadata.get(p.partition)) {
      committedOk = false;
    }
  }
  lastMetadata = new Map();
  return {
    mode: mode.name,
    round,
    eps: Math.round(N / seconds),
    batches,
    commits,
    commit_p50_ms: pct(commitDelays, 50),
    commit_p99_ms: pct(commitDelays, 99),
    publish_p50_ms: pct(mode.kind === 'idempotent' ? publishDelays : commitDelays, 50),
    publish_p99_ms: pct(mode.kind === 'idempotent' ? publishDelays : commitDelays, 99),
    visible_p50_ms: pct(reader.delays, 50),
    visible_p99_ms: pct(reader.delays, 99),
    markers,
    offsets_topic_records: (await highSum('__consumer_offsets')) - offsetsBefore,
    txn_state_records: (await highSum('__transaction_state').catch(() => 0)) - txnStateBefore,
    alerts_read: reader.seen.size,
    duplicates_read: reader.duplicates,
    committed_ok: committedOk && (committedOffsets[0]?.partitions.length ?? 0) === PARTITIONS,
    errors: Object.fromEntries(errors),
  };
}

/**
 * Transactions that carry only offsets (a batch that publishes nothing), back to back: kafkajs does
 * not retry AddOffsetsToTxn, so CONCURRENT_TRANSACTIONS right after the previous commit reaches
 * the caller. Returns how many of `n` failed, by error.
 */
async function offsetsOnlyTransactions(n: number): Promise<{ failed: number; errors: Record<string, number> }> {
  const topic = `bench-eos-offsets-only-${run}`;
  await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
  const producer = kafka.producer({ transactionalId: topic, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const errs: Record<string, number> = {};
  let failed = 0;
  for (let i = 0; i < n; i++) {
    const txn = await producer.transaction();
    try {
      await txn.sendOffsets({
        consumerGroupId: topic,
        topics: [{ topic, partitions: [{ partition: 0, offset: String(i) }] }],
      });
      await txn.commit();
    } catch (err) {
      failed++;
      const e = err as Error & { type?: string };
      const key = `${e.name} ${e.type ?? ''}: ${e.message}`;
      errs[key] = (errs[key] ?? 0) + 1;
      await txn.abort().catch(() => undefined);
    }
  }
  await producer.disconnect();
  return { failed, errors: errs };
}

// ---- all modes, alternating per round -----------------------------------------------------------
const results: Result[] = [];
for (let round = 1; round <= ROUNDS; round++) {
  for (const mode of MODES) {
    const r = await runMode(mode, round);
    results.push(r);
    log(
      `${r.mode} (round ${round}): ${r.eps} rec/s, ${r.batches} batches, ${r.commits} commits, ` +
        `commit p50/p99 ${r.commit_p50_ms}/${r.commit_p99_ms} ms, visible p50/p99 ${r.visible_p50_ms}/${r.visible_p99_ms} ms, ` +
        `alerts read ${r.alerts_read}/${expectedAlerts} (dup ${r.duplicates_read}), committed ${r.committed_ok ? 'ok' : 'WRONG'}`,
    );
    for (const [e, n] of Object.entries(r.errors)) log(`  ${n}× ${e}`);
  }
}

const cols: [string, (r: Result) => string | number][] = [
  ['mode', (r) => r.mode],
  ['rec/s', (r) => r.eps],
  ['batches', (r) => r.batches],
  ['commits', (r) => r.commits],
  ['commit p50', (r) => r.commit_p50_ms],
  ['commit p99', (r) => r.commit_p99_ms],
  ['publish p50', (r) => r.publish_p50_ms],
  ['publish p99', (r) => r.publish_p99_ms],
  ['visible p50', (r) => r.visible_p50_ms],
  ['visible p99', (r) => r.visible_p99_ms],
  ['markers', (r) => r.markers],
  ['__consumer_offsets', (r) => r.offsets_topic_records],
  ['__transaction_state', (r) => r.txn_state_records],
  ['read once', (r) => (r.alerts_read === expectedAlerts && r.duplicates_read === 0 ? 'yes' : 'NO')],
  ['committed', (r) => (r.committed_ok ? 'ok' : 'WRONG')],
  ['kafkajs errors', (r) => Object.values(r.errors).reduce((a, b) => a + b, 0)],
];
console.log(`| ${cols.map(([c]) => c).join(' | ')} |`);
console.log(`|${cols.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
for (const r of results) console.log(`| ${cols.map(([, f]) => f(r)).join(' | ')} |`);

const offsetsOnly = await offsetsOnlyTransactions(50);
console.log(`\noffsets-only transactions back to back: ${offsetsOnly.failed} of 50 failed`);
for (const [e, n] of Object.entries(offsetsOnly.errors)) console.log(`  ${n}× ${e}`);

if (values.json !== undefined) {
  writeFileSync(
    values.json,
    `${JSON.stringify({ records: N, partitions: PARTITIONS, expected_alerts: expectedAlerts, results, offsets_only_txns: { tried: 50, ...offsetsOnly } }, null, 2)}\n`,
  );
}
await admin.disconnect();
await local?.stop();
