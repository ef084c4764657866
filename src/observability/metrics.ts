/**
 * picket's Prometheus metrics. One registry per running pipeline so that tests can run several.
 * Names follow Prometheus conventions: `_total` counters, base units (seconds, bytes).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class PicketMetrics {
  readonly registry = new Registry();

  readonly eventsRead = new Counter({
    name: 'picket_events_read_total',
    help: 'Records read from the input topics.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly eventsUnreadable = new Counter({
    name: 'picket_events_unreadable_total',
    help: 'Records that could not be read, by reason; each is published to the dead-letter topic.',
    labelNames: ['topic', 'reason'] as const,
    registers: [this.registry],
  });

  readonly alerts = new Counter({
    name: 'picket_alerts_total',
    help: 'Alerts published (acknowledged by the broker), by rule.',
    labelNames: ['rule_id', 'rule_name'] as const,
    registers: [this.registry],
  });

  readonly batchSeconds = new Histogram({
    name: 'picket_batch_processing_seconds',
    help: 'Time to process one fetched batch: decode, detect, publish alerts and dead letters.',
    labelNames: ['topic'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly alertEventLagSeconds = new Histogram({
    name: 'picket_alert_event_time_lag_seconds',
    help: 'Wall-clock time at publication minus the alert @timestamp (its trigger event time).',
    labelNames: ['rule_id'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600],
    registers: [this.registry],
  });

  readonly alertDelaySeconds = new Histogram({
    name: 'picket_alert_delay_seconds',
    help: 'Wall-clock time from reading the trigger event to the alert being acknowledged by the broker.',
    labelNames: ['rule_id'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly alertsDeduplicated = new Counter({
    name: 'picket_alerts_deduplicated_total',
    help: 'Alerts re-derived after a restart or rebalance that had been published already, and were dropped.',
    labelNames: ['rule_id'] as const,
    registers: [this.registry],
  });

  readonly lateEvents = new Counter({
    name: 'picket_late_events_total',
    help: 'Events older than their partition watermark on arrival; still matched against the state that remains.',
    labelNames: ['topic'] as const,
    registers: [this.registry],
  });

  readonly futureEvents = new Counter({
    name: 'picket_future_events_total',
    help: 'Events further ahead of the wall clock than ordering.maxAheadMs: seen by the stateless detection only, time not advanced.',
    labelNames: ['topic'],
    registers: [this.registry],
  });

  readonly stateEvictions = new Counter({
    name: 'picket_state_evictions_total',
    help: 'State entries dropped by a bound before they expired, by detection and reason.',
    labelNames: ['detection', 'reason'] as const,
    registers: [this.registry],
  });

  /** Set from the pipeline's collect callback (state lives in the partition processors). */
  readonly stateEntries = new Gauge({
    name: 'picket_state_entries',
    help: 'Entries held in the state of each correlating detection, over all partitions of this instance.',
    labelNames: ['detection'] as const,
    registers: [this.registry],
  });

  readonly reorderBufferEvents = new Gauge({
    name: 'picket_reorder_buffer_events',
    help: 'Events waiting in the reorder buffers for the watermark to pass them.',
    registers: [this.registry],
  });

  readonly consumerLag = new Gauge({
    name: 'picket_consumer_lag_messages',
    help: 'Records between the last one processed and the partition high watermark, as of the last batch.',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly assignedPartitions = new Gauge({
    name: 'picket_assigned_partitions',
    help: 'Partitions assigned to this instance: input partitions (router stage) and repartition partitions (detector stage).',
    registers: [this.registry],
  });

  readonly rebalances = new Counter({
    name: 'picket_rebalances_total',
    help: 'Consumer group rebalances this instance took part in.',
    registers: [this.registry],
  });

  readonly changelogRecords = new Counter({
    name: 'picket_changelog_records_total',
    help: 'State changes written to changelog topics (durable detection state), by detection.',
    labelNames: ['detection'],
    registers: [this.registry],
  });

  readonly stateRestoreSeconds = new Histogram({
    name: 'picket_state_restore_seconds',
    help: 'Time to read durable state back from the changelog topics after partitions were assigned.',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  readonly stateRestoredKeys = new Counter({
    name: 'picket_state_restored_keys_total',
    help: 'State keys restored from changelog topics (for example RDP destinations with their models), by detection.',
    labelNames: ['detection'],
    registers: [this.registry],
  });

  readonly alertsTuned = new Counter({
    name: 'picket_alerts_tuned_total',
    help: 'Alerts not published as they came, by detection and outcome (excepted, suppressed, circuit_broken, disabled).',
    labelNames: ['detection', 'outcome'],
    registers: [this.registry],
  });

  readonly alertExceptions = new Counter({
    name: 'picket_alert_exceptions_total',
    help: 'Alerts removed by each exception of the tuning file, by detection and exception name.',
    labelNames: ['detection', 'exception'],
    registers: [this.registry],
  });

  readonly tuningOutputs = new Counter({
    name: 'picket_tuning_outputs_total',
    help: 'Documents the tuning published besides alerts: suppression follow-ups and circuit-breaker summaries.',
    labelNames: ['detection', 'kind'],
    registers: [this.registry],
  });

  readonly tuningReloads = new Counter({
    name: 'picket_tuning_reloads_total',
    help: 'Reloads of the tuning file, by result (accepted, unchanged, refused).',
    labelNames: ['result'],
    registers: [this.registry],
  });

  readonly tuningInfo = new Gauge({
    name: 'picket_tuning_info',
    help: 'The tuning in force: 1 for its version (a hash of the file and its lists; "none" without a file).',
    labelNames: ['version'],
    registers: [this.registry],
  });

  readonly eventsRouted = new Counter({
    name: 'picket_events_routed_total',
    help: "Events the router stage produced to a keyed detection's repartition topic, by detection.",
    labelNames: ['detection'],
    registers: [this.registry],
  });

  readonly rebalancePauseSeconds = new Histogram({
    name: 'picket_rebalance_pause_seconds',
    help: 'From a rebalance starting (or a restart joining) to the first batch processed after it, by stage (router, detector): restores included.',
    labelNames: ['stage'],
    buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 60, 120],
    registers: [this.registry],
  });

  readonly publishedWindowIds = new Gauge({
    name: 'picket_published_alert_ids',
    help: 'Alert ids remembered as published (alerts.dedupeWindowMs): a re-derived alert with one of them is not published again.',
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: 'picket_ready',
    help: '1 when the consumer has joined its group and the producer is connected.',
    registers: [this.registry],
  });

  private readonly collectors: (() => void)[] = [];

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Registers a callback run before each scrape, for gauges computed from live state. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** The exposition text, after the collect callbacks ran. */
  async scrape(): Promise<string> {
    for (const fn of this.collectors) fn();
    return this.registry.metrics();
  }
}
