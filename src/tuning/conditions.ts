/**
 * The condition language of tuning exceptions (docs/tuning.md, "Conditions"): a plain object, as
 * read from YAML, is validated and compiled once into a `Condition` tree that is then tested
 * against events. Errors name the exact place in the file (`rules.remote_services.exceptions[2]
 * .when.any[0].field`) and what is wrong.
 *
 * A leaf is `{ field: <ECS path>, <operator>: <argument> }` with exactly one operator:
 *   is          string | number | boolean   equality; numbers compare numerically ("135" is 135);
 *                                            on an IP field (`*.ip`) an address compares as an address
 *   is_one_of   [values…] | { list: name }   any of the values (a keyword value list by name)
 *   matches     pattern | [patterns…]        `*` any run, `?` one character (src/ecs/wildcard.ts)
 *   in_cidr     range | [ranges…] | { list: name }   IPv4/IPv6 CIDR ranges or addresses
 *   exists      true | false                 the field has a (non-null) value / has none
 * and optionally `caseInsensitive: true|false` (is, is_one_of with inline values, matches).
 * Combinators: `{ all: [...] }`, `{ any: [...] }`, `{ not: <condition> }`.
 * Any node may carry `stage: <name>`: it and its children are then tested on that stage's event of
 * the alert (see tuningConfig.ts RULE_STAGES), or on the alert document for `stage: alert`.
 *
 * Reading follows detections.md "Common rules": a keyword array matches when any element matches;
 * a positive condition never holds on a missing field (or null); `not` holds there.
 *
 * Case: `matches` is case-insensitive by default on fields that name things on Windows (the last
 * path segment is one of CASE_INSENSITIVE_LEAVES: `process.name`, `file.path`, `process.executable`,
 * `process.command_line`, `process.args`, `host.hostname`, `user.name`, `user.domain`…), and
 * case-sensitive elsewhere, as Elasticsearch's `keyword` is. `is` and inline `is_one_of` are exact
 * (case-sensitive) unless `caseInsensitive: true`. A value list's case is the list's own setting.
 */
import { field, type FieldPath, type JsonObject } from '../ecs/fields.js';
import { parseIp } from '../ecs/ip.js';
import { toKeyword, toNumber } from '../ecs/values.js';
import { compileWildcardList, type WildcardMatcher } from '../ecs/wildcard.js';
import { ipRangeList, ValueListError, type IpRangeList, type ValueList } from './valueLists.js';

/** A configuration error at `path` (a location in the tuning file). */
export class TuningError extends Error {
  constructor(
    /** The place in the file, e.g. `rules.remote_services.exceptions[2].when.any[0].field`; '' = the whole file. */
    readonly path: string,
    readonly reason: string,
    /** The tuning file, when known. */
    readonly file?: string,
  ) {
    super([file, path.length > 0 ? path : undefined, reason].filter((s) => s !== undefined).join(': '));
    this.name = 'TuningError';
  }

  /** The same error, said of `file`. */
  withFile(file: string): TuningError {
    return new TuningError(this.path, this.reason, file);
  }
}

/**
 * What an exception is tested on: the alert's events in stage order (a hole where an event is not
 * known: see alertMatchInput in tuningConfig.ts), and the alert document.
 */
export interface MatchInput {
  readonly events: readonly (JsonObject | undefined)[];
  readonly alert: JsonObject | undefined;
}

/** Finds a stage's document in the input; undefined when the alert has no such event. */
export type StageResolver = (input: MatchInput) => JsonObject | undefined;

export interface CompileContext {
  readonly lists: ReadonlyMap<string, ValueList>;
  /** The stages conditions may name, for the rule being compiled. */
  readonly stages: ReadonlyMap<string, StageResolver>;
}

/** How a condition fared on one input: for `replay --explain`. */
export interface ConditionTrace {
  /** The condition as a short text, e.g. `process.executable matches "C:\Windows\CCM\*" (ci)`. */
  readonly text: string;
  /** Where it is in the tuning file. */
  readonly path: string;
  readonly holds: boolean;
  /** Why, for leaves: the values seen, or "field missing". */
  readonly why?: string;
  readonly children: readonly ConditionTrace[];
}

