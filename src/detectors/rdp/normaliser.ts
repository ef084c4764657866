/**
 * Elastic-style normalisation of a raw anomalousness into a 0–100 score, per destination
 * (reference/rules.md §B.5): the percentile of the raw score among the destination's past raw
 * scores, mapped through Elastic's knot points (anomalyScore.ts), and capped by Elastic's
 * probability ceiling. Since 6.5 Elastic keeps these quantiles per partition; so does picket, with
 * one histogram of past raw scores per destination.
 *
 * The histogram has a zero bin (raw 0: p ≥ 0.05, most buckets) and bins bounded by probabilities
 * 0.05, 0.02, 0.01, … 1e-200 (finer where scores near the alert threshold fall); within a bin the
 * distribution is taken as uniform in raw score. Past scores decay (the caller multiplies the bins
 * once per bucket), as Elastic's quantile summaries do.
 *
 * A destination without history cannot have percentiles. Elastic then gives low scores until weeks
 * of buckets exist; picket instead starts every destination from a population prior: `PRIOR_BUCKETS`
 * pseudo-buckets of a perfectly calibrated model, whose probabilities are uniform, so that a share
 * q/2 of them has Elastic's doubled probability below q. The prior keeps its weight; a destination's
 * own scores outweigh it after a few weeks. Under the prior alone a score of 70 needs the
 * probability ceiling's p ≤ 7.1e-4 (the knots would give 70 already at p ≈ 0.011).
 */
import { SMALLEST_PROBABILITY, anomalyScore, knotScore, probabilityCeiling } from './anomalyScore.js';

/** Probability bounds of the bins above zero, decreasing. */
const P_EDGES = [
  0.05,
  0.02,
  0.01,
  5e-3,
  2e-3,
  1e-3,
  5e-4,
  2e-4,
  1e-4,
  1e-5,
  1e-6,
  1e-8,
  1e-10,
  1e-15,
  1e-20,
  1e-30,
  1e-50,
  1e-100,
  1e-200,
  SMALLEST_PROBABILITY,
];
/** Raw-score bounds of bins 1 … n (bin 0 holds the raw score 0). */
const RAW_EDGES = P_EDGES.map(anomalyScore);
/** Bins, the zero bin included. */
export const NORMALISER_BINS = P_EDGES.length;

/** Weight of the calibrated prior, in buckets (four weeks of 6-hour buckets). */
export const PRIOR_BUCKETS = 112;

const PRIOR = ((): Float64Array => {
  const prior = new Float64Array(NORMALISER_BINS);
  prior[0] = PRIOR_BUCKETS * (1 - P_EDGES[0]! / 2);
  for (let i = 1; i < NORMALISER_BINS; i++) prior[i] = (PRIOR_BUCKETS * (P_EDGES[i - 1]! - P_EDGES[i]!)) / 2;
  return prior;
})();

/** The bin of a raw score. */
export function binOf(raw: number): number {
  if (!(raw > 0)) return 0;
  for (let i = 1; i < NORMALISER_BINS; i++) if (raw <= RAW_EDGES[i]!) return i;
  return NORMALISER_BINS - 1;
}

/**
 * Percentile (0–100) of `raw` among the prior plus the destination's histogram `h` (bins at
 * `h[offset …]`): the share of scores below it. Within its own bin the prior (whose shape is known)
 * is interpolated, and the destination's past scores are counted as not below: they may equal it,
 * and Elastic counts only scores strictly below (its `lowerBound`).
 */
export function percentileOf(raw: number, h: ArrayLike<number>, offset: number): number {
  if (!(raw > 0)) return 0;
  let below = 0;
  let total = 0;
  const bin = binOf(raw);
  for (let i = 0; i < NORMALISER_BINS; i++) {
    const own = h[offset + i]!;
    const prior = PRIOR[i]!;
    total += prior + own;
    if (i < bin) below += prior + own;
    else if (i === bin) {
      const lo = RAW_EDGES[i - 1]!;
      const hi = RAW_EDGES[i]!;
      below += prior * Math.min(1, Math.max(0, (raw - lo) / Math.max(hi - lo, 1e-12)));
    }
  }
  return (100 * below) / total;
}

/** The normalised score of probability `p` (0–100): min(knot score of its percentile, ceiling). */
export function normalisedScore(p: number, h: ArrayLike<number>, offset: number): number {
  const raw = anomalyScore(p);
  if (raw === 0) return 0;
  return Math.min(knotScore(percentileOf(raw, h, offset)), probabilityCeiling(p));
}

/** Records a bucket's raw score. */
export function recordRawScore(raw: number, h: Float32Array, offset: number): void {
  h[offset + binOf(raw)]! += 1;
}
