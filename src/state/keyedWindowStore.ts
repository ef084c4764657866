/**
 * A keyed, bounded store of time-stamped entries: what a windowed join keeps between its two sides
 * (the endpoint-mapper flows of D2 waiting for their endpoint flow, for instance). Shared by the
 * detections that hold events per join key.
 *
 * Bounds (design.md, "Bounded memory"): at most `maxEntriesPerKey` entries per key (past it the
 * key's oldest entry goes) and `maxKeys` keys (past it the least recently written key goes, with
 * its entries). Every such eviction is reported with its reason. Expiry by event time
 * (expireBefore) is the normal end of an entry and is not an eviction. A flood of one key
 * therefore holds one key; a flood of distinct keys holds maxKeys keys.
 *
 * Costs, n = entries held, k = entries of one key (≤ maxEntriesPerKey):
 * - insert: O(1) amortised in time order (append to the key's run, no heap sifting), O(k + log n)
 *   for a late entry;
 * - latestBetween: O(log k) (binary search); takeBetween: O(k);
 * - expireBefore: O(log n) per expired entry amortised, O(1) when nothing expires;
 * - evicting the least recently written key: O(1) to find it (recencyList.ts), O(k) to drop it;
 * - oldestArrival: O(1) amortised (a min-heap on arrival with lazy deletion, lazyMinHeap.ts);
 * - memory: the live entries plus, in the two heaps, deleted entries not yet reclaimed, never more
 *   than about as many again (see `retained`).
 */
import { LazyMinHeap } from './lazyMinHeap.js';
import { RecencyList, type RecencyNode } from './recencyList.js';
import { TimeSortedRun } from './timeSortedRun.js';

/** Why an entry was dropped before it expired (the evictions metric's label). */
export type EvictionReason = 'max_entries_per_key' | 'max_keys';

/** The same shape as the detections' `StateLimits`; declared here because state/ imports only ecs/. */
export interface StoreLimits {
  readonly maxKeys: number;
  readonly maxEntriesPerKey: number;
}

export interface TimedEntry<T> {
  readonly key: string;
  /** Event time (epoch ms) the window is measured on. */
  readonly time: number;
  /** Arrival (offset or line) of the event the entry holds: the committed offset must not pass it. */
  readonly arrival: number;
  readonly value: T;
}

export interface KeyedWindowStoreOptions<T> {
  readonly limits: StoreLimits;
  /** Called once per eviction with the number of entries it dropped. */
  readonly onEvict?: (reason: EvictionReason, count: number) => void;
  /**
   * Orders entries of equal time (negative: `a` first). Without it they keep insertion order.
   * A detection whose answer must not depend on arrival passes the event order here.
   */
  readonly tieBreak?: (a: T, b: T) => number;
}

interface Slot<T> extends TimedEntry<T> {
  live: boolean;
}

/** One key: its entries, and its place in the write order. */
interface KeyState<T> extends RecencyNode {
  readonly key: string;
  readonly run: TimeSortedRun<Slot<T>>;
}

const NO_ENTRIES: readonly never[] = Object.freeze([]);

export class KeyedWindowStore<T> {
  private readonly keys = new Map<string, KeyState<T>>();
  /** Keys by last write, for evicting the least recently written one. */
  private readonly recency = new RecencyList<KeyState<T>>();
  private readonly byTime = new LazyMinHeap<Slot<T>>((s) => s.time);
  private readonly byArrival = new LazyMinHeap<Slot<T>>((s) => s.arrival);
  private readonly compare: (a: Slot<T>, b: Slot<T>) => number;
  private readonly limits: StoreLimits;
  private readonly onEvict: (reason: EvictionReason, count: number) => void;
  private live = 0;
  private readonly removeSlot = (s: Slot<T>): void => this.remove(s);

