/**
 * The kafkajs adapter of the client port (client.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  AssignerProtocol,
  CompressionTypes,
  Kafka,
  logLevel as KafkaLogLevel,
  type Consumer,
  type LogEntry,
  type PartitionAssigner,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import type { ConnectionOptions } from 'node:tls';
import type { Logger } from '../observability/logger.js';
import type {
  BatchControl,
  CommitOffset,
  CommittedOffset,
  GroupEvent,
  InputBatch,
  KafkaAdmin,
  KafkaClient,
  OutputRecord,
  ReadBackRecord,
  RecordProducer,
  StreamConsumer,
  TopicSpec,
} from './client.js';

export interface KafkajsOptions {
  brokers: readonly string[];
  clientId: string;
  connectionTimeoutMs: number;
  ssl?: ConnectionOptions | boolean;
  sasl?: SASLOptions;
  logger: Logger;
}

/** kafkajs logs through picket's logger, one level quieter: its INFO lines are routine. */
function logCreator(logger: Logger) {
  return () =>
    ({ level, label, log }: LogEntry) => {
      const { message, ...extra } = log;
      const child = { kafkajs: label, ...extra };
      if (level === KafkaLogLevel.ERROR) logger.warn(child, `kafkajs: ${message}`);
      else if (level === KafkaLogLevel.WARN) logger.info(child, `kafkajs: ${message}`);
      else logger.debug(child, `kafkajs: ${message}`);
    };
}

export function createKafkajsClient(opts: KafkajsOptions): KafkaClient {
  const kafka = new Kafka({
    clientId: opts.clientId,
    brokers: [...opts.brokers],
    connectionTimeout: opts.connectionTimeoutMs,
    ...(opts.ssl !== undefined ? { ssl: opts.ssl } : {}),
    ...(opts.sasl !== undefined ? { sasl: opts.sasl } : {}),
    logLevel: KafkaLogLevel.INFO,
    logCreator: logCreator(opts.logger),
  });
  return {
    name: 'kafkajs',
    consumer: (c) =>
      new KafkajsConsumer(
        kafka.consumer({
          groupId: c.groupId,
          sessionTimeout: c.sessionTimeoutMs,
          maxBytesPerPartition: c.maxBytesPerPartition,
          retry: { retries: 10 },
        }),
      ),
    producer: (p) =>
      new KafkajsProducer(
        kafka.producer({ idempotent: p.acks === -1, maxInFlightRequests: p.acks === -1 ? 1 : 5 }),
        p.acks,
        p.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
      ),
    admin: () => new KafkajsAdmin(kafka),
    readToEnd: (topic, partitions, onRecord, o) => readToEnd(kafka, topic, partitions, onRecord, o),
  };
}

/**
 * An assigner that gives the group's single member exactly `partitions` of `topic`: kafkajs has no
 * manual assignment, so readToEnd() joins a group of its own and assigns itself what it must read.
 */
function fixedAssigner(topic: string, partitions: readonly number[]): PartitionAssigner {
  const name = 'PicketFixedAssigner';
  return () => ({
    name,
    version: 1,
    assign: async ({ members }) =>
      members.map((m, i) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 1,
          assignment: i === 0 ? { [topic]: [...partitions] } : {},
          userData: Buffer.alloc(0),
        }),
      })),
    protocol: ({ topics }) => ({
      name,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }),
    }),
  });
}

