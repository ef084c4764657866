/**
 * The kafkajs adapter of the client port (client.ts).
 */
import {
  CompressionTypes,
  Kafka,
  logLevel as KafkaLogLevel,
  type Consumer,
  type LogEntry,
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
  };
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
  }

  disconnect(): Promise<void> {
    return this.consumer.disconnect();
  }
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
    if (records.length === 0) return;
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
    for (const p of res[0]?.partitions ?? []) out.set(p.partition, { offset: p.offset, metadata: p.metadata });
    return out;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<string[]> {
    await this.connect();
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return [];
    await this.admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((t) => ({ topic: t.topic, numPartitions: t.numPartitions ?? 1 })),
    });
    return missing.map((t) => t.topic);
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = false;
  }
}
