/**
 * `picket run`: the consumer loop around the engine.
 *
 * Per partition batch: decode and detect each record (PartitionProcessor), publish the alerts and
 * dead letters, wait until the broker acknowledges them, and only then commit — at the lowest
 * offset that open state still needs, with metadata saying how far alerts were published. A crash
 * at any point therefore re-reads what may not have been published (nothing is lost), and alerts
 * re-derived from records already handled are recognised and dropped (nothing is doubled).
 *
 * A timer advances idle partitions (ordering.idleTimeoutMs), so their last alerts are not held back.
 * Work on one partition (batches and timer) is serialised.
 *
 * Durable state (D4's models, the tuning's suppression windows; src/state/changelog.ts): the changes
 * since the last commit are published to compacted changelog topics before each commit. When partitions are assigned, their
 * state is read back from the changelog before their first record is processed.
 */
import { alertDocument, alertToJson } from '../alerts/alert.js';
import { ConfigError, inputFormatFor, latenessFor, type PicketConfig } from '../config.js';
import { AvroDecoder, encodeAlertAvro } from '../ecs/avro.js';
import { isDurable, type Detection } from '../detectors/detection.js';
import { TuningReloader } from '../tuning/reloader.js';
import { Tuner, type TunedAlert } from '../tuning/tuner.js';
import { EMPTY_TUNING, type Tuning } from '../tuning/tuningConfig.js';
import { createDetections, detectionOptionsFrom } from '../detectors/registry.js';
import {
  ChangelogCollector,
  CHANGELOG_TOPIC_CONFIG,
  changelogKey,
  changelogPartition,
  defaultChangelogTopic,
} from '../state/changelog.js';
import type { Logger } from '../observability/logger.js';
import type { PicketMetrics } from '../observability/metrics.js';
import type { Readiness } from '../observability/http.js';
import type {
  BatchControl,
  InputBatch,
  KafkaAdmin,
  KafkaClient,
  OutputRecord,
  RecordProducer,
  StreamConsumer,
} from './client.js';
import { ConsumerLiveness, stallThresholdMs } from './liveness.js';
import { parseCommitMetadata, PartitionProcessor, type RecordOutcome } from './partitionProcessor.js';

/** A durable detection's changelog topic and its partition count. */
interface Changelog {
  readonly topic: string;
  readonly partitions: number;
}

/** State a partition keeps in a changelog topic named after `key`. */
interface DurableState {
  readonly key: string;
  drainChanges(): Map<string, string | null>;
  restore(entries: Iterable<readonly [string, string | null]>): void;
}

/** Changelog key of the tuning's suppression windows and circuit-breaker minutes. */
const TUNING_STATE_KEY = 'tuning';

/** Latest value per state key, by detection key, of one input partition. */
type RestoredState = Map<string, Map<string, string>>;

/** A changelog read that makes no progress for this long fails (and is retried with the batch). */
const RESTORE_STALL_TIMEOUT_MS = 30_000;

export interface Pipeline {
  readiness(): Readiness;
  /** Resolves when the consumer stopped for good (stop() or a crash it does not restart from). */
  readonly stopped: Promise<void>;
  /** Stop fetching, finish the batch in progress, publish and commit it, leave the group. */
  stop(): Promise<void>;
  /** Reloads the tuning file now (SIGHUP); a bad file is refused and the tuning in force stays. */
  reloadTuning(): void;
}

export interface PipelineDeps {
  config: PicketConfig;
  client: KafkaClient;
  logger: Logger;
  metrics: PicketMetrics;
  /** Wall clock, for event.created, idleness and the delay metrics (injected for tests). */
  now?: () => number;
}

interface PartitionSlot {
  processor: PartitionProcessor;
  /** Its state kept in changelogs: durable detections, and the tuning's suppression state. */
  durable: readonly DurableState[];
  /** Serialises the work on this partition (batches and idle ticks). */
  queue: Promise<void>;
  lastRecordAt: number;
  /** Wall time of the last commit, and whether records were processed since. */
  lastCommitAt: number;
  uncommitted: boolean;
}

