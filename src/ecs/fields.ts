/**
 * Field access on ECS documents that may be nested (`{"source":{"ip":…}}`), dotted
 * (`{"source.ip":…}`) or any mix of the two (`{"source":{"geo.city_name":…}}`), with arrays
 * anywhere along the path. Elasticsearch reads all of these as the same field, so picket does too.
 *
 * A path is compiled once into a `FieldPath`; lookups then cost a few property reads in the common
 * (fully nested or fully dotted) case and never allocate unless the field holds several values.
 */

/** A JSON object as produced by JSON.parse. */
export type JsonObject = { [key: string]: unknown };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const hasOwn = Object.prototype.hasOwnProperty;

export class FieldPath {
  readonly path: string;
  readonly segments: readonly string[];
  /** joined[i][j] = segments[i..j].join('.'), precomputed so lookups do not build strings. */
  private readonly joined: string[][];

  constructor(path: string) {
    if (path.length === 0 || path.split('.').some((s) => s.length === 0)) {
      throw new Error(`invalid field path "${path}"`);
    }
    this.path = path;
    this.segments = path.split('.');
    const n = this.segments.length;
    this.joined = [];
    for (let i = 0; i < n; i++) {
      const row: string[] = [];
      for (let j = i; j < n; j++) row.push(this.segments.slice(i, j + 1).join('.'));
      this.joined.push(row);
    }
  }

  /**
   * Every leaf value of the field, arrays flattened (Elasticsearch indexes each element).
   * `null` elements are dropped: a null value is a missing value.
   */
  values(doc: unknown): unknown[] {
    const out: unknown[] = [];
    this.collect(doc, 0, out);
    return out;
  }

  /** The first leaf value, or undefined when the field is missing. */
  first(doc: unknown): unknown {
    const all = this.values(doc);
    return all.length > 0 ? all[0] : undefined;
  }

  private collect(node: unknown, i: number, out: unknown[]): void {
    if (Array.isArray(node)) {
      for (const el of node) this.collect(el, i, out);
      return;
    }
    if (i === this.segments.length) {
      if (node !== null && node !== undefined) out.push(node);
      return;
    }
    if (!isJsonObject(node)) return;
    const row = this.joined[i]!;
    // Try "a", then "a.b", then "a.b.c"… at this level: each key that exists continues the walk.
    for (let k = 0; k < row.length; k++) {
      const key = row[k]!;
      if (hasOwn.call(node, key)) this.collect(node[key], i + k + 1, out);
    }
  }
}

const pathCache = new Map<string, FieldPath>();

/** A compiled path, shared: detectors compile their paths once at construction. */
export function field(path: string): FieldPath {
  let fp = pathCache.get(path);
  if (fp === undefined) {
    fp = new FieldPath(path);
    pathCache.set(path, fp);
  }
  return fp;
}
