/**
 * `picket run` against a real Kafka broker: events in, alerts out, garbage to the dead-letter
 * topic, offsets committed; and nothing lost across a SIGKILL.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent } from '../../src/ecs/event.js';
import { createDetections } from '../../src/detectors/registry.js';
import { Engine } from '../../src/engine.js';
import { generateTraffic } from '../../src/demo/sampleTraffic.js';
import { DEAD_LETTER_HEADERS } from '../../src/consumers/deadLetter.js';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';
import { committedOffsets, produce, startPicket, TopicCollector } from '../support/picketProcess.js';
import { KAFKA_CLIENTS, skipUnlessLoadable } from '../support/clients.js';
import type { KafkaClientKind } from '../../src/config.js';

let kafka: TestKafka;

before(async () => {
  kafka = await startTestKafka();
});

after(async () => {
  await kafka?.stop();
});

/** The alert ids picket must publish: the engine on each message, as replay would compute them. */
function expectedAlertIds(values: string[]): Set<string> {
  const engine = new Engine(createDetections(['rpc_to_internet']));
  const ids = new Set<string>();
  values.forEach((v, i) => {
    const r = decodeEvent(v, { kind: 'file', file: 'x', line: i + 1 }, i + 1);
    if (r.ok) for (const a of engine.process(r.event)) ids.add(a.id);
  });
  return ids;
}

function topicsFor(prefix: string) {
  return {
    input: uniqueName(`${prefix}-in`),
    output: uniqueName(`${prefix}-alerts`),
    dlq: uniqueName(`${prefix}-dlq`),
  };
}

function picketEnv(
  t: ReturnType<typeof topicsFor>,
  groupId: string,
  client: KafkaClientKind = 'kafkajs',
): Record<string, string> {
  return {
    KAFKA_BROKERS: kafka.brokers.join(','),
    PICKET_KAFKA_CLIENT: client,
    PICKET_INPUT_TOPICS: t.input,
    PICKET_OUTPUT_TOPIC: t.output,
    PICKET_DEAD_LETTER_TOPIC: t.dlq,
    PICKET_GROUP_ID: groupId,
    PICKET_FROM_BEGINNING: 'true',
    PICKET_DETECTIONS: 'rpc_to_internet',
    PICKET_LOG_LEVEL: 'info',
    // A killed member holds its partitions until its session times out; keep that short here.
    PICKET_SESSION_TIMEOUT_MS: '6000',
  };
}