export interface Condition {
  readonly path: string;
  readonly text: string;
  /** Whether it holds; `doc` is the event it is tested on (unless the node names its own stage). */
  holds(input: MatchInput, doc: JsonObject | undefined): boolean;
  trace(input: MatchInput, doc: JsonObject | undefined): ConditionTrace;
}

const OPERATORS = ['is', 'is_one_of', 'matches', 'in_cidr', 'exists'] as const;
type Operator = (typeof OPERATORS)[number];
const COMBINATORS = ['all', 'any', 'not'] as const;

/** Last path segments whose values `matches` compares case-insensitively by default. */
export const CASE_INSENSITIVE_LEAVES: ReadonlySet<string> = new Set([
  'name',
  'path',
  'executable',
  'command_line',
  'args',
  'working_directory',
  'hostname',
  'domain',
  'original_file_name',
  'target_path',
]);

export function defaultCaseInsensitive(fieldPath: string): boolean {
  const dot = fieldPath.lastIndexOf('.');
  return CASE_INSENSITIVE_LEAVES.has(fieldPath.slice(dot + 1));
}

function isIpField(fieldPath: string): boolean {
  return fieldPath === 'ip' || fieldPath.endsWith('.ip');
}

function describe(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The values a leaf saw, for traces: at most three, each shortened. */
function seen(values: readonly unknown[]): string {
  if (values.length === 0) return 'field missing';
  const shown = values.slice(0, 3).map((v) => {
    const s = typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v));
    return s.length > 80 ? `${s.slice(0, 77)}…` : s;
  });
  return `value${values.length > 1 ? 's' : ''} ${shown.join(', ')}${values.length > 3 ? ` … (${values.length})` : ''}`;
}

/** A case-sensitive wildcard matcher with the semantics (and linear cost) of src/ecs/wildcard.ts. */
export function compileCaseSensitiveWildcard(patterns: readonly string[]): WildcardMatcher {
  const compiled = patterns.map((p) => {
    const parts = p.split('*').map((s) => Array.from(s));
    const segs = parts.filter((s, i) => !(s.length === 0 && i > 0 && i < parts.length - 1));
    return { star: parts.length > 1, segs, min: segs.reduce((n, s) => n + s.length, 0) };
  });
  const at = (v: string[], i: number, seg: string[]): boolean => {
    for (let j = 0; j < seg.length; j++) if (seg[j] !== '?' && v[i + j] !== seg[j]) return false;
    return true;
  };
  return (value) => {
    const v = Array.from(value);
    outer: for (const p of compiled) {
      if (!p.star) {
        if (v.length === p.segs[0]!.length && at(v, 0, p.segs[0]!)) return true;
        continue;
      }
      if (v.length < p.min) continue;
      const first = p.segs[0]!;
      const last = p.segs[p.segs.length - 1]!;
      const end = v.length - last.length;
      if (!at(v, 0, first) || !at(v, end, last)) continue;
      let pos = first.length;
      for (let k = 1; k < p.segs.length - 1; k++) {
        const seg = p.segs[k]!;
        let found = -1;
        for (let i = pos; i + seg.length <= end; i++) {
          if (at(v, i, seg)) {
            found = i;
            break;
          }
        }
        if (found < 0) continue outer;
        pos = found + seg.length;
      }
      return true;
    }
    return false;
  };
}

/** A leaf: a test on one field's values, any element matching. */
class Leaf implements Condition {
  /** Compiled once: lookups then cost a few property reads (src/ecs/fields.ts). */
  private readonly fp: FieldPath;

  constructor(
    readonly path: string,
    readonly text: string,
    fieldPath: string,
    /** Tests one leaf value (already non-null). */
    private readonly test: ((v: unknown) => boolean) | undefined,
    /** For `exists`: the wanted answer. */
    private readonly exists: boolean | undefined,
  ) {
    this.fp = field(fieldPath);
  }

  holds(_input: MatchInput, doc: JsonObject | undefined): boolean {
    if (doc === undefined) return this.exists === false;
    const values = this.fp.values(doc);
    if (this.exists !== undefined) return values.length > 0 === this.exists;
    for (const v of values) if (this.test!(v)) return true;
    return false;
  }

