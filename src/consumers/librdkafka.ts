/**
 * The librdkafka adapter of the client port (client.ts), on `@confluentinc/kafka-javascript`.
 *
 * That package is an optional dependency with a native part built from source at install time
 * (`CKJS_LINKING=dynamic npm install` with Debian's libssl-dev and zlib1g-dev present): it is
 * imported only when `kafka.client` is `librdkafka`, and a clear error says what to do when it is
 * not there. Its types are not imported either, so picket builds without it; the few calls used
 * are described by the small interfaces below.
 *
 * Consumer, producer and admin use the package's KafkaJS-compatible API (it keeps commit metadata,
 * per-partition batches and librdkafka's own fetching and batching); readToEnd uses the native
 * consumer, which can be assigned partitions by hand and so reads without joining any group.
 *
 * Differences from kafkajs behind the same port: a batch that fails is logged and read again by the
 * KafkaJS layer (seek back) rather than crashing the consumer, and librdkafka reconnects by itself,
 * so no 'crashed' group event is emitted; large sends need no splitting (librdkafka builds requests
 * under message.max.bytes itself); the committed metadata carries a terminating NUL (the binding
 * stores a C string), which the readers of metadata drop.
 */
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

export const LIBRDKAFKA_MODULE = '@confluentinc/kafka-javascript';

export interface LibrdkafkaOptions {
  brokers: readonly string[];
  clientId: string;
  connectionTimeoutMs: number;
  logger: Logger;
  /**
   * librdkafka properties added to every consumer, producer and admin (CONFIGURATION.md of
   * librdkafka): e.g. `security.protocol`, `ssl.ca.location`, `sasl.mechanism`, `sasl.username`.
   */
  properties?: Readonly<Record<string, string | number | boolean>>;
}

// ---- the parts of @confluentinc/kafka-javascript picket uses ---------------------------------

type Props = Record<string, unknown>;

interface CkMessage {
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly offset: string;
  readonly timestamp: string;
  readonly headers?: Record<string, Buffer | string | (Buffer | string)[] | undefined>;
}

interface CkBatchPayload {
  readonly batch: {
    readonly topic: string;
    readonly partition: number;
    readonly highWatermark: string;
    readonly messages: readonly CkMessage[];
  };
  isRunning(): boolean;
  isStale(): boolean;
  resolveOffset(offset: string | number): void;
}

interface CkConsumer {
  connect(): Promise<void>;
  subscribe(s: { topics: string[] }): Promise<void>;
  run(c: {
    eachBatch: (p: CkBatchPayload) => Promise<void>;
    eachBatchAutoResolve: boolean;
    partitionsConsumedConcurrently: number;
  }): Promise<void>;
  commitOffsets(
    offsets: { topic: string; partition: number; offset: string; metadata?: string | null }[],
  ): Promise<void>;
  disconnect(): Promise<void>;
}

interface CkProducer {
  connect(): Promise<void>;
  sendBatch(s: {
    topicMessages: {
      topic: string;
      messages: {
        partition?: number;
        key: string | Buffer | null;
        value: string | Buffer | null;
        headers?: Record<string, string | Buffer>;
      }[];
    }[];
  }): Promise<unknown>;
  disconnect(): Promise<void>;
}

interface CkAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  listTopics(): Promise<string[]>;
  createTopics(o: {
    topics: { topic: string; numPartitions: number; configEntries?: { name: string; value: string }[] }[];
  }): Promise<boolean>;
  fetchOffsets(o: {
    groupId: string;
    topics: string[];
  }): Promise<{ topic: string; partitions: { partition: number; offset: string; metadata: string | null }[] }[]>;
  fetchTopicMetadata(o: { topics: string[] }): Promise<{ name: string; partitions: unknown[] }[]>;
}

interface CkKafka {
  consumer(c: Props): CkConsumer;
  producer(c: Props): CkProducer;
  admin(c?: Props): CkAdmin;
}

interface NativeMessage {
  readonly partition: number;
  readonly offset: number;
  readonly key?: Buffer | string | null;
  readonly value: Buffer | null;
  readonly timestamp?: number;
  readonly headers?: readonly Record<string, Buffer | string>[];
}

