/**
 * The Kafka clients side by side, through a real broker, on one topic: for each client (kafkajs,
 * librdkafka when it is installed),
 *   - null consumer: events/s read through the client port's StreamConsumer and discarded;
 *   - e2e: events/s through picket's pipeline (startPipeline, all detections) on that client, until
 *     every partition's last record is processed, its alerts published and its offset committed.
 * Rates count from the first batch to the last record (the group join is left out). Rounds
 * alternate the clients so that the machine's other load falls on both. Asserts nothing.
 *
 *   npm run build && node dist/bench/clients.js [events=200000] [rounds=2] [partitions=3]
 *
 * Uses KAFKA_BROKERS when set, else starts a local broker (src/localkafka).
 * BENCH_CLIENTS=kafkajs,librdkafka picks the clients.
 */
import { createKafkaClient } from '../src/consumers/clientFactory.js';
import type { KafkaClient, StreamConsumer } from '../src/consumers/client.js';
import { PartitionProcessor } from '../src/consumers/partitionProcessor.js';
import { startPipeline } from '../src/consumers/pipeline.js';
import {
  inputFormatFor,
  KAFKA_CLIENTS,
  latenessFor,
  loadConfig,
  type KafkaClientKind,
  type PicketConfig,
} from '../src/config.js';
import { createDetections, detectionOptionsFrom } from '../src/detectors/registry.js';
import { generateTraffic } from '../src/demo/sampleTraffic.js';
import { startLocalKafka } from '../src/localkafka/localBroker.js';
import { createLogger } from '../src/observability/logger.js';
import { PicketMetrics } from '../src/observability/metrics.js';

const events = Number(process.argv[2] ?? 200_000);
const rounds = Number(process.argv[3] ?? 2);
const partitions = Number(process.argv[4] ?? 3);
const wanted = (process.env.BENCH_CLIENTS ?? KAFKA_CLIENTS.join(',')).split(',') as KafkaClientKind[];

const logger = createLogger('error');
const local = process.env.KAFKA_BROKERS === undefined ? await startLocalKafka() : undefined;
const brokers = (process.env.KAFKA_BROKERS ?? local!.brokers).split(',');
const run = Date.now().toString(36);
const topic = `bench-clients-${run}`;

function configFor(client: KafkaClientKind, name: string): PicketConfig {
  return loadConfig({
    env: {},
    overrides: {
      'kafka.brokers': brokers,
      'kafka.client': client,
      'kafka.clientId': `bench-${client}`,
      'kafka.groupId': `bench-${name}-${run}`,
      'topics.input': [topic],
      'topics.output': `bench-alerts-${run}`,
      'topics.deadLetter': `bench-dead-letter-${run}`,
      'consumer.fromBeginning': true,
      'log.level': 'error',
    },
  });
}

const clients = new Map<KafkaClientKind, KafkaClient>();
for (const kind of wanted) {
  try {
    clients.set(kind, await createKafkaClient(configFor(kind, 'setup'), logger));
  } catch (err) {
    console.log(`${kind}: skipped (${(err as Error).message.slice(0, 160)}…)`);
  }
}
const loader = clients.get('kafkajs') ?? [...clients.values()][0];
if (loader === undefined) throw new Error('no client available');

// ---- the input topic: `events` sample events (Packetbeat flows, Sysmon, attacks mixed in) -------
const admin = loader.admin();
await admin.ensureTopics([{ topic, numPartitions: partitions }]);
await admin.close();
const producer = loader.producer({ acks: 1, compression: 'none' });
await producer.connect();
const ends = new Map<number, bigint>();
let bytes = 0;
let produced = 0;
const values: Buffer[] = [];
const start = Date.now() - 3_600_000;
const chunk = 20_000;
for (let i = 0; produced < events; i++) {
  const list = generateTraffic(start + i * 60_000, 60_000, Math.min(chunk, events - produced), { seed: i + 1 });
  const records = list.slice(0, events - produced).map((e) => {
    const value = JSON.stringify(e);
    bytes += value.length;
    values.push(Buffer.from(value));
    return { topic, key: String((e.host as { id: string }).id), value };
  });
  await producer.send(records);
  produced += records.length;
}
await producer.disconnect();
{
  // The end of each partition, from a null read with the loader.
  const c = loader.consumer({ groupId: `bench-ends-${run}`, sessionTimeoutMs: 30000, maxBytesPerPartition: 1 << 20 });
  let n = 0;
  await timedRead(c, (p, offset) => {
    n++;
    const o = BigInt(offset) + 1n;
    if ((ends.get(p) ?? 0n) < o) ends.set(p, o);
    return n >= produced;
  });
}
console.log(
  `input: ${produced} events over ${partitions} partitions, ${Math.round(bytes / produced)} B each on average; ` +
    `Kafka at ${brokers.join(',')}`,
);

