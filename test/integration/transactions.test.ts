/**
 * kafkajs transactions against the real broker (Kafka 4.1.1, which dropped old protocol versions,
 * KIP-896): what exactly-once alerts through transactions would rely on (issue 9; the cost is
 * measured in bench/exactlyOnce.ts).
 *   - outputs and input offsets (with metadata, through sendOffsets) commit together, and
 *     admin.fetchOffsets reads the metadata back;
 *   - an aborted transaction's records are invisible to a read_committed consumer (the kafkajs
 *     default), though a read_uncommitted one sees them, and its offsets are not applied;
 *   - a second producer with the same transactionalId fences the first (a zombie): its open
 *     transaction is aborted and its commit refused — from the second one's first transaction()
 *     on; kafkajs' connect() does not fence, so a successor must begin a transaction before it
 *     reads the committed offsets it resumes from.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, type LogEntry, type PartitionOffset } from 'kafkajs';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';

let kafka: TestKafka;
let client: Kafka;
/** "ApiName vN" of every request kafkajs sent, to report the versions the broker accepted. */
const requests = new Set<string>();

before(async () => {
  kafka = await startTestKafka();
  const logCreator =
    () =>
    ({ log }: LogEntry): void => {
      const m = /^Request (\w+)\(key: \d+, version: (\d+)\)/.exec(log.message);
      if (m) requests.add(`${m[1]} v${m[2]}`);
    };
  client = new Kafka({ clientId: 'picket-txn-test', brokers: kafka.brokers, logLevel: logLevel.DEBUG, logCreator });
});
after(async () => {
  await kafka?.stop();
});

/** kafkajs' typings leave `metadata` out of sendOffsets' partitions; TxnOffsetCommit carries it and kafkajs sends it. */
const withMetadata = (partitions: (PartitionOffset & { metadata: string })[]): PartitionOffset[] => partitions;

const transactional = (transactionalId: string) =>
  client.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });

