/**
 * Typed readings of field values, following the "Common rules" of detections.md:
 * keywords match when any element matches; numbers may be JSON numbers or numeric strings;
 * anything else is missing.
 */
import type { FieldPath } from './fields.js';

const NUMERIC_STRING = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A JSON number, or a string holding a decimal number; anything else is undefined (missing). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && NUMERIC_STRING.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/**
 * A keyword value as Elasticsearch would index it: strings as they are; numbers and booleans
 * coerced to their string form (a Winlogbeat 7 `event.code` is the number 4624); objects missing.
 */
export function toKeyword(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return undefined;
}

export function keywords(doc: unknown, path: FieldPath): string[] {
  const out: string[] = [];
  for (const v of path.values(doc)) {
    const k = toKeyword(v);
    if (k !== undefined) out.push(k);
  }
  return out;
}

export function firstKeyword(doc: unknown, path: FieldPath): string | undefined {
  for (const v of path.values(doc)) {
    const k = toKeyword(v);
    if (k !== undefined) return k;
  }
  return undefined;
}

export function numbers(doc: unknown, path: FieldPath): number[] {
  const out: number[] = [];
  for (const v of path.values(doc)) {
    const n = toNumber(v);
    if (n !== undefined) out.push(n);
  }
  return out;
}

export function firstNumber(doc: unknown, path: FieldPath): number | undefined {
  for (const v of path.values(doc)) {
    const n = toNumber(v);
    if (n !== undefined) return n;
  }
  return undefined;
}

/** `field == value` (exact, case-sensitive) on a keyword field: true when any element equals. */
export function keywordEquals(doc: unknown, path: FieldPath, value: string): boolean {
  for (const v of path.values(doc)) if (toKeyword(v) === value) return true;
  return false;
}

/** True when any element of the keyword field is one of `set` (exact). */
export function keywordIn(doc: unknown, path: FieldPath, set: ReadonlySet<string>): boolean {
  for (const v of path.values(doc)) {
    const k = toKeyword(v);
    if (k !== undefined && set.has(k)) return true;
  }
  return false;
}

/** `field == n` on a numeric field: true when any element equals numerically. */
export function numberEquals(doc: unknown, path: FieldPath, n: number): boolean {
  for (const v of path.values(doc)) if (toNumber(v) === n) return true;
  return false;
}
