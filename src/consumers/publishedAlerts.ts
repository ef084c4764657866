/**
 * The published-position check of exactly-once alerts (issue 9): the ids of the alerts published
 * in the last `alerts.dedupeWindowMs`, so that an alert derived again is not published twice.
 *
 * Alert ids are deterministic (src/alerts/alert.ts): the same events give the same id. An alert is
 * derived again when records are read a second time:
 * - after a crash (SIGKILL, OOM, broker outage) between publishing an alert and committing the
 *   offsets that cover it — the commit metadata (partitionProcessor.ts) cannot know about it;
 * - after the router stage re-produced repartition records it had produced before a crash: the
 *   detector sees those events twice.
 * Each stage reads the output topic's tail back (the `picket.alert.id` header of each alert
 * record, from `now - window`) whenever it joins its group, before it processes a record, and
 * remembers every alert it publishes; an alert whose id is known is dropped (counted in
 * picket_alerts_deduplicated_total).
 *
 * Why not Kafka transactions: see bench/README.md ("Exactly-once") — their cost, and that the
 * usual readers of the output topic (Logstash's kafka input, Filebeat) read uncommitted records by
 * default, so an aborted transaction's alerts would reach them anyway.
 */
import type { KafkaClient } from './client.js';

/** Record header of every alert record: its `event.id`. */
export const ALERT_ID_HEADER = 'picket.alert.id';

const READ_STALL_TIMEOUT_MS = 30_000;

export class PublishedAlerts {
  /** id → wall time it was published (record timestamp when read back). */
  private readonly ids = new Map<string, number>();
  private lastExpiry = 0;

  constructor(
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get enabled(): boolean {
    return this.windowMs > 0;
  }

  get size(): number {
    return this.ids.size;
  }

  has(id: string): boolean {
    if (!this.enabled) return false;
    this.expire();
    return this.ids.has(id);
  }

  add(id: string, at: number = this.now()): void {
    if (!this.enabled) return;
    const known = this.ids.get(id);
    if (known === undefined || known < at) this.ids.set(id, at);
  }

  /** Forgets ids older than the window (at most once a second: a scan of the map). */
  private expire(): void {
    const t = this.now();
    if (t - this.lastExpiry < 1000) return;
    this.lastExpiry = t;
    const cutoff = t - this.windowMs;
    for (const [id, at] of this.ids) if (at < cutoff) this.ids.delete(id);
  }

  /**
   * Reads the ids of the alerts published in the window back from the output topic. Resolves with
   * the number of alert records read.
   */
  async readBack(client: KafkaClient, topic: string, partitions: number, groupIdPrefix: string): Promise<number> {
    if (!this.enabled || partitions === 0) return 0;
    let n = 0;
    await client.readToEnd(
      topic,
      Array.from({ length: partitions }, (_, i) => i),
      (r) => {
        const h = r.headers?.[ALERT_ID_HEADER];
        if (h === undefined) return;
        this.add(typeof h === 'string' ? h : h.toString('utf8'), r.timestamp ?? this.now());
        n++;
      },
      { timeoutMs: READ_STALL_TIMEOUT_MS, groupIdPrefix, fromTimestamp: this.now() - this.windowMs },
    );
    return n;
  }
}