async function readToEnd(
  kafka: Kafka,
  topic: string,
  partitions: readonly number[],
  onRecord: (record: ReadBackRecord) => void,
  opts: { timeoutMs: number; groupIdPrefix: string; fromTimestamp?: number },
): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const groupId = `${opts.groupIdPrefix}-restore-${randomUUID()}`;
  try {
    // Where each partition ends now; records written after this are not waited for.
    const ends = new Map<number, bigint>();
    for (const o of await admin.fetchTopicOffsets(topic)) {
      if (partitions.includes(o.partition) && BigInt(o.high) > BigInt(o.low)) ends.set(o.partition, BigInt(o.high));
    }
    // Reading from a time: a partition with no record at or after it has nothing to read.
    const starts = new Map<number, bigint>();
    if (opts.fromTimestamp !== undefined && ends.size > 0) {
      for (const o of await admin.fetchTopicOffsetsByTimestamp(topic, opts.fromTimestamp)) {
        if (!ends.has(o.partition)) continue;
        const start = BigInt(o.offset);
        if (start < 0n || start >= ends.get(o.partition)!) ends.delete(o.partition);
        else starts.set(o.partition, start);
      }
    }
    if (ends.size === 0) return;
    const consumer = kafka.consumer({
      groupId,
      partitionAssigners: [fixedAssigner(topic, [...ends.keys()])],
      sessionTimeout: 10000,
      rebalanceTimeout: 10000,
    });
    await consumer.connect();
    try {
      await new Promise<void>((resolve, reject) => {
        let progressAt = Date.now();
        const timer = setInterval(() => {
          if (Date.now() - progressAt > opts.timeoutMs) {
            clearInterval(timer);
            reject(new Error(`reading ${topic} made no progress for ${opts.timeoutMs} ms`));
          }
        }, 250);
        const done = (): void => {
          clearInterval(timer);
          resolve();
        };
        consumer.on(consumer.events.CRASH, (e) => {
          if (!e.payload.restart) {
            clearInterval(timer);
            reject(e.payload.error);
          }
        });
        consumer
          .subscribe({ topic, fromBeginning: true })
          .then(() =>
            consumer.run({
              autoCommit: false,
              eachBatch: async ({ batch }) => {
                const end = ends.get(batch.partition);
                if (end === undefined) return;
                const start = starts.get(batch.partition) ?? 0n;
                for (const m of batch.messages) {
                  if (BigInt(m.offset) >= end) break;
                  // Until the seek below takes effect, the first fetch may start at the beginning.
                  if (BigInt(m.offset) < start) continue;
                  onRecord({
                    partition: batch.partition,
                    offset: m.offset,
                    key: m.key,
                    value: m.value,
                    timestamp: Number(m.timestamp),
                    headers: m.headers as Record<string, Buffer | string | undefined>,
                  });
                }
                progressAt = Date.now();
                const last = batch.messages.at(-1);
                // Compaction leaves gaps, so the end counts as reached once the batch passes it.
                if (last !== undefined && BigInt(last.offset) + 1n >= end) ends.delete(batch.partition);
                if (ends.size === 0) done();
              },
            }),
          )
          .then(() => {
            for (const [partition, offset] of starts) consumer.seek({ topic, partition, offset: String(offset) });
          })
          .catch((err: unknown) => {
            clearInterval(timer);
            reject(err instanceof Error ? err : new Error(String(err)));
          });
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    await admin.deleteGroups([groupId]).catch(() => undefined);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

class KafkajsConsumer implements StreamConsumer {
  constructor(private readonly consumer: Consumer) {}

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void> {
    return this.consumer.subscribe({ topics: [...topics], fromBeginning });
  }

  run(onBatch: (batch: InputBatch, control: BatchControl) => Promise<void>): Promise<void> {
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, isRunning, isStale, heartbeat, resolveOffset }) => {
        await onBatch(
          {
            topic: batch.topic,
            partition: batch.partition,
            highWatermark: batch.highWatermark,
            records: batch.messages.map((m) => ({
              topic: batch.topic,
              partition: batch.partition,
              offset: m.offset,
              key: m.key,
              value: m.value,
              timestamp: m.timestamp,
              headers: (m.headers ?? {}) as Record<string, Buffer | string | undefined>,
            })),
          },
          {
            shouldContinue: () => isRunning() && !isStale(),
            heartbeat,
            markProcessed: resolveOffset,
          },
        );
      },
    });
  }

  commit(offsets: readonly CommitOffset[]): Promise<void> {
    return this.consumer.commitOffsets(offsets.map((o) => ({ ...o })));
  }

  onGroupEvent(listener: (event: GroupEvent) => void): void {
    const ev = this.consumer.events;
    this.consumer.on(ev.GROUP_JOIN, (e) => listener({ type: 'joined', assignment: e.payload.memberAssignment }));
    this.consumer.on(ev.REBALANCING, () => listener({ type: 'rebalancing' }));
    this.consumer.on(ev.STOP, () => listener({ type: 'stopped' }));
    this.consumer.on(ev.CRASH, (e) =>
      listener({ type: 'crashed', error: e.payload.error, restarting: e.payload.restart }),
    );
    // Contact with the broker. While it is gone the consumer retries silently for a long time
    // (until the retries run out and it restarts), so readiness cannot wait for a crash.
    this.consumer.on(ev.FETCH, () => listener({ type: 'contact' }));
    this.consumer.on(ev.HEARTBEAT, () => listener({ type: 'contact' }));
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
}

/** Uncompressed bytes per produce request: well under the brokers' default message.max.bytes (1 MiB). */
const MAX_REQUEST_BYTES = 768 * 1024;

function recordSize(r: OutputRecord): number {
  const len = (v: string | Buffer | null): number =>
    v === null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length;
  let n = 64 + len(r.key) + len(r.value);
  for (const [k, v] of Object.entries(r.headers ?? {})) n += k.length + len(v);
  return n;
}

class KafkajsProducer implements RecordProducer {
  constructor(
    private readonly producer: Producer,
    private readonly acks: number,
    private readonly compression: CompressionTypes,
  ) {}

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: readonly OutputRecord[]): Promise<void> {
    // kafkajs sends a batch as one request with one record batch per partition, and a broker
    // refuses a record batch above its message.max.bytes (1 MiB by default): a commit that carries
    // many alerts or changed state values is split into requests of at most MAX_REQUEST_BYTES.
    let chunk: OutputRecord[] = [];
    let bytes = 0;
    for (const r of records) {
      const size = recordSize(r);
      if (chunk.length > 0 && bytes + size > MAX_REQUEST_BYTES) {
        await this.sendChunk(chunk);
        chunk = [];
        bytes = 0;
      }
      chunk.push(r);
      bytes += size;
    }
    if (chunk.length > 0) await this.sendChunk(chunk);
  }

  private async sendChunk(records: readonly OutputRecord[]): Promise<void> {
    const byTopic = new Map<string, OutputRecord[]>();
    for (const r of records) {
      let list = byTopic.get(r.topic);
      if (list === undefined) byTopic.set(r.topic, (list = []));
      list.push(r);
    }
    await this.producer.sendBatch({
      acks: this.acks,
      compression: this.compression,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((r) => ({
          ...(r.partition !== undefined ? { partition: r.partition } : {}),
          key: r.key,
          value: r.value,
          ...(r.headers !== undefined ? { headers: { ...r.headers } } : {}),
        })),
      })),
    });
  }

  onConnectionChange(listener: (connected: boolean) => void): void {
    this.producer.on(this.producer.events.CONNECT, () => listener(true));
    this.producer.on(this.producer.events.DISCONNECT, () => listener(false));
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}

