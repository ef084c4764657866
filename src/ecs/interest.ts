/**
 * What a detection declares it could use, as conditions on field values, so that the stream path
 * can skip the events no enabled detection could use without parsing them (src/ecs/fastPath.ts).
 *
 * An Interest is a list of alternatives, each a conjunction of positive field tests. It is a
 * *necessary* condition: an event can matter to the detection (make it alert, or be wanted by an
 * ordered detection's `wants()`) only if, for some alternative, every test holds. It may hold for
 * many events that do not matter; it must never fail for one that does.
 *
 * A test holds when **any** value of the field satisfies it (detections.md, "Common rules"):
 * nested, dotted or mixed keys, arrays anywhere, numbers or numeric strings for numeric tests,
 * keywords as toKeyword() reads them. Only positive tests exist: a test on more values can only hold
 * more often, which is what lets the raw scanner over-approximate (duplicate keys, escapes) safely.
 */
import { field, type JsonObject } from './fields.js';
import { toKeyword, toNumber } from './values.js';

export type FieldTest =
  /** `field == value` on a numeric field (number or numeric string). */
  | { readonly field: string; readonly op: 'number_eq'; readonly value: number }
  /** `field >= value` on a numeric field. */
  | { readonly field: string; readonly op: 'number_gte'; readonly value: number }
  /** `field == value`, exact and case-sensitive, on a keyword field. `value` must be ASCII. */
  | { readonly field: string; readonly op: 'keyword_eq'; readonly value: string }
  /** `field : value` without wildcards: lower-cased forms equal. `value` must be ASCII. */
  | { readonly field: string; readonly op: 'keyword_eq_ci'; readonly value: string };

/** Alternatives (any), each a conjunction (all) of tests. `[]`: no event matters. */
export type Interest = readonly (readonly FieldTest[])[];

/** The reference reading of one test on a parsed document (the fast path must agree with it). */
export function testHolds(t: FieldTest, doc: JsonObject): boolean {
  for (const v of field(t.field).values(doc)) {
    switch (t.op) {
      case 'number_eq':
        if (toNumber(v) === t.value) return true;
        break;
      case 'number_gte': {
        const n = toNumber(v);
        if (n !== undefined && n >= t.value) return true;
        break;
      }
      case 'keyword_eq':
        if (toKeyword(v) === t.value) return true;
        break;
      case 'keyword_eq_ci':
        if (toKeyword(v)?.toLowerCase() === t.value.toLowerCase()) return true;
        break;
    }
  }
  return false;
}

/** Whether the interest holds for a parsed document (tests use it to check a detection's declaration). */
export function interestHolds(interest: Interest, doc: JsonObject): boolean {
  return interest.some((all) => all.every((t) => testHolds(t, doc)));
}