/** Reads with `consumer` until `onRecord` says done; returns seconds from the first batch to then. */
async function timedRead(
  consumer: StreamConsumer,
  onRecord: (partition: number, offset: string) => boolean,
): Promise<number> {
  let first = 0;
  let resolveDone!: (s: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  let finished = false;
  await consumer.connect();
  await consumer.subscribe([topic], true);
  await consumer.run(async (batch, control) => {
    if (first === 0) first = performance.now();
    for (const r of batch.records) {
      if (!finished && onRecord(batch.partition, r.offset)) {
        finished = true;
        resolveDone((performance.now() - first) / 1000);
      }
    }
    const last = batch.records.at(-1);
    if (last !== undefined) control.markProcessed(last.offset);
  });
  const seconds = await done;
  await consumer.disconnect();
  return seconds;
}

async function nullConsumer(kind: KafkaClientKind, client: KafkaClient, round: number): Promise<number> {
  const c = client.consumer({
    groupId: `bench-null-${kind}-${round}-${run}`,
    sessionTimeoutMs: 30000,
    maxBytesPerPartition: 1 << 20,
  });
  let n = 0;
  const seconds = await timedRead(c, () => ++n >= produced);
  return produced / seconds;
}

/**
 * picket's pipeline on `client`; the consumer is wrapped to see each batch's markProcessed (called
 * after the batch's alerts are published and its offset committed).
 */
async function endToEnd(kind: KafkaClientKind, client: KafkaClient, round: number): Promise<number> {
  let first = 0;
  let resolveDone!: (t: number) => void;
  const done = new Promise<number>((r) => (resolveDone = r));
  const remaining = new Map(ends);
  const watched: KafkaClient = {
    ...client,
    name: client.name,
    consumer: (o) => {
      const inner = client.consumer(o);
      return {
        connect: () => inner.connect(),
        subscribe: (t, f) => inner.subscribe(t, f),
        commit: (offsets) => inner.commit(offsets),
        onGroupEvent: (l) => inner.onGroupEvent(l),
        disconnect: () => inner.disconnect(),
        run: (onBatch) =>
          inner.run((batch, control) => {
            if (first === 0) first = performance.now();
            return onBatch(batch, {
              shouldContinue: () => control.shouldContinue(),
              heartbeat: () => control.heartbeat(),
              markProcessed: (offset) => {
                control.markProcessed(offset);
                const end = remaining.get(batch.partition);
                if (end !== undefined && BigInt(offset) + 1n >= end) {
                  remaining.delete(batch.partition);
                  if (remaining.size === 0) resolveDone(performance.now());
                }
              },
            });
          }),
      };
    },
  };
  const metrics = new PicketMetrics({ defaultMetrics: false });
  const pipeline = await startPipeline({
    config: configFor(kind, `e2e-${kind}-${round}`),
    client: watched,
    logger,
    metrics,
  });
  const t = await done;
  await pipeline.stop();
  return produced / ((t - first) / 1000);
}

/** The same events through one PartitionProcessor (decode + all detections), no Kafka: the ceiling of e2e. */
function processingOnly(): number {
  const config = configFor('kafkajs', 'processing');
  const processor = new PartitionProcessor(topic, 0, {
    detections: createDetections(
      config.detections.enabled,
      detectionOptionsFrom(config, { trackChanges: config.state.changelog.enabled }),
    ),
    deadLetterTopic: config.topics.deadLetter,
    latenessMs: latenessFor(config, topic),
    format: inputFormatFor(config, topic),
  });
  const t0 = performance.now();
  for (let i = 0; i < values.length; i++) {
    const record = {
      topic,
      partition: 0,
      offset: String(i),
      key: null,
      value: values[i]!,
      timestamp: '0',
      headers: {},
    };
    processor.process(record, Date.now());
  }
  return values.length / ((performance.now() - t0) / 1000);
}

const processing: number[] = [];
const results = new Map<KafkaClientKind, { null: number[]; e2e: number[] }>();
for (let round = 1; round <= rounds; round++) {
  processing.push(processingOnly());
  console.log(`round ${round} processing only (no Kafka): ${Math.round(processing.at(-1)!)} events/s`);
  const order = round % 2 === 1 ? [...clients] : [...clients].reverse();
  for (const [kind, client] of order) {
    const r = results.get(kind) ?? { null: [], e2e: [] };
    results.set(kind, r);
    const n = await nullConsumer(kind, client, round);
    const e = await endToEnd(kind, client, round);
    r.null.push(n);
    r.e2e.push(e);
    console.log(
      `round ${round} ${kind}: null ${Math.round(n)} events/s, e2e ${Math.round(e)} events/s (${((100 * e) / n).toFixed(0)} %)`,
    );
  }
}

const fmt = (xs: number[]): string => xs.map((x) => Math.round(x).toLocaleString('en-US')).join(' / ');
console.log('\n| client | null_consumer_eps | e2e_eps | e2e / null |');
console.log('|---|---:|---:|---:|');
for (const [kind, r] of results) {
  const ratios = r.e2e.map((e, i) => `${((100 * e) / r.null[i]!).toFixed(0)} %`).join(' / ');
  console.log(`| ${kind} | ${fmt(r.null)} | ${fmt(r.e2e)} | ${ratios} |`);
}
console.log(`| (decode + detect, no Kafka) | | ${fmt(processing)} | |`);
if (results.has('kafkajs') && results.has('librdkafka')) {
  const k = results.get('kafkajs')!;
  const l = results.get('librdkafka')!;
  const side = (a: number[], b: number[]): string => a.map((x, i) => (b[i]! / x).toFixed(2)).join(' / ');
  console.log(`\nlibrdkafka / kafkajs, per round: null ${side(k.null, l.null)}, e2e ${side(k.e2e, l.e2e)}`);
}
await local?.stop();
process.exit(0);
