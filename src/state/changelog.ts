/**
 * Durable detection state: the compacted changelog topic layout (pure; the Kafka side is in
 * src/consumers/pipeline.ts and the client port's readToEnd()).
 *
 * A detection that learns over weeks (D4's per-destination models) cannot rebuild its state by
 * re-reading the input, so `run` writes what changed to a compacted topic, as Kafka Streams does
 * for its state stores, and reads it back when it is given the input partition again:
 *
 * - topic: `<kafka.groupId>-<detection key>-changelog` unless configured, `cleanup.policy=compact`;
 * - record key: `<input topic>/<input partition>/<state key>` (a topic name cannot contain `/`),
 *   so the state of every input partition is separate and compaction keeps the latest value of each
 *   key; a null value (tombstone) deletes a key;
 * - partition: a fixed hash of `<input topic>/<input partition>` modulo the changelog's partition
 *   count, so restoring one input partition reads one changelog partition. Adding partitions to the
 *   changelog topic later would move keys: do not (the README says so).
 *
 * Ordering: the changes since the last commit are produced (with the alerts of the batch that commits)
 * and acknowledged before the input offset is committed, so the changelog is never behind the
 * committed position. It may be
 * ahead (a crash between the two): the records after the commit are then applied again, which D4's
 * distinct counting, once-per-bucket firing and closed-bucket bookkeeping make harmless.
 */
import { hashString32 } from './hash32.js';

export function defaultChangelogTopic(groupId: string, detectionKey: string): string {
  return `${groupId}-${detectionKey}-changelog`;
}

/** Topic configuration of a changelog: compacted, never deleted by time. */
export const CHANGELOG_TOPIC_CONFIG: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'min.compaction.lag.ms': '0',
};

function inputPrefix(topic: string, partition: number): string {
  return `${topic}/${partition}/`;
}

export function changelogKey(topic: string, partition: number, stateKey: string): string {
  return inputPrefix(topic, partition) + stateKey;
}

/** The changelog partition that holds an input partition's state. */
export function changelogPartition(topic: string, partition: number, changelogPartitions: number): number {
  if (!Number.isInteger(changelogPartitions) || changelogPartitions < 1) {
    throw new RangeError(`a changelog needs at least one partition, not ${changelogPartitions}`);
  }
  return hashString32(`${topic}/${partition}`) % changelogPartitions;
}

/**
 * Collects the latest value of each state key of one input partition from changelog records read in
 * offset order (records of other input partitions sharing the changelog partition are skipped).
 * Tombstones remove the key. Iteration order of the result is the order keys were last written,
 * which restore() takes as recency (least recent first).
 */
export class ChangelogCollector {
  private readonly prefix: string;
  private readonly latest = new Map<string, string>();
  records = 0;

  constructor(topic: string, partition: number) {
    this.prefix = inputPrefix(topic, partition);
  }

  add(key: Buffer | string | null, value: Buffer | string | null): void {
    if (key === null) return;
    const k = typeof key === 'string' ? key : key.toString('utf8');
    if (!k.startsWith(this.prefix)) return;
    this.records++;
    const stateKey = k.slice(this.prefix.length);
    this.latest.delete(stateKey);
    if (value !== null) this.latest.set(stateKey, typeof value === 'string' ? value : value.toString('utf8'));
  }

  entries(): Map<string, string> {
    return this.latest;
  }
}
