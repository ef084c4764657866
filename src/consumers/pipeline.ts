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
 *
 * Stages (issue 9, src/routing/router.ts): the router stage reads the input topics (consumer group
 * kafka.groupId), runs the stateless detections and routes what each keyed detection needs onto its
 * repartition topic; the detector stage reads those (group `<kafka.groupId>-detector`) and runs the
 * keyed detections. Both run the loop above; one process runs both (routing.stage=all) or one.
 * Alerts are published once: deterministic ids, the commit metadata, and the ids of the alerts
 * published lately (publishedAlerts.ts), read back from the output topic on every join.
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
  TopicSpec,
} from './client.js';
import { ConsumerLiveness, stallThresholdMs } from './liveness.js';
import {
  parseCommitMetadata,
  PartitionProcessor,
  type PartitionOptions,
  type RecordOutcome,
} from './partitionProcessor.js';
import { ALERT_ID_HEADER, PublishedAlerts } from './publishedAlerts.js';
import { encodeHeartbeat } from '../routing/routedEvent.js';
import { detectorGroupId, planTopology, Router } from '../routing/router.js';

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

/**
 * How often the router stage sends each input partition's watermark to the detector stage (when it
 * moved; unchanged ones are repeated every HEARTBEAT_REPEAT_MS so the detector knows the partition
 * is still read). It bounds what routing adds to the keyed detections' alert delay.
 */
const HEARTBEAT_INTERVAL_MS = 1000;
const HEARTBEAT_REPEAT_MS = 5000;

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
  /** Router stage: the watermark last sent as a heartbeat, and when. */
  heartbeat: { watermark: number; at: number; idle: boolean };
}

/**
 * Creates the topics that are missing, retrying transient errors: instances started together (a
 * Deployment's pods) create the same topics at once, and a topic another one just created can be
 * unknown to the broker answering for a moment.
 */
async function ensureTopicsRetrying(admin: KafkaAdmin, topics: readonly TopicSpec[]): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await admin.ensureTopics(topics);
    } catch (err) {
      // A refused password or a missing ACL does not get better by waiting.
      if (attempt >= 5 || !isRetriable(err)) throw err;
      await new Promise((r) => setTimeout(r, 500 * attempt));
    }
  }
}

/** kafkajs marks errors that may pass (a topic not yet known to every broker) `retriable`. */
function isRetriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

/** Partition counts of `topics`, waiting up to 15 s for topics just created (by anyone) to be known. */
async function partitionCountsOnceCreated(admin: KafkaAdmin, topics: readonly string[]): Promise<Map<string, number>> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const counts = await admin.partitionCounts(topics).catch((err: unknown) => {
      if (!isRetriable(err)) throw err;
      return new Map<string, number>();
    });
    if (topics.every((t) => counts.has(t)) || Date.now() > deadline) return counts;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** What one stage reads, and how each of its partitions is processed. */
interface StageSpec {
  /** `router` or `detector` (logs and the rebalance-pause metric). */
  readonly name: string;
  readonly groupId: string;
  readonly topics: readonly string[];
  /**
   * Where the group starts without a committed offset: consumer.fromBeginning for the input; always
   * the beginning for the repartition topics (picket's own: what the router wrote before the
   * detector group first joined must not be skipped).
   */
  readonly fromBeginning: boolean;
  /**
   * Router stage: the repartition topics (and their partition counts) that get each input
   * partition's watermark as a heartbeat (routedEvent.ts), at most every HEARTBEAT_INTERVAL_MS.
   */
  readonly heartbeatTo?: ReadonlyMap<string, number>;
  /** The detections and decoding of one partition of `topic`. */
  readonly partition: (
    topic: string,
  ) => Pick<PartitionOptions, 'detections' | 'format' | 'latenessMs' | 'router' | 'routedInput' | 'onRouted'>;
}

