/**
 * The bucket a destination is in now: its distinct sources so far (exact, then a sketch), when
 * each was first seen (per sub-slot), what the model expects of the bucket, and what the alert will
 * need (first event, new sources, whether it has fired).
 *
 * The running probability tests the count two ways, each against the model's expectation at the
 * end of the current sub-slot (so never against less time than has passed):
 * - cumulative: the running count against the expected running count;
 * - recent: the sources first seen in this and the previous sub-slot against their expectation. A
 *   fan-in is concentrated in time, and the day-to-day swing of a busy destination's level (the
 *   φμ² part of the variance) is much smaller over an hour than over six, so this test sees a
 *   burst on a busy destination long before the bucket's total does. It is evaluated over the
 *   bucket's ⌈K/2⌉ disjoint windows, so its probability is multiplied by that many (Bonferroni).
 * The running probability is the smaller of the two, each as Elastic states it (2 P(X ≥ x)). Both
 * only fall as counts grow, so a higher count never gets a higher probability (a lower score).
 */
import type { EcsEvent } from '../../ecs/event.js';
import { DistinctCounter, type DistinctCounterJson } from '../../state/distinctCounter.js';
import { oneSidedProbability } from './anomalyScore.js';
import { countUpperTail, type BucketExpectation } from './destinationModel.js';

export interface RunningTest {
  /** The running probability (min of the two tests). */
  readonly p: number;
  /** Running count of the bucket. */
  readonly count: number;
  /** Sources first seen in this and the previous sub-slot. */
  readonly recent: number;
}

export interface OpenBucketJson {
  readonly b: number;
  readonly counter: DistinctCounterJson;
  readonly arrivals: number[];
  readonly fired: boolean;
  readonly minP: number;
  readonly newSources: string[];
  readonly newTotal: number;
  readonly exp: {
    readonly mean: number;
    readonly phi: number;
    readonly level: number;
    readonly rho: number;
    readonly cumMean: number[];
    readonly cumPhi: number[];
    readonly winMean: number[];
    readonly winPhi: number[];
  };
}

export class OpenBucket {
  readonly counter: DistinctCounter;
  /** Increase of the distinct count in each sub-slot. */
  readonly arrivals: Float64Array;
  fired = false;
  /** Smallest running probability seen in the bucket (the bucket's record for the normaliser). */
  minP = 1;
  first: EcsEvent | undefined;
  /** Latest event of the bucket (kept only when alerts fire at bucket close). */
  last: EcsEvent | undefined;
  /** Sources new to the destination (not familiar), the first `maxNewSources` of them. */
  readonly newSources: string[] = [];
  newTotal = 0;

  constructor(
    readonly bucket: number,
    readonly expectation: BucketExpectation,
    sketchThreshold: number,
    counter?: DistinctCounter,
  ) {
    this.counter = counter ?? new DistinctCounter(sketchThreshold);
    this.arrivals = new Float64Array(expectation.cumMean.length);
  }

  /** Counts a source seen in sub-slot `j`; returns how much the distinct count grew. */
  add(source: string, hash: number, j: number): number {
    const before = this.counter.count;
    if (!this.counter.add(source, hash)) return 0;
    const delta = this.counter.count - before;
    this.arrivals[j]! += delta;
    return delta;
  }

  /** The running test at sub-slot `j`, with `windows` recent windows per bucket. */
  running(j: number, windows: number): RunningTest {
    const e = this.expectation;
    const count = Math.round(this.counter.count);
    const recent = Math.round(this.arrivals[j]! + (j > 0 ? this.arrivals[j - 1]! : 0));
    const pCum = oneSidedProbability(countUpperTail(count, e.cumMean[j]!, e.cumPhi[j]!));
    const pRecent = Math.min(1, windows * oneSidedProbability(countUpperTail(recent, e.winMean[j]!, e.winPhi[j]!)));
    return { p: Math.min(pCum, pRecent), count, recent };
  }

  toJSON(): OpenBucketJson {
    const e = this.expectation;
    return {
      b: this.bucket,
      counter: this.counter.toJSON(),
      arrivals: [...this.arrivals],
      fired: this.fired,
      minP: this.minP,
      newSources: [...this.newSources],
      newTotal: this.newTotal,
      exp: {
        mean: e.mean,
        phi: e.phi,
        level: e.level,
        rho: e.rho,
        cumMean: [...e.cumMean],
        cumPhi: [...e.cumPhi],
        winMean: [...e.winMean],
        winPhi: [...e.winPhi],
      },
    };
  }

  static fromJSON(json: OpenBucketJson, sketchThreshold: number): OpenBucket {
    const x = json.exp;
    const expectation: BucketExpectation = {
      mean: x.mean,
      phi: x.phi,
      level: x.level,
      rho: x.rho,
      cumMean: Float64Array.from(x.cumMean),
      cumPhi: Float64Array.from(x.cumPhi),
      winMean: Float64Array.from(x.winMean),
      winPhi: Float64Array.from(x.winPhi),
    };
    const counter = DistinctCounter.fromJSON(json.counter, sketchThreshold);
    const open = new OpenBucket(json.b, expectation, sketchThreshold, counter);
    open.arrivals.set(json.arrivals);
    open.fired = json.fired;
    open.minP = json.minP;
    open.newSources.push(...json.newSources);
    open.newTotal = json.newTotal;
    return open;
  }
}
