/**
 * Value lists for tuning exceptions (docs/tuning.md, "Value lists"), as Elastic's value lists are:
 * large sets of keywords (host names, user names) or IP ranges, kept in files of one value per
 * line and referenced by name from conditions (`is_one_of: { list: admin_hosts }`,
 * `in_cidr: { list: vpn_ranges }`).
 *
 * * `keyword`: a Set; lookups are O(1). With `caseInsensitive` the values and the lookups are
 *   lower-cased (toLowerCase, never collation), as a hostname list usually wants.
 * * `ip` (single addresses) and `cidr` (ranges or addresses), IPv4 and IPv6 mixed: every entry
 *   becomes an inclusive [start, end] range; overlapping and adjacent ranges are merged, so the
 *   ranges are sorted and disjoint and a lookup is one binary search (O(log n)). IPv4 ranges are
 *   32-bit numbers, IPv6 ranges 128-bit BigInts. `::ffff:a.b.c.d` is the IPv4 address, as in
 *   src/ecs/ip.ts.
 *
 * File syntax: one value per line, surrounding blanks trimmed, blank lines skipped, a line whose
 * first non-blank character is `#` is a comment. In `ip`/`cidr` lists a `#` also starts a trailing
 * comment (`10.0.0.0/8  # corp`); in `keyword` lists it does not (a keyword may hold `#`).
 */
import { parseIp, type Ip } from '../ecs/ip.js';

export type ValueListKind = 'keyword' | 'ip' | 'cidr';
export const VALUE_LIST_KINDS: readonly ValueListKind[] = ['keyword', 'ip', 'cidr'];

export interface KeywordList {
  readonly kind: 'keyword';
  readonly name: string;
  readonly size: number;
  readonly caseInsensitive: boolean;
  /** True when the keyword is in the list (lower-cased first when the list is case-insensitive). */
  has(value: string): boolean;
}

export interface IpRangeList {
  readonly kind: 'ip' | 'cidr';
  readonly name: string;
  /** Entries as written (after comments and blanks are dropped). */
  readonly size: number;
  /** Disjoint ranges after merging, for both families: what a lookup searches. */
  readonly ranges: number;
  contains(ip: Ip): boolean;
}

export type ValueList = KeywordList | IpRangeList;

/** A bad list entry, with its 1-based line in the list's file (0 for inline lists). */
export class ValueListError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(line > 0 ? `line ${line}: ${reason}` : reason);
    this.name = 'ValueListError';
  }
}

/** The entries of a list file: (line number, value) pairs. */
export function listEntries(text: string, kind: ValueListKind): { line: number; value: string }[] {
  const out: { line: number; value: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let s = lines[i]!;
    if (kind !== 'keyword') {
      const hash = s.indexOf('#');
      if (hash >= 0) s = s.slice(0, hash);
    }
    s = s.trim();
    if (s.length === 0 || s.startsWith('#')) continue;
    out.push({ line: i + 1, value: s });
  }
  return out;
}

export function keywordList(name: string, values: Iterable<string>, caseInsensitive = false): KeywordList {
  const set = new Set<string>();
  for (const v of values) set.add(caseInsensitive ? v.toLowerCase() : v);
  return Object.freeze({
    kind: 'keyword' as const,
    name,
    size: set.size,
    caseInsensitive,
    has: caseInsensitive ? (v: string) => set.has(v.toLowerCase()) : (v: string) => set.has(v),
  });
}

const V6_ALL = (1n << 128n) - 1n;

function v6ToBigInt(parts: readonly number[]): bigint {
  let n = 0n;
  for (let i = 0; i < 8; i++) n = (n << 16n) | BigInt(parts[i]!);
  return n;
}

