/**
 * Learned-state restore through a real broker: N destinations' D4 state (real model values, taken
 * from a detector that learned ten days of traffic) are written to a compacted changelog partition,
 * then read back as `run` does on assignment (the client's readToEnd and the changelog collector)
 * and restored into a fresh detector. Prints write and restore figures; asserts nothing.
 *
 *   npm run build && node dist/bench/changelogRestore.js [destinations=20000]
 *
 * Uses KAFKA_BROKERS when set, else starts a local broker (src/localkafka).
 */
import { createKafkajsClient } from '../src/consumers/kafkajs.js';
import { RdpSpikeDetector, POPULATION_KEY } from '../src/detectors/rdpSpike.js';
import { createDetections } from '../src/detectors/registry.js';
import { decodeEvent } from '../src/ecs/event.js';
import { Engine } from '../src/engine.js';
import { startLocalKafka } from '../src/localkafka/localBroker.js';
import { createLogger } from '../src/observability/logger.js';
import { ChangelogCollector, CHANGELOG_TOPIC_CONFIG, changelogKey } from '../src/state/changelog.js';
import { rdpTraffic } from '../test/support/rdpTraffic.js';

const destinations = Number(process.argv[2] ?? 20000);

// One learned destination's state, copied under many destination keys.
const learner = createDetections(['rdp_spike'])[0] as RdpSpikeDetector;
const engine = new Engine([learner]);
rdpTraffic().forEach((e, i) => {
  const r = decodeEvent(e.json, { kind: 'file', file: 'bench', line: i }, i);
  if (r.ok) engine.process(r.event);
});
const snapshot = learner.snapshot();
const population = snapshot.get(POPULATION_KEY)!;
const model = [...snapshot].find(([k]) => k !== POPULATION_KEY)![1];

const local = process.env.KAFKA_BROKERS === undefined ? await startLocalKafka() : undefined;
const brokers = (process.env.KAFKA_BROKERS ?? local!.brokers).split(',');
const client = createKafkajsClient({
  brokers,
  clientId: 'bench-restore',
  connectionTimeoutMs: 10000,
  logger: createLogger('error'),
});
const topic = `bench-changelog-${Date.now().toString(36)}`;
const admin = client.admin();
await admin.ensureTopics([{ topic, numPartitions: 1, config: CHANGELOG_TOPIC_CONFIG }]);
const producer = client.producer({ acks: -1, compression: 'none' });
await producer.connect();

const t0 = performance.now();
const batch = 500;
let bytes = 0;
for (let i = 0; i < destinations; i += batch) {
  const records = [];
  for (let j = i; j < Math.min(destinations, i + batch); j++) {
    const key = changelogKey('ecs-events', 0, `10.${(j >> 16) & 255}.${(j >> 8) & 255}.${j & 255}`);
    records.push({ topic, partition: 0, key, value: model });
    bytes += key.length + model.length;
  }
  await producer.send(records);
}
await producer.send([{ topic, partition: 0, key: changelogKey('ecs-events', 0, POPULATION_KEY), value: population }]);
const writeMs = performance.now() - t0;

const t1 = performance.now();
const collector = new ChangelogCollector('ecs-events', 0);
await client.readToEnd(topic, [0], (r) => collector.add(r.key, r.value), { timeoutMs: 30000, groupIdPrefix: 'bench' });
const readMs = performance.now() - t1;
const fresh = createDetections(['rdp_spike'], {
  limits: { maxKeys: destinations + 10, maxEntriesPerKey: 64 },
  settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
})[0] as RdpSpikeDetector;
const t2 = performance.now();
fresh.restore(collector.entries());
const restoreMs = performance.now() - t2;

const mb = bytes / 1e6;
console.log(`changelog restore, ${destinations} destinations (${model.length} B of state each, ${mb.toFixed(1)} MB)`);
console.log(
  `  write:   ${writeMs.toFixed(0)} ms (${((destinations / writeMs) * 1000).toFixed(0)} records/s, acks=-1, batches of ${batch})`,
);
console.log(`  read:    ${readMs.toFixed(0)} ms (readToEnd incl. joining its own group; ${collector.records} records)`);
console.log(
  `  restore: ${restoreMs.toFixed(0)} ms (parse into the detector; ${fresh.stateSize()} state entries: models and open buckets)`,
);
console.log(`  heap after: ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`);

await producer.disconnect();
await admin.close();
await local?.stop();
