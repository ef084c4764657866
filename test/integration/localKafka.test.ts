// End-to-end check of the test Kafka harness: a real broker accepts a multi-partition topic,
// a producer's messages, and a consumer group reading them all back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';

const MESSAGES = 100;
const PARTITIONS = 3;

let kafka: TestKafka;

before(async () => {
  kafka = await startTestKafka();
});

after(async () => {
  await kafka?.stop();
});

test('round-trips 100 messages through a 3-partition topic with a consumer group', { timeout: 60_000 }, async () => {
  const topic = uniqueName('localkafka-roundtrip');
  await createTopics(kafka.brokers, [{ topic, numPartitions: PARTITIONS }]);
  const client = new Kafka({ clientId: 'picket-localkafka-test', brokers: kafka.brokers, logLevel: logLevel.ERROR });

  const sent = Array.from({ length: MESSAGES }, (_, i) => ({
    key: `host-${i % 7}`,
    value: JSON.stringify({ seq: i }),
  }));
  const producer = client.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  try {
    await producer.send({ topic, messages: sent });
  } finally {
    await producer.disconnect();
  }

  const received: { key: string; value: string; partition: number }[] = [];
  const consumer = client.consumer({ groupId: uniqueName('localkafka-group') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`consumed ${received.length}/${MESSAGES} within 45 s`)), 45_000);
      consumer
        .run({
          eachMessage: async ({ partition, message }) => {
            received.push({ key: message.key!.toString(), value: message.value!.toString(), partition });
            if (received.length >= MESSAGES) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }

  assert.equal(received.length, MESSAGES);
  const bySeq = [...received].sort((a, b) => JSON.parse(a.value).seq - JSON.parse(b.value).seq);
  assert.deepEqual(
    bySeq.map(({ key, value }) => ({ key, value })),
    sent,
  );
  // Keys spread over more than one partition, so the topic really has several.
  assert.ok(new Set(received.map((r) => r.partition)).size > 1, 'messages landed on a single partition');
  // Per-key order is preserved (same key, same partition).
  for (const key of new Set(sent.map((m) => m.key))) {
    const seqs = received.filter((r) => r.key === key).map((r) => JSON.parse(r.value).seq as number);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
      `order for ${key}`,
    );
  }
});