class KafkajsAdmin implements KafkaAdmin {
  private readonly admin;
  private connected = false;

  constructor(kafka: Kafka) {
    this.admin = kafka.admin();
  }

  private async connect(): Promise<void> {
    if (!this.connected) {
      await this.admin.connect();
      this.connected = true;
    }
  }

  async fetchCommitted(groupId: string, topic: string): Promise<Map<number, CommittedOffset>> {
    await this.connect();
    const res = await this.admin.fetchOffsets({ groupId, topics: [topic] });
    const out = new Map<number, CommittedOffset>();
    for (const p of res[0]?.partitions ?? []) {
      // librdkafka's node binding commits metadata with its C string's terminating NUL: not part of it.
      const metadata = p.metadata === null ? null : p.metadata.replace(/\0+$/, '');
      out.set(p.partition, { offset: p.offset, metadata });
    }
    return out;
  }

  async partitionCounts(topics: readonly string[]): Promise<Map<string, number>> {
    await this.connect();
    const existing = new Set(await this.admin.listTopics());
    const wanted = topics.filter((t) => existing.has(t));
    const out = new Map<string, number>();
    if (wanted.length === 0) return out;
    const meta = await this.admin.fetchTopicMetadata({ topics: wanted });
    for (const t of meta.topics) out.set(t.name, t.partitions.length);
    return out;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<string[]> {
    await this.connect();
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return [];
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions ?? 1,
        ...(t.config !== undefined
          ? { configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })) }
          : {}),
      })),
    });
    return missing.map((t) => t.topic);
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = false;
  }
}
