/**
 * One destination's model of its distinct-source count per bucket, and what it expects of a bucket.
 *
 * The count X of a bucket is modelled as negative binomial-like, with mean μ and variance
 * cμ + φμ² (reference/rules.md §B.6.3 suggests a negative binomial; c is SOURCE_CLUSTER below).
 * μ is a hierarchical, credibility-weighted estimate that uses as much seasonality as the history
 * supports:
 *
 *   level      L  = (α₀ + Σ counts) / (β₀ + Σ buckets × population slot factor)   Gamma posterior
 *   daily slot μd = (counts in d + κd · L · Pd) / (buckets in d + κd)
 *   weekly     μs = (counts in s + κw · μd · Ps/Pd) / (buckets in s + κw)
 *
 * so a destination without history is predicted by the population (level prior, seasonal shape);
 * after a few days its own daily rhythm dominates, after a few weeks its weekly one. Sums decay with
 * an 8-week half-life; empty buckets are zeros (at most one week of them is replayed after a gap:
 * a destination that was away longer keeps its estimate and only loses weight, i.e. certainty).
 *
 * φ is the predictive dispersion: how far counts actually fall from this model's predictions.
 * It is learned prequentially, from each bucket's residual against the prediction made before the
 * bucket (Σ((x − μ)² − cμ) / Σ μ², once the destination has a week of history), starting from a
 * structural prior with the weight of DISPERSION_PRIOR_BUCKETS buckets. The prior is the
 * population's dispersion plus the relative uncertainty ρ of μ itself (a Gamma mixture of negative
 * binomials is again one with φ + ρ): the level posterior's 1/(α₀ + Σ counts) and the spread of
 * destinations around the population's seasonal shape (and of that shape while the population is
 * young), weighted by how much the estimate still leans on them. A young destination is therefore
 * hard to surprise, and an old one is judged by its own track record. The sampling error of the
 * slot mean, (c/μ + φ) / (buckets in s + κw), is always added: a slot seen a few times is uncertain
 * whatever the rest of the week shows.
 *
 * A bucket's count enters the model winsorised at μ + 4 standard deviations, so a spike does not
 * teach the model that spikes are normal (ml-cpp similarly down-weights outliers).
 *
 * For early firing the model also learns, per daily slot, the share of a bucket's distinct sources
 * that first appear in each sub-slot (shrunk to the population's profile): the running count at
 * sub-slot j is compared with μ × (share of sub-slots 0..j), and the count of the last two
 * sub-slots with μ × their share. Day-to-day jitter of that timing is a Beta-distributed share with
 * concentration ν, which adds (1 − f)/f × (1/(ν + 1) + 1/n) to φ for a share f learned from n
 * arrivals; for the two-sub-slot window that is only the prior of a dispersion again learned
 * prequentially from the bucket's disjoint windows.
 *
 * All numbers live in one Float32Array (about 500 bytes for 6-hour buckets) plus a few scalars.
 */
import type { BucketLayout } from './bucketLayout.js';
import { nbUpperTail } from './negativeBinomial.js';
import { NORMALISER_BINS, recordRawScore } from './normaliser.js';
import type { PopulationPrior } from './population.js';

