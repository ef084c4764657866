/**
 * Elastic's scoring constants and the two functions of it that do not depend on history
 * (reference/rules.md §B.5; the open-source ml-cpp, as cited there):
 *
 * 1. probability → raw anomalousness, `CTools::anomalyScore` (lib/maths/common/CTools.cc):
 *    0 for p ≥ 0.05; linear in 1/p up to 1 at p = 1e-4; linear in ln p up to 50 at 1e-50; linear in
 *    ln p up to 100 at the smallest probability (100 × the smallest normal double).
 * 2. the normalised-score knot points, `DEFAULT_NORMALIZED_SCORE_KNOT_POINTS`
 *    (lib/model/CAnomalyDetectorModelConfig.cc): percentile of the raw score among the partition's
 *    past raw scores → score, linearly between
 *      (0, 0) (70, 1) (85, 1.2) (90, 1.5) (95, 3) (97, 20) (99, 50) (99.9, 90) (100, 100).
 *    A score of 70 is the 99.45th percentile (rules.md §B.5).
 * 3. the probability ceiling of `CAnomalyScore::CNormalizer::normalize` (lib/model/CAnomalyScore.cc):
 *    whatever the percentile, the score is at most 100 × (0.95 M (ln p − ln 0.05) + 0.05) with
 *    M = 1 / ln(1e-4 / 0.05), which is 100 at p = 1e-4 and 70 at p ≈ 7.1e-4: "we don't want to
 *    generate significant anomalies for moderately unusual events before we have enough history".
 *
 * Elastic's probability of a high count is one-sided and doubled, 2 P(X ≥ x)
 * (`CProbabilityOfLessLikelySample`, E_OneSidedAbove, for the negative binomial); see
 * `oneSidedProbability`.
 */

export const LARGEST_SIGNIFICANT_PROBABILITY = 0.05;
export const SMALL_PROBABILITY = 1e-4;
export const MINUSCULE_PROBABILITY = 1e-50;
/** ml-cpp `CTools::smallestProbability()`: 100 × DBL_MIN. */
export const SMALLEST_PROBABILITY = 100 * 2.2250738585072014e-308;

const INV_LARGEST = 1 / LARGEST_SIGNIFICANT_PROBABILITY;
const INV_SMALL = 1 / SMALL_PROBABILITY;
const MINUS_LOG_SMALL = -Math.log(SMALL_PROBABILITY);
const MINUS_LOG_MINUSCULE = -Math.log(MINUSCULE_PROBABILITY);
const MINUS_LOG_SMALLEST = -Math.log(SMALLEST_PROBABILITY);

/** Raw anomalousness of a probability, 0–100 (ml-cpp CTools::anomalyScore). */
export function anomalyScore(p: number): number {
  const adj = Math.max(p, SMALLEST_PROBABILITY);
  if (!(adj < LARGEST_SIGNIFICANT_PROBABILITY)) return 0;
  if (adj >= SMALL_PROBABILITY) return (1 / adj - INV_LARGEST) / (INV_SMALL - INV_LARGEST);
  const minusLog = -Math.log(adj);
  if (adj >= MINUSCULE_PROBABILITY)
    return 1 + (49 * (minusLog - MINUS_LOG_SMALL)) / (MINUS_LOG_MINUSCULE - MINUS_LOG_SMALL);
  return 50 + (50 * (minusLog - MINUS_LOG_MINUSCULE)) / (MINUS_LOG_SMALLEST - MINUS_LOG_MINUSCULE);
}

/** Inverse of anomalyScore on (0, 100] (ml-cpp CTools::inverseAnomalyScore). */
export function inverseAnomalyScore(score: number): number {
  const s = Math.min(Math.max(score, 0), 100);
  if (s === 0) return (1 + LARGEST_SIGNIFICANT_PROBABILITY) / 2;
  if (s <= 1) return 1 / (INV_LARGEST + (INV_SMALL - INV_LARGEST) * s);
  if (s <= 50) return Math.exp(-(MINUS_LOG_SMALL + ((MINUS_LOG_MINUSCULE - MINUS_LOG_SMALL) * (s - 1)) / 49));
  return Math.exp(-(MINUS_LOG_MINUSCULE + ((MINUS_LOG_SMALLEST - MINUS_LOG_MINUSCULE) * (s - 50)) / 50));
}

/** (percentile, score) knots of Elastic's normaliser. */
export const SCORE_KNOTS: readonly (readonly [number, number])[] = [
  [0, 0],
  [70, 1],
  [85, 1.2],
  [90, 1.5],
  [95, 3],
  [97, 20],
  [99, 50],
  [99.9, 90],
  [100, 100],
];

/** Percentile (0–100) → score, by linear interpolation between the knots. */
export function knotScore(percentile: number): number {
  if (!(percentile > 0)) return 0;
  if (percentile >= 100) return 100;
  for (let i = 1; i < SCORE_KNOTS.length; i++) {
    const [x1, y1] = SCORE_KNOTS[i]!;
    if (percentile <= x1) {
      const [x0, y0] = SCORE_KNOTS[i - 1]!;
      return y0 + ((y1 - y0) * (percentile - x0)) / (x1 - x0);
    }
  }
  return 100;
}

const CEILING_SLOPE = 1 / Math.log(SMALL_PROBABILITY / LARGEST_SIGNIFICANT_PROBABILITY);
const LOG_LARGEST = Math.log(LARGEST_SIGNIFICANT_PROBABILITY);

/** The highest score a probability may get, whatever its percentile (capped to 0–100). */
export function probabilityCeiling(p: number): number {
  const c = 100 * (0.95 * CEILING_SLOPE * (Math.log(Math.max(p, SMALLEST_PROBABILITY)) - LOG_LARGEST) + 0.05);
  return Math.min(100, Math.max(0, c));
}

/** The largest probability whose ceiling reaches `score` (so p > this never scores `score`). */
export function probabilityForCeiling(score: number): number {
  return Math.exp((score / 100 - 0.05) / (0.95 * CEILING_SLOPE) + LOG_LARGEST);
}

/** Elastic's probability of an unusually high count: 2 P(X ≥ x), at most 1. */
export function oneSidedProbability(upperTail: number): number {
  return Math.min(1, 2 * upperTail);
}
