/**
 * What the destinations of one partition have in common, learned from all of them: the prior a
 * destination's own model is shrunk towards while its history is short, and all a destination seen
 * for the first time is scored by (the "population prior").
 *
 * - Seasonal factors: the mean distinct count of a destination-bucket in each weekly slot, relative
 *   to the mean over the week (empty buckets of the destinations held count as zeros).
 * - Within-bucket profile: in each daily slot, the share of a bucket's distinct sources that first
 *   appear in each sub-slot (for early firing: how much of the bucket's count is expected by now).
 * - Level prior: a Gamma distribution (method of moments) over destination levels, a level being
 *   a destination's mean count per bucket per unit of seasonal factor. Its shape α₀ is small when
 *   destinations differ a lot, which makes a new destination's predictive distribution wide.
 * - Overdispersion: the pooled estimate of φ (variance μ + φμ²) over all destinations.
 *
 * Statistics decay with the same half-life as the destination models; observations are added when
 * buckets close, in event-time order, so the prior a bucket is scored against depends only on
 * buckets that ended before it.
 */
import type { BucketLayout } from './bucketLayout.js';

/** Pseudo-observations of the overall mean given to each slot mean (smooths sparse slots). */
const SLOT_PSEUDO = 5;
/** Level prior before any destination closed a bucket: mean 1, variance 20 (shape 0.05). */
const DEFAULT_LEVEL_MEAN = 1;
const DEFAULT_LEVEL_VAR = 20;
/** Weight, in observations, of the default level prior and of the default dispersion. */
const LEVEL_PSEUDO = 10;
export const DEFAULT_POPULATION_DISPERSION = 0.1;
const DISPERSION_PSEUDO = 50;
const MIN_SHAPE = 0.02;
/**
 * Relative variance of a seasonal factor the population has never observed, and how fast it falls
 * with the (decayed) number of times it was observed: v / (1 + 100 n), so one observation of a slot
 * across all destinations pins its factor down to about the day-to-day swing. Until picket has seen
 * a whole day nobody knows the daily rhythm, and office hours easily see 50 times the night's
 * sources (a log-ratio of 4: v = 16); until it has seen a whole week, a weekday may still turn out
 * to be a weekend (a tenth of the sources: v = 4 for the weekday ratio).
 */
const UNSEEN_DAY_VARIANCE = 16;
const UNSEEN_WEEKDAY_VARIANCE = 4;
const FACTOR_PRECISION_PER_OBSERVATION = 100;
const MAX_SHAPE = 20;

export interface LevelPrior {
  /** Gamma shape. */
  readonly alpha: number;
  /** Gamma rate (alpha / mean level). */
  readonly beta: number;
}

export interface PopulationJson {
  readonly v: 1;
  readonly bucket: number;
  readonly slotSum: number[];
  readonly slotN: number[];
  readonly slotSeen: number[];
  readonly profile: number[];
  readonly level: [number, number, number];
  readonly disp: [number, number];
}

export class PopulationPrior {
  private readonly slotSum: Float64Array;
  private readonly slotN: Float64Array;
  /** Times each weekly slot was observed (buckets, decayed). */
  private readonly slotSeen: Float64Array;
  private readonly profile: Float64Array;
  /** Decayed weight, mean and M2 of observed destination levels. */
  private levelW = 0;
  private levelMean = 0;
  private levelM2 = 0;
  private dispA = 0;
  private dispB = 0;
  /** Last bucket whose decay has been applied. */
  private bucket = Number.NaN;
  private factorsValid = false;
  private readonly slotFactors: Float64Array;
  private readonly dayFactors: Float64Array;
  private readonly shares: Float64Array;

  constructor(
    private readonly layout: BucketLayout,
    private readonly decay: number,
  ) {
    const S = layout.weeklySlots;
    const D = layout.dailySlots;
    const K = layout.subslots;
    this.slotSum = new Float64Array(S);
    this.slotN = new Float64Array(S);
    this.slotSeen = new Float64Array(S);
    this.profile = new Float64Array(D * K);
    this.slotFactors = new Float64Array(S);
    this.dayFactors = new Float64Array(D);
    this.shares = new Float64Array(D * K);
  }

  /** Ages the statistics to `bucket` (buckets only move forward). */
  advanceTo(bucket: number): void {
    if (Number.isNaN(this.bucket)) {
      this.bucket = bucket;
      return;
    }
    if (bucket <= this.bucket) return;
    const f = Math.pow(this.decay, bucket - this.bucket);
    this.bucket = bucket;
    for (let i = 0; i < this.slotSum.length; i++) {
      this.slotSum[i]! *= f;
      this.slotN[i]! *= f;
      this.slotSeen[i]! *= f;
    }
    for (let i = 0; i < this.profile.length; i++) this.profile[i]! *= f;
    this.levelW *= f;
    this.levelM2 *= f;
    this.dispA *= f;
    this.dispB *= f;
    this.factorsValid = false;
  }

  /** A destination closed a non-empty bucket. `arrivals[j]`: its sources first seen in sub-slot j. */
  observeBucket(
    bucket: number,
    count: number,
    arrivals: ArrayLike<number>,
    level: number,
    dispA: number,
    dispB: number,
  ): void {
    this.advanceTo(bucket);
    this.slotSum[this.layout.weekSlot(bucket)]! += count;
    const base = this.layout.daySlot(bucket) * this.layout.subslots;
    for (let j = 0; j < this.layout.subslots; j++) this.profile[base + j]! += arrivals[j]!;
    this.levelW += 1;
    const delta = level - this.levelMean;
    this.levelMean += delta / this.levelW;
    this.levelM2 += delta * (level - this.levelMean);
    this.dispA += dispA;
    this.dispB += dispB;
    this.factorsValid = false;
  }