/** Shrinkage of daily-slot means to level × population daily factor, in buckets. */
export const KAPPA_DAY = 2;
/** Shrinkage of weekly-slot means to the daily-slot mean × population weekday factor, in buckets. */
export const KAPPA_WEEK = 3;
/** Relative variance of a destination's daily factors around the population's. */
export const TAU2_DAY = 0.5;
/** Relative variance of a destination's weekday effects around the population's. */
export const TAU2_WEEK = 0.15;
/** Weight of the structural prior of φ, in buckets at the current mean. */
export const DISPERSION_PRIOR_BUCKETS = 8;
/** Weight of the structural prior of the window φ, in windows at the current mean. */
export const WINDOW_DISPERSION_PRIOR = 24;
export const MIN_DISPERSION = 0.01;
export const MAX_DISPERSION = 20;
/** Bound on the predictive φ (its uncertainty part grows as 1/μ for slots never active). */
export const MAX_PREDICTIVE_DISPERSION = 1000;
/** Expected counts are at least this: a slot never active is still allowed to be. */
export const MIN_MEAN = 1e-3;
/** Concentration of the within-bucket timing share (day-to-day jitter). */
export const PROFILE_CONCENTRATION = 20;
/** Weight of the population profile in a destination's, in arrivals. */
export const PROFILE_PSEUDO = 20;
/** Half-life of everything learned, in weeks. */
export const MODEL_HALF_LIFE_WEEKS = 8;
/** Winsorisation of counts entering the model, in predictive standard deviations. */
export const WINSOR_SD = 4;
/**
 * Sources come in groups: a team logging in together, a patch crew, one person on two machines.
 * The count is modelled as a compound one, groups negative binomial and SOURCE_CLUSTER sources per
 * group, so its variance is cμ + φμ² (quasi-Poisson dispersion c): two sources where none are
 * expected are one unusual group, not two independent surprises. It matters only where counts are
 * small; a spike of many new sources is as significant as before.
 */
export const SOURCE_CLUSTER = 2;

/** P(X ≥ x) of the bucket count model: (X / c) negative binomial with mean μ / c and the same φ. */
export function countUpperTail(x: number, mean: number, phi: number): number {
  return nbUpperTail(x / SOURCE_CLUSTER, mean / SOURCE_CLUSTER, phi);
}

/** Variance of the bucket count model. */
export function countVariance(mean: number, phi: number): number {
  return SOURCE_CLUSTER * mean + phi * mean * mean;
}

/** What a destination's model expects of one bucket: fixed when the bucket opens. */
export interface BucketExpectation {
  /** Expected distinct count of the whole bucket (the alert's "typical count"). */
  readonly mean: number;
  /** Predictive overdispersion of the whole bucket's count. */
  readonly phi: number;
  /** The level and ρ behind it (for learning). */
  readonly level: number;
  readonly rho: number;
  /** Expected running count at the end of each sub-slot, and its overdispersion. */
  readonly cumMean: Float64Array;
  readonly cumPhi: Float64Array;
  /** Expected count of sources first seen in sub-slots j − 1 and j, and its overdispersion. */
  readonly winMean: Float64Array;
  readonly winPhi: Float64Array;
}

/** What a bucket taught the model: its winsorised count and dispersion terms. */
export interface Learned {
  readonly count: number;
  readonly dispA: number;
  readonly dispB: number;
}

export interface ModelJson {
  readonly v: 1;
  readonly first: number;
  readonly last: number;
  /** Prequential residual sums: bucket (A, B) and window (A, B). */
  readonly disp: [number, number, number, number];
  readonly data: number[];
}

export class DestinationModel {
  /** [weekly sums | weekly weights | profile (daily slot × sub-slot) | raw-score histogram]. */
  readonly data: Float32Array;
  /** First bucket this destination was seen in. */
  firstBucket: number;
  /** Last bucket whose count has been learned. */
  lastBucket: number;
  /** Prequential sums Σ((x − μ)² − cμ) and Σ μ², of buckets and of windows. */
  private dispA = 0;
  private dispB = 0;
  private winA = 0;
  private winB = 0;

  constructor(
    private readonly layout: BucketLayout,
    firstBucket: number,
  ) {
    const S = layout.weeklySlots;
    this.data = new Float32Array(2 * S + layout.dailySlots * layout.subslots + NORMALISER_BINS);
    this.firstBucket = firstBucket;
    this.lastBucket = firstBucket - 1;
  }

  /** Offset of the raw-score histogram in `data` (for normaliser.ts). */
  get histogramOffset(): number {
    return 2 * this.layout.weeklySlots + this.layout.dailySlots * this.layout.subslots;
  }

  /** Buckets of history learned so far. */
  get historyBuckets(): number {
    return this.lastBucket - this.firstBucket + 1;
  }

