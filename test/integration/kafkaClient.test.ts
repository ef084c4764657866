/**
 * The adapters of the client port (src/consumers/kafkajs.ts, librdkafka.ts) against a real broker:
 * what the pipeline relies on beyond plain consuming. librdkafka's are skipped where its optional
 * native module is not installed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createKafkaClient } from '../../src/consumers/clientFactory.js';
import type { GroupEvent, InputRecord, KafkaClient, OutputRecord, ReadBackRecord } from '../../src/consumers/client.js';
import { loadConfig, type KafkaClientKind } from '../../src/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { KAFKA_CLIENTS, skipUnlessLoadable } from '../support/clients.js';
import { startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

const clientOf = (kind: KafkaClientKind): Promise<KafkaClient> =>
  createKafkaClient(
    loadConfig({
      env: {},
      overrides: { 'kafka.brokers': kafka.brokers, 'kafka.client': kind, 'kafka.clientId': 'picket-client-test' },
    }),
    createLogger('silent'),
  );

for (const kind of KAFKA_CLIENTS) {
  const skip = await skipUnlessLoadable(kind);
  const client = () => clientOf(kind);

  test(
    `${kind}: one send of 3 MB to a single partition (a commit with many state changes) is split, not refused`,
    { skip },
    async () => {
      const c = await client();
      const topic = uniqueName('client-big');
      const admin = c.admin();
      assert.deepEqual(
        await admin.ensureTopics([{ topic, numPartitions: 2, config: { 'cleanup.policy': 'compact' } }]),
        [topic],
      );
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
    },
  );

  test(`${kind}: readToEnd of empty partitions returns at once`, { skip }, async () => {
    const c = await client();
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

  test(
    `${kind}: a consumer group: batches per partition, group events, commits with metadata read back by both clients`,
    { skip },
    async () => {
      const c = await client();
      const topic = uniqueName(`client-group-${kind}`);
      const groupId = uniqueName(`client-group-${kind}`);
      const admin = c.admin();
      await admin.ensureTopics([{ topic, numPartitions: 2 }]);
      const producer = c.producer({ acks: -1, compression: 'none' });
      await producer.connect();
      await producer.send(
        Array.from({ length: 50 }, (_, i) => ({
          topic,
          partition: i % 2,
          key: `k${i}`,
          value: `v${i}`,
          headers: { 'picket.test': `h${i}` },
        })),
      );
      await producer.disconnect();

      const consumer = c.consumer({ groupId, sessionTimeoutMs: 10000, maxBytesPerPartition: 1 << 20 });
      const events: GroupEvent['type'][] = [];
      let assignment: Readonly<Record<string, readonly number[]>> = {};
      consumer.onGroupEvent((e) => {
        events.push(e.type);
        if (e.type === 'joined') assignment = e.assignment;
      });
      const seen: InputRecord[] = [];
      let active = 0;
      let overlapped = false;
      let resolveAll!: () => void;
      const all = new Promise<void>((r) => (resolveAll = r));
      await consumer.connect();
      await consumer.subscribe([topic], true);
      await consumer.run(async (batch, control) => {
        if (++active > 1) overlapped = true;
        assert.ok(batch.records.every((r) => r.partition === batch.partition && r.topic === topic));
        assert.equal(Number(batch.highWatermark), 25);
        seen.push(...batch.records);
        const last = batch.records.at(-1)!;
        await new Promise((r) => setTimeout(r, 5));
        await consumer.commit([
          {
            topic,
            partition: batch.partition,
            offset: String(Number(last.offset) + 1),
            metadata: `{"p":${batch.partition}}`,
          },
        ]);
        control.markProcessed(last.offset);
        active--;
        if (seen.length >= 50) resolveAll();
      });
      await all;
      await consumer.disconnect();
      assert.equal(overlapped, false, 'one batch at a time');
      assert.deepEqual([...(assignment[topic] ?? [])].sort(), [0, 1]);
      assert.equal(events[0], 'joined');
      assert.equal(events.at(-1), 'stopped');
      const r7 = seen.find((r) => r.value?.toString() === 'v7')!;
      assert.equal(r7.partition, 1);
      assert.equal(r7.key?.toString(), 'k7');
      assert.equal(r7.headers['picket.test']?.toString(), 'h7');
      assert.match(r7.timestamp, /^\d{13}$/);

      // The committed offsets and their metadata, as this client and the other one read them back:
      // a group can change clients without losing where its alerts were published.
      for (const other of KAFKA_CLIENTS) {
        if (await skipUnlessLoadable(other)) continue;
        const a = other === kind ? admin : (await clientOf(other)).admin();
        const committed = await a.fetchCommitted(groupId, topic);
        assert.deepEqual(
          [...committed].sort(([x], [y]) => x - y),
          [
            [0, { offset: '25', metadata: '{"p":0}' }],
            [1, { offset: '25', metadata: '{"p":1}' }],
          ],
          `committed by ${kind}, read by ${other}`,
        );
        if (a !== admin) await a.close();
      }
      await admin.close();
    },
  );
}
