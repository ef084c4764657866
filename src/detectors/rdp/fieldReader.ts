/**
 * Reads one field of a document without allocating, whatever mix of nested and dotted keys it
 * arrived in. It walks exactly as FieldPath.values (src/ecs/fields.ts) does, in the same order, but
 * stops at the first leaf a predicate accepts instead of collecting every leaf into an array: on
 * the per-event path of a detection that most events do not concern, that array is the cost.
 *
 * Keys are read as plain properties: no segment, nor any dotted join of segments, used by the RDP
 * readers names a property of Object.prototype, so a missing key reads as undefined.
 */
import { field, type FieldPath, type JsonObject } from '../../ecs/fields.js';

/** Returned by `find` when no leaf matched. */
export const NOT_FOUND: unique symbol = Symbol('not found');

const ANY = (): boolean => true;

export class FastField {
  readonly name: string;
  /** The equivalent compiled path, for callers that need every value. */
  readonly path: FieldPath;
  private readonly segments: readonly string[];
  /** joined[i][k] = segments[i..i+k].join('.'). */
  private readonly joined: readonly (readonly string[])[];

  constructor(name: string) {
    this.name = name;
    this.path = field(name);
    this.segments = this.path.segments;
    const n = this.segments.length;
    const joined: string[][] = [];
    for (let i = 0; i < n; i++) {
      const row: string[] = [];
      for (let j = i; j < n; j++) row.push(this.segments.slice(i, j + 1).join('.'));
      joined.push(row);
    }
    this.joined = joined;
  }

  /** The first leaf value accepted by `accept` (in FieldPath.values order), or NOT_FOUND. */
  find(doc: JsonObject, accept: (v: unknown) => boolean): unknown {
    return this.walk(doc, 0, accept);
  }

  /** Whether any leaf value satisfies `accept`: a keyword condition on a multi-valued field. */
  some(doc: JsonObject, accept: (v: unknown) => boolean): boolean {
    return this.walk(doc, 0, accept) !== NOT_FOUND;
  }

  /** The first non-null leaf value (FieldPath.first), or undefined. */
  first(doc: JsonObject): unknown {
    const v = this.walk(doc, 0, ANY);
    return v === NOT_FOUND ? undefined : v;
  }

  private walk(node: unknown, i: number, accept: (v: unknown) => boolean): unknown {
    if (Array.isArray(node)) {
      for (let e = 0; e < node.length; e++) {
        const r = this.walk(node[e], i, accept);
        if (r !== NOT_FOUND) return r;
      }
      return NOT_FOUND;
    }
    if (i === this.segments.length) {
      return node !== null && node !== undefined && accept(node) ? node : NOT_FOUND;
    }
    if (typeof node !== 'object' || node === null) return NOT_FOUND;
    const row = this.joined[i]!;
    const obj = node as JsonObject;
    for (let k = 0; k < row.length; k++) {
      const child = obj[row[k]!];
      if (child === undefined) continue;
      const r = this.walk(child, i + k + 1, accept);
      if (r !== NOT_FOUND) return r;
    }
    return NOT_FOUND;
  }
}
