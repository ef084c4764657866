/**
 * The correlating detections across a crash, on a real broker: a D2 pair and a D3 sequence whose
 * first event was processed and committed before a SIGKILL, and whose second event arrives after
 * the restart, are both detected, exactly once.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommitMetadata } from '../../src/consumers/partitionProcessor.js';
import { endpointFlow, filler, mapperFlow, serviceChild, servicesConnection } from '../support/scenario.js';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';
import { committedPosition, produce, startPicket, TopicCollector } from '../support/picketProcess.js';

const D2 = 'CAR-2014-05-001';
const D3 = 'aa9a274d-6b53-424d-ac5e-cb8ca4251650';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

const HOST = { id: 'ws-crash-1', name: 'ws-crash-1.corp.example', os: { type: 'windows' } };

test('a pair and a sequence split by a SIGKILL are detected once each', async () => {
  const input = uniqueName('corr-in');
  const output = uniqueName('corr-alerts');
  const dlq = uniqueName('corr-dlq');
  const groupId = uniqueName('picket-corr');
  await createTopics(kafka.brokers, [
    { topic: input, numPartitions: 1 },
    { topic: output, numPartitions: 1 },
    { topic: dlq, numPartitions: 1 },
  ]);
  const env = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    PICKET_INPUT_TOPICS: input,
    PICKET_OUTPUT_TOPIC: output,
    PICKET_DEAD_LETTER_TOPIC: dlq,
    PICKET_GROUP_ID: groupId,
    PICKET_FROM_BEGINNING: 'true',
    PICKET_LATENESS_MS: '2000',
    PICKET_SESSION_TIMEOUT_MS: '6000',
    PICKET_IDLE_TIMEOUT_MS: '1000',
  };
  const t0 = Date.now() - 120_000;
  const alerts = new TopicCollector(kafka.brokers, output);
  await alerts.start();
  const first = await startPicket(env);
  let second: Awaited<ReturnType<typeof startPicket>> | undefined;
  try {
    await first.waitReady();
    // The first halves. Nothing comes after them, so their partition goes idle and the idle timer
    // releases them from the reorder buffer into the detections' state.
    const firstHalves = [mapperFlow(t0), servicesConnection(t0 + 100, HOST)];
    await produce(
      kafka.brokers,
      input,
      firstHalves.map((e) => ({ value: JSON.stringify(e) })),
    );
    // Wait until that is committed. The router stage (group `groupId`, input topic) holds nothing:
    // its commit moves past both. The detector stage holds the mapper flow in D2's state: its
    // commit on D2's repartition topic (group `<groupId>-detector`) stays at the routed mapper flow,
    // offset 0, with metadata saying it was processed.
    const repartition = `${groupId}-rpc_pairing-repartition`;
    const deadline = Date.now() + 30000;
    let meta = parseCommitMetadata(null);
    let offset = '-1';
    let inputOffset = '-1';
    while (Date.now() < deadline) {
      const c = await committedPosition(kafka.brokers, `${groupId}-detector`, repartition);
      meta = parseCommitMetadata(c?.metadata);
      offset = c?.offset ?? '-1';
      inputOffset = (await committedPosition(kafka.brokers, groupId, input))?.offset ?? '-1';
      if (meta !== undefined && meta.publishedThrough >= 0 && inputOffset === '2') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(inputOffset, '2', 'the router stage committed past both first halves');
    assert.ok((meta?.publishedThrough ?? -1) >= 0, 'the routed mapper flow was processed and committed');
    assert.equal(offset, '0', "the detector's commit stays at the mapper flow, which state still holds");
    await new Promise((r) => setTimeout(r, 2500)); // idle: released into the detections' state
    first.child.kill('SIGKILL');
    await first.exited;
    assert.equal(alerts.records.length, 0, 'no alert before the second halves');

    // The second halves: the endpoint flow 500 ms after the mapper, the child 300 ms after the connection.
    const secondHalves = [endpointFlow(t0 + 500), serviceChild(t0 + 400, HOST), filler(t0 + 9000, 1)];
    await produce(
      kafka.brokers,
      input,
      secondHalves.map((e) => ({ value: JSON.stringify(e) })),
    );
    second = await startPicket(env);
    await second.waitReady();
    await alerts
      .waitFor((r) => r.length >= 2, 60000, 'the D2 and D3 alerts')
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${second!.output().slice(-8000)}`);
      });
    await new Promise((r) => setTimeout(r, 3000)); // a duplicate would show up now
    const docs = alerts.records.map((r) => JSON.parse(r.value));
    assert.deepEqual(docs.map((d) => d.rule.id).sort(), [D2, D3].sort(), 'one D2 and one D3 alert, exactly');
    const d2 = docs.find((d) => d.rule.id === D2);
    assert.deepEqual(
      d2.picket.events.map((e: { event: { id: string } }) => e.event.id),
      ['m1', 'e1'],
    );
    const d3 = docs.find((d) => d.rule.id === D3);
    assert.deepEqual(
      d3.picket.events.map((e: { event: { id: string } }) => e.event.id),
      ['s1', 'c1'],
    );
    assert.equal(d3.host.id, HOST.id);
  } finally {
    first.child.kill('SIGKILL');
    second?.child.kill('SIGKILL');
    await alerts.stop();
  }
});
