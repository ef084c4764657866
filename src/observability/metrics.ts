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

  readonly consumerLag = new Gauge({
    name: 'picket_consumer_lag_messages',
    help: 'Records between the last one processed and the partition high watermark, as of the last batch.',
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  readonly assignedPartitions = new Gauge({
    name: 'picket_assigned_partitions',
    help: 'Input partitions assigned to this instance.',
    registers: [this.registry],
  });

  readonly rebalances = new Counter({
    name: 'picket_rebalances_total',
    help: 'Consumer group rebalances this instance took part in.',
    registers: [this.registry],
  });

  readonly ready = new Gauge({
    name: 'picket_ready',
    help: '1 when the consumer has joined its group and the producer is connected.',
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }
}