  /** The model's expectation of bucket `b` (call after advanceTo(b)). */
  expect(b: number, pop: PopulationPrior): BucketExpectation {
    const L = this.layout;
    const S = L.weeklySlots;
    const D = L.dailySlots;
    const K = L.subslots;
    const d = this.data;
    const s = L.weekSlot(b);
    const day = L.daySlot(b);

    const { alpha, beta } = pop.levelPrior();
    let sumAll = 0;
    let exposure = 0;
    let sumDay = 0;
    let weightDay = 0;
    for (let i = 0; i < S; i++) {
      sumAll += d[i]!;
      exposure += d[S + i]! * pop.slotFactor(i);
      if (i % D === day) {
        sumDay += d[i]!;
        weightDay += d[S + i]!;
      }
    }
    const level = (alpha + sumAll) / (beta + exposure);
    const rhoLevel = 1 / (alpha + sumAll);
    const pDay = pop.dayFactor(day);
    const pSlot = pop.slotFactor(s);
    const shDay = KAPPA_DAY / (weightDay + KAPPA_DAY);
    const meanDay = (sumDay + KAPPA_DAY * level * pDay) / (weightDay + KAPPA_DAY);
    const weightSlot = d[S + s]!;
    const shWeek = KAPPA_WEEK / (weightSlot + KAPPA_WEEK);
    const mean = Math.max(MIN_MEAN, (d[s]! + KAPPA_WEEK * meanDay * (pSlot / pDay)) / (weightSlot + KAPPA_WEEK));

    const popPhi = pop.dispersion();
    const structural =
      shWeek * (TAU2_WEEK + pop.slotUncertainty(s) + shDay * (TAU2_DAY + pop.dayUncertainty(day) + rhoLevel));
    const sampleOf = (phi: number): number => (SOURCE_CLUSTER / mean + phi) / (weightSlot + KAPPA_WEEK);
    const prior = popPhi + structural + sampleOf(popPhi);
    const pseudo = DISPERSION_PRIOR_BUCKETS * mean * mean;
    const psi = clamp((this.dispA + pseudo * prior) / (this.dispB + pseudo), MIN_DISPERSION, MAX_DISPERSION);
    const sampling = sampleOf(psi);
    const phi = Math.min(MAX_PREDICTIVE_DISPERSION, psi + sampling);
    const rho = phi - psi;

    // Within-bucket profile of this daily slot.
    const base = 2 * S + day * K;
    let own = 0;
    for (let j = 0; j < K; j++) own += d[base + j]!;
    const cumMean = new Float64Array(K);
    const cumPhi = new Float64Array(K);
    const winMean = new Float64Array(K);
    const winPhi = new Float64Array(K);
    const jitter = 1 / (PROFILE_CONCENTRATION + 1) + 1 / (own + PROFILE_PSEUDO);
    const shareSampling = 1 / (own + PROFILE_PSEUDO);
    let cum = 0;
    let prevShare = 0;
    for (let j = 0; j < K; j++) {
      const share = (d[base + j]! + PROFILE_PSEUDO * pop.profileShare(day, j)) / (own + PROFILE_PSEUDO);
      cum = j === K - 1 ? 1 : Math.min(1, cum + share);
      const win = Math.min(1, share + prevShare);
      cumMean[j] = Math.max(MIN_MEAN, mean * cum);
      cumPhi[j] = Math.min(MAX_PREDICTIVE_DISPERSION, phi + shareVariance(cum, jitter));
      const m = Math.max(MIN_MEAN, mean * win);
      winMean[j] = m;
      const winPrior = psi + shareVariance(win, jitter);
      const winPseudo = WINDOW_DISPERSION_PRIOR * m * m;
      const winPsi = clamp(
        (this.winA + winPseudo * winPrior) / (this.winB + winPseudo),
        MIN_DISPERSION,
        MAX_DISPERSION,
      );
      winPhi[j] = Math.min(MAX_PREDICTIVE_DISPERSION, winPsi + sampling + shareVariance(win, shareSampling));
      prevShare = share;
    }
    return { mean, phi, level, rho, cumMean, cumPhi, winMean, winPhi };
  }