for (const client of KAFKA_CLIENTS)
  test(
    `${client}: valid events, attacks and garbage: exactly the expected alerts, dead letters with reasons, offsets committed`,
    { skip: await skipUnlessLoadable(client) },
    async () => {
      const t = topicsFor(`run-${client}`);
      const groupId = uniqueName('picket-run');
      await createTopics(kafka.brokers, [
        { topic: t.input, numPartitions: 3 },
        { topic: t.output, numPartitions: 1 },
        { topic: t.dlq, numPartitions: 1 },
      ]);
      const events = generateTraffic(Date.UTC(2024, 0, 1), 60_000, 600, { seed: 7, attackEvery: 40 }).map((e) =>
        JSON.stringify(e),
      );
      const expected = expectedAlertIds(events);
      assert.ok(expected.size >= 5, `the sample must hold attacks (has ${expected.size})`);
      const garbage: { value: string | Buffer; reason: string }[] = [
        { value: 'this is not json', reason: 'invalid_json' },
        { value: '[{"@timestamp":"2024-01-01T00:00:00Z"}]', reason: 'not_an_object' },
        { value: '{"event":{"category":"network"}}', reason: 'missing_timestamp' },
        { value: '{"@timestamp":"the day after tomorrow"}', reason: 'invalid_timestamp' },
        { value: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), reason: 'invalid_utf8' },
        { value: '{"@timestamp":"2024-01-01T00:00:00Z", "truncated', reason: 'invalid_json' },
      ];
      const picket = await startPicket(picketEnv(t, groupId, client));
      const alerts = new TopicCollector(kafka.brokers, t.output);
      const dlq = new TopicCollector(kafka.brokers, t.dlq);
      try {
        await picket.waitReady();
        await alerts.start();
        await dlq.start();
        const messages = [
          ...events.map((value, i) => ({ value, key: `host-${i % 12}` })),
          ...garbage.map((g) => ({ value: g.value, key: null })),
        ];
        await produce(kafka.brokers, t.input, messages);

        await alerts.waitFor((r) => r.length >= expected.size, 60000, `${expected.size} alerts`);
        await dlq.waitFor((r) => r.length >= garbage.length, 60000, `${garbage.length} dead letters`);
        await new Promise((r) => setTimeout(r, 1000)); // anything extra would show up now

        const got = alerts.records.map((r) => JSON.parse(r.value));
        assert.deepEqual(new Set(got.map((a) => a.event.id)), expected, 'the alert set');
        assert.equal(got.length, expected.size, 'no duplicates');
        for (const [i, a] of got.entries()) {
          assert.equal(a.event.kind, 'alert');
          assert.equal(a.rule.id, '32923416-763a-4531-bb35-f33b9232ecdb');
          assert.equal(a.picket.events[0].topic, t.input);
          assert.equal(typeof a.picket.events[0].offset, 'number');
          assert.equal(alerts.records[i]!.key, a.host.id, 'alerts are keyed by host.id');
          assert.ok(Date.parse(a.event.created) >= Date.parse(a['@timestamp']));
        }

        const reasons = dlq.records.map((r) => r.headers[DEAD_LETTER_HEADERS.reason]).sort();
        assert.deepEqual(reasons, garbage.map((g) => g.reason).sort());
        for (const r of dlq.records) {
          assert.equal(r.headers[DEAD_LETTER_HEADERS.topic], t.input);
          assert.match(r.headers[DEAD_LETTER_HEADERS.offset]!, /^\d+$/);
          assert.ok(r.headers[DEAD_LETTER_HEADERS.detail]!.length > 0);
        }
        const notJson = dlq.records.find((r) => r.value === 'this is not json');
        assert.ok(notJson, 'the dead letter keeps the bytes unchanged');

        // Offsets: every partition committed up to its end.
        const total = messages.length;
        const deadline = Date.now() + 30000;
        let committed = 0;
        while (Date.now() < deadline) {
          const offsets = await committedOffsets(kafka.brokers, groupId, t.input);
          committed = [...offsets.values()].reduce((n, o) => n + Math.max(0, Number(o)), 0);
          if (committed === total) break;
          await new Promise((r) => setTimeout(r, 300));
        }
        assert.equal(committed, total, 'committed offsets cover every record');

        const metrics = await picket.metrics();
        assert.match(metrics, new RegExp(`picket_events_read_total\\{topic="${t.input}"\\} ${total}`));
        assert.match(metrics, /picket_events_unreadable_total\{topic="[^"]+",reason="invalid_json"\} 2/);
        assert.match(
          metrics,
          new RegExp(`picket_alerts_total\\{rule_id="32923416-763a-4531-bb35-f33b9232ecdb",[^}]*\\} ${expected.size}`),
        );

        picket.child.kill('SIGTERM');
        assert.equal(await picket.exited, 0, `clean exit on SIGTERM:\n${picket.output().slice(-2000)}`);
      } finally {
        picket.child.kill('SIGKILL');
        await alerts.stop();
        await dlq.stop();
      }
    },
  );

for (const client of KAFKA_CLIENTS)
  test(
    `${client}: SIGKILL mid-stream, restart: no alert is missing`,
    { skip: await skipUnlessLoadable(client) },
    async () => {
      const t = topicsFor(`kill-${client}`);
      const groupId = uniqueName('picket-kill');
      await createTopics(kafka.brokers, [
        { topic: t.input, numPartitions: 3 },
        { topic: t.output, numPartitions: 1 },
        { topic: t.dlq, numPartitions: 1 },
      ]);
      const events = generateTraffic(Date.UTC(2024, 0, 2), 600_000, 20000, { seed: 11, attackEvery: 150 }).map((e) =>
        JSON.stringify(e),
      );
      const expected = expectedAlertIds(events);
      assert.ok(expected.size >= 50, `the sample must hold many attacks (has ${expected.size})`);
      const alerts = new TopicCollector(kafka.brokers, t.output);
      await alerts.start();
      const env = picketEnv(t, groupId, client);
      const first = await startPicket(env);
      let second: Awaited<ReturnType<typeof startPicket>> | undefined;
      try {
        await first.waitReady();
        const half = events.length / 2;
        await produce(
          kafka.brokers,
          t.input,
          events.slice(0, half).map((value, i) => ({ value, key: `k${i % 7}` })),
        );
        await alerts.waitFor((r) => r.length >= 10, 60000, 'the first alerts');
        first.child.kill('SIGKILL');
        await first.exited;
        const beforeKill = alerts.records.length;
        assert.ok(beforeKill < expected.size, 'killed mid-stream');
        await produce(
          kafka.brokers,
          t.input,
          events.slice(half).map((value, i) => ({ value, key: `k${i % 7}` })),
        );

        second = await startPicket(env);
        await second.waitReady();
        await alerts.waitFor(
          (r) => new Set(r.map((x) => JSON.parse(x.value).event.id)).size >= expected.size,
          90000,
          'every expected alert after the restart',
        );
        const got = new Set(alerts.records.map((r) => JSON.parse(r.value).event.id));
        const missing = [...expected].filter((id) => !got.has(id));
        assert.deepEqual(missing, [], 'no alert is missing');
        assert.equal([...got].filter((id) => !expected.has(id)).length, 0, 'no unexpected alert');
      } finally {
        first.child.kill('SIGKILL');
        second?.child.kill('SIGKILL');
        await alerts.stop();
      }
    },
  );