/** One running stage: its consumer group, its partitions and their state. */
interface Stage {
  readonly name: string;
  readonly stopped: Promise<void>;
  isReady(): boolean;
  detail(): Record<string, unknown>;
  assignedPartitions(): number;
  slots(): Iterable<PartitionSlot>;
  stop(): Promise<void>;
}

export async function startPipeline(deps: PipelineDeps): Promise<Pipeline> {
  const { config, client, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const shared = { producerConnected: false, stopping: false };

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

  const buildDetections = (keys: readonly string[] = config.detections.enabled): Detection[] =>
    createDetections(
      keys,
      detectionOptionsFrom(config, {
        trackChanges: config.state.changelog.enabled,
        onEviction: (detection, reason, count) => metrics.stateEvictions.inc({ detection, reason }, count),
      }),
    );

  // Which detection runs in which stage (src/routing/router.ts).
  const applicationId = config.kafka.groupId;
  const plan = planTopology(buildDetections(), config.routing.topology, applicationId);
  const stageName = config.routing.stage;
  const runRouter = stageName !== 'detector';
  const runDetector = stageName !== 'router' && plan.routed.length > 0;
  const repartitionCounts = plan.routed.length > 0 ? await prepareRepartitionTopics() : new Map<string, number>();
  const repartitionPartitions = Math.max(0, ...repartitionCounts.values());

  /** The repartition topics, created when missing with routing.partitions partitions; their partition counts. */
  async function prepareRepartitionTopics(): Promise<Map<string, number>> {
    const topics = plan.routed.map((r) => r.topic);
    let partitions = config.routing.partitions;
    try {
      if (partitions === 0) partitions = Math.max(1, ...(await admin.partitionCounts(config.topics.input)).values());
      const created = await ensureTopicsRetrying(
        admin,
        topics.map((topic) => ({ topic, numPartitions: partitions })),
      );
      if (created.length > 0) logger.info({ topics: created, partitions }, 'created repartition topics');
    } catch (err) {
      logger.warn({ err }, 'could not check or create the repartition topics; they must exist');
    }
    const counts = await partitionCountsOnceCreated(admin, topics);
    for (const topic of topics) {
      if (!counts.has(topic)) {
        throw new ConfigError(
          'routing.topology',
          'configuration',
          `repartition topic ${topic} does not exist and could not be created: create it, or give picket the ` +
            'right to create topics',
        );
      }
    }
    return counts;
  }

  // The tuning file: loaded (a bad one fails the start, naming the setting), then watched.
  const stages: Stage[] = [];
  let reloader: TuningReloader | undefined;
  if (config.tuning.file !== '') {
    try {
      reloader = TuningReloader.open(config.tuning.file, {
        onSwap: (next, previous) => {
          for (const stage of stages) for (const slot of stage.slots()) slot.processor.tuner.setTuning(next);
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
        partitions = Math.max(1, repartitionPartitions, ...inputs.values());
      }
      const created = await ensureTopicsRetrying(
        admin,
        topics.map((topic) => ({ topic, numPartitions: partitions, config: CHANGELOG_TOPIC_CONFIG })),
      );
      if (created.length > 0) logger.info({ topics: created, partitions }, 'created changelog topics');
    } catch (err) {
      logger.warn({ err }, 'could not check or create the changelog topics; they must exist');
    }
    const counts = await partitionCountsOnceCreated(admin, topics);
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
    shared.producerConnected = c;
    updateReady();
  });
  await producer.connect();
  shared.producerConnected = true;

  // Alert ids published lately: an alert derived again is not published twice (publishedAlerts.ts).
  const published = new PublishedAlerts(config.alerts.dedupeWindowMs, now);

  function isReady(): boolean {
    return shared.producerConnected && !shared.stopping && stages.length > 0 && stages.every((s) => s.isReady());
  }

  function updateReady(): void {
    metrics.ready.set(isReady() ? 1 : 0);
  }

  function alertRecord(alert: TunedAlert, createdAt: number): OutputRecord {
    return {
      topic: config.topics.output,
      key: alert.key,
      value:
        config.avro.alertSchemaId > 0
          ? encodeAlertAvro(alertDocument(alert, createdAt), config.avro.alertSchemaId)
          : alertToJson(alert, createdAt),
      headers: { 'picket.rule.id': alert.ruleId, [ALERT_ID_HEADER]: alert.id },
    };
  }

  const ctx: StageContext = {
    deps,
    now,
    shared,
    producer,
    admin,
    changelogs,
    published,
    avro,
    avroTopics,
    tuning,
    buildDetections,
    alertRecord,
    updateReady,
  };

  // The router stage: input topics; stateless and unrouted detections; routes the rest.
  if (runRouter) {
    const routedKeys = new Set(plan.routed.map((r) => r.key));
    const routingInstances = new Map(buildDetections([...routedKeys]).map((d) => [d.key, d]));
    const router = new Router(plan.routed.map((r) => ({ detection: routingInstances.get(r.key)!, topic: r.topic })));
    const onRouted = (detection: string): void => metrics.eventsRouted.inc({ detection });
    stages.push(
      await startStage(ctx, {
        name: 'router',
        groupId: config.kafka.groupId,
        topics: config.topics.input,
        fromBeginning: config.consumer.fromBeginning,
        heartbeatTo: repartitionCounts,
        partition: (topic) => ({
          detections: buildDetections(plan.inputDetections),
          latenessMs: latenessFor(config, topic),
          format: inputFormatFor(config, topic),
          router,
          onRouted,
        }),
      }),
    );
  }
  // The detector stage: each repartition topic carries one keyed detection's events.
  if (runDetector) {
    const byTopic = new Map(plan.routed.map((r) => [r.topic, r.key]));
    // Routed events come from every input topic: allow the largest lateness of any of them.
    const latenessMs = Math.max(config.ordering.latenessMs, ...Object.values(config.ordering.topicLatenessMs));
    stages.push(
      await startStage(ctx, {
        name: 'detector',
        groupId: detectorGroupId(applicationId),
        topics: [...byTopic.keys()],
        fromBeginning: true,
        partition: (topic) => ({
          detections: buildDetections([byTopic.get(topic)!]),
          latenessMs,
          routedInput: {
            // Longer than the group takes to give a crashed router's partitions to another.
            silenceMs:
              Math.max(config.consumer.sessionTimeoutMs, 15_000) +
              config.ordering.idleTimeoutMs +
              3 * HEARTBEAT_REPEAT_MS,
            warmupMs: 3 * HEARTBEAT_INTERVAL_MS,
          },
        }),
      }),
    );
  }
  logger.info(
    {
      topology: config.routing.topology,
      stage: stageName,
      inputDetections: runRouter ? plan.inputDetections : [],
      routed: plan.routed.map((r) => `${r.key} → ${r.topic}`),
      repartitionPartitions,
    },
    'picket is consuming',
  );

  /** State-size gauges are read from the partitions when Prometheus scrapes. */
  metrics.onCollect(() => {
    updateReady(); // liveness changes with time, not only with events
    const sizes = new Map<string, number>();
    let buffered = 0;
    for (const stage of stages) {
      for (const slot of stage.slots()) {
        buffered += slot.processor.buffered;
        for (const [k, n] of slot.processor.stateSizes()) sizes.set(k, (sizes.get(k) ?? 0) + n);
      }
    }
    metrics.reorderBufferEvents.set(buffered);
    metrics.stateEntries.reset();
    for (const [detection, n] of sizes) metrics.stateEntries.set({ detection }, n);
    metrics.publishedWindowIds.set(published.size);
    metrics.assignedPartitions.set(stages.reduce((n, s) => n + s.assignedPartitions(), 0));
  });

  let stopping: Promise<void> | undefined;
  return {
    // A stage that stops for good (a crash it does not restart from) stops the pipeline.
    stopped: Promise.race(stages.map((s) => s.stopped)),
    readiness: () => {
      const detail: Record<string, unknown> = {
        joined: stages.every((s) => s.detail().joined === true),
        rebalancing: stages.some((s) => s.detail().rebalancing === true),
        restoring: stages.reduce((n, s) => n + Number(s.detail().restoring), 0),
        brokerContactAgoMs: stages.reduce<number | null>((m, s) => {
          const v = s.detail().brokerContactAgoMs;
          return typeof v === 'number' && (m === null || v > m) ? v : m;
        }, null),
        producerConnected: shared.producerConnected,
        stopping: shared.stopping,
        client: client.name,
        topology: config.routing.topology,
        tuning: reloader === undefined ? 'none' : tuning().version,
      };
      for (const s of stages) detail[s.name] = s.detail();
      return { ready: isReady(), detail };
    },
    reloadTuning: () => {
      if (reloader === undefined) logger.warn('SIGHUP: no tuning file is configured (tuning.file)');
      else reloader.reload();
    },
    stop: () => {
      stopping ??= (async () => {
        shared.stopping = true;
        reloader?.stop();
        updateReady();
        await Promise.all(stages.map((s) => s.stop()));
        await producer.disconnect();
        await admin.close().catch(() => undefined);
      })();
      return stopping;
    },
  };
}

/** What the stages of one process share. */
interface StageContext {
  readonly deps: PipelineDeps;
  readonly now: () => number;
  readonly shared: { producerConnected: boolean; stopping: boolean };
  readonly producer: RecordProducer;
  readonly admin: KafkaAdmin;
  readonly changelogs: ReadonlyMap<string, Changelog>;
  readonly published: PublishedAlerts;
  readonly avro: AvroDecoder | undefined;
  readonly avroTopics: ReadonlySet<string>;
  readonly tuning: () => Tuning;
  readonly buildDetections: (keys?: readonly string[]) => Detection[];
  readonly alertRecord: (alert: TunedAlert, createdAt: number) => OutputRecord;
  readonly updateReady: () => void;
}

/**
 * One consumer group's loop: per partition batch, decode and detect (and route), publish, commit.
 * Everything in the module comment applies to each stage.
 */
async function startStage(ctx: StageContext, spec: StageSpec): Promise<Stage> {
  const { deps, now, shared, producer, admin, changelogs, published, avro, avroTopics, tuning } = ctx;
  const { config, client, logger, metrics } = deps;
  const log = logger.child({ stage: spec.name });
  const state = { joined: false, rebalancing: false, restoring: 0 };
  const slots = new Map<string, PartitionSlot>();
  let assignment: Readonly<Record<string, readonly number[]>> = {};
  let assigned = 0;
  const slotKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
  // In touch with the broker? (A broker outage: liveness.ts.)
  const liveness = new ConsumerLiveness(stallThresholdMs(config.consumer.sessionTimeoutMs), now);
  const updateReady = ctx.updateReady;
  /** When processing stopped for a rebalance or a join: the rebalance pause runs until the next batch. */
  let pausedSince: number | undefined = now();

  const consumer: StreamConsumer = client.consumer({
    groupId: spec.groupId,
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
        pausedSince ??= now();
        liveness.contact();
        dropAllPartitions();
        refreshPublished();
        prefetchRestores();
        metrics.rebalances.inc();
        assigned = Object.values(assignment).reduce((n, p) => n + p.length, 0);
        log.info({ assignment }, 'joined consumer group');
        break;
      case 'rebalancing':
        state.rebalancing = true;
        pausedSince ??= now();
        log.info('consumer group is rebalancing');
        break;
      case 'stopped':
        state.joined = false;
        break;
      case 'crashed':
        log.error({ err: e.error, restarting: e.restarting }, 'consumer crashed');
        // Not ready until it has joined again (a restarting consumer rejoins: 'joined').
        state.joined = false;
        pausedSince ??= now();
        liveness.lose();
        if (!e.restarting) resolveStopped();
        break;
      case 'contact':
        liveness.contact();
        break;
    }
    updateReady();
  });

  function isReady(): boolean {
    return state.joined && !state.rebalancing && state.restoring === 0 && liveness.isLive();
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

  /** The output topic's recent alert ids, read back after each join (publishedAlerts.ts). */
  let publishedRead: Promise<void> = Promise.resolve();

  function refreshPublished(): void {
    if (!published.enabled) return;
    state.restoring++;
    updateReady();
    publishedRead = (async () => {
      try {
        const counts = await admin.partitionCounts([config.topics.output]);
        const n = await published.readBack(
          client,
          config.topics.output,
          counts.get(config.topics.output) ?? 0,
          config.kafka.groupId,
        );
        log.info({ alerts: n, windowMs: published.windowMs }, 'read the ids of recently published alerts back');
      } catch (err) {
        // Not fatal: the ids this process published itself are still known.
        log.warn({ err }, "could not read recently published alerts back; only this process's own are known");
      } finally {
        state.restoring--;
        updateReady();
      }
    })();
  }

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
      for (const [detection, changelog] of changelogs) {
        const byChangelogPartition = new Map<number, { slot: string; collector: ChangelogCollector }[]>();
        for (const { topic, partition } of inputs) {
          const p = changelogPartition(topic, partition, changelog.partitions);
          let list = byChangelogPartition.get(p);
          if (list === undefined) byChangelogPartition.set(p, (list = []));
          list.push({ slot: slotKey(topic, partition), collector: new ChangelogCollector(topic, partition) });
        }
        await client.readToEnd(
          changelog.topic,
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
              log.info(
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
      log.warn({ err }, 'could not read durable state back from the changelog; it will be retried');
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
    const opts = spec.partition(topic);
    const detections = opts.detections;
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
    await publishedRead;
    const committed = await admin.fetchCommitted(spec.groupId, topic);
    const resume = parseCommitMetadata(committed.get(partition)?.metadata);
    const processor = new PartitionProcessor(topic, partition, {
      ...opts,
      deadLetterTopic: config.topics.deadLetter,
      ...(resume !== undefined ? { resume } : {}),
      onLate: () => metrics.lateEvents.inc({ topic }),
      maxAheadMs: config.ordering.maxAheadMs,
      onFuture: () => metrics.futureEvents.inc({ topic }),
      maxMessageBytes: config.input.maxMessageBytes,
      tuner,
    });
    if (resume !== undefined) log.info({ topic, partition, resume }, 'resuming partition');
    const slot: PartitionSlot = {
      processor,
      durable,
      queue: Promise.resolve(),
      lastRecordAt: now(),
      lastCommitAt: now(),
      uncommitted: false,
      heartbeat: { watermark: Number.NEGATIVE_INFINITY, at: 0, idle: false },
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

  /**
   * Publishes alerts and dead letters (at once: alert latency), then commits the partition when
   * anything was published or the last commit is `consumer.commitIntervalMs` old. Committing right
   * after every publication keeps the rule that an alert, once acknowledged, is covered by the next
   * committed metadata before anything else is processed on its partition; batches that publish
   * nothing share a commit (a commit is a broker round trip, and most batches publish nothing).
   * Repartition records are sent with every batch (the detector stage waits for them) but need no
   * commit of their own: records sent again after a crash are recognised by their alerts' ids.
   */
  async function publishAndCommit(
    slot: PartitionSlot,
    outcomes: readonly RecordOutcome[],
    extraOutputs: readonly OutputRecord[],
  ): Promise<void> {
    const { processor } = slot;
    const alerts: TunedAlert[] = [];
    const outputs: OutputRecord[] = [...extraOutputs];
    const routed: OutputRecord[] = [];
    const createdAt = now();
    // An event routed twice (a router re-sent it after a crash) can yield its alert twice in one
    // release: only the first of an id is published.
    const ids = new Set<string>();
    for (const o of outcomes) {
      for (const a of o.outputs) {
        if (published.has(a.id) || ids.has(a.id)) {
          metrics.alertsDeduplicated.inc({ rule_id: a.ruleId });
          continue;
        }
        ids.add(a.id);
        alerts.push(a);
        outputs.push(ctx.alertRecord(a, createdAt));
      }
      for (const r of o.routed) routed.push(r);
    }
    slot.uncommitted = true;
    if (outputs.length === 0 && now() - slot.lastCommitAt < config.consumer.commitIntervalMs) {
      if (routed.length > 0) await producer.send(routed);
      return;
    }
    outputs.push(...routed, ...changelogRecords(slot));
    await producer.send(outputs);
    const sentAt = now();
    for (const a of alerts) {
      published.add(a.id, sentAt);
      if (a.source === undefined) {
        metrics.tuningOutputs.inc({ detection: a.ruleKey, kind: a.kind });
        continue;
      }
      const { rule } = a.source;
      metrics.alerts.inc({ rule_id: rule.id, rule_name: rule.name });
      metrics.alertEventLagSeconds.observe({ rule_id: rule.id }, Math.max(0, (sentAt - a.time) / 1000));
      const readAt = processor.triggerReadAt(a.source);
      if (readAt !== undefined) metrics.alertDelaySeconds.observe({ rule_id: rule.id }, (sentAt - readAt) / 1000);
    }
    await commit(slot);
  }

  /** Durable state changed since the last commit, as changelog records (written before the commit). */
  function changelogRecords(slot: PartitionSlot): OutputRecord[] {
    const out: OutputRecord[] = [];
    const { topic, partition: inputPartition } = slot.processor;
    for (const d of slot.durable) {
      const changelog = changelogs.get(d.key)!;
      const partition = changelogPartition(topic, inputPartition, changelog.partitions);
      const changes = d.drainChanges();
      for (const [k, v] of changes) {
        out.push({ topic: changelog.topic, partition, key: changelogKey(topic, inputPartition, k), value: v });
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
    if (shared.stopping) return;
    const slot = await slotFor(batch.topic, batch.partition);
    await serialised(slot, async () => {
      if (shared.stopping) return;
      const endTimer = metrics.batchSeconds.startTimer({ topic: batch.topic });
      const outcomes: RecordOutcome[] = [];
      const deadLetters: OutputRecord[] = [];
      let last: string | undefined;
      let read = 0;
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
        read++;
        if (outcome.deadLetter !== undefined) {
          metrics.eventsUnreadable.inc({ topic: batch.topic, reason: outcome.deadLetter.reason });
          deadLetters.push(outcome.deadLetter.record);
        }
        countDuplicates(outcome);
        if (outcome.outputs.length > 0 || outcome.routed.length > 0) outcomes.push(outcome);
        last = record.offset;
      }
      // Counted once per batch: a labelled inc() per record is a few % of `run`.
      if (read > 0) metrics.eventsRead.inc({ topic: batch.topic }, read);
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
      if (pausedSince !== undefined) {
        const pauseMs = now() - pausedSince;
        pausedSince = undefined;
        metrics.rebalancePauseSeconds.observe({ stage: spec.name }, pauseMs / 1000);
        log.info({ pauseMs }, 'processing again after the group (re)join');
      }
    });
    await control.heartbeat();
  }

  /**
   * Router stage: the partition's watermark to every repartition partition (routedEvent.ts), after
   * the routed records before it (serialised with the partition's batches, same producer).
   */
  async function sendHeartbeat(slot: PartitionSlot, to: ReadonlyMap<string, number>): Promise<void> {
    const w = slot.processor.watermark;
    const t = now();
    // An input partition without records for ordering.idleTimeoutMs is idle: it stops holding the
    // detector stage's event time back (as Flink marks an idle source), instead of claiming that
    // event time moved on with the wall clock.
    const idle = t - slot.lastRecordAt >= config.ordering.idleTimeoutMs;
    if (!Number.isFinite(w) || t - slot.heartbeat.at < HEARTBEAT_INTERVAL_MS) return;
    const changed = w > slot.heartbeat.watermark || idle !== slot.heartbeat.idle;
    if (!changed && t - slot.heartbeat.at < HEARTBEAT_REPEAT_MS) return;
    const value = encodeHeartbeat(slot.processor.topic, slot.processor.partition, w, idle);
    const records: OutputRecord[] = [];
    for (const [topic, partitions] of to) {
      for (let partition = 0; partition < partitions; partition++) records.push({ topic, partition, key: null, value });
    }
    await producer.send(records);
    slot.heartbeat = { watermark: w, at: t, idle };
  }

  /** Idle partitions: event time moves on with the wall clock after ordering.idleTimeoutMs. */
  async function tickIdle(): Promise<void> {
    // Out of touch with the broker, silence says nothing about the sources: see liveness.ts.
    if (!liveness.isLive()) return;
    const t = now();
    for (const slot of slots.values()) {
      // Idleness counts from the last record, or from when broker contact came back after an outage.
      // Heartbeats (detector stage) are not records of the partition's own.
      const idle = t - Math.max(slot.processor.lastDataAt ?? slot.lastRecordAt, liveness.idleSince());
      // Held events, or suppression windows and breaker minutes waiting for event time to pass them.
      const waiting = slot.processor.buffered > 0 || slot.processor.tuner.size > 0;
      if (idle < config.ordering.idleTimeoutMs || !waiting) continue;
      await serialised(slot, async () => {
        const outcome = slot.processor.advanceIdle(idle, t);
        countDuplicates(outcome);
        if (outcome.outputs.length > 0) await publishAndCommit(slot, [outcome], []);
      });
    }
    if (spec.heartbeatTo !== undefined && spec.heartbeatTo.size > 0) {
      for (const slot of slots.values()) await serialised(slot, () => sendHeartbeat(slot, spec.heartbeatTo!));
    }
    // Progress not yet committed (batches that published nothing) is committed once it is due.
    for (const slot of slots.values()) {
      if (!slot.uncommitted || t - slot.lastCommitAt < config.consumer.commitIntervalMs) continue;
      await serialised(slot, () => commitPending(slot));
    }
  }

  let ticking = false;
  const idleTimer = setInterval(
    () => {
      updateReady(); // liveness changes with time, not only with events
      if (ticking || shared.stopping) return;
      ticking = true;
      tickIdle()
        .catch((err: unknown) => log.warn({ err }, 'idle partition tick failed; it will be retried'))
        .finally(() => (ticking = false));
    },
    Math.min(1000, config.ordering.idleTimeoutMs),
  );
  idleTimer.unref();

  await consumer.connect();
  await consumer.subscribe(spec.topics, spec.fromBeginning);
  await consumer.run(onBatch);
  log.info(
    { input: spec.topics, output: config.topics.output, groupId: spec.groupId },
    `picket ${spec.name} stage is consuming`,
  );

  let stopping: Promise<void> | undefined;
  return {
    name: spec.name,
    stopped,
    isReady,
    assignedPartitions: () => assigned,
    slots: () => slots.values(),
    detail: () => ({
      groupId: spec.groupId,
      joined: state.joined,
      rebalancing: state.rebalancing,
      restoring: state.restoring,
      brokerContactAgoMs: liveness.sinceContactMs() ?? null,
    }),
    stop: () => {
      stopping ??= (async () => {
        clearInterval(idleTimer);
        // Let the work in progress finish (nothing new starts), then commit what it did.
        for (const slot of slots.values()) {
          await serialised(slot, () => commitPending(slot)).catch((err: unknown) =>
            log.warn({ err }, 'final commit failed; the records after the last commit will be read again'),
          );
        }
        await consumer.disconnect();
        resolveStopped();
      })();
      return stopping;
    },
  };
}
