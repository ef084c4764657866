/**
 * Alert delay through a real broker at the default lateness: sample traffic is produced at a
 * steady rate with attacks mixed in, `picket run`'s pipeline runs in this process with the default
 * ordering settings, and each alert's delay is measured from producing its trigger event to reading
 * the alert from the output topic. Prints figures per rule; asserts nothing.
 *
 *   npm run build && node dist/bench/alertDelay.js [seconds] [events/s]
 *
 * Uses KAFKA_BROKERS when set, else starts a local broker (src/localkafka).
 */
import { loadConfig } from '../src/config.js';
import { createKafkajsClient } from '../src/consumers/kafkajs.js';
import { startPipeline } from '../src/consumers/pipeline.js';
import { generateTraffic } from '../src/demo/sampleTraffic.js';
import { startLocalKafka } from '../src/localkafka/localBroker.js';
import { createLogger } from '../src/observability/logger.js';
import { PicketMetrics } from '../src/observability/metrics.js';

const seconds = Number(process.argv[2] ?? 60);
const rate = Number(process.argv[3] ?? 2000);

const local = process.env.KAFKA_BROKERS === undefined ? await startLocalKafka() : undefined;
const brokers = process.env.KAFKA_BROKERS ?? local!.brokers;
const suffix = Date.now().toString(36);
const config = loadConfig({
  overrides: {
    'kafka.brokers': brokers.split(','),
    'kafka.groupId': `bench-delay-${suffix}`,
    'topics.input': [`bench-delay-in-${suffix}`],
    'topics.output': `bench-delay-alerts-${suffix}`,
    'topics.deadLetter': `bench-delay-dlq-${suffix}`,
    'consumer.fromBeginning': true,
    'log.level': 'error',
  },
});
const logger = createLogger('error');
const client = createKafkajsClient({
  brokers: config.kafka.brokers,
  clientId: 'bench',
  connectionTimeoutMs: 10000,
  logger,
});
const admin = client.admin();
await admin.ensureTopics([{ topic: config.topics.input[0]!, numPartitions: 3 }, { topic: config.topics.output }]);
const pipeline = await startPipeline({ config, client, logger, metrics: new PicketMetrics({ defaultMetrics: false }) });

const producedAt = new Map<string, number>();
const delays = new Map<string, number[]>();
const reader = client.consumer({
  groupId: `bench-delay-reader-${suffix}`,
  sessionTimeoutMs: 30000,
  maxBytesPerPartition: 1 << 20,
});
await reader.connect();
await reader.subscribe([config.topics.output], true);
await reader.run(async (batch, control) => {
  const now = Date.now();
  for (const r of batch.records) {
    const alert = JSON.parse(r.value!.toString()) as {
      rule: { name: string };
      picket: { events: { event?: { id: string } }[] };
    };
    const trigger = alert.picket.events[alert.picket.events.length - 1]?.event?.id;
    const at = trigger === undefined ? undefined : producedAt.get(trigger);
    if (at !== undefined) {
      const list = delays.get(alert.rule.name) ?? [];
      list.push(now - at);
      delays.set(alert.rule.name, list);
    }
    control.markProcessed(r.offset);
  }
});

const producer = client.producer({ acks: -1, compression: 'none' });
await producer.connect();
const tickMs = 100;
const end = Date.now() + seconds * 1000;
let sent = 0;
for (let seed = 1; Date.now() < end; seed++) {
  const t = Date.now();
  const events = generateTraffic(t - tickMs, tickMs, Math.round((rate * tickMs) / 1000), { seed, attackEvery: 300 });
  await producer.send(
    events.map((e) => {
      const id = (e.event as { id?: string }).id;
      if (id !== undefined) producedAt.set(id, Date.now());
      return { topic: config.topics.input[0]!, key: (e.host as { id: string }).id, value: JSON.stringify(e) };
    }),
  );
  sent += events.length;
  const wait = tickMs - (Date.now() - t);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
// The traffic stops: idle partitions release what they hold after ordering.idleTimeoutMs.
await new Promise((r) => setTimeout(r, config.ordering.latenessMs + config.ordering.idleTimeoutMs + 3000));

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
console.log(
  `${sent} events at ${rate}/s for ${seconds} s; lateness ${config.ordering.latenessMs} ms, idle timeout ${config.ordering.idleTimeoutMs} ms`,
);
console.log('| rule | alerts | p50 ms | p99 ms | max ms |');
console.log('|---|---:|---:|---:|---:|');
for (const [rule, xs] of delays)
  console.log(`| ${rule} | ${xs.length} | ${q(xs, 0.5)} | ${q(xs, 0.99)} | ${Math.max(...xs)} |`);
await reader.disconnect();
await producer.disconnect();
await pipeline.stop();
await admin.close();
await local?.stop();
