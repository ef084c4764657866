/**
 * The published-position check (src/consumers/publishedAlerts.ts), on a real broker: an alert
 * published after the last commit that covers it — what a SIGKILL between the publication and the
 * commit leaves — is derived again when the records are read again, and must not be published
 * twice. The window is reproduced exactly: after a clean stop, the router group's offset is reset to
 * the beginning without commit metadata, so the restarted process re-reads the record, re-derives
 * its alert, and only the ids read back from the output topic can recognise it. Control: with the
 * window off, the same restart publishes the alert a second time.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';
import { rpcToInternet } from '../support/scenario.js';
import { produce, startPicket, TopicCollector, waitPublishedThrough } from '../support/picketProcess.js';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

function rpcOut(id: string, t: number): string {
  return JSON.stringify(rpcToInternet(id, t, '10.1.1.1', 'ws-1'));
}

async function rerun(windowMs: string): Promise<{ alerts: string[]; deduplicated: number }> {
  const input = uniqueName('window-in');
  const output = uniqueName('window-alerts');
  const groupId = uniqueName('picket-window');
  await createTopics(kafka.brokers, [
    { topic: input, numPartitions: 1 },
    { topic: output, numPartitions: 2 },
  ]);
  const env = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    PICKET_INPUT_TOPICS: input,
    PICKET_OUTPUT_TOPIC: output,
    PICKET_DEAD_LETTER_TOPIC: uniqueName('window-dlq'),
    PICKET_GROUP_ID: groupId,
    PICKET_FROM_BEGINNING: 'true',
    PICKET_SESSION_TIMEOUT_MS: '6000',
    PICKET_ALERTS_DEDUPE_WINDOW_MS: windowMs,
  };
  const alerts = new TopicCollector(kafka.brokers, output);
  await alerts.start();
  try {
    const first = await startPicket(env);
    await first.waitReady();
    await produce(kafka.brokers, input, [{ value: rpcOut('r1', Date.now() - 60_000) }]);
    await alerts.waitFor((r) => r.length >= 1, 30_000, 'the alert');
    await waitPublishedThrough(kafka.brokers, groupId, input, 0, 20_000);
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);

    // What a crash right after publishing leaves: a position before the record, no metadata.
    const admin = new Kafka({ brokers: kafka.brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    await admin.setOffsets({ groupId, topic: input, partitions: [{ partition: 0, offset: '0' }] });
    await admin.disconnect();

    const second = await startPicket(env);
    await second.waitReady();
    await waitPublishedThrough(kafka.brokers, groupId, input, 0, 20_000);
    await new Promise((r) => setTimeout(r, 2000)); // a second alert would be here by now
    const line = (await second.metrics()).split('\n').find((l) => l.startsWith('picket_alerts_deduplicated_total{'));
    second.child.kill('SIGTERM');
    await second.exited;
    return {
      alerts: alerts.records.map((r) => r.headers['picket.alert.id'] ?? ''),
      deduplicated: Number(line?.split(' ').pop() ?? 0),
    };
  } finally {
    await alerts.stop();
  }
}

test('an alert published after the last commit is not published again when its record is re-read', async () => {
  const on = await rerun('600000');
  assert.equal(on.alerts.length, 1, `one alert, not two: ${JSON.stringify(on.alerts)}`);
  assert.match(on.alerts[0]!, /^[0-9a-f]{32}$/, 'the alert record carries its id in the picket.alert.id header');
  assert.equal(on.deduplicated, 1, 'the re-derived alert was counted as deduplicated');

  const off = await rerun('0');
  assert.equal(off.alerts.length, 2, 'control: without the window the same restart publishes it twice');
  assert.equal(off.alerts[0], off.alerts[1], 'with the same id');
});