export async function startPipeline(deps: PipelineDeps): Promise<Pipeline> {
  const { config, client, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const state = { joined: false, rebalancing: false, producerConnected: false, stopping: false, restoring: 0 };
  const slots = new Map<string, PartitionSlot>();
  let assignment: Readonly<Record<string, readonly number[]>> = {};
  const slotKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
  // In touch with the broker? (A broker outage: liveness.ts.)
  const liveness = new ConsumerLiveness(stallThresholdMs(config.consumer.sessionTimeoutMs), now);

  const avroTopics = new Set(config.input.avroTopics);
  let avro: AvroDecoder | undefined;
  if (avroTopics.size > 0) {
    if (config.avro.schemaDir === '' && config.avro.registryUrl === '') {
      throw new ConfigError('input.avroTopics', 'configuration', 'Avro topics need avro.schemaDir or avro.registryUrl');
    }
    avro = new AvroDecoder({
      ...(config.avro.schemaDir !== '' ? { schemaDir: config.avro.schemaDir } : {}),
      ...(config.avro.registryUrl !== '' ? { registryUrl: config.avro.registryUrl } : {}),
    });
  }

  const admin: KafkaAdmin = client.admin();
  try {
    const created = await admin.ensureTopics([{ topic: config.topics.output }, { topic: config.topics.deadLetter }]);
    if (created.length > 0) logger.info({ topics: created }, 'created missing output topics');
  } catch (err) {
    logger.warn({ err }, 'could not check or create the output topics; they must exist');
  }

  const buildDetections = (): Detection[] =>
    createDetections(
      config.detections.enabled,
      detectionOptionsFrom(config, {
        trackChanges: config.state.changelog.enabled,
        onEviction: (detection, reason, count) => metrics.stateEvictions.inc({ detection, reason }, count),
      }),
    );
  // The tuning file: loaded (a bad one fails the start, naming the setting), then watched.
  let reloader: TuningReloader | undefined;
  if (config.tuning.file !== '') {
    try {
      reloader = TuningReloader.open(config.tuning.file, {
        onSwap: (next, previous) => {
          for (const slot of slots.values()) slot.processor.tuner.setTuning(next);
          metrics.tuningInfo.reset();
          metrics.tuningInfo.set({ version: next.version }, 1);
          logger.info({ version: next.version, previous: previous.version }, 'tuning reloaded');
        },
        onRefused: (err, current) =>
          logger.error({ err, version: current.version }, 'tuning file refused; the tuning in force stays'),
        onReload: (r) => metrics.tuningReloads.inc({ result: r.status }),
      });
    } catch (err) {
      throw new ConfigError('tuning.file', 'configuration', (err as Error).message);
    }
    reloader.start();
  }
  const tuning = (): Tuning => reloader?.current ?? EMPTY_TUNING;
  metrics.tuningInfo.set({ version: reloader === undefined ? 'none' : tuning().version }, 1);
  const changelogs = config.state.changelog.enabled ? await prepareChangelogs() : new Map<string, Changelog>();

  /** The changelog topic of each durable detection, created (compacted) when missing. */
  async function prepareChangelogs(): Promise<Map<string, Changelog>> {
    const keys = buildDetections()
      .filter(isDurable)
      .map((d) => d.key);
    if (reloader !== undefined) keys.push(TUNING_STATE_KEY);
    const out = new Map<string, Changelog>();
    if (keys.length === 0) return out;
    const prefix =
      config.state.changelog.topicPrefix !== '' ? config.state.changelog.topicPrefix : config.kafka.groupId;
    const topics = keys.map((k) => defaultChangelogTopic(prefix, k));
    let partitions = config.state.changelog.partitions;
    try {
      if (partitions === 0) {
        const inputs = await admin.partitionCounts(config.topics.input);
        partitions = Math.max(1, ...inputs.values());
      }
      const created = await admin.ensureTopics(
        topics.map((topic) => ({ topic, numPartitions: partitions, config: CHANGELOG_TOPIC_CONFIG })),
      );
      if (created.length > 0) logger.info({ topics: created, partitions }, 'created changelog topics');
    } catch (err) {
      logger.warn({ err }, 'could not check or create the changelog topics; they must exist');
    }
    const counts = await admin.partitionCounts(topics);
    keys.forEach((key, i) => {
      const topic = topics[i]!;
      const n = counts.get(topic);
      if (n === undefined) {
        throw new ConfigError(
          'state.changelog.enabled',
          'configuration',
          `changelog topic ${topic} does not exist and could not be created: create it (cleanup.policy=compact) ` +
            'or set state.changelog.enabled=false',
        );
      }
      out.set(key, { topic, partitions: n });
    });
    return out;
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
        liveness.contact();
        dropAllPartitions();
        prefetchRestores();
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
        // Not ready until it has joined again (a restarting consumer rejoins: 'joined').
        state.joined = false;
        liveness.lose();
        if (!e.restarting) resolveStopped();
        break;
      case 'contact':
        liveness.contact();
        break;
    }
    updateReady();
  });

  function updateReady(): void {
    metrics.ready.set(isReady() ? 1 : 0);
  }

  function isReady(): boolean {
    return (
      state.joined &&
      !state.rebalancing &&
      state.producerConnected &&
      !state.stopping &&
      state.restoring === 0 &&
      liveness.isLive()
    );
  }

  /**
   * After every join the consumer reads each assigned partition again from its committed offset
   * (kafkajs starts a new offset manager per generation), also the partitions it kept: a rebalance,
   * or a restart after a crash such as a broker outage. So every partition is dropped with its
   * state and rebuilt from the records after that offset (which never passes state still needed),
   * and the commit metadata recognises the alerts already published. Records fed a second time into
   * state kept in memory would publish their alerts again. A partition this instance no longer owns
   * is rebuilt the same way by its new owner.
   */
  function dropAllPartitions(): void {
    slots.clear();
    // State being read back for the previous assignment may predate commits made since.
    restores.clear();
    generation++;
  }

  /** Counts group joins: a slot built for an earlier assignment is not kept. */
  let generation = 0;

  /** Durable state being read back, by input partition (slotKey). */
  const restores = new Map<string, Promise<RestoredState>>();

  /**
   * Starts reading back the durable state of the newly assigned partitions, one reader per changelog
   * topic for all of them (a reader joins a group of its own, which costs a join: not one per
   * partition).
   */
  function prefetchRestores(): void {
    if (changelogs.size === 0) return;
    const inputs: { topic: string; partition: number }[] = [];
    for (const [topic, partitions] of Object.entries(assignment)) {
      for (const partition of partitions) {
        const key = slotKey(topic, partition);
        if (!slots.has(key) && !restores.has(key)) inputs.push({ topic, partition });
      }
    }
    if (inputs.length > 0) startRestores(inputs);
  }

  function startRestores(inputs: readonly { topic: string; partition: number }[]): void {
    const all = readChangelogs(inputs);
    inputs.forEach(({ topic, partition }) => {
      const key = slotKey(topic, partition);
      const one = all.then((m) => m.get(key) ?? new Map());
      one.catch(() => restores.delete(key)); // a later batch retries
      restores.set(key, one);
    });
  }

  async function readChangelogs(
    inputs: readonly { topic: string; partition: number }[],
  ): Promise<Map<string, RestoredState>> {
    state.restoring++;
    updateReady();
    const endTimer = metrics.stateRestoreSeconds.startTimer();
    try {
      const out = new Map<string, RestoredState>();
      for (const { topic, partition } of inputs) out.set(slotKey(topic, partition), new Map());
      for (const [detection, log] of changelogs) {
        const byChangelogPartition = new Map<number, { slot: string; collector: ChangelogCollector }[]>();
        for (const { topic, partition } of inputs) {
          const p = changelogPartition(topic, partition, log.partitions);
          let list = byChangelogPartition.get(p);
          if (list === undefined) byChangelogPartition.set(p, (list = []));
          list.push({ slot: slotKey(topic, partition), collector: new ChangelogCollector(topic, partition) });
        }
        await client.readToEnd(
          log.topic,
          [...byChangelogPartition.keys()],
          (r) => {
            for (const c of byChangelogPartition.get(r.partition) ?? []) c.collector.add(r.key, r.value);
          },
          { timeoutMs: RESTORE_STALL_TIMEOUT_MS, groupIdPrefix: config.kafka.groupId },
        );
        for (const list of byChangelogPartition.values()) {
          for (const { slot, collector } of list) {
            out.get(slot)!.set(detection, collector.entries());
            if (collector.records > 0) {
              logger.info(
                {
                  detection,
                  input: slot.replace('\u0000', '/'),
                  keys: collector.entries().size,
                  records: collector.records,
                },
                'read durable state back from the changelog',
              );
            }
          }
        }
      }
      return out;
    } catch (err) {
      logger.warn({ err }, 'could not read durable state back from the changelog; it will be retried');
      throw err;
    } finally {
      endTimer();
      state.restoring--;
      updateReady();
    }
  }

  async function slotFor(topic: string, partition: number): Promise<PartitionSlot> {
    const key = slotKey(topic, partition);
    const existing = slots.get(key);
    if (existing !== undefined) return existing;
    const builtFor = generation;
    const detections = buildDetections();
    const tuner = new Tuner(tuning(), {
      onDecision: (detection, outcome, exception) => {
        if (outcome === 'published' || outcome === 'unknown_rule') return;
        metrics.alertsTuned.inc({ detection, outcome });
        if (exception !== undefined) metrics.alertExceptions.inc({ detection, exception });
      },
    });
    const durable: DurableState[] = detections.filter((d) => isDurable(d) && changelogs.has(d.key)) as DurableState[];
    if (changelogs.has(TUNING_STATE_KEY)) {
      durable.push({
        key: TUNING_STATE_KEY,
        drainChanges: () => tuner.drainChanges(),
        restore: (entries) => void tuner.restore([...entries] as [string, string | null][]),
      });
    }
    if (durable.length > 0) {
      if (!restores.has(key)) startRestores([{ topic, partition }]);
      const restored = await restores.get(key)!;
      restores.delete(key);
      for (const d of durable) {
        const entries = restored.get(d.key) ?? new Map<string, string>();
        d.restore(entries);
        metrics.stateRestoredKeys.inc({ detection: d.key }, entries.size);
      }
    }
    const committed = await admin.fetchCommitted(config.kafka.groupId, topic);
    const resume = parseCommitMetadata(committed.get(partition)?.metadata);
    const processor = new PartitionProcessor(topic, partition, {
      detections,
      deadLetterTopic: config.topics.deadLetter,
      latenessMs: latenessFor(config, topic),
      format: inputFormatFor(config, topic),
      ...(resume !== undefined ? { resume } : {}),
      onLate: () => metrics.lateEvents.inc({ topic }),
      maxAheadMs: config.ordering.maxAheadMs,
      onFuture: () => metrics.futureEvents.inc({ topic }),
      maxMessageBytes: config.input.maxMessageBytes,
      tuner,
    });
    if (resume !== undefined) logger.info({ topic, partition, resume }, 'resuming partition');
    const slot: PartitionSlot = {
      processor,
      durable,
      queue: Promise.resolve(),
      lastRecordAt: now(),
      lastCommitAt: now(),
      uncommitted: false,
    };
    // A join while this was being built: its batch is stale (kafkajs will not let it process) and
    // the partition is rebuilt for the new assignment.
    if (builtFor === generation) slots.set(key, slot);
    return slot;
  }

  /** Runs `work` after whatever is already queued on the partition. */
  function serialised(slot: PartitionSlot, work: () => Promise<void>): Promise<void> {
    const next = slot.queue.then(work);
    slot.queue = next.catch(() => undefined);
    return next;
  }

  function alertRecord(alert: TunedAlert, createdAt: number): OutputRecord {
    return {
      topic: config.topics.output,
      key: alert.key,
      value:
        config.avro.alertSchemaId > 0
          ? encodeAlertAvro(alertDocument(alert, createdAt), config.avro.alertSchemaId)
          : alertToJson(alert, createdAt),
      headers: { 'picket.rule.id': alert.ruleId },
    };
  }

  /**
   * Publishes alerts and dead letters (at once: alert latency), then commits the partition when
   * anything was published or the last commit is `consumer.commitIntervalMs` old. Committing right
   * after every publication keeps the rule that an alert, once acknowledged, is covered by the next
   * committed metadata before anything else is processed on its partition; batches that publish
   * nothing share a commit (a commit is a broker round trip, and most batches publish nothing).
   */
  async function publishAndCommit(
    slot: PartitionSlot,
    outcomes: readonly RecordOutcome[],
    extraOutputs: readonly OutputRecord[],
  ): Promise<void> {
    const { processor } = slot;
    const alerts: TunedAlert[] = [];
    const outputs: OutputRecord[] = [...extraOutputs];
    const createdAt = now();
    for (const o of outcomes) {
      for (const a of o.outputs) {
        alerts.push(a);
        outputs.push(alertRecord(a, createdAt));
      }
    }
    slot.uncommitted = true;
    if (outputs.length === 0 && now() - slot.lastCommitAt < config.consumer.commitIntervalMs) return;
    outputs.push(...changelogRecords(slot));
    await producer.send(outputs);
    const published = now();
    for (const a of alerts) {
      if (a.source === undefined) {
        metrics.tuningOutputs.inc({ detection: a.ruleKey, kind: a.kind });
        continue;
      }
      const { rule } = a.source;
      metrics.alerts.inc({ rule_id: rule.id, rule_name: rule.name });
      metrics.alertEventLagSeconds.observe({ rule_id: rule.id }, Math.max(0, (published - a.time) / 1000));
      const readAt = processor.triggerReadAt(a.source);
      if (readAt !== undefined) metrics.alertDelaySeconds.observe({ rule_id: rule.id }, (published - readAt) / 1000);
    }
    await commit(slot);
  }

  /** Durable state changed since the last commit, as changelog records (written before the commit). */
  function changelogRecords(slot: PartitionSlot): OutputRecord[] {
    const out: OutputRecord[] = [];
    const { topic, partition: inputPartition } = slot.processor;
    for (const d of slot.durable) {
      const log = changelogs.get(d.key)!;
      const partition = changelogPartition(topic, inputPartition, log.partitions);
      const changes = d.drainChanges();
      for (const [k, v] of changes) {
        out.push({ topic: log.topic, partition, key: changelogKey(topic, inputPartition, k), value: v });
      }
      if (changes.size > 0) metrics.changelogRecords.inc({ detection: d.key }, changes.size);
    }
    return out;
  }

  /** Commits the partition's position; every output it covers must be acknowledged already. */
  async function commit(slot: PartitionSlot): Promise<void> {
    const { processor } = slot;
    const point = processor.commitPoint();
    if (point !== undefined) {
      await consumer.commit([{ topic: processor.topic, partition: processor.partition, ...point }]);
    }
    slot.lastCommitAt = now();
    slot.uncommitted = false;
  }

  /** Writes pending state changes and commits a partition with uncommitted progress. */
  async function commitPending(slot: PartitionSlot): Promise<void> {
    if (!slot.uncommitted) return;
    await producer.send(changelogRecords(slot));
    await commit(slot);
  }

  function countDuplicates(outcome: RecordOutcome): void {
    for (const a of outcome.duplicates) metrics.alertsDeduplicated.inc({ rule_id: a.rule.id });
  }

  async function onBatch(batch: InputBatch, control: BatchControl): Promise<void> {
    // Stopping: nothing more is processed, so the final commits in stop() cover everything done.
    if (state.stopping) return;
    const slot = await slotFor(batch.topic, batch.partition);
    await serialised(slot, async () => {
      if (state.stopping) return;
      const endTimer = metrics.batchSeconds.startTimer({ topic: batch.topic });
      const outcomes: RecordOutcome[] = [];
      const deadLetters: OutputRecord[] = [];
      let last: string | undefined;
      for (const record of batch.records) {
        if (!control.shouldContinue()) break;
        // Avro: a schema not yet compiled is fetched here; a registry that cannot answer throws, and
        // the batch is retried (nothing was committed) rather than dead-lettered.
        const decoded =
          avro !== undefined && avroTopics.has(batch.topic)
            ? (avro.decodeCached(record.value ?? new Uint8Array(0)) ??
              (await avro.decode(record.value ?? new Uint8Array(0))))
            : undefined;
        const outcome = slot.processor.process(record, now(), decoded);
        metrics.eventsRead.inc({ topic: batch.topic });
        if (outcome.deadLetter !== undefined) {
          metrics.eventsUnreadable.inc({ topic: batch.topic, reason: outcome.deadLetter.reason });
          deadLetters.push(outcome.deadLetter.record);
        }
        countDuplicates(outcome);
        if (outcome.outputs.length > 0) outcomes.push(outcome);
        last = record.offset;
      }
      if (last === undefined) {
        endTimer();
        return;
      }
      slot.lastRecordAt = now();
      await publishAndCommit(slot, outcomes, deadLetters);
      control.markProcessed(last);
      const lag = BigInt(batch.highWatermark) - BigInt(last) - 1n;
      metrics.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(lag < 0n ? 0n : lag));
      endTimer();
    });
    await control.heartbeat();
  }

  /** Idle partitions: event time moves on with the wall clock after ordering.idleTimeoutMs. */
  async function tickIdle(): Promise<void> {
    // Out of touch with the broker, silence says nothing about the sources: see liveness.ts.
    if (!liveness.isLive()) return;
    const t = now();
    for (const slot of slots.values()) {
      // Idleness counts from the last record, or from when broker contact came back after an outage.
      const idle = t - Math.max(slot.lastRecordAt, liveness.idleSince());
      // Held events, or suppression windows and breaker minutes waiting for event time to pass them.
      const waiting = slot.processor.buffered > 0 || slot.processor.tuner.size > 0;
      if (idle < config.ordering.idleTimeoutMs || !waiting) continue;
      await serialised(slot, async () => {
        const outcome = slot.processor.advanceIdle(idle);
        countDuplicates(outcome);
        if (outcome.outputs.length > 0) await publishAndCommit(slot, [outcome], []);
      });
    }
    // Progress not yet committed (batches that published nothing) is committed once it is due.
    for (const slot of slots.values()) {
      if (!slot.uncommitted || t - slot.lastCommitAt < config.consumer.commitIntervalMs) continue;
      await serialised(slot, () => commitPending(slot));
    }
  }

  /** State-size gauges are read from the partitions when Prometheus scrapes. */
  metrics.onCollect(() => {
    updateReady(); // liveness changes with time, not only with events
    const sizes = new Map<string, number>();
    let buffered = 0;
    for (const slot of slots.values()) {
      buffered += slot.processor.buffered;
      for (const [k, n] of slot.processor.stateSizes()) sizes.set(k, (sizes.get(k) ?? 0) + n);
    }
    metrics.reorderBufferEvents.set(buffered);
    metrics.stateEntries.reset();
    for (const [detection, n] of sizes) metrics.stateEntries.set({ detection }, n);
  });

  let ticking = false;
  const idleTimer = setInterval(
    () => {
      updateReady(); // liveness changes with time, not only with events
      if (ticking || state.stopping) return;
      ticking = true;
      tickIdle()
        .catch((err: unknown) => logger.warn({ err }, 'idle partition tick failed; it will be retried'))
        .finally(() => (ticking = false));
    },
    Math.min(1000, config.ordering.idleTimeoutMs),
  );
  idleTimer.unref();

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
        restoring: state.restoring,
        tuning: reloader === undefined ? 'none' : tuning().version,
        brokerContactAgoMs: liveness.sinceContactMs() ?? null,
      },
    }),
    reloadTuning: () => {
      if (reloader === undefined) logger.warn('SIGHUP: no tuning file is configured (tuning.file)');
      else reloader.reload();
    },
    stop: () => {
      stopping ??= (async () => {
        state.stopping = true;
        clearInterval(idleTimer);
        reloader?.stop();
        updateReady();
        // Let the work in progress finish (nothing new starts), then commit what it did.
        for (const slot of slots.values()) {
          await serialised(slot, () => commitPending(slot)).catch((err: unknown) =>
            logger.warn({ err }, 'final commit failed; the records after the last commit will be read again'),
          );
        }
        await consumer.disconnect();
        await producer.disconnect();
        await admin.close().catch(() => undefined);
        resolveStopped();
      })();
      return stopping;
    },
  };
}
