/**
 * The Kafka client port: the little picket needs from a Kafka client. kafkajs.ts adapts kafkajs to
 * it; another client (librdkafka's) can be swapped in behind the same interface.
 */

export interface InputRecord {
  readonly topic: string;
  readonly partition: number;
  /** int64 offset as a decimal string. */
  readonly offset: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** Record timestamp, epoch ms as a decimal string. */
  readonly timestamp: string;
  readonly headers: Readonly<Record<string, Buffer | string | undefined>>;
}

export interface InputBatch {
  readonly topic: string;
  readonly partition: number;
  readonly records: readonly InputRecord[];
  /** Offset of the next record to be written to the partition (log end). */
  readonly highWatermark: string;
}

export interface BatchControl {
  /** False once the consumer is stopping or the batch's partition was revoked. */
  shouldContinue(): boolean;
  heartbeat(): Promise<void>;
  /** Marks records up to `offset` (inclusive) as processed in this session. */
  markProcessed(offset: string): void;
}

export interface OutputRecord {
  readonly topic: string;
  /** Explicit partition (changelog records); when absent the producer's partitioner picks by key. */
  readonly partition?: number;
  readonly key: string | Buffer | null;
  /** null: a tombstone (changelog deletes). */
  readonly value: string | Buffer | null;
  readonly headers?: Readonly<Record<string, string | Buffer>>;
}

export interface CommitOffset {
  readonly topic: string;
  readonly partition: number;
  /** Where the group resumes: the next offset to read, or the oldest one still needed. */
  readonly offset: string;
  /** Stored with the offset; read back by a later owner of the partition. */
  readonly metadata?: string;
}

export interface CommittedOffset {
  readonly offset: string;
  readonly metadata: string | null;
}

export type GroupEvent =
  | { readonly type: 'joined'; readonly assignment: Readonly<Record<string, readonly number[]>> }
  | { readonly type: 'rebalancing' }
  | { readonly type: 'stopped' }
  | { readonly type: 'crashed'; readonly error: Error; readonly restarting: boolean }
  /** A fetch or heartbeat succeeded: the broker is there (liveness.ts). */
  | { readonly type: 'contact' };

export interface StreamConsumer {
  connect(): Promise<void>;
  subscribe(topics: readonly string[], fromBeginning: boolean): Promise<void>;
  /** Starts fetching; `onBatch` is called per partition batch, one at a time per partition. */
  run(onBatch: (batch: InputBatch, control: BatchControl) => Promise<void>): Promise<void>;
  commit(offsets: readonly CommitOffset[]): Promise<void>;
  onGroupEvent(listener: (event: GroupEvent) => void): void;
  /** Stops fetching, waits for the batch in progress, leaves the group. */
  disconnect(): Promise<void>;
}

export interface RecordProducer {
  connect(): Promise<void>;
  /** Resolves once every record is acknowledged by the broker. */
  send(records: readonly OutputRecord[]): Promise<void>;
  onConnectionChange(listener: (connected: boolean) => void): void;
  disconnect(): Promise<void>;
}

export interface TopicSpec {
  readonly topic: string;
  readonly numPartitions?: number;
  /** Topic-level configuration, e.g. `cleanup.policy: compact`. */
  readonly config?: Readonly<Record<string, string>>;
}

/** One record read back from a topic by readToEnd(). */
export interface ReadBackRecord {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  /** null: a tombstone. */
  readonly value: Buffer | null;
  /** Record timestamp, epoch ms. */
  readonly timestamp?: number;
  readonly headers?: Readonly<Record<string, Buffer | string | undefined>>;
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet; returns the names it created. */
  ensureTopics(topics: readonly TopicSpec[]): Promise<string[]>;
  /** The group's committed offsets (and metadata) of a topic, by partition. */
  fetchCommitted(groupId: string, topic: string): Promise<Map<number, CommittedOffset>>;
  /** Partitions of each topic that exists (topics that do not are left out). */
  partitionCounts(topics: readonly string[]): Promise<Map<string, number>>;
  close(): Promise<void>;
}

export interface KafkaClient {
  readonly name: string;
  consumer(opts: { groupId: string; sessionTimeoutMs: number; maxBytesPerPartition: number }): StreamConsumer;
  producer(opts: { acks: number; compression: 'none' | 'gzip' }): RecordProducer;
  admin(): KafkaAdmin;
  /**
   * Reads `partitions` of `topic` from their beginning to their end as of the call (the high
   * watermark then), calling `onRecord` for each record in offset order per partition; resolves
   * when every partition is read. For restoring state from a changelog: it reads outside any
   * consumer group picket is a member of. Fails after `timeoutMs` without progress.
   * With `fromTimestamp` (epoch ms), each partition is read from its first record at or after that
   * time instead of its beginning (the published-alerts window reads the output topic's tail).
   */
  readToEnd(
    topic: string,
    partitions: readonly number[],
    onRecord: (record: ReadBackRecord) => void,
    opts: { timeoutMs: number; groupIdPrefix: string; fromTimestamp?: number },
  ): Promise<void>;
}