/** One entry as an inclusive range; the error says what is wrong with it. */
function parseRange(
  entry: string,
  kind: 'ip' | 'cidr',
): { v: 4; lo: number; hi: number } | { v: 6; lo: bigint; hi: bigint } {
  const slash = entry.indexOf('/');
  if (slash >= 0 && kind === 'ip') throw new Error(`"${entry}" is a CIDR range; this is an ip list (use type cidr)`);
  const addr = slash >= 0 ? entry.slice(0, slash) : entry;
  const ip = parseIp(addr);
  if (ip === undefined) throw new Error(`"${entry}" is not an IP address${kind === 'cidr' ? ' or CIDR range' : ''}`);
  const mapped = ip.v === 4 && addr.includes(':');
  const max = ip.v === 4 ? 32 : 128;
  let bits = max;
  if (slash >= 0) {
    const text = entry.slice(slash + 1);
    bits = /^\d{1,3}$/.test(text) ? Number(text) : NaN;
    // `::ffff:10.0.0.0/104` is 10.0.0.0/8: the prefix counts the 96 mapping bits.
    if (mapped) bits -= 96;
    if (!(bits >= 0 && bits <= max)) throw new Error(`"${entry}" has an invalid prefix length`);
  }
  if (ip.v === 4) {
    const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    const lo = (ip.n & mask) >>> 0;
    return { v: 4, lo, hi: (lo | (~mask >>> 0)) >>> 0 };
  }
  const host = (1n << BigInt(128 - bits)) - 1n;
  const lo = v6ToBigInt(ip.parts) & (V6_ALL ^ host);
  return { v: 6, lo, hi: lo | host };
}

/** Sorts and merges overlapping or adjacent inclusive ranges. */
function merge<T extends number | bigint>(ranges: { lo: T; hi: T }[], one: T): { lo: T[]; hi: T[] } {
  ranges.sort((a, b) => (a.lo < b.lo ? -1 : a.lo > b.lo ? 1 : 0));
  const lo: T[] = [];
  const hi: T[] = [];
  for (const r of ranges) {
    const n = lo.length;
    // Overlapping or adjacent (this start <= the previous end + 1); `+` on number or bigint alike.
    if (n > 0 && r.lo <= (hi[n - 1]! as number) + (one as number)) {
      if (r.hi > hi[n - 1]!) hi[n - 1] = r.hi;
    } else {
      lo.push(r.lo);
      hi.push(r.hi);
    }
  }
  return { lo, hi };
}

/** Index of the last range whose start is <= x, or -1. */
function lastStartAtOrBelow<T extends number | bigint>(lo: readonly T[], x: T): number {
  let a = 0;
  let b = lo.length - 1;
  let found = -1;
  while (a <= b) {
    const mid = (a + b) >>> 1;
    if (lo[mid]! <= x) {
      found = mid;
      a = mid + 1;
    } else {
      b = mid - 1;
    }
  }
  return found;
}

/**
 * An ip/cidr list from its entries. Throws ValueListError naming the first bad entry's line.
 * `entries` may be plain strings (inline lists: line 0).
 */
export function ipRangeList(
  name: string,
  kind: 'ip' | 'cidr',
  entries: readonly (string | { line: number; value: string })[],
): IpRangeList {
  const v4: { lo: number; hi: number }[] = [];
  const v6: { lo: bigint; hi: bigint }[] = [];
  for (const e of entries) {
    const { line, value } = typeof e === 'string' ? { line: 0, value: e } : e;
    let r;
    try {
      r = parseRange(value, kind);
    } catch (err) {
      throw new ValueListError(line, (err as Error).message);
    }
    if (r.v === 4) v4.push({ lo: r.lo, hi: r.hi });
    else v6.push({ lo: r.lo, hi: r.hi });
  }
  // Merging on numbers: `hi + 1` stays exact (at most 2^32, far below 2^53).
  const m4 = merge(v4, 1);
  const m6 = merge(v6, 1n);
  const lo4 = Float64Array.from(m4.lo);
  const hi4 = Float64Array.from(m4.hi);
  return Object.freeze({
    kind,
    name,
    size: entries.length,
    ranges: m4.lo.length + m6.lo.length,
    contains(ip: Ip): boolean {
      if (ip.v === 4) {
        const i = lastStartAtOrBelow(lo4 as unknown as number[], ip.n);
        return i >= 0 && ip.n <= hi4[i]!;
      }
      if (m6.lo.length === 0) return false;
      const x = v6ToBigInt(ip.parts);
      const i = lastStartAtOrBelow(m6.lo, x);
      return i >= 0 && x <= m6.hi[i]!;
    },
  });
}

/** A list from a file's text. Throws ValueListError (with the line) on a bad entry. */
export function parseValueList(
  name: string,
  kind: ValueListKind,
  text: string,
  opts: { caseInsensitive?: boolean } = {},
): ValueList {
  const entries = listEntries(text, kind);
  if (kind === 'keyword')
    return keywordList(
      name,
      entries.map((e) => e.value),
      opts.caseInsensitive ?? false,
    );
  return ipRangeList(name, kind, entries);
}
