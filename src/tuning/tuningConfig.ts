/**
 * The tuning file (docs/tuning.md): per-rule exceptions, value lists, alert suppression, severity
 * and risk-score overrides, enable/disable and a circuit breaker, read from YAML and validated into
 * an immutable `Tuning`. Every error names its place in the file and what is wrong; list files are
 * resolved relative to the tuning file.
 *
 * `Tuning.version` identifies what is in force: a sha256 prefix over the tuning file's text and
 * each list file's name and text, so editing a list changes the version too.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { EcsEvent } from '../ecs/event.js';
import { isJsonObject, type JsonObject } from '../ecs/fields.js';
import { DETECTION_KEYS } from '../detectors/registry.js';
import { SEVERITY_NUMBER, type Severity } from '../detectors/rule.js';
import { compileCondition, TuningError, type Condition, type MatchInput, type StageResolver } from './conditions.js';
import { parseValueList, VALUE_LIST_KINDS, ValueListError, type ValueList, type ValueListKind } from './valueLists.js';

export const TUNING_FORMAT_VERSION = 1;

/**
 * The stages of each detection's alert, in the order of Finding.events (src/detectors/*.ts):
 * an index into the events (-1 = the last one). Every rule also has `alert` (the alert document).
 */
export const RULE_STAGES: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  rpc_to_internet: { flow: 0 },
  rpc_pairing: { mapper: 0, endpoint: 1 },
  remote_services: { connection: 0, process: 1 },
  // A D4 alert lists the first RDP event of its bucket (when it is another event) and the one that
  // pushed the score over the threshold.
  rdp_spike: { first: 0, trigger: -1 },
};

export const ALERT_STAGE = 'alert';

export interface Exception {
  readonly name: string;
  /** Where it is in the file: `rules.<key>.exceptions[<i>]`. */
  readonly path: string;
  readonly description: string | undefined;
  /** The stage the whole condition is bound to; undefined: holds when it holds on any event. */
  readonly stage: string | undefined;
  readonly when: Condition;
  /** Whether the exception stops an alert with these events. */
  matches(input: MatchInput): boolean;
}

export interface SuppressionSpec {
  /** Fields whose values make the suppression key, read from the alert document (then the trigger). */
  readonly by: readonly string[];
  readonly windowMs: number;
  /** Alerts missing a `by` field: suppressed together (`suppress`, Elastic's default) or never. */
  readonly missingFields: 'suppress' | 'doNotSuppress';
}

export interface RuleTuning {
  readonly key: string;
  readonly enabled: boolean;
  readonly severity: Severity | undefined;
  readonly riskScore: number | undefined;
  readonly exceptions: readonly Exception[];
  readonly suppression: SuppressionSpec | undefined;
  readonly maxAlertsPerMinute: number | undefined;
  readonly stages: readonly string[];
}

export interface Tuning {
  /** sha256 prefix of the file and its lists; `none` for the empty tuning. */
  readonly version: string;
  /** The tuning file it was read from, if any. */
  readonly file: string | undefined;
  /** Every file read (the tuning file and its lists): what the reloader watches. */
  readonly files: readonly string[];
  readonly lists: ReadonlyMap<string, ValueList>;
  /** One entry per detection key, defaults for those the file does not name. */
  readonly rules: ReadonlyMap<string, RuleTuning>;
  /** Keys of the enabled detections, in registry order: what the caller builds. */
  readonly enabledRules: readonly string[];
}

function defaultRule(key: string): RuleTuning {
  return Object.freeze({
    key,
    enabled: true,
    severity: undefined,
    riskScore: undefined,
    exceptions: Object.freeze([]),
    suppression: undefined,
    maxAlertsPerMinute: undefined,
    stages: Object.freeze([...Object.keys(RULE_STAGES[key] ?? {}), ALERT_STAGE]),
  });
}

function freezeTuning(t: Omit<Tuning, 'enabledRules'>): Tuning {
  const enabledRules = Object.freeze(DETECTION_KEYS.filter((k) => t.rules.get(k)?.enabled ?? true));
  return Object.freeze({ ...t, enabledRules });
}

/** No tuning: every rule enabled, nothing excepted, suppressed or capped. */
export const EMPTY_TUNING: Tuning = freezeTuning({
  version: 'none',
  file: undefined,
  files: Object.freeze([]),
  lists: new Map(),
  rules: new Map(DETECTION_KEYS.map((k) => [k, defaultRule(k)])),
});

