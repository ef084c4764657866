/**
 * The kafkajs adapter of the client port (src/consumers/kafkajs.ts) against a real broker: what
 * the pipeline relies on beyond plain consuming.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafkajsClient } from '../../src/consumers/kafkajs.js';
import type { OutputRecord, ReadBackRecord } from '../../src/consumers/client.js';
import { createLogger } from '../../src/observability/logger.js';
import { startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

const client = () =>
  createKafkajsClient({
    brokers: kafka.brokers,
    clientId: 'picket-client-test',
    connectionTimeoutMs: 10000,
    logger: createLogger('silent'),
  });

test('one send of 3 MB to a single partition (a commit with many state changes) is split, not refused', async () => {
  const c = client();
  const topic = uniqueName('client-big');
  const admin = c.admin();
  assert.deepEqual(await admin.ensureTopics([{ topic, numPartitions: 2, config: { 'cleanup.policy': 'compact' } }]), [
    topic,
  ]);
  assert.deepEqual([...(await admin.partitionCounts([topic, uniqueName('absent')]))], [[topic, 2]]);
  const producer = c.producer({ acks: -1, compression: 'none' });
  await producer.connect();
  const value = 'x'.repeat(3000);
  const records: OutputRecord[] = Array.from({ length: 1000 }, (_, i) => ({
    topic,
    partition: 1,
    key: `k${i % 900}`,
    value: `${i}:${value}`,
  }));
  records.push({ topic, partition: 1, key: 'k0', value: null }); // a tombstone
  await producer.send(records);
  await producer.disconnect();

  const read: ReadBackRecord[] = [];
  await c.readToEnd(topic, [0, 1], (r) => read.push(r), { timeoutMs: 20000, groupIdPrefix: 'picket-client-test' });
  await admin.close();
  assert.equal(read.length, 1001, 'every record read back, to the end as of the call');
  assert.ok(read.every((r) => r.partition === 1));
  assert.deepEqual(
    read.map((r) => Number(r.offset)),
    read.map((_, i) => i),
    'in offset order',
  );
  assert.equal(read[999]!.value!.toString().split(':')[0], '999');
  assert.equal(read[1000]!.value, null, 'the tombstone comes back as null');
});

test('readToEnd of empty partitions returns at once', async () => {
  const c = client();
  const topic = uniqueName('client-empty');
  const admin = c.admin();
  await admin.ensureTopics([{ topic, numPartitions: 1 }]);
  const t0 = Date.now();
  let n = 0;
  await c.readToEnd(topic, [0], () => n++, { timeoutMs: 5000, groupIdPrefix: 'picket-client-test' });
  await admin.close();
  assert.equal(n, 0);
  assert.ok(Date.now() - t0 < 3000, 'no group is joined for nothing');
});