  trace(input: MatchInput, doc: JsonObject | undefined): ConditionTrace {
    const why = doc === undefined ? 'no such event in this alert' : seen(this.fp.values(doc));
    return { text: this.text, path: this.path, holds: this.holds(input, doc), why, children: [] };
  }
}

class Combinator implements Condition {
  constructor(
    readonly path: string,
    readonly text: string,
    private readonly op: 'all' | 'any' | 'not',
    private readonly children: readonly Condition[],
  ) {}

  holds(input: MatchInput, doc: JsonObject | undefined): boolean {
    if (this.op === 'not') return !this.children[0]!.holds(input, doc);
    if (this.op === 'all') {
      for (const c of this.children) if (!c.holds(input, doc)) return false;
      return true;
    }
    for (const c of this.children) if (c.holds(input, doc)) return true;
    return false;
  }

  trace(input: MatchInput, doc: JsonObject | undefined): ConditionTrace {
    const children = this.children.map((c) => c.trace(input, doc));
    return { text: this.text, path: this.path, holds: this.holds(input, doc), children };
  }
}

/** A node with `stage:`: its subtree is tested on that stage's document. */
class StageBound implements Condition {
  constructor(
    readonly inner: Condition,
    readonly stage: string,
    private readonly resolve: StageResolver,
  ) {}

  get path(): string {
    return this.inner.path;
  }

  get text(): string {
    return `[${this.stage}] ${this.inner.text}`;
  }

  holds(input: MatchInput): boolean {
    return this.inner.holds(input, this.resolve(input));
  }

  trace(input: MatchInput): ConditionTrace {
    const t = this.inner.trace(input, this.resolve(input));
    return { ...t, text: `[${this.stage}] ${t.text}` };
  }
}

function expectStringArray(raw: unknown, path: string, what: string): string[] {
  const items = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(items) || items.length === 0)
    throw new TuningError(path, `expected ${what} or a non-empty list of them`);
  items.forEach((x, i) => {
    if (typeof x !== 'string' || x.length === 0) throw new TuningError(`${path}[${i}]`, `expected ${what}`);
  });
  return items as string[];
}

function listRef(raw: unknown, path: string, ctx: CompileContext): ValueList | undefined {
  if (!isPlainObject(raw)) return undefined;
  const keys = Object.keys(raw);
  if (keys.length !== 1 || keys[0] !== 'list') {
    throw new TuningError(path, `expected { list: <name> }, got keys ${keys.join(', ') || '(none)'}`);
  }
  const name = raw.list;
  if (typeof name !== 'string') throw new TuningError(`${path}.list`, 'expected a list name');
  const list = ctx.lists.get(name);
  if (list === undefined) {
    const known = [...ctx.lists.keys()];
    throw new TuningError(
      `${path}.list`,
      `no value list "${name}" (defined: ${known.length > 0 ? known.join(', ') : 'none'})`,
    );
  }
  return list;
}