/** Values read from `topic` (all partitions) until `last` is read; read_committed unless told. */
async function readUntil(topic: string, last: string, opts: { readUncommitted?: boolean } = {}): Promise<string[]> {
  const consumer = client.consumer({
    groupId: uniqueName('txn-reader'),
    maxWaitTimeInMs: 100,
    readUncommitted: opts.readUncommitted ?? false,
  });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    const values: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${last} not read from ${topic}: ${values.join(',')}`)), 30_000);
      void consumer.run({
        autoCommit: false,
        eachMessage: async ({ message }) => {
          const v = message.value!.toString();
          values.push(v);
          if (v === last) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    return values;
  } finally {
    await consumer.disconnect();
  }
}

test('a transaction commits outputs and input offsets with metadata together; fetchOffsets reads the metadata back', async (t) => {
  const out = uniqueName('txn-out');
  const input = uniqueName('txn-in');
  const groupId = uniqueName('txn-group');
  await createTopics(kafka.brokers, [
    { topic: out, numPartitions: 2 },
    { topic: input, numPartitions: 2 },
  ]);
  const producer = transactional(uniqueName('txn-id'));
  await producer.connect();
  const metadata = JSON.stringify({ v: 1, published: '1234', at: 1_700_000_000_000 });
  const txn = await producer.transaction();
  await txn.send({ topic: out, messages: [{ key: 'h1', value: 'alert-1' }] });
  await txn.sendOffsets({
    consumerGroupId: groupId,
    topics: [
      {
        topic: input,
        partitions: withMetadata([
          { partition: 0, offset: '42', metadata },
          { partition: 1, offset: '7', metadata: 'm1' },
        ]),
      },
    ],
  });
  await txn.commit();
  await producer.disconnect();

  const admin = client.admin();
  await admin.connect();
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
  await admin.disconnect();
  assert.deepEqual(
    [...offsets!.partitions].sort((a, b) => a.partition - b.partition),
    [
      { partition: 0, offset: '42', metadata },
      { partition: 1, offset: '7', metadata: 'm1' },
    ],
  );
  assert.deepEqual(await readUntil(out, 'alert-1'), ['alert-1']);
  const versions = [...requests].filter((r) => /Txn|InitProducerId|Produce/.test(r)).sort();
  t.diagnostic(`protocol versions kafkajs used: ${versions.join(', ')}`);
  for (const api of ['InitProducerId', 'AddPartitionsToTxn', 'AddOffsetsToTxn', 'TxnOffsetCommit', 'EndTxn']) {
    assert.ok(
      versions.some((v) => v.startsWith(`${api} `)),
      `${api} sent (seen: ${versions.join(', ')})`,
    );
  }
});

test('an aborted transaction: its records are invisible to read_committed (not to read_uncommitted), its offsets not applied', async () => {
  const out = uniqueName('txn-abort-out');
  const input = uniqueName('txn-abort-in');
  const groupId = uniqueName('txn-abort-group');
  await createTopics(kafka.brokers, [
    { topic: out, numPartitions: 1 },
    { topic: input, numPartitions: 1 },
  ]);
  const producer = transactional(uniqueName('txn-abort-id'));
  await producer.connect();
  const inTxn = async (value: string, offset: string, end: 'commit' | 'abort'): Promise<void> => {
    const txn = await producer.transaction();
    await txn.send({ topic: out, messages: [{ key: 'k', value }] });
    await txn.sendOffsets({
      consumerGroupId: groupId,
      topics: [{ topic: input, partitions: withMetadata([{ partition: 0, offset, metadata: value }]) }],
    });
    await (end === 'commit' ? txn.commit() : txn.abort());
  };
  await inTxn('first', '10', 'commit');
  await inTxn('aborted', '20', 'abort');
  await inTxn('second', '30', 'commit');
  await inTxn('aborted-last', '40', 'abort');
  await producer.disconnect();

  assert.deepEqual(await readUntil(out, 'second'), ['first', 'second']);
  assert.deepEqual(await readUntil(out, 'aborted-last', { readUncommitted: true }), [
    'first',
    'aborted',
    'second',
    'aborted-last',
  ]);
  const admin = client.admin();
  await admin.connect();
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [input] });
  await admin.disconnect();
  assert.deepEqual(offsets!.partitions, [{ partition: 0, offset: '30', metadata: 'second' }]);
});

test('a second producer with the same transactionalId fences the first at its first transaction() (not at connect)', async (t) => {
  const out = uniqueName('txn-fence-out');
  await createTopics(kafka.brokers, [{ topic: out, numPartitions: 1 }]);
  const transactionalId = uniqueName('txn-fence-id');
  const zombie = transactional(transactionalId);
  await zombie.connect();
  const early = await zombie.transaction();
  await early.send({ topic: out, messages: [{ key: 'k', value: 'zombie-before-successor-txn' }] });

  // connect() only initialises kafkajs' idempotent producer id (no transactionalId): no fencing yet,
  // so the zombie's open transaction still commits.
  const successor = transactional(transactionalId);
  await successor.connect();
  await early.commit();

  const stale = await zombie.transaction();
  await stale.send({ topic: out, messages: [{ key: 'k', value: 'from-zombie' }] });
  // The successor's first transaction() sends InitProducerId with the transactionalId: the epoch
  // is bumped and the zombie's open transaction aborted.
  const txn = await successor.transaction();
  await assert.rejects(stale.commit(), (err: Error & { type?: string }) => {
    assert.match(String(err.type), /^(INVALID_PRODUCER_EPOCH|PRODUCER_FENCED)$/, `${err.name}: ${err.message}`);
    t.diagnostic(`zombie's commit: ${err.name} ${err.type}: ${err.message}`);
    return true;
  });
  await txn.send({ topic: out, messages: [{ key: 'k', value: 'from-successor' }] });
  await txn.commit();
  await successor.disconnect();
  await zombie.disconnect();

  assert.deepEqual(await readUntil(out, 'from-successor'), ['zombie-before-successor-txn', 'from-successor']);
});