interface NativeConsumer {
  connect(o: { timeout: number }, cb: (err: Error | null, info?: unknown) => void): void;
  disconnect(cb: (err: Error | null, info?: unknown) => void): void;
  assign(a: { topic: string; partition: number; offset: number }[]): void;
  consume(n: number, cb: (err: Error | null, messages: NativeMessage[]) => void): void;
  queryWatermarkOffsets(
    topic: string,
    partition: number,
    timeout: number,
    cb: (err: Error | null, offsets: { lowOffset: number; highOffset: number }) => void,
  ): void;
  offsetsForTimes(
    toppars: { topic: string; partition: number; offset: number }[],
    timeout: number,
    cb: (err: Error | null, offsets: { topic: string; partition: number; offset: number }[]) => void,
  ): void;
  on(event: 'partition.eof', cb: (e: { partition: number; offset: number }) => void): void;
  on(event: 'data', cb: (m: NativeMessage) => void): void;
}

interface CkModule {
  KafkaJS: { Kafka: new (c: Props) => CkKafka };
  KafkaConsumer: new (c: Props, t: Props) => NativeConsumer;
  librdkafkaVersion: string;
}

/** librdkafka's rebalance_cb codes (ERR__ASSIGN_PARTITIONS, ERR__REVOKE_PARTITIONS). */
const ASSIGN_PARTITIONS = -175;
const REVOKE_PARTITIONS = -174;
/** RD_KAFKA_OFFSET_BEGINNING. */
const OFFSET_BEGINNING = -2;

let loaded: Promise<CkModule> | undefined;