function compileLeaf(raw: Record<string, unknown>, path: string, ctx: CompileContext): Leaf {
  const fieldPath = raw.field;
  if (typeof fieldPath !== 'string' || fieldPath.length === 0 || fieldPath.split('.').some((s) => s.length === 0)) {
    throw new TuningError(`${path}.field`, 'expected an ECS field path such as process.executable');
  }
  const ops = OPERATORS.filter((o) => o in raw);
  if (ops.length !== 1) {
    throw new TuningError(
      path,
      ops.length === 0
        ? `a condition on a field needs one operator: ${OPERATORS.join(', ')}`
        : `a condition has exactly one operator, got ${ops.join(' and ')}`,
    );
  }
  const op: Operator = ops[0]!;
  for (const k of Object.keys(raw)) {
    if (k !== 'field' && k !== op && k !== 'caseInsensitive' && k !== 'stage') {
      throw new TuningError(`${path}.${k}`, `unknown key (a field condition has field, ${op}, caseInsensitive, stage)`);
    }
  }
  const ciRaw = raw.caseInsensitive;
  if (ciRaw !== undefined && typeof ciRaw !== 'boolean')
    throw new TuningError(`${path}.caseInsensitive`, 'expected true or false');
  if (ciRaw !== undefined && (op === 'in_cidr' || op === 'exists')) {
    throw new TuningError(`${path}.caseInsensitive`, `does not apply to ${op}`);
  }
  const arg = raw[op];
  const argPath = `${path}.${op}`;
  const make = (text: string, test: (v: unknown) => boolean): Leaf => new Leaf(path, text, fieldPath, test, undefined);

  switch (op) {
    case 'exists': {
      if (typeof arg !== 'boolean') throw new TuningError(argPath, 'expected true or false');
      return new Leaf(path, `${fieldPath} ${arg ? 'exists' : 'does not exist'}`, fieldPath, undefined, arg);
    }
    case 'is': {
      const ci = ciRaw === true;
      return make(
        `${fieldPath} is ${describe(arg)}${ci ? ' (case-insensitive)' : ''}`,
        scalarTest(arg, argPath, fieldPath, ci),
      );
    }
    case 'is_one_of': {
      const list = listRef(arg, argPath, ctx);
      if (list !== undefined) {
        if (list.kind !== 'keyword') {
          throw new TuningError(`${argPath}.list`, `"${list.name}" is an ${list.kind} list: use in_cidr with it`);
        }
        if (ciRaw !== undefined && ciRaw !== list.caseInsensitive) {
          throw new TuningError(`${path}.caseInsensitive`, `set caseInsensitive on the list "${list.name}" instead`);
        }
        return make(`${fieldPath} is one of list ${list.name} (${list.size} values)`, (v) => {
          const k = toKeyword(v);
          return k !== undefined && list.has(k);
        });
      }
      if (!Array.isArray(arg) || arg.length === 0) {
        throw new TuningError(argPath, 'expected a non-empty list of values, or { list: <name> }');
      }
      const ci = ciRaw === true;
      const tests = arg.map((x, i) => scalarTest(x, `${argPath}[${i}]`, fieldPath, ci));
      const shown = arg.slice(0, 5).map(describe).join(', ') + (arg.length > 5 ? `, … (${arg.length})` : '');
      return make(`${fieldPath} is one of [${shown}]${ci ? ' (case-insensitive)' : ''}`, oneOfTest(arg, tests, ci));
    }
    case 'matches': {
      const patterns = expectStringArray(arg, argPath, 'a wildcard pattern');
      const ci = ciRaw ?? defaultCaseInsensitive(fieldPath);
      const m = ci ? compileWildcardList(patterns) : compileCaseSensitiveWildcard(patterns);
      const shown = patterns.length === 1 ? describe(patterns[0]) : `[${patterns.map(describe).join(', ')}]`;
      return make(`${fieldPath} matches ${shown}${ci ? ' (case-insensitive)' : ' (case-sensitive)'}`, (v) => {
        const k = toKeyword(v);
        return k !== undefined && m(k);
      });
    }
    case 'in_cidr': {
      let list: IpRangeList;
      const ref = listRef(arg, argPath, ctx);
      if (ref !== undefined) {
        if (ref.kind === 'keyword')
          throw new TuningError(`${argPath}.list`, `"${ref.name}" is a keyword list: use is_one_of with it`);
        list = ref;
      } else {
        const ranges = expectStringArray(arg, argPath, 'a CIDR range');
        try {
          list = ipRangeList('(inline)', 'cidr', ranges);
        } catch (err) {
          throw new TuningError(argPath, err instanceof ValueListError ? err.reason : (err as Error).message);
        }
      }
      const shown =
        ref !== undefined ? `list ${ref.name} (${ref.size} entries)` : (arg as string[] | string).toString();
      return make(`${fieldPath} in CIDR ${shown}`, (v) => {
        const ip = parseIp(v);
        return ip !== undefined && list.contains(ip);
      });
    }
  }
}

