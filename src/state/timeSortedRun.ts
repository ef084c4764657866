/**
 * One key's entries, kept sorted by time: an array with a moving head, so that the two common
 * operations cost O(1) amortised: appending an entry no older than the newest (events come in
 * event-time order) and dropping the oldest (per-key bound, expiry). A late entry is placed by
 * binary search and spliced in, O(k) for the k entries of the key, which a bound keeps small.
 *
 * Entries of equal time are ordered by `compare`'s tie-break; an entry that compares equal to
 * others goes after them, so equal entries keep their insertion order.
 */

export interface Timed {
  readonly time: number;
}

/** Compaction waits for this many dropped slots, so that short runs never copy. */
const MIN_COMPACT = 32;

export class TimeSortedRun<S extends Timed> {
  private items: (S | undefined)[] = [];
  private head = 0;

  constructor(private readonly compare: (a: S, b: S) => number) {}

  get length(): number {
    return this.items.length - this.head;
  }

  oldest(): S | undefined {
    return this.items[this.head];
  }

  /** True when `s` would become the oldest entry (it sorts before every entry held). */
  sortsFirst(s: S): boolean {
    const first = this.items[this.head];
    return first === undefined || this.compare(s, first) < 0;
  }

  insert(s: S): void {
    const items = this.items;
    const n = items.length;
    if (n === this.head || this.compare(items[n - 1]!, s) <= 0) {
      items.push(s);
      return;
    }
    // First index whose entry sorts after s; items[n - 1] does, so it exists.
    let lo = this.head;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.compare(items[mid]!, s) <= 0) lo = mid + 1;
      else hi = mid;
    }
    items.splice(lo, 0, s);
  }

  /** Removes and returns the oldest entry. */
  shift(): S | undefined {
    if (this.length === 0) return undefined;
    const s = this.items[this.head];
    this.items[this.head++] = undefined;
    this.compact();
    return s;
  }

  /** Removes the entries with time < t (all at the front), calling `removed` for each. */
  shiftBefore(t: number, removed: (s: S) => void): number {
    const end = this.lowerBound(t);
    const n = end - this.head;
    for (let i = this.head; i < end; i++) {
      removed(this.items[i]!);
      this.items[i] = undefined;
    }
    this.head = end;
    this.compact();
    return n;
  }

  /** The newest entry with lo < time < hi (both bounds strict); the last of equal times. */
  latestBetween(lo: number, hi: number): S | undefined {
    const i = this.lowerBound(hi) - 1;
    if (i < this.head) return undefined;
    const s = this.items[i]!;
    return s.time > lo ? s : undefined;
  }

  /** Removes and returns the entries with lo < time < hi, oldest first. */
  takeBetween(lo: number, hi: number): S[] {
    const start = this.upperBound(lo);
    const end = this.lowerBound(hi);
    if (end <= start) return [];
    const taken = this.items.splice(start, end - start) as S[];
    this.compact();
    return taken;
  }

  forEach(visit: (s: S) => void): void {
    for (let i = this.head; i < this.items.length; i++) visit(this.items[i]!);
  }

  /** First index (absolute) whose entry has time >= t; items.length when none. */
  private lowerBound(t: number): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.time < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First index (absolute) whose entry has time > t; items.length when none. */
  private upperBound(t: number): number {
    let lo = this.head;
    let hi = this.items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.items[mid]!.time <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Gives back the slots of dropped entries once they are half the array. */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = 0;
      this.head = 0;
    } else if (this.head >= MIN_COMPACT && this.head * 2 >= this.items.length) {
      this.items.copyWithin(0, this.head);
      this.items.length -= this.head;
      this.head = 0;
    }
  }
}
