/**
 * `picket demo`: picket's main job on an embedded default. Starts a local Apache Kafka broker (or
 * uses --brokers), creates the topics, runs the pipeline, streams sample traffic with attacks mixed
 * in, and prints each alert as a readable line as it arrives, until Ctrl-C (or --duration).
 */
import { parseArgs } from 'node:util';
import { loadConfig, secretValues } from '../config.js';
import { createKafkaClient } from '../consumers/clientFactory.js';
import { kafkaSecurityOptions, librdkafkaSecurity } from '../consumers/kafkaSecurity.js';
import { startPipeline } from '../consumers/pipeline.js';
import { formatAlertLine } from '../demo/alertLine.js';
import { generateTraffic } from '../demo/sampleTraffic.js';
import { startLocalKafka } from '../localkafka/localBroker.js';
import { createLogger } from '../observability/logger.js';
import { PicketMetrics } from '../observability/metrics.js';
import { startHttp } from '../observability/http.js';

const say = (line: string): void => {
  process.stdout.write(line + '\n');
};

export async function demoCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      duration: { type: 'string' },
      rate: { type: 'string', default: '500' },
      brokers: { type: 'string' },
      'http-port': { type: 'string', default: '0' },
    },
    strict: true,
  });
  const duration = values.duration === undefined ? undefined : Number(values.duration);
  const rate = Number(values.rate);
  if (duration !== undefined && !(duration > 0)) throw new Error('--duration must be a positive number of seconds');
  if (!(rate > 0 && rate <= 100000)) throw new Error('--rate must be between 1 and 100000 events/s');

  const stopRequested = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
    if (duration !== undefined) setTimeout(resolve, duration * 1000).unref();
  });

  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  };

  try {
    let brokers = values.brokers;
    if (brokers === undefined) {
      say('picket demo: starting a local Apache Kafka broker (the first run downloads it from Maven Central)…');
      const kafka = await startLocalKafka({ log: (m) => say(`  ${m}`) });
      cleanups.push(() => kafka.stop());
      brokers = kafka.brokers;
    }
    say(`picket demo: Kafka at ${brokers}`);
    const config = loadConfig({
      overrides: {
        'kafka.brokers': brokers.split(','),
        'kafka.groupId': `picket-demo-${process.pid}`,
        'topics.input': ['demo-ecs-events'],
        'topics.output': 'demo-picket-alerts',
        'topics.deadLetter': 'demo-picket-dead-letter',
        'consumer.fromBeginning': true,
        // The sample traffic arrives within a second of its event time: a short lateness shows the
        // correlating detections' alerts quickly.
        'ordering.latenessMs': 2000,
        'ordering.idleTimeoutMs': 1000,
        'log.level': 'error',
        'http.port': Number(values['http-port']),
      },
    });
    const logger = createLogger(config.log.level, 'picket', { secrets: secretValues(config) });
    const metrics = new PicketMetrics();
    // With --brokers, the demo talks to a secured cluster as `run` does (kafka.ssl.*, kafka.sasl.*).
    const client = await createKafkaClient(config, logger, {
      clientId: 'picket-demo',
      kafkajs: kafkaSecurityOptions(config),
      librdkafka: librdkafkaSecurity(config),
    });
    const admin = client.admin();
    await admin.ensureTopics([
      { topic: 'demo-ecs-events', numPartitions: 3 },
      { topic: config.topics.output },
      { topic: config.topics.deadLetter },
    ]);
    await admin.close();

    const pipeline = await startPipeline({ config, client, logger, metrics });
    cleanups.push(() => pipeline.stop());
    const http = await startHttp(config.http.host, config.http.port, metrics, () => pipeline.readiness());
    cleanups.push(() => http.close());
    say(`picket demo: picket is running (metrics on http://127.0.0.1:${http.port}/metrics)`);

    // The alert printer: an ordinary consumer of the alert topic.
    let alertsSeen = 0;
    const printer = client.consumer({
      groupId: `picket-demo-printer-${process.pid}`,
      sessionTimeoutMs: 30000,
      maxBytesPerPartition: 1 << 20,
    });
    await printer.connect();
    await printer.subscribe([config.topics.output], true);
    await printer.run(async (batch, control) => {
      for (const r of batch.records) {
        alertsSeen++;
        say(`  ALERT ${formatAlertLine(JSON.parse(r.value?.toString('utf8') ?? '{}'))}`);
        control.markProcessed(r.offset);
      }
    });
    cleanups.push(() => printer.disconnect());

    const producer = client.producer({ acks: -1, compression: 'none' });
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    say(
      `picket demo: streaming sample traffic at ${rate} events/s with attacks mixed in` +
        `${duration === undefined ? '; Ctrl-C to stop' : ` for ${duration} s`}`,
    );

    let sent = 0;
    let seed = 1;
    let stopping = false;
    void stopRequested.then(() => (stopping = true));
    const tickMs = 200;
    while (!stopping) {
      const started = Date.now();
      const count = Math.max(1, Math.round((rate * tickMs) / 1000));
      const events = generateTraffic(started - tickMs, tickMs, count, { seed: seed++ });
      await producer.send(
        events.map((e) => ({
          topic: 'demo-ecs-events',
          key: String((e.host as { id: string }).id),
          value: JSON.stringify(e),
        })),
      );
      // A few unreadable records too: they go to the dead-letter topic, and the stream goes on.
      if (seed % 50 === 0) {
        await producer.send([{ topic: 'demo-ecs-events', key: null, value: '{"@timestamp": "not json' }]);
      }
      sent += events.length;
      const wait = tickMs - (Date.now() - started);
      if (wait > 0) await Promise.race([new Promise((r) => setTimeout(r, wait)), stopRequested]);
    }
    say('picket demo: stopping…');
    await new Promise((r) => setTimeout(r, 3500)); // the lateness and idle timeout, then the last alerts
    say(`picket demo: ${sent} events sent, ${alertsSeen} alerts printed`);
    await cleanup();
    return 0;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
