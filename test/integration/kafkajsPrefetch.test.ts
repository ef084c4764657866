/**
 * The kafkajs adapter fetches ahead of processing (src/consumers/kafkajs.ts: batches queue while
 * onBatch works). What a user of the port would notice if that went wrong, against a real broker:
 * a batch of a partition that moved to another member delivered after the move, a record delivered
 * twice, records out of order, a failed batch not read again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { createKafkaClient } from '../../src/consumers/clientFactory.js';
import type { KafkaClient, StreamConsumer } from '../../src/consumers/client.js';
import { loadConfig } from '../../src/config.js';
import { startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

/** Small fetches (4 KiB per partition), so many batches queue ahead of a slow onBatch. */
const MAX_BYTES_PER_PARTITION = 4096;

async function clientWithLog(): Promise<{ client: KafkaClient; lines: string[] }> {
  const lines: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const config = loadConfig({
    env: {},
    overrides: { 'kafka.brokers': kafka.brokers, 'kafka.client': 'kafkajs', 'kafka.clientId': 'picket-prefetch-test' },
  });
  return { client: await createKafkaClient(config, logger), lines };
}

async function fill(client: KafkaClient, topic: string, partitions: number, perPartition: number): Promise<void> {
  const admin = client.admin();
  await admin.ensureTopics([{ topic, numPartitions: partitions }]);
  await admin.close();
  const producer = client.producer({ acks: -1, compression: 'none' });
  await producer.connect();
  // In sends of 20 records: a broker returns a record batch whole, so small fetches need small ones.
  for (let p = 0; p < partitions; p++) {
    for (let i = 0; i < perPartition; i += 20) {
      await producer.send(
        Array.from({ length: Math.min(20, perPartition - i) }, (_, j) => ({
          topic,
          partition: p,
          key: null,
          value: `${p}:${i + j}:${'x'.repeat(80)}`,
        })),
      );
    }
  }
  await producer.disconnect();
}

/** One batch as a member saw it: its generation (joins seen), the assignment then, the offsets processed. */
interface Delivery {
  member: string;
  generation: number;
  assigned: readonly number[];
  partition: number;
  offsets: number[];
}

/**
 * A member that processes slowly (`msPerBatch`), honours shouldContinue(), commits after each batch
 * (as the pipeline does) and records what it was given.
 */
async function member(
  client: KafkaClient,
  name: string,
  topic: string,
  groupId: string,
  deliveries: Delivery[],
  msPerBatch: number,
  failOnce?: (d: Delivery) => boolean,
): Promise<StreamConsumer> {
  const consumer = client.consumer({ groupId, sessionTimeoutMs: 10000, maxBytesPerPartition: MAX_BYTES_PER_PARTITION });
  let generation = 0;
  let assigned: readonly number[] = [];
  consumer.onGroupEvent((e) => {
    if (e.type !== 'joined') return;
    generation++;
    assigned = e.assignment[topic] ?? [];
  });
  let failed = false;
  await consumer.connect();
  await consumer.subscribe([topic], true);
  await consumer.run(async (batch, control) => {
    const d: Delivery = { member: name, generation, assigned, partition: batch.partition, offsets: [] };
    deliveries.push(d);
    for (const r of batch.records) {
      if (!control.shouldContinue()) break;
      d.offsets.push(Number(r.offset));
      if (!failed && failOnce?.(d)) {
        failed = true;
        throw new Error('processing failed (test)');
      }
      if (d.offsets.length === 10) control.markProcessed(r.offset);
    }
    await new Promise((r) => setTimeout(r, msPerBatch));
    const last = d.offsets.at(-1);
    if (last === undefined) return;
    await consumer.commit([{ topic, partition: batch.partition, offset: String(last + 1) }]);
    control.markProcessed(String(last));
    await control.heartbeat();
  });
  return consumer;
}

/** Per partition, the offsets delivered, in delivery order. */
function offsetsOf(deliveries: readonly Delivery[], partition: number): number[] {
  return deliveries.filter((d) => d.partition === partition).flatMap((d) => d.offsets);
}