/** The test of one value for `is` (and each element of an inline `is_one_of`). */
function scalarTest(arg: unknown, path: string, fieldPath: string, ci: boolean): (v: unknown) => boolean {
  if (typeof arg === 'number') {
    if (!Number.isFinite(arg)) throw new TuningError(path, 'expected a finite number');
    return (v) => toNumber(v) === arg;
  }
  if (typeof arg === 'boolean') {
    const text = arg ? 'true' : 'false';
    return (v) => v === arg || v === text;
  }
  if (typeof arg !== 'string') throw new TuningError(path, 'expected a string, number or boolean');
  if (isIpField(fieldPath)) {
    const ip = parseIp(arg);
    if (ip !== undefined) {
      const one = ipRangeList('(inline)', 'ip', [arg]);
      return (v) => {
        const x = parseIp(v);
        return x !== undefined && one.contains(x);
      };
    }
  }
  if (ci) {
    const lowered = arg.toLowerCase();
    return (v) => toKeyword(v)?.toLowerCase() === lowered;
  }
  return (v) => toKeyword(v) === arg;
}

/** Inline `is_one_of`: strings through a Set (constant time), anything else through its test. */
function oneOfTest(
  arg: readonly unknown[],
  tests: readonly ((v: unknown) => boolean)[],
  ci: boolean,
): (v: unknown) => boolean {
  const strings = new Set<string>();
  const others: ((v: unknown) => boolean)[] = [];
  arg.forEach((x, i) => {
    // IP-looking strings on an IP field took the address test in scalarTest; keep it.
    if (typeof x === 'string' && parseIp(x) === undefined) strings.add(ci ? x.toLowerCase() : x);
    else others.push(tests[i]!);
  });
  return (v) => {
    const k = toKeyword(v);
    if (k !== undefined && strings.has(ci ? k.toLowerCase() : k)) return true;
    for (const t of others) if (t(v)) return true;
    return false;
  };
}

/**
 * Validates and compiles one condition. `path` is its location in the file, used in errors and
 * traces. Throws TuningError.
 */
export function compileCondition(raw: unknown, path: string, ctx: CompileContext): Condition {
  if (!isPlainObject(raw))
    throw new TuningError(
      path,
      'expected a condition: { field: …, <operator>: … }, { all: [...] }, { any: [...] } or { not: … }',
    );
  let stage: { name: string; resolve: StageResolver } | undefined;
  if (raw.stage !== undefined) {
    const name = raw.stage;
    const resolve = typeof name === 'string' ? ctx.stages.get(name) : undefined;
    if (resolve === undefined) {
      throw new TuningError(
        `${path}.stage`,
        `unknown stage ${describe(name)} (this rule has: ${[...ctx.stages.keys()].join(', ')})`,
      );
    }
    stage = { name: name as string, resolve };
  }
  const combinators = COMBINATORS.filter((c) => c in raw);
  let node: Condition;
  if ('field' in raw) {
    if (combinators.length > 0)
      throw new TuningError(path, `a condition is either a field test or ${combinators[0]}, not both`);
    node = compileLeaf(raw, path, ctx);
  } else {
    if (combinators.length !== 1) {
      const unknown = Object.keys(raw).filter((k) => k !== 'stage');
      throw new TuningError(
        path,
        combinators.length > 1
          ? `one of all, any, not per condition, got ${combinators.join(' and ')} (nest them)`
          : `expected field, all, any or not${unknown.length > 0 ? `, got ${unknown.join(', ')}` : ''}`,
      );
    }
    const op = combinators[0]!;
    for (const k of Object.keys(raw)) {
      if (k !== op && k !== 'stage') throw new TuningError(`${path}.${k}`, `unknown key beside ${op}`);
    }
    const body = raw[op];
    if (op === 'not') {
      const inner = compileCondition(body, `${path}.not`, ctx);
      node = new Combinator(path, `not (${inner.text})`, 'not', [inner]);
    } else {
      if (!Array.isArray(body) || body.length === 0)
        throw new TuningError(`${path}.${op}`, 'expected a non-empty list of conditions');
      const children = body.map((c, i) => compileCondition(c, `${path}.${op}[${i}]`, ctx));
      node = new Combinator(path, `${op} of ${children.length}`, op, children);
    }
  }
  return stage === undefined ? node : new StageBound(node, stage.name, stage.resolve);
}
