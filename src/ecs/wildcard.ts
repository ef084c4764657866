/**
 * EQL's `:` operator (detections.md, "Common rules"; reference/rules.md §C.1): case-insensitive
 * comparison where `*` matches any run of characters (backslashes included: it is not path-aware)
 * and `?` exactly one character.
 *
 * * Case-insensitive means comparing `toLowerCase()` forms, never collation or Unicode
 *   normalisation: a Cyrillic `і` or a fullwidth letter is another character. A character is a
 *   code point, so `?` matches one astral character (an emoji) whole. Where lower-casing changes a
 *   string's length (`İ` becomes `i̇`, two code points) `?` sees the lower-cased form.
 * * Patterns are taken as already unescaped (EQL's `"?:\\Windows"` is `?:\Windows` here). There is
 *   no escape: `\` is a literal character, and a literal `*` or `?` cannot be written (no rule
 *   needs one).
 * * Matching never backtracks: the segments between `*`s are matched left to right, each at its
 *   first occurrence (the first segment anchored at the start, the last at the end). Taking the
 *   leftmost occurrence of each segment is always safe, because it leaves the most room for the
 *   segments after it. The cost is O(n·m) for a value of n characters and a segment of m, whatever
 *   the number of `*` in the pattern or in the value.
 */
import type { FieldPath } from './fields.js';
import { toKeyword } from './values.js';

/** A compiled pattern (or list of patterns): true when the value matches. */
export type WildcardMatcher = (value: string) => boolean;

/** `?` in a compiled segment: any one code point. */
const ANY = -1;

interface CompiledPattern {
  /** The lower-cased pattern when it holds no wildcard: plain equality then. */
  readonly literal: string | undefined;
  /**
   * The lower-cased pattern split on `*`, as code points (ANY for `?`). One segment when there is
   * no `*`; otherwise the first and last (possibly empty) are anchored, and empty middle segments
   * (from `**`) are dropped.
   */
  readonly segments: readonly Int32Array[];
  /** Characters a value needs at least: the sum of the segment lengths. */
  readonly minLength: number;
}

function compile(pattern: string): CompiledPattern {
  const lowered = pattern.toLowerCase();
  const parts = lowered.split('*');
  const literal = parts.length === 1 && !lowered.includes('?') ? lowered : undefined;
  const segments: Int32Array[] = [];
  parts.forEach((part, i) => {
    if (part.length === 0 && i > 0 && i < parts.length - 1) return;
    segments.push(Int32Array.from(part, (ch) => (ch === '?' ? ANY : ch.codePointAt(0)!)));
  });
  return { literal, segments, minLength: segments.reduce((n, s) => n + s.length, 0) };
}

/** Values up to this many UTF-16 units are converted in a reused buffer; longer ones get their own. */
const SCRATCH = new Int32Array(4096);

/** Writes the code points of `s` into `out` (sized >= s.length) and returns how many. */
function fillCodePoints(s: string, out: Int32Array): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i)!;
    out[n++] = cp;
    if (cp > 0xffff) i++;
  }
  return n;
}

function matchesAt(v: Int32Array, at: number, seg: Int32Array): boolean {
  for (let j = 0; j < seg.length; j++) {
    const c = seg[j]!;
    if (c !== ANY && v[at + j] !== c) return false;
  }
  return true;
}

/** The first position in [from, to - seg.length] where `seg` matches, or -1. */
function indexOfSegment(v: Int32Array, from: number, to: number, seg: Int32Array): number {
  for (let i = from; i + seg.length <= to; i++) if (matchesAt(v, i, seg)) return i;
  return -1;
}

/** `v[0..n)` holds the lower-cased value's code points. */
function matchesCodePoints(p: CompiledPattern, v: Int32Array, n: number): boolean {
  const segs = p.segments;
  if (segs.length === 1) return n === segs[0]!.length && matchesAt(v, 0, segs[0]!);
  // With a `*`, the anchored first and last segments cannot overlap once this holds.
  if (n < p.minLength) return false;
  const first = segs[0]!;
  const last = segs[segs.length - 1]!;
  const end = n - last.length;
  if (!matchesAt(v, 0, first) || !matchesAt(v, end, last)) return false;
  let pos = first.length;
  for (let k = 1; k < segs.length - 1; k++) {
    const seg = segs[k]!;
    const at = indexOfSegment(v, pos, end, seg);
    if (at < 0) return false;
    pos = at + seg.length;
  }
  return true;
}

/** `value : pattern`. Compile once, call per value. */
export function compileWildcard(pattern: string): WildcardMatcher {
  return compileWildcardList([pattern]);
}

/**
 * `value : (p1, p2, …)`: true when any pattern matches. The value is lower-cased and converted to
 * code points once for the whole list.
 */
export function compileWildcardList(patterns: readonly string[]): WildcardMatcher {
  const compiled = patterns.map(compile);
  const literals = new Set<string>();
  const wild: CompiledPattern[] = [];
  for (const p of compiled) {
    if (p.literal !== undefined) literals.add(p.literal);
    else wild.push(p);
  }
  if (wild.length === 0) return (value) => literals.has(value.toLowerCase());
  return (value) => {
    const lowered = value.toLowerCase();
    if (literals.has(lowered)) return true;
    const cps = lowered.length <= SCRATCH.length ? SCRATCH : new Int32Array(lowered.length);
    const n = fillCodePoints(lowered, cps);
    for (const p of wild) if (matchesCodePoints(p, cps, n)) return true;
    return false;
  };
}

/** `field : pattern(s)` on a keyword field: true when any element matches; missing never matches. */
export function keywordMatches(doc: unknown, path: FieldPath, matcher: WildcardMatcher): boolean {
  for (const v of path.values(doc)) {
    const k = toKeyword(v);
    if (k !== undefined && matcher(k)) return true;
  }
  return false;
}