/** Imports @confluentinc/kafka-javascript once; fails with what to do when it is not installed or built. */
export function loadLibrdkafka(): Promise<CkModule> {
  loaded ??= (async () => {
    const name: string = LIBRDKAFKA_MODULE; // not a literal: tsc must not resolve the optional module
    try {
      const m = (await import(name)) as { default?: CkModule } & Partial<CkModule>;
      const mod = (m.default ?? m) as CkModule;
      if (typeof mod.KafkaJS?.Kafka !== 'function') throw new Error('its KafkaJS API is missing');
      return mod;
    } catch (err) {
      throw new LibrdkafkaUnavailableError(err instanceof Error ? err.message : String(err));
    }
  })();
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

export class LibrdkafkaUnavailableError extends Error {
  /** What is wrong and what to do, without the leading "kafka.client is librdkafka but". */
  readonly reason: string;

  constructor(cause: string) {
    const reason =
      `${LIBRDKAFKA_MODULE} cannot be loaded (${cause.split('\n')[0]}). It is an optional dependency whose ` +
      "native part is built from source when it is installed: install Debian's libssl-dev and zlib1g-dev " +
      `(and gcc, g++, make, python3), then run \`CKJS_LINKING=dynamic npm install ${LIBRDKAFKA_MODULE}\` ` +
      '(or `npm rebuild` with CKJS_LINKING=dynamic); or use kafka.client=kafkajs (PICKET_KAFKA_CLIENT=kafkajs)';
    super(`kafka.client is "librdkafka" but ${reason}`);
    this.name = 'LibrdkafkaUnavailableError';
    this.reason = reason;
  }
}

/** librdkafka's and the KafkaJS layer's log lines, through picket's logger one level quieter. */
function kafkajsLogger(logger: Logger) {
  const fields = (extra: unknown): Record<string, unknown> =>
    extra !== null && typeof extra === 'object' ? { librdkafka: extra } : {};
  const self = {
    error: (msg: string, extra?: unknown) => logger.warn(fields(extra), `librdkafka: ${msg}`),
    warn: (msg: string, extra?: unknown) => logger.info(fields(extra), `librdkafka: ${msg}`),
    info: (msg: string, extra?: unknown) => logger.debug(fields(extra), `librdkafka: ${msg}`),
    debug: (msg: string, extra?: unknown) => logger.debug(fields(extra), `librdkafka: ${msg}`),
    namespace: () => self,
    setLogLevel: () => undefined,
  };
  return self;
}

export async function createLibrdkafkaClient(opts: LibrdkafkaOptions): Promise<KafkaClient> {
  const mod = await loadLibrdkafka();
  const common: Props = { ...(opts.properties ?? {}) };
  const kafka = new mod.KafkaJS.Kafka({
    kafkaJS: {
      brokers: [...opts.brokers],
      clientId: opts.clientId,
      connectionTimeout: opts.connectionTimeoutMs,
      logger: kafkajsLogger(opts.logger),
      logLevel: 2, // WARN (the KafkaJS layer's levels: 0 nothing, 1 error, 2 warn, 3 info, 4 debug)
    },
    ...common,
  });
  return {
    name: 'librdkafka',
    consumer: (c) => new LibrdkafkaConsumer(kafka, c),
    producer: (p) =>
      new LibrdkafkaProducer(
        kafka.producer({
          kafkaJS: { acks: p.acks, idempotent: p.acks === -1, compression: p.compression === 'gzip' ? 'gzip' : 'none' },
          // picket awaits each send before it commits: the records of a send go out at once.
          'linger.ms': 1,
        }),
      ),
    admin: () => new LibrdkafkaAdmin(kafka.admin()),
    readToEnd: (topic, partitions, onRecord, o) => readToEnd(mod, opts, topic, partitions, onRecord, o),
  };
}

class LibrdkafkaConsumer implements StreamConsumer {
  private consumer: CkConsumer | undefined;
  private readonly listeners: ((e: GroupEvent) => void)[] = [];

  constructor(
    private readonly kafka: CkKafka,
    private readonly opts: { groupId: string; sessionTimeoutMs: number; maxBytesPerPartition: number },
  ) {}

  private emit(e: GroupEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** The KafkaJS layer takes the start position with the consumer's configuration: connected in subscribe(). */
  async connect(): Promise<void> {}

  async subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void> {
    if (this.consumer !== undefined) throw new Error('subscribe() was already called');
    const consumer = this.kafka.consumer({
      kafkaJS: {
        groupId: this.opts.groupId,
        sessionTimeout: this.opts.sessionTimeoutMs,
        fromBeginning,
        autoCommit: false,
      },
      'max.partition.fetch.bytes': this.opts.maxBytesPerPartition,
      // A batch is what has been fetched of a partition (not 32 records): one publish and commit each.
      'js.consumer.max.batch.size': -1,
      rebalance_cb: (err: { code: number }, assignment: { topic: string; partition: number }[]) => {
        if (err.code === REVOKE_PARTITIONS) this.emit({ type: 'rebalancing' });
        else if (err.code === ASSIGN_PARTITIONS) {
          const byTopic: Record<string, number[]> = {};
          for (const { topic, partition } of assignment) (byTopic[topic] ??= []).push(partition);
          this.emit({ type: 'joined', assignment: byTopic });
        }
      },
    });
    await consumer.connect();
    this.consumer = consumer;
    await consumer.subscribe({ topics: [...topics] });
  }

  run(onBatch: (batch: InputBatch, control: BatchControl) => Promise<void>): Promise<void> {
    const consumer = this.connected();
    return consumer.run({
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload) => {
        const { batch } = payload;
        const records = new Array<InputBatch['records'][number]>(batch.messages.length);
        for (let i = 0; i < batch.messages.length; i++) {
          const m = batch.messages[i]!;
          records[i] = {
            topic: batch.topic,
            partition: batch.partition,
            offset: m.offset,
            key: m.key,
            value: m.value,
            timestamp: m.timestamp,
            headers: flatHeaders(m.headers),
          };
        }
        await onBatch(
          { topic: batch.topic, partition: batch.partition, highWatermark: batch.highWatermark, records },
          {
            shouldContinue: () => payload.isRunning() && !payload.isStale(),
            heartbeat: async () => {}, // librdkafka heartbeats from its own thread
            markProcessed: (offset) => payload.resolveOffset(offset),
          },
        );
      },
    });
  }

  commit(offsets: readonly CommitOffset[]): Promise<void> {
    return this.connected().commitOffsets(
      offsets.map((o) => ({
        topic: o.topic,
        partition: o.partition,
        offset: o.offset,
        ...(o.metadata !== undefined ? { metadata: o.metadata } : {}),
      })),
    );
  }

  onGroupEvent(listener: (event: GroupEvent) => void): void {
    this.listeners.push(listener);
  }

  async disconnect(): Promise<void> {
    const consumer = this.consumer;
    this.consumer = undefined;
    if (consumer === undefined) return;
    await consumer.disconnect();
    this.emit({ type: 'stopped' });
  }

  private connected(): CkConsumer {
    if (this.consumer === undefined) throw new Error('the consumer is not subscribed');
    return this.consumer;
  }
}

/** The KafkaJS layer gives repeated headers as arrays; the port has one value per key (the last). */
function flatHeaders(h: CkMessage['headers']): Record<string, Buffer | string | undefined> {
  if (h === undefined) return {};
  let out: Record<string, Buffer | string | undefined> | undefined;
  for (const k in h) {
    const v = h[k];
    if (Array.isArray(v)) {
      out ??= { ...(h as Record<string, Buffer | string | undefined>) };
      out[k] = v.at(-1);
    }
  }
  return out ?? (h as Record<string, Buffer | string | undefined>);
}

class LibrdkafkaProducer implements RecordProducer {
  private readonly listeners: ((connected: boolean) => void)[] = [];

  constructor(private readonly producer: CkProducer) {}

  async connect(): Promise<void> {
    await this.producer.connect();
    for (const l of this.listeners) l(true);
  }

  /**
   * Resolves when every record's delivery report is in. librdkafka splits what it sends into
   * requests by itself (batch.size, message.max.bytes), so a large send needs no splitting here.
   */
  async send(records: readonly OutputRecord[]): Promise<void> {
    if (records.length === 0) return;
    const byTopic = new Map<string, Parameters<CkProducer['sendBatch']>[0]['topicMessages'][number]['messages']>();
    for (const r of records) {
      let list = byTopic.get(r.topic);
      if (list === undefined) byTopic.set(r.topic, (list = []));
      list.push({
        ...(r.partition !== undefined ? { partition: r.partition } : {}),
        key: r.key,
        value: r.value,
        ...(r.headers !== undefined ? { headers: { ...r.headers } } : {}),
      });
    }
    await this.producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  }

  onConnectionChange(listener: (connected: boolean) => void): void {
    this.listeners.push(listener);
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
    for (const l of this.listeners) l(false);
  }
}

class LibrdkafkaAdmin implements KafkaAdmin {
  private connected = false;

  constructor(private readonly admin: CkAdmin) {}

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
      out.set(p.partition, { offset: String(p.offset), metadata: p.metadata === '' ? null : p.metadata });
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
    for (const t of meta) out.set(t.name, t.partitions.length);
    return out;
  }

  async ensureTopics(topics: readonly TopicSpec[]): Promise<string[]> {
    await this.connect();
    const existing = new Set(await this.admin.listTopics());
    const missing = topics.filter((t) => !existing.has(t.topic));
    if (missing.length === 0) return [];
    await this.admin.createTopics({
      topics: missing.map((t) => ({
        topic: t.topic,
        numPartitions: t.numPartitions ?? 1,
        ...(t.config !== undefined
          ? { configEntries: Object.entries(t.config).map(([name, value]) => ({ name, value })) }
          : {}),
      })),
    });
    await this.waitForTopics(missing.map((t) => t.topic));
    return missing.map((t) => t.topic);
  }

  /** Until the new topics' metadata is served (kafkajs' createTopics waits for leaders itself). */
  private async waitForTopics(topics: string[]): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await this.admin.fetchTopicMetadata({ topics });
        return;
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async close(): Promise<void> {
    if (this.connected) await this.admin.disconnect();
    this.connected = false;
  }
}

