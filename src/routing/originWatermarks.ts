/**
 * Event time of a detector-stage partition: the lowest watermark among the input partitions whose
 * events reach it (Flink's rule for a stream fed by several upstream partitions).
 *
 * The router stage sends each input partition's watermark (its highest event time minus the
 * allowed lateness, moved on by idleness) to every repartition partition as a heartbeat. If event
 * time here followed the newest event instead, an input partition that fell behind — its router
 * was killed, and the group takes a session timeout to notice and give the partition to another —
 * would have all its events arrive late, and sequences whose events it holds would be lost. With
 * the lowest watermark, it holds event time back: alerts wait, none is lost.
 *
 * An idle input partition (no records for ordering.idleTimeoutMs, says its router) does not hold
 * event time back either, as Flink treats an idle source: its next events may then be late. When
 * every input partition is idle or silent, the caller moves event time on by its own idleness.
 *
 * An input partition not heard from (heartbeat or event) for `silenceMs` of wall time no longer
 * holds event time back: its partition is no longer read (a topic shrank, a router stage was
 * stopped for good). `silenceMs` is longer than the group takes to hand a crashed router's
 * partitions to another (the session timeout), so a crash delays alerts instead of losing them.
 * Until `warmupMs` after the first heartbeat nothing moves: after a start, every router's
 * heartbeat has to be heard before the lowest one is known.
 */
export class OriginWatermarks {
  private readonly origins = new Map<string, { watermark: number; heardAt: number; idle: boolean }>();
  private firstHeardAt: number | undefined;

  constructor(
    readonly silenceMs: number,
    readonly warmupMs: number,
  ) {}

  /**
   * A heartbeat (or, with -Infinity, an event: the partition is then not idle) from `origin`, read
   * at wall time `now`.
   */
  heard(origin: string, watermark: number, now: number, idle = false): void {
    this.firstHeardAt ??= now;
    const o = this.origins.get(origin);
    if (o === undefined) this.origins.set(origin, { watermark, heardAt: now, idle });
    else {
      if (watermark > o.watermark) o.watermark = watermark;
      o.heardAt = now;
      o.idle = idle;
    }
  }

  /** True when every origin heard is idle or silent (and there is at least one). */
  allQuiet(now: number): boolean {
    if (this.origins.size === 0) return false;
    for (const o of this.origins.values()) if (!o.idle && now - o.heardAt <= this.silenceMs) return false;
    return true;
  }

  /** The watermark now: -Infinity until warmed up, or while no live origin has one. */
  watermark(now: number): number {
    if (this.firstHeardAt === undefined || now - this.firstHeardAt < this.warmupMs) return Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const o of this.origins.values()) {
      if (o.idle || now - o.heardAt > this.silenceMs) continue;
      if (o.watermark < min) min = o.watermark;
    }
    return min === Number.POSITIVE_INFINITY ? Number.NEGATIVE_INFINITY : min;
  }

  get size(): number {
    return this.origins.size;
  }
}
