/**
 * Counts distinct values, exactly while few, approximately past a bound: a Set of the values up to
 * `sketchThreshold` of them, then a HyperLogLog sketch (hyperLogLog.ts) holding every value seen so
 * far. The sketch needs 2^precision bytes whatever the count, so memory per counter is bounded by
 * max(sketchThreshold set entries, 2^precision bytes).
 *
 * In sketch mode the count is the sketch's estimate: it can stay unchanged when a new value arrives
 * (a register did not grow) and move by a fraction of one; `add` reports any change.
 */
import { hashString32 } from './hash32.js';
import { HyperLogLog } from './hyperLogLog.js';

export interface DistinctCounterJson {
  /** Exact mode: the values. */
  readonly values?: readonly string[];
  /** Sketch mode: precision and registers (base64). */
  readonly hll?: { readonly p: number; readonly r: string };
}

export class DistinctCounter {
  private set: Set<string> | undefined = new Set();
  private sketch: HyperLogLog | undefined;

  constructor(
    readonly sketchThreshold: number,
    readonly precision = 12,
  ) {
    if (!Number.isInteger(sketchThreshold) || sketchThreshold < 1) {
      throw new Error(`sketchThreshold must be a positive integer, not ${sketchThreshold}`);
    }
  }

  /** Whether the count is exact (no sketch yet). */
  get exact(): boolean {
    return this.set !== undefined;
  }

  /** Distinct values counted (exact, or the sketch's estimate). */
  get count(): number {
    return this.set !== undefined ? this.set.size : this.sketch!.estimate();
  }

  /** Whether `value` was counted; only known in exact mode (undefined in sketch mode). */
  has(value: string): boolean | undefined {
    return this.set?.has(value);
  }

  /** Counts `value`, whose hashString32 is `hash` (callers compute it once); true when the count changed. */
  add(value: string, hash: number): boolean {
    const set = this.set;
    if (set === undefined) return this.sketch!.addHash(hash);
    const before = set.size;
    set.add(value);
    if (set.size === before) return false;
    if (set.size > this.sketchThreshold) this.toSketch(set);
    return true;
  }

  private toSketch(set: Set<string>): void {
    const sketch = new HyperLogLog(this.precision);
    for (const v of set) sketch.addHash(hashString32(v));
    this.sketch = sketch;
    this.set = undefined;
  }

  toJSON(): DistinctCounterJson {
    if (this.set !== undefined) return { values: [...this.set] };
    return { hll: { p: this.sketch!.precision, r: this.sketch!.toBase64() } };
  }

  static fromJSON(json: DistinctCounterJson, sketchThreshold: number, precision = 12): DistinctCounter {
    const c = new DistinctCounter(sketchThreshold, precision);
    if (json.hll !== undefined) {
      c.sketch = HyperLogLog.fromBase64(json.hll.p, json.hll.r);
      c.set = undefined;
    } else {
      for (const v of json.values ?? []) c.add(v, hashString32(v));
    }
    return c;
  }
}