function nativeConfig(opts: LibrdkafkaOptions, groupId: string): Props {
  return {
    'bootstrap.servers': opts.brokers.join(','),
    'client.id': opts.clientId,
    // No group is joined (partitions are assigned by hand) and nothing is committed.
    'group.id': groupId,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'enable.partition.eof': true,
    'socket.connection.setup.timeout.ms': Math.max(1000, opts.connectionTimeoutMs),
    log_level: 4, // syslog LOG_WARNING
    ...(opts.properties ?? {}),
  };
}

function callback<T>(fn: (cb: (err: Error | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value))));
}

/**
 * Reads the partitions from their beginning to their high watermark as of the call with the native
 * consumer, assigned by hand: no group is joined (the group id is only a required setting).
 */
async function readToEnd(
  mod: CkModule,
  opts: LibrdkafkaOptions,
  topic: string,
  partitions: readonly number[],
  onRecord: (record: ReadBackRecord) => void,
  o: { timeoutMs: number; groupIdPrefix: string; fromTimestamp?: number },
): Promise<void> {
  const consumer = new mod.KafkaConsumer(nativeConfig(opts, `${o.groupIdPrefix}-restore`), {});
  await callback<unknown>((cb) => consumer.connect({ timeout: Math.max(10_000, opts.connectionTimeoutMs) }, cb));
  try {
    const ends = new Map<number, number>();
    for (const p of partitions) {
      const w = await callback<{ lowOffset: number; highOffset: number }>((cb) =>
        consumer.queryWatermarkOffsets(topic, p, Math.max(10_000, opts.connectionTimeoutMs), cb),
      );
      if (w.highOffset > w.lowOffset) ends.set(p, w.highOffset);
    }
    // Reading from a time: librdkafka's offsetsForTimes (-1: no record at or after it).
    const starts = new Map<number, number>();
    if (o.fromTimestamp !== undefined && ends.size > 0) {
      const ts = o.fromTimestamp;
      const found = await callback<{ topic: string; partition: number; offset: number }[]>((cb) =>
        consumer.offsetsForTimes(
          [...ends.keys()].map((partition) => ({ topic, partition, offset: ts })),
          Math.max(10_000, opts.connectionTimeoutMs),
          cb,
        ),
      );
      for (const f of found) {
        if (f.offset < 0 || f.offset >= (ends.get(f.partition) ?? 0)) ends.delete(f.partition);
        else starts.set(f.partition, f.offset);
      }
    }
    if (ends.size === 0) return;
    // A partition's end counts as reached at a record at or past it, or at EOF past it (compaction leaves gaps).
    const reached = (p: number, next: number): void => {
      const end = ends.get(p);
      if (end !== undefined && next >= end) ends.delete(p);
    };
    // 'data' and 'partition.eof' are emitted in log order, before consume()'s callback.
    let progressAt = Date.now();
    consumer.on('data', (m) => {
      const end = ends.get(m.partition);
      if (end !== undefined && m.offset < end) {
        const key =
          m.key === undefined || m.key === null ? null : typeof m.key === 'string' ? Buffer.from(m.key) : m.key;
        const headers: Record<string, Buffer | string> = {};
        for (const h of m.headers ?? []) {
          // defineProperty: a `__proto__` header must not replace the object's prototype.
          for (const [k, v] of Object.entries(h)) {
            Object.defineProperty(headers, k, { value: v, enumerable: true, writable: true, configurable: true });
          }
        }
        onRecord({
          partition: m.partition,
          offset: String(m.offset),
          key,
          value: m.value,
          ...(m.timestamp !== undefined ? { timestamp: m.timestamp } : {}),
          headers,
        });
        progressAt = Date.now();
      }
      reached(m.partition, m.offset + 1);
    });
    consumer.on('partition.eof', (e) => reached(e.partition, e.offset));
    consumer.assign(
      [...ends.keys()].map((partition) => ({ topic, partition, offset: starts.get(partition) ?? OFFSET_BEGINNING })),
    );
    while (ends.size > 0) {
      const messages = await callback<NativeMessage[]>((cb) => consumer.consume(1000, cb));
      if (messages.length === 0 && ends.size > 0 && Date.now() - progressAt > o.timeoutMs) {
        throw new Error(`reading ${topic} made no progress for ${o.timeoutMs} ms`);
      }
    }
  } finally {
    await callback<unknown>((cb) => consumer.disconnect(cb)).catch(() => undefined);
  }
}
