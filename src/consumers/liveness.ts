/**
 * Whether the consumer is in touch with the broker, for /readyz and for idle partitions.
 *
 * A group member can stay "joined" for minutes while the broker is gone: the client keeps
 * retrying its fetches and reports nothing until it gives up and restarts. So contact is tracked
 * instead: every successful fetch, heartbeat or join is contact, and a healthy consumer has some
 * at least every fetch wait (kafkajs: 5 s) while idle. No contact for `stallMs` is a stall.
 *
 * Idle partitions (ordering.idleTimeoutMs) must not let event time move on during a stall: records
 * that the sources wrote meanwhile arrive afterwards, and would all be late. So idleness is counted
 * only from the end of the last stall (`idleSince`). The start of an outage still counts as idle
 * until it is noticed (a crash, usually within seconds, or `stallMs`). When the consumer rejoins
 * after it (a restart or an expired session), the partitions are rebuilt from their committed
 * offsets anyway, which undoes that; only an outage shorter than both keeps its effect.
 */
export class ConsumerLiveness {
  private lastContactAt: number | undefined;
  private liveSinceAt = 0;
  private lost = true;

  constructor(
    private readonly stallMs: number,
    private readonly now: () => number,
  ) {}

  /** A fetch, heartbeat or join succeeded. */
  contact(): void {
    const t = this.now();
    if (!this.isLive()) this.liveSinceAt = t;
    this.lastContactAt = t;
    this.lost = false;
  }

  /** The consumer crashed or stopped: out of touch until its next contact. */
  lose(): void {
    this.lost = true;
  }

  isLive(): boolean {
    return !this.lost && this.lastContactAt !== undefined && this.now() - this.lastContactAt <= this.stallMs;
  }

  /** Wall time from which idleness may be counted: when contact was last regained. */
  idleSince(): number {
    return this.liveSinceAt;
  }

  /** For /readyz: ms since the last contact, if any. */
  sinceContactMs(): number | undefined {
    return this.lastContactAt === undefined ? undefined : this.now() - this.lastContactAt;
  }
}

/** A stall is longer than a session timeout (the group would drop the member) and than two fetch waits. */
export function stallThresholdMs(sessionTimeoutMs: number): number {
  return Math.max(sessionTimeoutMs, 15_000);
}