/** The document a stage names in an alert's input; undefined when the alert has no such event. */
export function stageDocument(ruleKey: string, stage: string, input: MatchInput): JsonObject | undefined {
  if (stage === ALERT_STAGE) return input.alert;
  const i = RULE_STAGES[ruleKey]?.[stage];
  if (i === undefined) return undefined;
  return i >= 0 ? input.events[i] : input.events[input.events.length + i];
}

function stageResolvers(key: string): Map<string, StageResolver> {
  const out = new Map<string, StageResolver>();
  for (const name of [...Object.keys(RULE_STAGES[key] ?? {}), ALERT_STAGE]) {
    out.set(name, (input) => stageDocument(key, name, input));
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function camel(k: string): string {
  return k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** Rejects keys outside `allowed`, suggesting the camelCase form of a snake_case one. */
function checkKeys(obj: Record<string, unknown>, path: string, allowed: readonly string[]): void {
  for (const k of Object.keys(obj)) {
    if (allowed.includes(k)) continue;
    const hint = allowed.includes(camel(k)) ? ` (did you mean ${camel(k)}?)` : ` (allowed: ${allowed.join(', ')})`;
    throw new TuningError(path.length > 0 ? `${path}.${k}` : k, `unknown key${hint}`);
  }
}

function intIn(raw: unknown, path: string, min: number, max: number): number {
  if (typeof raw !== 'number' || !Number.isInteger(raw) || raw < min || raw > max) {
    throw new TuningError(path, `expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return raw;
}

const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const SEVERITIES = Object.keys(SEVERITY_NUMBER) as Severity[];

/** How list files are read: injected in tests. */
export type ReadText = (absolutePath: string) => string;

export interface ParseOptions {
  /** Directory list files are relative to (the tuning file's). */
  readonly baseDir: string;
  /** Shown in errors and kept in Tuning.file. */
  readonly file?: string;
  readonly readText?: ReadText;
}

function parseLists(
  raw: unknown,
  opts: ParseOptions,
  hash: ReturnType<typeof createHash>,
  files: string[],
): Map<string, ValueList> {
  const lists = new Map<string, ValueList>();
  if (raw === undefined || raw === null) return lists;
  if (!isPlainObject(raw)) throw new TuningError('lists', 'expected a map of list name to { type, file }');
  const read = opts.readText ?? ((p: string) => readFileSync(p, 'utf8'));
  for (const [name, spec] of Object.entries(raw)) {
    const path = `lists.${name}`;
    if (!NAME.test(name)) throw new TuningError(path, 'a list name is letters, digits, "_", "." or "-"');
    if (!isPlainObject(spec)) throw new TuningError(path, 'expected { type: keyword|ip|cidr, file: <path> }');
    checkKeys(spec, path, ['type', 'file', 'values', 'caseInsensitive']);
    const type = spec.type;
    if (typeof type !== 'string' || !VALUE_LIST_KINDS.includes(type as ValueListKind)) {
      throw new TuningError(`${path}.type`, `expected one of ${VALUE_LIST_KINDS.join(', ')}`);
    }
    const ci = spec.caseInsensitive;
    if (ci !== undefined && (typeof ci !== 'boolean' || type !== 'keyword')) {
      throw new TuningError(
        `${path}.caseInsensitive`,
        type === 'keyword' ? 'expected true or false' : 'only keyword lists have a case',
      );
    }
    if ((spec.file === undefined) === (spec.values === undefined)) {
      throw new TuningError(path, 'give either file (one value per line) or values (an inline list)');
    }
    let text: string;
    let where: string;
    if (spec.file !== undefined) {
      if (typeof spec.file !== 'string' || spec.file.length === 0)
        throw new TuningError(`${path}.file`, 'expected a file path');
      const abs = resolve(opts.baseDir, spec.file);
      try {
        text = read(abs);
      } catch (err) {
        throw new TuningError(`${path}.file`, `cannot read ${abs}: ${(err as Error).message}`);
      }
      files.push(abs);
      where = `${path}.file (${spec.file})`;
    } else {
      const values = spec.values;
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string' && typeof v !== 'number')) {
        throw new TuningError(`${path}.values`, 'expected a list of strings');
      }
      // Inline values are read as a file's lines, so both forms behave alike.
      if (values.some((v) => String(v).includes('\n')))
        throw new TuningError(`${path}.values`, 'a value holds a line break');
      text = values.map(String).join('\n');
      where = `${path}.values`;
    }
    hash.update(`\nlist ${name}\n`).update(text);
    try {
      lists.set(name, parseValueList(name, type as ValueListKind, text, { caseInsensitive: ci === true }));
    } catch (err) {
      if (!(err instanceof ValueListError)) throw err;
      const line = spec.file !== undefined ? ` line ${err.line}` : `[${err.line - 1}]`;
      throw new TuningError(`${where}${line}`, err.reason);
    }
  }
  return lists;
}

function parseException(raw: unknown, path: string, key: string, lists: Map<string, ValueList>): Exception {
  if (!isPlainObject(raw)) throw new TuningError(path, 'expected { name, when, stage? }');
  checkKeys(raw, path, ['name', 'description', 'stage', 'when']);
  const name = raw.name;
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new TuningError(
      `${path}.name`,
      'expected a name of letters, digits, "_", "." or "-" (it labels the metrics)',
    );
  }
  const description = raw.description;
  if (description !== undefined && typeof description !== 'string')
    throw new TuningError(`${path}.description`, 'expected text');
  if (raw.when === undefined) throw new TuningError(`${path}.when`, 'missing: the condition that excepts an alert');
  const stages = stageResolvers(key);
  const ctx = { lists, stages };
  let stage: string | undefined;
  let resolveStage: StageResolver | undefined;
  if (raw.stage !== undefined) {
    if (typeof raw.stage !== 'string' || !stages.has(raw.stage)) {
      throw new TuningError(
        `${path}.stage`,
        `unknown stage ${JSON.stringify(raw.stage)} (${key} has: ${[...stages.keys()].join(', ')})`,
      );
    }
    stage = raw.stage;
    resolveStage = stages.get(stage);
  }
  const when = compileCondition(raw.when, `${path}.when`, ctx);
  const matches =
    resolveStage !== undefined
      ? (input: MatchInput) => when.holds(input, resolveStage(input))
      : (input: MatchInput) => {
          // Unbound: the condition holds on some event of the alert (Elastic applies a sequence
          // rule's exceptions to each of its events); with no events, on the alert document.
          if (input.events.length === 0) return when.holds(input, input.alert);
          for (const e of input.events) if (e !== undefined && when.holds(input, e)) return true;
          return false;
        };
  return Object.freeze({ name, path, description, stage, when, matches });
}

function parseSuppression(raw: unknown, path: string): SuppressionSpec {
  if (!isPlainObject(raw)) throw new TuningError(path, 'expected { by: [fields], windowMs }');
  checkKeys(raw, path, ['by', 'windowMs', 'missingFields']);
  const by = raw.by;
  if (!Array.isArray(by) || by.length === 0 || by.length > 8)
    throw new TuningError(`${path}.by`, 'expected 1 to 8 field paths');
  by.forEach((f, i) => {
    if (typeof f !== 'string' || f.length === 0 || f.split('.').some((s) => s.length === 0)) {
      throw new TuningError(`${path}.by[${i}]`, 'expected an ECS field path such as source.ip');
    }
  });
  if (new Set(by).size !== by.length) throw new TuningError(`${path}.by`, 'a field is listed twice');
  const windowMs = intIn(raw.windowMs, `${path}.windowMs`, 1000, 7 * 86_400_000);
  const missing = raw.missingFields ?? 'suppress';
  if (missing !== 'suppress' && missing !== 'doNotSuppress') {
    throw new TuningError(`${path}.missingFields`, 'expected suppress or doNotSuppress');
  }
  return Object.freeze({ by: Object.freeze([...(by as string[])]), windowMs, missingFields: missing });
}

function parseRule(raw: unknown, key: string, lists: Map<string, ValueList>): RuleTuning {
  const path = `rules.${key}`;
  if (raw === null || raw === undefined) return defaultRule(key);
  if (!isPlainObject(raw)) throw new TuningError(path, 'expected a map of rule settings');
  checkKeys(raw, path, ['enabled', 'severity', 'riskScore', 'exceptions', 'suppression', 'maxAlertsPerMinute']);
  const enabled = raw.enabled ?? true;
  if (typeof enabled !== 'boolean') throw new TuningError(`${path}.enabled`, 'expected true or false');
  const severity = raw.severity;
  if (severity !== undefined && !SEVERITIES.includes(severity as Severity)) {
    throw new TuningError(`${path}.severity`, `expected one of ${SEVERITIES.join(', ')}`);
  }
  const riskScore = raw.riskScore === undefined ? undefined : intIn(raw.riskScore, `${path}.riskScore`, 0, 100);
  const exceptionsRaw = raw.exceptions ?? [];
  if (!Array.isArray(exceptionsRaw)) throw new TuningError(`${path}.exceptions`, 'expected a list of exceptions');
  const exceptions = exceptionsRaw.map((e, i) => parseException(e, `${path}.exceptions[${i}]`, key, lists));
  const names = new Set<string>();
  exceptions.forEach((e, i) => {
    if (names.has(e.name))
      throw new TuningError(`${path}.exceptions[${i}].name`, `"${e.name}" is used twice in this rule`);
    names.add(e.name);
  });
  const suppression =
    raw.suppression === undefined ? undefined : parseSuppression(raw.suppression, `${path}.suppression`);
  const maxAlertsPerMinute =
    raw.maxAlertsPerMinute === undefined
      ? undefined
      : intIn(raw.maxAlertsPerMinute, `${path}.maxAlertsPerMinute`, 1, 1_000_000);
  return Object.freeze({
    ...defaultRule(key),
    enabled,
    severity: severity as Severity | undefined,
    riskScore,
    exceptions: Object.freeze(exceptions),
    suppression,
    maxAlertsPerMinute,
  });
}

/**
 * Validates a tuning file's text into a Tuning. Throws TuningError naming the place in the file
 * (prefixed with the file name when `opts.file` is given).
 */
export function parseTuning(text: string, opts: ParseOptions): Tuning {
  try {
    return parseTuningUnprefixed(text, opts);
  } catch (err) {
    if (err instanceof TuningError && opts.file !== undefined) {
      throw err.withFile(opts.file);
    }
    throw err;
  }
}

function parseTuningUnprefixed(text: string, opts: ParseOptions): Tuning {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TuningError('', `not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) doc = {};
  if (!isPlainObject(doc)) throw new TuningError('', 'expected a map with lists and rules');
  checkKeys(doc, '', ['version', 'lists', 'rules']);
  if (doc.version !== undefined && doc.version !== TUNING_FORMAT_VERSION) {
    throw new TuningError('version', `this picket reads tuning format ${TUNING_FORMAT_VERSION}`);
  }
  const hash = createHash('sha256').update(text);
  const files: string[] = opts.file !== undefined ? [resolve(opts.file)] : [];
  const lists = parseLists(doc.lists, opts, hash, files);
  const rulesRaw = doc.rules ?? {};
  if (!isPlainObject(rulesRaw)) throw new TuningError('rules', 'expected a map of detection key to settings');
  for (const k of Object.keys(rulesRaw)) {
    if (!DETECTION_KEYS.includes(k))
      throw new TuningError(`rules.${k}`, `unknown rule (detections: ${DETECTION_KEYS.join(', ')})`);
  }
  const rules = new Map(DETECTION_KEYS.map((k) => [k, parseRule(rulesRaw[k], k, lists)]));
  return freezeTuning({
    version: hash.digest('hex').slice(0, 12),
    file: opts.file,
    files: Object.freeze(files),
    lists,
    rules,
  });
}

/** Reads and validates a tuning file; list files are relative to it. Throws TuningError. */
export function loadTuningFile(file: string, readText?: ReadText): Tuning {
  const read = readText ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = read(resolve(file));
  } catch (err) {
    throw new TuningError('', `cannot read ${file}: ${(err as Error).message}`).withFile(file);
  }
  return parseTuning(text, { baseDir: dirname(resolve(file)), file, readText: read });
}

/**
 * The input an alert's exceptions are tested on. With `events` (Finding.events, stage order) every
 * stage is known. Without them only the trigger is: it is put at its stage, found by its origin
 * among the alert's `picket.events` references (stage order), and the other stages are holes
 * (conditions bound to them do not hold; negations do).
 */
export function alertMatchInput(
  alert: { readonly doc: JsonObject; readonly trigger: EcsEvent },
  events?: readonly { readonly doc: JsonObject }[],
): MatchInput {
  if (events !== undefined) return { events: events.map((e) => e.doc), alert: alert.doc };
  const picket = alert.doc.picket;
  const refs = isJsonObject(picket) && Array.isArray(picket.events) ? picket.events : [];
  const o = alert.trigger.origin;
  const at = refs.findIndex((r) =>
    !isJsonObject(r)
      ? false
      : o.kind === 'file'
        ? r.file === o.file && r.line === o.line
        : r.topic === o.topic && r.partition === o.partition && String(r.offset) === o.offset,
  );
  if (at < 0) return { events: [alert.trigger.doc], alert: alert.doc };
  const out: (JsonObject | undefined)[] = refs.map(() => undefined);
  out[at] = alert.trigger.doc;
  return { events: out, alert: alert.doc };
}
