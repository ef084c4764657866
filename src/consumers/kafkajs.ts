/**
 * The kafkajs adapter of the client port (client.ts).
 */
import { randomUUID } from 'node:crypto';
import {
  AssignerProtocol,
  CompressionTypes,
  Kafka,
  logLevel as KafkaLogLevel,
  PartitionAssigners,
  type Cluster,
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

/** How often (in records) a batch in progress asks kafkajs whether its partition was sought. */
const STALE_CHECK_EVERY = 32;

export interface KafkajsOptions {
  brokers: readonly string[];
  clientId: string;
  connectionTimeoutMs: number;
  ssl?: ConnectionOptions | boolean;
  sasl?: SASLOptions;
  logger: Logger;
  /** Fetched bytes queued ahead of processing (KafkajsConsumerOptions.queueBytes); default queueBytesFor(). */
  queueBytes?: number;
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
    consumer: (c) => {
      // The consumer below, once built (the assigner factory runs inside kafka.consumer()).
      const built: { consumer?: KafkajsConsumer } = {};
      let gated = false;
      const consumer = kafka.consumer({
        groupId: c.groupId,
        sessionTimeout: c.sessionTimeoutMs,
        maxBytesPerPartition: c.maxBytesPerPartition,
        retry: { retries: 10 },
        // kafkajs's default assigner, called once here with the consumer's own cluster: see gateJoins.
        partitionAssigners: [
          (config) => {
            gated = gateJoins(config.cluster, () => built.consumer?.beforeJoin() ?? Promise.resolve());
            return PartitionAssigners.roundRobin(config);
          },
        ],
      });
      if (!gated) opts.logger.warn('kafkajs: group joins cannot be gated; batches are not fetched ahead');
      built.consumer = new KafkajsConsumer(
        consumer,
        { queueBytes: opts.queueBytes ?? queueBytesFor(c.maxBytesPerPartition), logger: opts.logger },
        gated,
      );
      return built.consumer;
    },
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

/** Default of KafkajsOptions.queueBytes: four partitions' worth of one fetch. */
export function queueBytesFor(maxBytesPerPartition: number): number {
  return 4 * maxBytesPerPartition;
}

/**
 * Makes every join of the consumer's group wait for `before` first. kafkajs joins (and rejoins
 * after a rebalance, an unknown member id, stale metadata or a restart) by looking up the group
 * coordinator on the consumer's own cluster and sending it JoinGroup: wrapping that lookup is the
 * one hook before a join. The cluster is the one kafkajs hands to partition assigners, and only the
 * consumer group looks up its coordinator on it. False when the cluster is not as expected.
 */
function gateJoins(cluster: Cluster, before: () => Promise<void>): boolean {
  const lookup = (cluster as Partial<Cluster>).findGroupCoordinator;
  if (typeof lookup !== 'function') return false;
  cluster.findGroupCoordinator = async (group) => {
    await before();
    return lookup.call(cluster, group);
  };
  return true;
}

/** The errors after which kafkajs joins the group again (its errors.js isRebalancing). */
function isRebalancing(err: Error): boolean {
  const type = (err as { type?: unknown }).type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION';
}

/** Bytes of record keys and values a queued batch holds (what backpressure counts). */
function batchBytes(batch: InputBatch): number {
  let n = 0;
  for (const r of batch.records) n += (r.key?.length ?? 0) + (r.value?.length ?? 0);
  return n;
}

const partitionKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** A fetched batch waiting for, or in, delivery to `onBatch`. */
interface Queued {
  readonly batch: InputBatch;
  readonly key: string;
  readonly bytes: number;
  /** The adapter's generation when it was fetched: a batch of an earlier one is never delivered. */
  readonly generation: number;
  readonly isRunning: () => boolean;
  readonly isStale: () => boolean;
  readonly heartbeat: () => Promise<void>;
}

export interface KafkajsConsumerOptions {
  /** Fetched bytes (keys and values) queued ahead of `onBatch` before kafkajs stops fetching. 0: no queue. */
  readonly queueBytes: number;
  readonly logger: Logger;
}

/**
 * kafkajs fetches again only once every batch of the previous fetch has been handled, so with
 * eachBatch doing the work, fetching and processing take turns and the network round trip is idle
 * time. This consumer decouples them: eachBatch puts the batch on a queue, moves kafkajs's fetch
 * position past it and returns at once, so kafkajs fetches the next batches while `onBatch` works
 * through the queue (one batch at a time, in fetch order: so per partition in offset order).
 * eachBatch waits (kafkajs stops fetching) while more than `queueBytes` are queued.
 *
 * What the port promises holds as with kafkajs's own eachBatch:
 * - Group changes. When the group rebalances, the consumer restarts after a crash or stops, every
 *   queued batch is dropped (the next generation reads each assigned partition again from its
 *   committed offset, and the pipeline rebuilds it from there: a queued batch delivered after the
 *   join would feed its records twice), and the batch in progress sees shouldContinue() false.
 *   The group is not joined again until that batch is done: the join goes through the cluster's
 *   findGroupCoordinator, which this consumer wraps (gateJoins) to wait for it, so its alerts and
 *   commit land in the old generation, before the partition's next owner reads the commit
 *   metadata — as when kafkajs joined only between batches.
 * - A batch whose `onBatch` fails: the partition's queued batches are dropped and kafkajs is sent
 *   back (seek) to the record after the last one marked processed, so the batch is read again, and
 *   the error is handed to kafkajs from its next eachBatch call, which retries or crashes as it did.
 * - markProcessed() no longer moves kafkajs's fetch position (that is ahead, past the queue): it is
 *   where a failed partition is read again from.
 * - disconnect() drops the queue, waits for the batch in progress, then stops kafkajs.
 */
class KafkajsConsumer implements StreamConsumer {
  private readonly queue: Queued[] = [];
  private queuedBytes = 0;
  /** Bumped on every group change: batches of an earlier generation are not delivered. */
  private generation = 0;
  /** Between a group change and the next join: batches fetched meanwhile are dropped. */
  private joining = false;
  private stopping = false;
  /** The `onBatch` call in progress, if any. */
  private inProgress: Promise<void> | undefined;
  private delivering = false;
  /** A failed batch's error, thrown to kafkajs from its next eachBatch call. */
  private failure: Error | undefined;
  /** eachBatch calls waiting for the queue to shrink (or for a failure or group change). */
  private waiters: (() => void)[] = [];
  /** Per partition, this generation: where to read again from if a batch fails. */
  private readonly resumeAt = new Map<string, string>();
  private onBatch: ((batch: InputBatch, control: BatchControl) => Promise<void>) | undefined;

  constructor(
    private readonly consumer: Consumer,
    private readonly opts: KafkajsConsumerOptions,
    /** False when the join could not be gated (then nothing is queued: see gateJoins). */
    private readonly overlap: boolean,
  ) {
    // Registered before any listener of onGroupEvent(), so the queue is dropped first.
    const ev = consumer.events;
    consumer.on(ev.REBALANCING, () => this.revoke());
    consumer.on(ev.GROUP_JOIN, () => {
      this.revoke();
      this.joining = false;
    });
    consumer.on(ev.CRASH, () => this.revoke());
    consumer.on(ev.STOP, () => this.revoke());
  }

  connect(): Promise<void> {
    return this.consumer.connect();
  }

  subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void> {
    return this.consumer.subscribe({ topics: [...topics], fromBeginning });
  }

  run(onBatch: (batch: InputBatch, control: BatchControl) => Promise<void>): Promise<void> {
    this.onBatch = onBatch;
    return this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async ({ batch, isRunning, isStale, heartbeat, resolveOffset }) => {
        const input: InputBatch = {
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
        };
        if (!this.overlap || this.opts.queueBytes <= 0) {
          await onBatch(input, {
            shouldContinue: () => isRunning() && !isStale(),
            heartbeat,
            markProcessed: resolveOffset,
          });
          return;
        }
        this.throwFailure();
        // Not delivered, and kafkajs's position not moved: a stopping consumer, a join under way,
        // or a partition sent back (seek) after a failure, whose batches until then are stale.
        if (this.stopping || this.joining || !isRunning() || isStale()) return;
        const key = partitionKey(batch.topic, batch.partition);
        const first = input.records[0];
        if (first !== undefined && !this.resumeAt.has(key)) this.resumeAt.set(key, first.offset);
        const queued: Queued = {
          batch: input,
          key,
          bytes: batchBytes(input),
          generation: this.generation,
          isRunning,
          isStale,
          heartbeat,
        };
        this.queue.push(queued);
        this.queuedBytes += queued.bytes;
        // kafkajs fetches next from after this batch (control records after the last message too).
        resolveOffset(batch.lastOffset());
        this.deliver();
        const generation = this.generation;
        while (
          this.queuedBytes > this.opts.queueBytes &&
          this.failure === undefined &&
          generation === this.generation &&
          !this.stopping
        ) {
          await new Promise<void>((r) => this.waiters.push(r));
        }
        this.throwFailure();
      },
    });
  }

  /** Hands a failed batch's error to kafkajs (once), as its own eachBatch would have thrown it. */
  private throwFailure(): void {
    const err = this.failure;
    if (err === undefined) return;
    this.failure = undefined;
    throw err;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Delivers queued batches one at a time until the queue is empty. */
  private deliver(): void {
    if (this.delivering) return;
    this.delivering = true;
    const loop = async (): Promise<void> => {
      for (let q = this.queue.shift(); q !== undefined; q = this.queue.shift()) {
        this.queuedBytes -= q.bytes;
        this.wake();
        if (q.generation !== this.generation) continue;
        const current = this.deliverOne(q);
        this.inProgress = current;
        await current;
        this.inProgress = undefined;
      }
    };
    void loop().finally(() => {
      this.delivering = false;
      this.inProgress = undefined;
      this.wake();
    });
  }

  private async deliverOne(q: Queued): Promise<void> {
    const current = (): boolean => q.generation === this.generation && !this.stopping;
    // kafkajs' isStale() builds a key (JSON.stringify) on every call, a few % of `run` when asked
    // per record: it is asked every STALE_CHECK_EVERY records. It turns true only when this
    // partition is sought (a failed batch, this one, or an offset reset); group changes are seen at
    // once through current() and isRunning(), and a join waits for the batch in progress anyway.
    let asked = 0;
    let stale = false;
    try {
      await this.onBatch!(q.batch, {
        shouldContinue: () => {
          if (!current() || !q.isRunning()) return false;
          if (asked++ % STALE_CHECK_EVERY === 0) stale = q.isStale();
          return !stale;
        },
        heartbeat: q.heartbeat,
        markProcessed: (offset) => {
          if (current()) this.resumeAt.set(q.key, (BigInt(offset) + 1n).toString());
        },
      });
    } catch (err) {
      // A batch of an earlier generation: its partition is read again by whoever owns it now.
      if (!current()) return;
      this.failed(q, err instanceof Error ? err : new Error(String(err)));
    }
  }

  /** A batch failed: its partition is read again from after the last record marked processed. */
  private failed(q: Queued, err: Error): void {
    if (isRebalancing(err)) {
      // The group is rebalancing (a heartbeat or commit said so): nothing queued is delivered, and
      // kafkajs learns it from its next eachBatch call, then joins again.
      this.revoke();
      this.failure = err;
      return;
    }
    const { topic, partition } = q.batch;
    this.dropQueued((x) => x.key === q.key);
    const offset = this.resumeAt.get(q.key);
    if (offset !== undefined) {
      try {
        this.consumer.seek({ topic, partition, offset });
      } catch (seekErr) {
        // The consumer is restarting: it joins again and reads from the committed offsets.
        this.opts.logger.debug({ err: seekErr, topic, partition }, 'kafkajs: no seek after a failed batch');
      }
    }
    this.failure ??= err;
    this.wake();
  }

  private dropQueued(which: (q: Queued) => boolean): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const q = this.queue[i]!;
      if (which(q)) {
        this.queue.splice(i, 1);
        this.queuedBytes -= q.bytes;
      }
    }
  }

  /** The group changes (or the consumer stops): nothing fetched so far is delivered any more. */
  private revoke(): void {
    if (this.queue.length > 0) {
      this.opts.logger.debug(
        { batches: this.queue.length, bytes: this.queuedBytes },
        'kafkajs: batches fetched ahead dropped at a group change',
      );
    }
    this.generation++;
    this.joining = true;
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.resumeAt.clear();
    this.failure = undefined;
    this.wake();
  }

  /**
   * Called before every (re)join of the group: drops the queue and waits for the batch in progress,
   * so the batch's publications and commit happen in the generation it was fetched in.
   */
  async beforeJoin(): Promise<void> {
    this.revoke();
    while (this.inProgress !== undefined) await this.inProgress;
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

  async disconnect(): Promise<void> {
    this.stopping = true;
    this.revoke();
    while (this.inProgress !== undefined) await this.inProgress;
    await this.consumer.disconnect();
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
