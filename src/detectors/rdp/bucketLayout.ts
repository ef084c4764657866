/**
 * Time arithmetic of D4: tumbling buckets aligned to the Unix epoch (as Elastic's anomaly jobs
 * align theirs), their place in the day and the week (the seasonal slots of the model), and the
 * sub-slots a bucket is divided into for early firing.
 *
 * A span that divides a day gets daily slots (4 for 6 h) and weekly slots (28 for 6 h); one that
 * divides a week but not a day gets weekly slots only; any other span gets no seasonality. Slots are
 * in UTC: the model learns whatever local rhythm the data has.
 */

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;

export class BucketLayout {
  /** Slots per day (1 when the span does not divide a day). */
  readonly dailySlots: number;
  /** Slots per week (= dailySlots × 7 with daily seasonality; 1 without seasonality). */
  readonly weeklySlots: number;
  /** Buckets per week, for half-lives given in weeks (may be fractional). */
  readonly bucketsPerWeek: number;
  readonly subslotMs: number;

  constructor(
    readonly spanMs: number,
    readonly subslots: number,
  ) {
    if (!Number.isInteger(spanMs) || spanMs < 60_000)
      throw new Error(`bucket span must be at least one minute, not ${spanMs}`);
    if (!Number.isInteger(subslots) || subslots < 1 || subslots > 96)
      throw new Error(`subslots must be 1–96, not ${subslots}`);
    if (DAY_MS % spanMs === 0) {
      this.dailySlots = DAY_MS / spanMs;
      this.weeklySlots = 7 * this.dailySlots;
    } else if (WEEK_MS % spanMs === 0) {
      this.dailySlots = 1;
      this.weeklySlots = WEEK_MS / spanMs;
    } else {
      this.dailySlots = 1;
      this.weeklySlots = 1;
    }
    this.bucketsPerWeek = WEEK_MS / spanMs;
    this.subslotMs = spanMs / subslots;
  }

  bucketOf(time: number): number {
    return Math.floor(time / this.spanMs);
  }

  startOf(bucket: number): number {
    return bucket * this.spanMs;
  }

  endOf(bucket: number): number {
    return (bucket + 1) * this.spanMs;
  }

  weekSlot(bucket: number): number {
    return mod(bucket, this.weeklySlots);
  }

  daySlot(bucket: number): number {
    return mod(bucket, this.dailySlots);
  }

  /** The sub-slot (0 … subslots − 1) of `time` within `bucket`. */
  subslotOf(time: number, bucket: number): number {
    const j = Math.floor((time - bucket * this.spanMs) / this.subslotMs);
    return j < 0 ? 0 : j >= this.subslots ? this.subslots - 1 : j;
  }

  /** Per-bucket decay factor for a half-life given in weeks. */
  decayPerBucket(halfLifeWeeks: number): number {
    return Math.pow(0.5, 1 / (halfLifeWeeks * this.bucketsPerWeek));
  }
}

function mod(a: number, n: number): number {
  const r = a % n;
  return r < 0 ? r + n : r;
}