  /**
   * Learns bucket `b`'s final count (after advanceTo(b)). `arrivals[j]`: sources first seen in
   * sub-slot j; `raw`: the bucket's raw anomalousness (normaliser). Returns what was learned, for
   * the population.
   */
  learn(b: number, count: number, arrivals: ArrayLike<number> | undefined, raw: number, e: BucketExpectation): Learned {
    this.decay(1);
    const L = this.layout;
    const S = L.weeklySlots;
    const K = L.subslots;
    const d = this.data;
    const cap = e.mean + WINSOR_SD * Math.sqrt(countVariance(e.mean, e.phi)) + 1;
    const x = Math.min(count, cap);
    const s = L.weekSlot(b);
    d[s]! += x;
    d[S + s]! += 1;
    // Prequential residuals, once predictions rest on a week of the destination's own history.
    const mature = b - this.firstBucket >= L.bucketsPerWeek;
    const resid = mature ? (x - e.mean) * (x - e.mean) - SOURCE_CLUSTER * e.mean : 0;
    const sq = mature ? e.mean * e.mean : 0;
    this.dispA += resid;
    this.dispB += sq;
    const scale = count > 0 ? x / count : 0;
    if (mature) {
      // Disjoint windows (sub-slots j − 1 and j, j odd), as the running test sees them.
      for (let j = 1; j < K; j += 2) {
        const a = arrivals === undefined ? 0 : (arrivals[j - 1]! + arrivals[j]!) * scale;
        const m = e.winMean[j]!;
        this.winA += (a - m) * (a - m) - SOURCE_CLUSTER * m;
        this.winB += m * m;
      }
    }
    if (arrivals !== undefined && count > 0) {
      const base = 2 * S + L.daySlot(b) * K;
      for (let j = 0; j < K; j++) d[base + j]! += arrivals[j]! * scale;
    }
    recordRawScore(raw, d, this.histogramOffset);
    this.lastBucket = b;
    return { count: x, dispA: resid, dispB: sq };
  }

  /**
   * Brings the model to just before bucket `b`: the buckets since the last one learned were empty.
   * The last week of them is learned as zeros; anything older only decays.
   */
  advanceTo(b: number, pop: PopulationPrior): void {
    const gap = b - 1 - this.lastBucket;
    if (gap <= 0) return;
    const replay = Math.min(gap, Math.max(1, Math.round(this.layout.bucketsPerWeek)));
    this.decay(gap - replay);
    // An empty bucket is never anomalous: its raw score is 0.
    for (let bb = b - replay; bb < b; bb++) this.learn(bb, 0, undefined, 0, this.expect(bb, pop));
    this.lastBucket = b - 1;
  }

  private decay(buckets: number): void {
    if (buckets <= 0) return;
    const f = Math.pow(this.layout.decayPerBucket(MODEL_HALF_LIFE_WEEKS), buckets);
    const d = this.data;
    for (let i = 0; i < d.length; i++) d[i]! *= f;
    this.dispA *= f;
    this.dispB *= f;
    this.winA *= f;
    this.winB *= f;
  }

  toJSON(): ModelJson {
    return {
      v: 1,
      first: this.firstBucket,
      last: this.lastBucket,
      disp: [this.dispA, this.dispB, this.winA, this.winB],
      data: [...this.data],
    };
  }

  static fromJSON(json: ModelJson, layout: BucketLayout): DestinationModel {
    if (json.v !== 1) throw new Error(`unknown model state version ${String(json.v)}`);
    const m = new DestinationModel(layout, json.first);
    if (json.data.length !== m.data.length)
      throw new Error('model state was saved with another bucket span or sub-slot count');
    m.data.set(json.data);
    m.lastBucket = json.last;
    [m.dispA, m.dispB, m.winA, m.winB] = json.disp;
    return m;
  }
}

/** Extra relative variance of the expected count of a share f of the bucket. */
function shareVariance(f: number, jitter: number): number {
  return f >= 1 ? 0 : ((1 - f) / Math.max(f, 1e-6)) * jitter;
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