  /** Every destination held has a bucket `bucket` (empty ones count as zero observations). */
  observeDestinations(bucket: number, held: number): void {
    this.advanceTo(bucket);
    this.slotN[this.layout.weekSlot(bucket)]! += held;
    this.slotSeen[this.layout.weekSlot(bucket)]! += 1;
    this.factorsValid = false;
  }

  /** Relative variance of the weekday ratio slotFactor(s) / dayFactor(d) itself (large until seen). */
  slotUncertainty(s: number): number {
    return UNSEEN_WEEKDAY_VARIANCE / (1 + FACTOR_PRECISION_PER_OBSERVATION * this.slotSeen[s]!);
  }

  /** Relative variance of dayFactor(d) itself (large until the time of day has been seen). */
  dayUncertainty(d: number): number {
    let seen = 0;
    for (let s = d; s < this.slotSeen.length; s += this.layout.dailySlots) seen += this.slotSeen[s]!;
    return UNSEEN_DAY_VARIANCE / (1 + FACTOR_PRECISION_PER_OBSERVATION * seen);
  }

  private refresh(): void {
    if (this.factorsValid) return;
    const S = this.slotSum.length;
    const D = this.layout.dailySlots;
    const K = this.layout.subslots;
    let sum = 0;
    let n = 0;
    for (let s = 0; s < S; s++) {
      sum += this.slotSum[s]!;
      n += this.slotN[s]!;
    }
    const overall = n > 0 && sum > 0 ? sum / n : 1;
    let meanOfSlots = 0;
    for (let s = 0; s < S; s++) {
      const m = (this.slotSum[s]! + SLOT_PSEUDO * overall) / (this.slotN[s]! + SLOT_PSEUDO);
      this.slotFactors[s] = m;
      meanOfSlots += m / S;
    }
    for (let s = 0; s < S; s++) this.slotFactors[s]! /= meanOfSlots;
    for (let d = 0; d < D; d++) {
      let f = 0;
      let c = 0;
      for (let s = d; s < S; s += D) {
        f += this.slotFactors[s]!;
        c++;
      }
      this.dayFactors[d] = f / c;
    }
    for (let d = 0; d < D; d++) {
      let total = 0;
      for (let j = 0; j < K; j++) total += this.profile[d * K + j]!;
      for (let j = 0; j < K; j++) this.shares[d * K + j] = (this.profile[d * K + j]! + 1) / (total + K);
    }
    this.factorsValid = true;
  }

  /** Mean count of weekly slot `s` relative to the weekly mean (1 = average). */
  slotFactor(s: number): number {
    this.refresh();
    return this.slotFactors[s]!;
  }

  /** Mean factor of daily slot `d` over the week's days. */
  dayFactor(d: number): number {
    this.refresh();
    return this.dayFactors[d]!;
  }

  /** Expected share of a bucket's distinct sources first seen in sub-slot `j` of daily slot `d`. */
  profileShare(d: number, j: number): number {
    this.refresh();
    return this.shares[d * this.layout.subslots + j]!;
  }

  levelPrior(): LevelPrior {
    const w = this.levelW;
    const mean = (w * this.levelMean + LEVEL_PSEUDO * DEFAULT_LEVEL_MEAN) / (w + LEVEL_PSEUDO);
    // Pooled second moment of the observed levels and the default prior's.
    const observedSecond = w > 0 ? this.levelM2 / w + this.levelMean * this.levelMean : 0;
    const defaultSecond = DEFAULT_LEVEL_VAR + DEFAULT_LEVEL_MEAN * DEFAULT_LEVEL_MEAN;
    const second = (w * observedSecond + LEVEL_PSEUDO * defaultSecond) / (w + LEVEL_PSEUDO);
    const variance = Math.max(second - mean * mean, 1e-6);
    const alpha = Math.min(MAX_SHAPE, Math.max(MIN_SHAPE, (mean * mean) / variance));
    return { alpha, beta: alpha / Math.max(mean, 1e-6) };
  }

  /** Pooled overdispersion φ of the destinations. */
  dispersion(): number {
    // dispB is a sum of squared means: the default gets the weight of DISPERSION_PSEUDO buckets of mean 1.
    return Math.max(
      0,
      (this.dispA + DISPERSION_PSEUDO * DEFAULT_POPULATION_DISPERSION) / (this.dispB + DISPERSION_PSEUDO),
    );
  }

  toJSON(): PopulationJson {
    return {
      v: 1,
      bucket: this.bucket,
      slotSum: [...this.slotSum],
      slotN: [...this.slotN],
      slotSeen: [...this.slotSeen],
      profile: [...this.profile],
      level: [this.levelW, this.levelMean, this.levelM2],
      disp: [this.dispA, this.dispB],
    };
  }

  restore(json: PopulationJson): void {
    if (json.v !== 1) throw new Error(`unknown population state version ${String(json.v)}`);
    if (json.slotSum.length !== this.slotSum.length || json.profile.length !== this.profile.length) {
      throw new Error('population state was saved with another bucket span or sub-slot count');
    }
    this.bucket = json.bucket ?? Number.NaN;
    this.slotSum.set(json.slotSum);
    this.slotN.set(json.slotN);
    this.slotSeen.set(json.slotSeen);
    this.profile.set(json.profile);
    [this.levelW, this.levelMean, this.levelM2] = json.level;
    [this.dispA, this.dispB] = json.disp;
    this.factorsValid = false;
  }
}
