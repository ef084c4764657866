/**
 * Keys ordered by when they were last written: an intrusive doubly linked list, O(1) to move a key
 * to the newest end, to unlink it, and to find the least recent one.
 *
 * Why not a Map's insertion order (delete + set on touch, first key = least recent)? V8 leaves a
 * deleted Map entry in place until the table is rehashed, and an iterator starts at the table's
 * beginning, so `map.keys().next()` steps over every entry deleted since: under a flood of new
 * keys, evicting the least recent one cost ~30 µs at 100,000 keys (bench/stateFlood.ts).
 */

export interface RecencyNode {
  /** Towards the least recently written end. */
  older: RecencyNode | undefined;
  /** Towards the most recently written end. */
  newer: RecencyNode | undefined;
}

export class RecencyList<N extends RecencyNode> {
  private oldest: N | undefined;
  private newest: N | undefined;

  /** The least recently written node. */
  leastRecent(): N | undefined {
    return this.oldest;
  }

  /** Makes `node` (linked or not) the most recently written. */
  touch(node: N): void {
    if (node === this.newest) return;
    if (node.newer !== undefined || node.older !== undefined || node === this.oldest) this.unlink(node);
    node.older = this.newest;
    node.newer = undefined;
    if (this.newest !== undefined) this.newest.newer = node;
    this.newest = node;
    this.oldest ??= node;
  }

  unlink(node: N): void {
    const { older, newer } = node;
    if (older !== undefined) older.newer = newer;
    else if (this.oldest === node) this.oldest = newer as N | undefined;
    if (newer !== undefined) newer.older = older;
    else if (this.newest === node) this.newest = older as N | undefined;
    node.older = undefined;
    node.newer = undefined;
  }

  clear(): void {
    this.oldest = undefined;
    this.newest = undefined;
  }
}