  constructor(opts: KeyedWindowStoreOptions<T>) {
    const { maxKeys, maxEntriesPerKey } = opts.limits;
    if (!Number.isInteger(maxKeys) || maxKeys < 1)
      throw new Error(`maxKeys must be a positive integer, not ${maxKeys}`);
    if (!Number.isInteger(maxEntriesPerKey) || maxEntriesPerKey < 1) {
      throw new Error(`maxEntriesPerKey must be a positive integer, not ${maxEntriesPerKey}`);
    }
    this.limits = { maxKeys, maxEntriesPerKey };
    this.onEvict = opts.onEvict ?? (() => undefined);
    const tieBreak = opts.tieBreak;
    this.compare =
      tieBreak === undefined ? (a, b) => a.time - b.time : (a, b) => a.time - b.time || tieBreak(a.value, b.value);
  }

  /** Entries held. */
  get size(): number {
    return this.live;
  }

  /** Keys held. */
  get keyCount(): number {
    return this.keys.size;
  }

  /** Entries still referenced, deleted ones awaiting reclamation included: the memory actually used. */
  get retained(): number {
    return Math.max(this.byTime.length, this.byArrival.length);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  /**
   * Adds an entry and marks the key as the most recently written. When the key is full, its oldest
   * entry is evicted, which is the new entry itself when that is older than all the others.
   */
  insert(key: string, time: number, arrival: number, value: T): void {
    let state = this.keys.get(key);
    if (state === undefined) {
      if (this.keys.size >= this.limits.maxKeys) this.evictLeastRecentKey();
      state = { key, run: new TimeSortedRun(this.compare), older: undefined, newer: undefined };
      this.keys.set(key, state);
    }
    this.recency.touch(state);
    const run = state.run;
    const slot: Slot<T> = { key, time, arrival, value, live: true };
    if (run.length >= this.limits.maxEntriesPerKey) {
      if (run.sortsFirst(slot)) {
        this.onEvict('max_entries_per_key', 1);
        return;
      }
      this.remove(run.shift()!);
      this.onEvict('max_entries_per_key', 1);
    }
    run.insert(slot);
    this.byTime.push(slot);
    this.byArrival.push(slot);
    this.live++;
  }

  /** The newest entry of `key` with lo < time < hi (strict), the last of equal times. */
  latestBetween(key: string, lo: number, hi: number): TimedEntry<T> | undefined {
    return this.keys.get(key)?.run.latestBetween(lo, hi);
  }

  /** Removes and returns the entries of `key` with lo < time < hi, oldest first (a match, not an eviction). */
  takeBetween(key: string, lo: number, hi: number): readonly TimedEntry<T>[] {
    const state = this.keys.get(key);
    if (state === undefined) return NO_ENTRIES;
    const taken = state.run.takeBetween(lo, hi);
    for (const s of taken) this.remove(s);
    if (state.run.length === 0) this.dropKey(state);
    return taken;
  }

  /** Drops every entry with time < t; returns how many. Expiry, not eviction: nothing is reported. */
  expireBefore(t: number): number {
    let expired = 0;
    for (let top = this.byTime.peek(); top !== undefined && top.time < t; top = this.byTime.peek()) {
      // The overall oldest entry is at the front of its key's run, with any others of that key to expire.
      const state = this.keys.get(top.key)!;
      expired += state.run.shiftBefore(t, this.removeSlot);
      if (state.run.length === 0) this.dropKey(state);
    }
    return expired;
  }

  /** The smallest arrival among the entries held, or undefined when none is held. */
  oldestArrival(): number | undefined {
    return this.byArrival.peek()?.arrival;
  }

  clear(): void {
    this.keys.clear();
    this.recency.clear();
    this.byTime.clear();
    this.byArrival.clear();
    this.live = 0;
  }

  private evictLeastRecentKey(): void {
    const state = this.recency.leastRecent();
    if (state === undefined) return;
    const n = state.run.length;
    state.run.forEach(this.removeSlot);
    this.dropKey(state);
    this.onEvict('max_keys', n);
  }

  private dropKey(state: KeyState<T>): void {
    this.keys.delete(state.key);
    this.recency.unlink(state);
  }

  private remove(s: Slot<T>): void {
    s.live = false;
    this.live--;
    this.byTime.deleted();
    this.byArrival.deleted();
  }
}