async function until(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('kafkajs: a rebalance while batches are queued: none of a moved partition is delivered after the move, none twice, all in order', async () => {
  const { client, lines } = await clientWithLog();
  const topic = uniqueName('prefetch-rebalance');
  const groupId = uniqueName('prefetch-rebalance');
  // Enough that A is still busy when it learns of the rebalance (at its next heartbeat, ≤ 3 s).
  const PER_PARTITION = 3000;
  await fill(client, topic, 2, PER_PARTITION);

  const deliveries: Delivery[] = [];
  const a = await member(client, 'a', topic, groupId, deliveries, 50);
  // Let A work for a while, with batches of both partitions queued behind the one in progress.
  await until('A to process some batches', () => deliveries.length >= 8);
  const b = await member(client, 'b', topic, groupId, deliveries, 50);
  const seen = (p: number): Set<number> => new Set(offsetsOf(deliveries, p));
  await until('every record', () => seen(0).size === PER_PARTITION && seen(1).size === PER_PARTITION, 120_000);
  await a.disconnect();
  await b.disconnect();

  const dropped = lines.filter((l) => l.includes('batches fetched ahead dropped at a group change'));
  assert.ok(dropped.length > 0, 'batches were queued when the group changed (else this test proves nothing)');
  assert.ok(
    deliveries.some((d) => d.member === 'b'),
    'B was given a partition',
  );
  // A partition is delivered to a member only while the member holds it: nothing queued before
  // the move comes out afterwards.
  for (const d of deliveries) {
    assert.ok(
      d.assigned.includes(d.partition),
      `${d.member} got partition ${d.partition} in generation ${d.generation}, assigned ${d.assigned}`,
    );
  }
  // Within a member's generation: each record once, in offset order, no gaps.
  const groups = new Map<string, number[]>();
  for (const d of deliveries) {
    const k = `${d.member}/${d.generation}/${d.partition}`;
    groups.set(k, [...(groups.get(k) ?? []), ...d.offsets]);
  }
  for (const [k, offsets] of groups) {
    for (let i = 1; i < offsets.length; i++) {
      assert.equal(offsets[i], offsets[i - 1]! + 1, `${k}: offset ${offsets[i]} after ${offsets[i - 1]}`);
    }
  }
  // Across the hand-over: the old owner's last batch is done and committed before the group is
  // joined again, so the new owner starts exactly after it: no record of any partition twice.
  for (const p of [0, 1]) {
    const all = offsetsOf(deliveries, p);
    assert.equal(all.length, PER_PARTITION, `partition ${p}: every record once (${all.length} deliveries)`);
  }
});

test('kafkajs: a batch that fails is read again from after the last record marked processed, queued ones dropped', async () => {
  const { client } = await clientWithLog();
  const topic = uniqueName('prefetch-fail');
  const groupId = uniqueName('prefetch-fail');
  const PER_PARTITION = 800;
  await fill(client, topic, 1, PER_PARTITION);

  const deliveries: Delivery[] = [];
  // The fifth batch fails at its 15th record, after its 10th was marked processed.
  const consumer = await member(
    client,
    'a',
    topic,
    groupId,
    deliveries,
    5,
    (d) => deliveries.length === 5 && d.offsets.length === 15,
  );
  await until('every record', () => new Set(offsetsOf(deliveries, 0)).size === PER_PARTITION);
  await consumer.disconnect();

  const failedAt = deliveries[4]!;
  const resumeAt = failedAt.offsets[9]! + 1;
  const next = deliveries[5]!;
  assert.equal(next.offsets[0], resumeAt, 'the next batch starts after the last record marked processed');
  const offsets = offsetsOf(deliveries, 0);
  const expected = [
    ...Array.from({ length: failedAt.offsets[14]! + 1 }, (_, i) => i),
    ...Array.from({ length: PER_PARTITION - resumeAt }, (_, i) => resumeAt + i),
  ];
  assert.deepEqual(offsets, expected, 'in order, the failed part once more, nothing else twice');
});
