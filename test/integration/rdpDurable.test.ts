/**
 * D4's learned state across restarts, on a real broker: ten days of RDP traffic to one server (1-hour
 * buckets, test/support/rdpTraffic.ts) go through three picket processes in turn (stopped with SIGTERM, then SIGKILL), and the
 * alerts on the output topic are exactly those of one uninterrupted engine over the same events:
 * the model goes on from what it learned (a cold start over the last days alerts differently), and
 * the spike alerted before the first stop is not alerted again.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createDetections } from '../../src/detectors/registry.js';
import { decodeEvent } from '../../src/ecs/event.js';
import { Engine } from '../../src/engine.js';
import { defaultChangelogTopic } from '../../src/state/changelog.js';
import type { Alert } from '../../src/alerts/alert.js';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';
import {
  waitPublishedThrough,
  produce,
  startPicket,
  TopicCollector,
  type PicketProcess,
} from '../support/picketProcess.js';
import { between, RDP_DAY, RDP_DESTINATION, RDP_HOUR, RDP_SPIKES, RDP_T0, rdpTraffic } from '../support/rdpTraffic.js';

const HOUR = RDP_HOUR;
const DAY = RDP_DAY;
const D4 = '18a5dd9a-e3fa-4996-99b1-ae533b8f27fc';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

/** D4 alone, 1-hour buckets, through the stream path as `run` uses it: the uninterrupted answer. */
function engineAlerts(events: readonly { json: string }[]): Alert[] {
  const detections = createDetections(['rdp_spike'], {
    limits: { maxKeys: 100_000, maxEntriesPerKey: 64 },
    settings: {
      mapperRetentionMs: 600_000,
      clockSkewToleranceMs: 0,
      rdpSpike: { bucketSpanMs: HOUR, scoreThreshold: 70, sketchThreshold: 256, maxNewSources: 10 },
    },
    onEviction: () => undefined,
  });
  const engine = new Engine(detections, { latenessMs: 2000 });
  const out: Alert[] = [];
  events.forEach((e, i) => {
    const res = decodeEvent(e.json, { kind: 'file', file: 'rdp.ndjson', line: i + 1 }, i);
    assert.ok(res.ok);
    out.push(...engine.push(res.event));
  });
  out.push(...engine.flush());
  return out;
}

test('RDP spike models survive a SIGTERM and a SIGKILL: alerts equal an uninterrupted run, none twice', async () => {
  const events = rdpTraffic();
  const expected = engineAlerts(events);
  const [spike1, spike2] = RDP_SPIKES;
  assert.equal(expected.length, 2, 'the uninterrupted run alerts on both fan-ins');
  assert.ok(expected[0]!.time >= spike1 && expected[0]!.time < spike1 + HOUR);
  assert.ok(expected[1]!.time >= spike2 && expected[1]!.time < spike2 + HOUR);

  const phases = [
    between(events, RDP_T0, RDP_T0 + 6 * DAY),
    between(events, RDP_T0 + 6 * DAY, RDP_T0 + 8 * DAY),
    between(events, RDP_T0 + 8 * DAY, RDP_T0 + 10 * DAY),
  ];
  // The control: starting cold on the last phase gives a different answer, so equality below shows
  // that the model was carried over, not re-learned.
  const cold = engineAlerts(phases[2]!);
  assert.notDeepEqual(
    cold.map((a) => a.id),
    [expected[1]!.id],
    'a detector without the first eight days answers differently on the last two',
  );

  const input = uniqueName('rdp-in');
  const output = uniqueName('rdp-alerts');
  const groupId = uniqueName('picket-rdp');
  await createTopics(kafka.brokers, [
    { topic: input, numPartitions: 1 },
    { topic: output, numPartitions: 1 },
  ]);
  const env = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    PICKET_INPUT_TOPICS: input,
    PICKET_OUTPUT_TOPIC: output,
    PICKET_DEAD_LETTER_TOPIC: uniqueName('rdp-dlq'),
    PICKET_GROUP_ID: groupId,
    PICKET_FROM_BEGINNING: 'true',
    PICKET_DETECTIONS: 'rdp_spike',
    PICKET_RDP_BUCKET_SPAN_MS: String(HOUR),
    PICKET_LATENESS_MS: '2000',
    PICKET_SESSION_TIMEOUT_MS: '6000',
    PICKET_IDLE_TIMEOUT_MS: '1000',
  };
  const alerts = new TopicCollector(kafka.brokers, output);
  await alerts.start();
  const processes: PicketProcess[] = [];
  let lastMetrics = '';
  try {
    let produced = 0;
    for (const [i, phase] of phases.entries()) {
      const picket = await startPicket(env);
      processes.push(picket);
      await picket.waitReady();
      await produce(
        kafka.brokers,
        input,
        phase.map((e) => ({ value: e.json })),
      );
      produced += phase.length;
      await waitPublishedThrough(kafka.brokers, groupId, input, produced - 1);
      if (i === 0) {
        await alerts.waitFor((r) => r.length >= 1, 30_000, 'the first spike alert');
        picket.child.kill('SIGTERM');
        assert.equal(await picket.exited, 0, 'SIGTERM drains and exits 0');
      } else if (i === 1) {
        picket.child.kill('SIGKILL');
        await picket.exited;
      } else {
        await alerts.waitFor((r) => r.length >= 2, 30_000, 'the second spike alert');
        await new Promise((r) => setTimeout(r, 2500)); // a duplicate would show up now
        lastMetrics = await picket.metrics();
      }
    }

    const docs = alerts.records.map((r) => JSON.parse(r.value) as Record<string, any>);
    assert.deepEqual(
      docs.map((d) => d.event.id),
      expected.map((a) => a.id),
      'the same alerts as one uninterrupted engine, each once',
    );
    for (const [i, d] of docs.entries()) {
      assert.equal(d.rule.id, D4);
      const want = expected[i]!.doc.picket as Record<string, any>;
      assert.deepEqual(d.picket.rdp_spike, want.rdp_spike, 'same score, count, typical count and history');
    }
    assert.ok(docs[1]!.picket.rdp_spike.history_buckets > 150, 'the second alert stands on all the history');
    assert.ok(
      /picket_state_restored_keys_total\{detection="rdp_spike"\} [1-9]/.test(lastMetrics),
      'the last process counted the keys it restored',
    );

    // The changelog holds the destination's model under the key of the partition D4 ran on: its
    // repartition topic's (the router stage re-keys RDP connections by destination).
    const changelog = defaultChangelogTopic(groupId, 'rdp_spike');
    const keys = new TopicCollector(kafka.brokers, changelog);
    await keys.start();
    try {
      await keys.waitFor(
        (r) => r.some((x) => x.key === `${groupId}-rdp_spike-repartition/0/${RDP_DESTINATION}`),
        20_000,
        'the model record',
      );
    } finally {
      await keys.stop();
    }
  } finally {
    for (const p of processes) p.child.kill('SIGKILL');
    await alerts.stop();
  }
});
