/**
 * A binary min-heap whose elements are deleted lazily. Stores remove entries for many reasons
 * (eviction, expiry, a match that consumes them) from places a heap cannot find cheaply, so the
 * owner only clears the element's `live` flag and calls deleted(). Dead elements leave when they
 * reach the top, and the heap is rebuilt from its live elements once the dead are the majority:
 * memory stays within about twice the live count, however many elements pass through.
 *
 * Costs, n = elements held: push O(log n), and O(1) when the new priority is the largest so far
 * (offsets and event times mostly grow, so in-order input never sifts); peek O(1) plus O(log n)
 * for each dead element it discards, each element being discarded once; a rebuild is O(n) and
 * follows at least n/2 deletions, so it costs O(1) per deletion amortised.
 */

export interface LazilyDeleted {
  /** False once the owner has removed the element; the heap then drops it when convenient. */
  readonly live: boolean;
}

export class LazyMinHeap<E extends LazilyDeleted> {
  private items: E[] = [];
  private dead = 0;

  /**
   * @param priority the heap's order (smallest first); must not change while the element is held
   * @param minRebuild dead elements tolerated before a rebuild is considered; keeps tiny heaps from
   *   rebuilding on every deletion
   */
  constructor(
    private readonly priority: (e: E) => number,
    private readonly minRebuild = 64,
  ) {}

  /** Elements held, dead ones not yet dropped included: what the heap costs in memory. */
  get length(): number {
    return this.items.length;
  }

  push(e: E): void {
    this.items.push(e);
    this.siftUp(this.items.length - 1);
  }

  /** The owner cleared the `live` flag of one element held here. */
  deleted(): void {
    this.dead++;
    if (this.dead >= this.minRebuild && this.dead * 2 > this.items.length) this.rebuild();
  }

  /** The live element of smallest priority, or undefined when none is held. */
  peek(): E | undefined {
    const items = this.items;
    while (items.length > 0 && !items[0]!.live) {
      this.removeTop();
      this.dead--;
    }
    return items[0];
  }

  clear(): void {
    this.items = [];
    this.dead = 0;
  }

  private removeTop(): void {
    const items = this.items;
    const last = items.pop()!;
    if (items.length > 0) {
      items[0] = last;
      this.siftDown(0);
    }
  }

  private rebuild(): void {
    this.items = this.items.filter((e) => e.live);
    this.dead = 0;
    for (let i = (this.items.length >>> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftUp(i: number): void {
    const items = this.items;
    const e = items[i]!;
    const p = this.priority(e);
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const pe = items[parent]!;
      if (this.priority(pe) <= p) break;
      items[i] = pe;
      i = parent;
    }
    items[i] = e;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const e = items[i]!;
    const p = this.priority(e);
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let cp = this.priority(items[l]!);
      if (r < n) {
        const rp = this.priority(items[r]!);
        if (rp < cp) {
          c = r;
          cp = rp;
        }
      }
      if (p <= cp) break;
      items[i] = items[c]!;
      i = c;
    }
    items[i] = e;
  }
}
