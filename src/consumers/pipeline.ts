/**
 * `picket run`: the consumer loop around the engine.
 *
 * Per partition batch: decode and detect each record (PartitionProcessor), publish the alerts and
 * dead letters, wait until the broker acknowledges them, and only then commit the offsets they came
 * from. A crash at any point therefore re-reads records whose outputs may not have been published:
 * nothing is lost (and a re-published alert carries the same deterministic event.id).
 */
import { alertToJson, type Alert } from '../alerts/alert.js';
import type { PicketConfig } from '../config.js';
import { createDetections } from '../detectors/registry.js';
import type { Logger } from '../observability/logger.js';
import type { PicketMetrics } from '../observability/metrics.js';
import type { Readiness } from '../observability/http.js';
import type { BatchControl, InputBatch, KafkaClient, OutputRecord, StreamConsumer, RecordProducer } from './client.js';
import { PartitionProcessor } from './partitionProcessor.js';

export interface Pipeline {
  readiness(): Readiness;
  /** Resolves when the consumer stopped for good (stop() or a crash it does not restart from). */
  readonly stopped: Promise<void>;
  /** Stop fetching, finish the batch in progress, publish and commit it, leave the group. */
  stop(): Promise<void>;
}

export interface PipelineDeps {
  config: PicketConfig;
  client: KafkaClient;
  logger: Logger;
  metrics: PicketMetrics;
  /** Wall clock, for event.created and the alert lag metric (injected for tests). */
  now?: () => number;
}

export async function startPipeline(deps: PipelineDeps): Promise<Pipeline> {
  const { config, client, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const state = { joined: false, rebalancing: false, producerConnected: false, stopping: false };
  const processors = new Map<string, PartitionProcessor>();
  let assignment: Readonly<Record<string, readonly number[]>> = {};

  const admin = client.admin();
  try {
    const created = await admin.ensureTopics([{ topic: config.topics.output }, { topic: config.topics.deadLetter }]);
    if (created.length > 0) logger.info({ topics: created }, 'created missing output topics');
  } catch (err) {
    logger.warn({ err }, 'could not check or create the output topics; they must exist');
  } finally {
    await admin.close().catch(() => undefined);
  }

  const producer: RecordProducer = client.producer(config.producer);
  producer.onConnectionChange((c) => {
    state.producerConnected = c;
    updateReady();
  });
  await producer.connect();
  state.producerConnected = true;

  const consumer: StreamConsumer = client.consumer({
    groupId: config.kafka.groupId,
    sessionTimeoutMs: config.consumer.sessionTimeoutMs,
    maxBytesPerPartition: config.consumer.maxBytesPerPartition,
  });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));

  consumer.onGroupEvent((e) => {
    switch (e.type) {
      case 'joined':
        state.joined = true;
        state.rebalancing = false;
        assignment = e.assignment;
        dropRevoked();
        metrics.rebalances.inc();
        metrics.assignedPartitions.set(Object.values(assignment).reduce((n, p) => n + p.length, 0));
        logger.info({ assignment }, 'joined consumer group');
        break;
      case 'rebalancing':
        state.rebalancing = true;
        logger.info('consumer group is rebalancing');
        break;
      case 'stopped':
        state.joined = false;
        break;
      case 'crashed':
        logger.error({ err: e.error, restarting: e.restarting }, 'consumer crashed');
        if (!e.restarting) {
          state.joined = false;
          resolveStopped();
        }
        break;
    }
    updateReady();
  });

  function updateReady(): void {
    metrics.ready.set(isReady() ? 1 : 0);
  }

  function isReady(): boolean {
    return state.joined && !state.rebalancing && state.producerConnected && !state.stopping;
  }

  /** State of partitions this instance no longer owns is dropped; the new owner starts from the commit. */
  function dropRevoked(): void {
    for (const [key, p] of processors) {
      if (!(assignment[p.topic] ?? []).includes(p.partition)) processors.delete(key);
    }
  }

  function processorFor(topic: string, partition: number): PartitionProcessor {
    const key = `${topic}\u0000${partition}`;
    let p = processors.get(key);
    if (p === undefined) {
      p = new PartitionProcessor(
        topic,
        partition,
        createDetections(config.detections.enabled),
        config.topics.deadLetter,
      );
      processors.set(key, p);
    }
    return p;
  }

  async function onBatch(batch: InputBatch, control: BatchControl): Promise<void> {
    const endTimer = metrics.batchSeconds.startTimer({ topic: batch.topic });
    const processor = processorFor(batch.topic, batch.partition);
    const outputs: OutputRecord[] = [];
    const alerts: Alert[] = [];
    let last: string | undefined;
    for (const record of batch.records) {
      if (!control.shouldContinue()) break;
      const outcome = processor.process(record);
      metrics.eventsRead.inc({ topic: batch.topic });
      if (outcome.deadLetter !== undefined) {
        metrics.eventsUnreadable.inc({ topic: batch.topic, reason: outcome.deadLetter.reason });
        outputs.push(outcome.deadLetter.record);
      }
      for (const alert of outcome.alerts) {
        alerts.push(alert);
        outputs.push({
          topic: config.topics.output,
          key: alert.key,
          value: alertToJson(alert, now()),
          headers: { 'picket.rule.id': alert.rule.id },
        });
      }
      last = record.offset;
    }
    if (last === undefined) {
      endTimer();
      return;
    }
    await producer.send(outputs);
    const published = now();
    for (const a of alerts) {
      metrics.alerts.inc({ rule_id: a.rule.id, rule_name: a.rule.name });
      metrics.alertEventLagSeconds.observe({ rule_id: a.rule.id }, Math.max(0, (published - a.time) / 1000));
    }
    await consumer.commit([
      { topic: batch.topic, partition: batch.partition, offset: processor.commitOffsetAfter(last) },
    ]);
    control.markProcessed(last);
    const lag = BigInt(batch.highWatermark) - BigInt(last) - 1n;
    metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(lag < 0n ? 0n : lag));
    endTimer();
    await control.heartbeat();
  }

  await consumer.connect();
  await consumer.subscribe(config.topics.input, config.consumer.fromBeginning);
  await consumer.run(onBatch);
  logger.info(
    { input: config.topics.input, output: config.topics.output, groupId: config.kafka.groupId },
    'picket is consuming',
  );

  let stopping: Promise<void> | undefined;
  return {
    stopped,
    readiness: () => ({
      ready: isReady(),
      detail: {
        joined: state.joined,
        rebalancing: state.rebalancing,
        producerConnected: state.producerConnected,
        stopping: state.stopping,
        client: client.name,
      },
    }),
    stop: () => {
      stopping ??= (async () => {
        state.stopping = true;
        updateReady();
        await consumer.disconnect();
        await producer.disconnect();
        resolveStopped();
      })();
      return stopping;
    },
  };
}
