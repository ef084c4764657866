import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  anomalyScore,
  inverseAnomalyScore,
  knotScore,
  oneSidedProbability,
  probabilityCeiling,
  probabilityForCeiling,
} from '../../../../src/detectors/rdp/anomalyScore.js';
import { incompleteBeta, logGamma, nbUpperTail } from '../../../../src/detectors/rdp/negativeBinomial.js';
import {
  NORMALISER_BINS,
  normalisedScore,
  percentileOf,
  recordRawScore,
} from '../../../../src/detectors/rdp/normaliser.js';
import { Random } from '../../../../src/eval/rdpSpikeEval.js';

function close(actual: number, expected: number, rel = 1e-9, msg = ''): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1), `${msg} ${actual} ≠ ${expected}`);
}

test('logGamma and the incomplete beta agree with known values', () => {
  close(logGamma(1), 0, 1e-12);
  close(logGamma(5), Math.log(24), 1e-12);
  close(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-12);
  close(logGamma(101), 363.73937555556347, 1e-12); // ln(100!)
  close(incompleteBeta(0.3, 1, 1), 0.3, 1e-12);
  close(incompleteBeta(0.4, 2, 3), 1 - incompleteBeta(0.6, 3, 2), 1e-12);
  close(incompleteBeta(0.5, 2, 2), 0.5, 1e-12);
});

/** P(X ≥ c) by summing the pmf (for moderate c). */
function directTail(c: number, mean: number, phi: number): number {
  const r = 1 / phi;
  const p = r / (r + mean);
  let pmf = Math.exp(r * Math.log(p));
  let cdf = 0;
  for (let x = 0; x < c; x++) {
    cdf += pmf;
    pmf *= ((x + r) / (x + 1)) * (1 - p);
  }
  return 1 - cdf;
}

test('the negative binomial upper tail matches direct summation, and keeps precision far out', () => {
  for (const [mean, phi] of [
    [0.3, 0.5],
    [5, 0.1],
    [40, 0.05],
    [2, 3],
    [100, 0.01],
  ] as const) {
    for (const c of [1, 2, 5, 10, Math.round(mean), Math.round(2 * mean) + 3]) {
      const direct = directTail(c, mean, phi);
      // 1 − cdf loses relative precision as the tail shrinks: compare where it still has it.
      if (direct > 1e-6) close(nbUpperTail(c, mean, phi) / direct, 1, 1e-7, `c=${c} mean=${mean} phi=${phi}`);
    }
  }
  assert.equal(nbUpperTail(0, 3, 0.1), 1);
  const far = nbUpperTail(400, 5, 0.05);
  assert.ok(far > 0 && far < 1e-100, `far tail ${far}`);
});

test("Elastic's raw score: 0 above 0.05, 1 at 1e-4, 50 at 1e-50, monotone and invertible", () => {
  assert.equal(anomalyScore(0.05), 0);
  assert.equal(anomalyScore(0.5), 0);
  close(anomalyScore(1e-4), 1, 1e-12);
  close(anomalyScore(1e-50), 50, 1e-12);
  close(anomalyScore(0), 100, 1e-12);
  let prev = 0;
  for (let e = 1.4; e < 300; e += 0.37) {
    const p = 10 ** -e;
    const s = anomalyScore(p);
    assert.ok(s >= prev);
    prev = s;
    close(inverseAnomalyScore(s), p, 1e-9);
  }
});

test('knot points: 99th percentile → 50, 99.9th → 90, 70 at the 99.45th', () => {
  assert.equal(knotScore(99), 50);
  assert.equal(knotScore(99.9), 90);
  close(knotScore(99.45), 70, 1e-9);
  assert.equal(knotScore(100), 100);
  assert.equal(knotScore(0), 0);
  close(knotScore(50), 50 / 70, 1e-12);
});

test('the probability ceiling is 100 at 1e-4 and reaches 70 at p ≈ 7.1e-4', () => {
  close(probabilityCeiling(1e-4), 100, 1e-9);
  const p70 = probabilityForCeiling(70);
  assert.ok(p70 > 7e-4 && p70 < 7.2e-4, `${p70}`);
  close(probabilityCeiling(p70), 70, 1e-9);
  assert.equal(oneSidedProbability(0.7), 1);
  assert.equal(oneSidedProbability(0.01), 0.02);
});

test('the normaliser: a calibrated prior alone needs p ≤ 7.1e-4 for 70; a history of high scores lowers them', () => {
  const h = new Float32Array(NORMALISER_BINS);
  assert.ok(normalisedScore(1e-3, h, 0) < 70);
  assert.ok(normalisedScore(6e-4, h, 0) >= 70);
  assert.equal(normalisedScore(0.2, h, 0), 0);
  // A destination that often scores around p = 1e-5 gets lower scores for it.
  const before = normalisedScore(1e-5, h, 0);
  for (let i = 0; i < 20; i++) recordRawScore(anomalyScore(1e-5), h, 0);
  const after = normalisedScore(1e-5, h, 0);
  assert.ok(after < before && after < 70, `${before} → ${after}`);
});

test('scores never fall as the probability falls (any history)', () => {
  const rng = new Random(11);
  for (let trial = 0; trial < 200; trial++) {
    const h = new Float32Array(NORMALISER_BINS);
    for (let i = 0; i < NORMALISER_BINS; i++) h[i] = rng.chance(0.5) ? rng.uniform(0, 50) : 0;
    let prevScore = -1;
    let prevPct = -1;
    for (let e = 0.5; e < 60; e += 0.25) {
      const p = 10 ** -e;
      const s = normalisedScore(p, h, 0);
      const pct = percentileOf(anomalyScore(p), h, 0);
      assert.ok(s >= prevScore - 1e-12, `trial ${trial}: score fell at p=${p}`);
      assert.ok(pct >= prevPct - 1e-12);
      prevScore = s;
      prevPct = pct;
    }
  }
});
