/**
 * The tuning stage between the engine and the producer (docs/tuning.md): every Alert the engine
 * returns goes through `Tuner.decide`, which says what becomes of it and what to publish.
 *
 *   disabled rule ─► dropped ("disabled"; the caller should not build the detection at all)
 *   an exception matches ─► dropped ("excepted", with the exception's name)
 *   suppression window open for its key ─► counted ("suppressed"); a follow-up goes out when the window closes
 *   over the rule's per-minute cap ─► counted ("circuit_broken"); one summary per rule and minute
 *   otherwise ─► published, with the severity / risk-score overrides applied
 *
 * Everything runs on event time (Alert.time, and the `now` the caller passes, e.g. the engine
 * watermark), never the wall clock, so a replay gives the same outputs every time. Suppression
 * windows and circuit-breaker minutes are plain JSON (snapshot/restore, and drainChanges() for a
 * compacted changelog topic), so a restart mid-window gives the same outputs as no restart.
 *
 * Suppression follows Elastic's alert suppression: the first alert of a key goes out at once;
 * later alerts with the same key within `windowMs` of it are counted; when the window closes (the
 * caller's `now` passes its end, or flush()) one follow-up document is published if any were
 * counted: a copy of the first alert with `picket.suppressed_count`, `picket.suppression.{first,
 * last}` times and a deterministic id (sha256 of the first alert's id and "suppressed").
 */
import { createHash } from 'node:crypto';
import type { Alert } from '../alerts/alert.js';
import { createDetections, DETECTION_KEYS } from '../detectors/registry.js';
import { SEVERITY_NUMBER } from '../detectors/rule.js';
import type { EcsEvent } from '../ecs/event.js';
import { field, isJsonObject, type JsonObject } from '../ecs/fields.js';
import { formatIp, parseIp } from '../ecs/ip.js';
import { formatEventTime } from '../ecs/time.js';
import { toKeyword } from '../ecs/values.js';
import { alertMatchInput, type RuleTuning, type SuppressionSpec, type Tuning } from './tuningConfig.js';

export type Outcome = 'published' | 'excepted' | 'suppressed' | 'circuit_broken' | 'disabled' | 'unknown_rule';

/** What the tuner asks to publish. */
export type OutputKind = 'alert' | 'suppression_update' | 'circuit_breaker_summary';

export interface TunedAlert {
  readonly kind: OutputKind;
  /** `event.id` of the document. */
  readonly id: string;
  readonly ruleKey: string;
  readonly ruleId: string;
  /** Event time of the document (its @timestamp), epoch ms. */
  readonly time: number;
  /** Kafka key of the record (the first alert's key for a follow-up). */
  readonly key: string;
  /** The document without `event.created` (add it as alertDocument() does). */
  readonly doc: JsonObject;
  /** kind `alert`: the engine's alert it is (doc may differ: overrides). */
  readonly source?: Alert;
}

export interface Decision {
  readonly outcome: Outcome;
  readonly ruleKey: string;
  /** outcome `excepted`: the exception that matched first (file order). */
  readonly exception?: string;
  /** outcome `suppressed`, or `published` when a window was opened: the suppression state key. */
  readonly suppressionKey?: string;
  /** Everything to publish now, in order: outputs that fell due at `now`, then this alert if published. */
  readonly publish: readonly TunedAlert[];
}

export interface TunerOptions {
  /** Called once per decision: the counters of the metrics (rule, outcome, exception name). */
  readonly onDecision?: (ruleKey: string, outcome: Outcome, exception?: string) => void;
  /** Detection key of an alert; by default from its rule.id (the registry's rules). */
  readonly ruleKeyOf?: (alert: Alert) => string | undefined;
}

export interface DecideOptions {
  /** The alert's events in stage order (Finding.events); without them only the trigger is known (alertMatchInput). */
  readonly events?: readonly EcsEvent[];
  /** Event time up to which windows and minutes may close (e.g. the engine watermark); default alert.time. */
  readonly now?: number;
}

interface SuppressionWindow {
  readonly type: 'suppression';
  readonly rule: string;
  readonly ruleId: string;
  readonly by: Record<string, string | string[] | null>;
  readonly start: number;
  readonly end: number;
  readonly firstId: string;
  readonly firstKey: string;
  readonly firstDoc: JsonObject;
  count: number;
  firstSuppressed?: number;
  lastSuppressed?: number;
  lastSuppressedId?: string;
}

interface BreakerMinute {
  readonly type: 'circuit';
  readonly rule: string;
  readonly ruleId: string;
  readonly minute: number;
  readonly limit: number;
  published: number;
  dropped: number;
  firstDropped?: { id: string; time: number };
  lastDropped?: { id: string; time: number };
  /** rule, threat and severity fields of the first dropped alert, for the summary document. */
  base?: JsonObject;
}

type StateEntry = SuppressionWindow | BreakerMinute;

const MINUTE = 60_000;
const SUPPRESSION_PREFIX = 'suppression/';
const CIRCUIT_PREFIX = 'circuit/';

let ruleKeys: Map<string, string> | undefined;

/** rule.id → detection key, from the registry (built once). */
export function detectionKeyOfRule(ruleId: string): string | undefined {
  ruleKeys ??= new Map(createDetections(DETECTION_KEYS).map((d) => [d.rule.id, d.key]));
  return ruleKeys.get(ruleId);
}

function sha32(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 32);
}

/** The follow-up of a suppression window whose first alert is `firstId`. */
export function suppressionUpdateId(firstId: string): string {
  return sha32(firstId, 'suppressed');
}

export function circuitSummaryId(ruleId: string, minuteStart: number): string {
  return sha32('picket-circuit-breaker-v1', ruleId, String(minuteStart));
}

/** A suppression field's value: IPs canonical, several values sorted, missing null. */
function suppressionValue(docs: readonly JsonObject[], path: string): string | string[] | null {
  const fp = field(path);
  for (const doc of docs) {
    const out = new Set<string>();
    for (const v of fp.values(doc)) {
      const ip = typeof v === 'string' && (path === 'ip' || path.endsWith('.ip')) ? parseIp(v) : undefined;
      const k = ip !== undefined ? formatIp(ip) : toKeyword(v);
      if (k !== undefined) out.add(k);
    }
    if (out.size === 1) return [...out][0]!;
    if (out.size > 1) return [...out].sort();
  }
  return null;
}

function clone(doc: JsonObject): JsonObject {
  return structuredClone(doc);
}

/** Severity and risk-score overrides, written where buildAlert() writes them. */
function applyOverrides(doc: JsonObject, rule: RuleTuning, version: string): JsonObject {
  if (rule.severity === undefined && rule.riskScore === undefined) return doc;
  const out: JsonObject = { ...doc };
  const event: JsonObject = { ...(isJsonObject(doc.event) ? doc.event : {}) };
  const picket: JsonObject = { ...(isJsonObject(doc.picket) ? doc.picket : {}) };
  const overrides: string[] = [];
  if (rule.severity !== undefined) {
    event.severity = SEVERITY_NUMBER[rule.severity];
    picket.severity = rule.severity;
    overrides.push('severity');
  }
  if (rule.riskScore !== undefined) {
    event.risk_score = rule.riskScore;
    event.risk_score_norm = rule.riskScore;
    overrides.push('risk_score');
  }
  picket.tuning = { version, overrides };
  out.event = event;
  out.picket = picket;
  return out;
}

function withEventId(doc: JsonObject, id: string, time: number): JsonObject {
  const event = { ...(isJsonObject(doc.event) ? doc.event : {}), id };
  return { ...doc, '@timestamp': formatEventTime(time), event };
}

export class Tuner {
  private current: Tuning;
  private readonly state = new Map<string, StateEntry>();
  private readonly dirty = new Set<string>();
  /** Smallest time at which some state entry can close; +∞ when none. */
  private nextDue = Number.POSITIVE_INFINITY;
  private readonly onDecision: TunerOptions['onDecision'];
  private readonly ruleKeyOf: (alert: Alert) => string | undefined;

  constructor(tuning: Tuning, opts: TunerOptions = {}) {
    this.current = tuning;
    this.onDecision = opts.onDecision;
    this.ruleKeyOf = opts.ruleKeyOf ?? ((a) => detectionKeyOfRule(a.rule.id));
  }

  get tuning(): Tuning {
    return this.current;
  }

  /**
   * Puts a new tuning in force (atomic: the next decide() uses it). Open suppression windows and
   * breaker minutes keep their end and close as they would have.
   */
  setTuning(tuning: Tuning): void {
    this.current = tuning;
  }

  decide(alert: Alert, opts: DecideOptions = {}): Decision {
    const publish: TunedAlert[] = this.advance(opts.now ?? alert.time);
    const ruleKey = this.ruleKeyOf(alert);
    const rule = ruleKey === undefined ? undefined : this.current.rules.get(ruleKey);
    const decided = (outcome: Outcome, extra: Partial<Decision> = {}): Decision => {
      this.onDecision?.(ruleKey ?? alert.rule.id, outcome, extra.exception);
      return { outcome, ruleKey: ruleKey ?? alert.rule.id, publish, ...extra };
    };
    if (ruleKey === undefined || rule === undefined) {
      // Not a rule the tuning knows: publish untouched rather than lose an alert.
      publish.push(this.output('alert', alert, alert.rule.id, alert.doc));
      return decided('unknown_rule');
    }
    if (!rule.enabled) return decided('disabled');
    if (rule.exceptions.length > 0) {
      const input = alertMatchInput(alert, opts.events);
      for (const ex of rule.exceptions) if (ex.matches(input)) return decided('excepted', { exception: ex.name });
    }
    const doc = applyOverrides(alert.doc, rule, this.current.version);
    let opened: { key: string; spec: SuppressionSpec; by: SuppressionWindow['by'] } | undefined;
    if (rule.suppression !== undefined) {
      const spec = rule.suppression;
      const docs = [alert.doc, alert.trigger.doc];
      const by: SuppressionWindow['by'] = {};
      let missing = false;
      for (const f of spec.by) {
        by[f] = suppressionValue(docs, f);
        if (by[f] === null) missing = true;
      }
      if (!(missing && spec.missingFields === 'doNotSuppress')) {
        const key = `${SUPPRESSION_PREFIX}${ruleKey}/${JSON.stringify(spec.by.map((f) => [f, by[f]]))}`;
        const open = this.state.get(key) as SuppressionWindow | undefined;
        if (open !== undefined && alert.time < open.end) {
          open.count++;
          if (open.firstSuppressed === undefined || alert.time < open.firstSuppressed)
            open.firstSuppressed = alert.time;
          if (open.lastSuppressed === undefined || alert.time >= open.lastSuppressed) {
            open.lastSuppressed = alert.time;
            open.lastSuppressedId = alert.id;
          }
          this.dirty.add(key);
          return decided('suppressed', { suppressionKey: key });
        }
        if (open !== undefined) this.close(key, open, publish);
        opened = { key, spec, by };
      }
    }
    if (rule.maxAlertsPerMinute !== undefined && !this.admit(ruleKey, alert, doc, rule.maxAlertsPerMinute)) {
      return decided('circuit_broken');
    }
    if (opened !== undefined) {
      const w: SuppressionWindow = {
        type: 'suppression',
        rule: ruleKey,
        ruleId: alert.rule.id,
        by: opened.by,
        start: alert.time,
        end: alert.time + opened.spec.windowMs,
        firstId: alert.id,
        firstKey: alert.key,
        firstDoc: doc,
        count: 0,
      };
      this.put(opened.key, w);
    }
    publish.push(this.output('alert', alert, ruleKey, doc));
    return decided('published', opened !== undefined ? { suppressionKey: opened.key } : {});
  }

  /** Closes what ends at or before `now` (event time); returns the follow-ups and summaries due. */
  advance(now: number): TunedAlert[] {
    const out: TunedAlert[] = [];
    if (now < this.nextDue) return out;
    let next = Number.POSITIVE_INFINITY;
    for (const [key, entry] of [...this.state]) {
      const end = entryEnd(entry);
      if (end <= now) this.close(key, entry, out);
      else if (end < next) next = end;
    }
    this.nextDue = next;
    return out;
  }

  /** End of input: closes every window and minute now. */
  flush(): TunedAlert[] {
    const out: TunedAlert[] = [];
    const entries = [...this.state].sort((a, b) => entryEnd(a[1]) - entryEnd(b[1]) || (a[0] < b[0] ? -1 : 1));
    for (const [key, entry] of entries) this.close(key, entry, out);
    this.nextDue = Number.POSITIVE_INFINITY;
    return out;
  }

  /** Open windows and minutes held. */
  get size(): number {
    return this.state.size;
  }

  /** Every open window and minute as JSON strings by state key: a compacted changelog's content. */
  snapshot(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.state) out[k] = JSON.stringify(v);
    return out;
  }

  /**
   * Entries changed since the last call: the JSON of what is held, or null (a tombstone) for what
   * was closed. What a changelog topic needs.
   */
  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const k of this.dirty) {
      const v = this.state.get(k);
      out.set(k, v === undefined ? null : JSON.stringify(v));
    }
    this.dirty.clear();
    return out;
  }

  /**
   * Loads snapshot() or changelog entries (null values delete). Entries that cannot be read are
   * skipped and counted, never fatal.
   */
  restore(entries: Record<string, string | null> | Iterable<[string, string | null]>): {
    restored: number;
    skipped: number;
  } {
    let restored = 0;
    let skipped = 0;
    const iter = Symbol.iterator in entries ? entries : Object.entries(entries);
    for (const [k, v] of iter as Iterable<[string, string | null]>) {
      if (v === null) {
        this.state.delete(k);
        continue;
      }
      let entry: unknown;
      try {
        entry = JSON.parse(v);
      } catch {
        skipped++;
        continue;
      }
      if (!isStateEntry(entry) || !(k.startsWith(SUPPRESSION_PREFIX) || k.startsWith(CIRCUIT_PREFIX))) {
        skipped++;
        continue;
      }
      this.state.set(k, entry);
      restored++;
      this.nextDue = Math.min(this.nextDue, entryEnd(entry));
    }
    return { restored, skipped };
  }

  /** Counts the alert in its minute; false when the cap is exceeded (counted as dropped). */
  private admit(ruleKey: string, alert: Alert, doc: JsonObject, limit: number): boolean {
    const minute = Math.floor(alert.time / MINUTE) * MINUTE;
    const key = `${CIRCUIT_PREFIX}${ruleKey}/${minute}`;
    let m = this.state.get(key) as BreakerMinute | undefined;
    if (m === undefined) {
      m = { type: 'circuit', rule: ruleKey, ruleId: alert.rule.id, minute, limit, published: 0, dropped: 0 };
      this.put(key, m);
    }
    this.dirty.add(key);
    if (m.published < limit) {
      m.published++;
      return true;
    }
    m.dropped++;
    const ref = { id: alert.id, time: alert.time };
    if (m.firstDropped === undefined) {
      m.firstDropped = ref;
      const event = isJsonObject(doc.event) ? doc.event : {};
      const picket = isJsonObject(doc.picket) ? doc.picket : {};
      m.base = {
        rule: doc.rule,
        threat: doc.threat,
        severity: event.severity ?? null,
        risk_score: event.risk_score ?? null,
        picket_severity: picket.severity ?? null,
      };
    }
    if (m.lastDropped === undefined || alert.time >= m.lastDropped.time) m.lastDropped = ref;
    return false;
  }

  private put(key: string, entry: StateEntry): void {
    this.state.set(key, entry);
    this.dirty.add(key);
    const end = entryEnd(entry);
    if (end < this.nextDue) this.nextDue = end;
  }

  private close(key: string, entry: StateEntry, out: TunedAlert[]): void {
    this.state.delete(key);
    this.dirty.add(key);
    if (entry.type === 'suppression') {
      if (entry.count > 0) out.push(suppressionUpdate(entry));
    } else if (entry.dropped > 0) {
      out.push(circuitSummary(entry));
    }
  }

  private output(kind: OutputKind, alert: Alert, ruleKey: string, doc: JsonObject): TunedAlert {
    return { kind, id: alert.id, ruleKey, ruleId: alert.rule.id, time: alert.time, key: alert.key, doc, source: alert };
  }
}

function entryEnd(e: StateEntry): number {
  return e.type === 'suppression' ? e.end : e.minute + MINUTE;
}

function isStateEntry(v: unknown): v is StateEntry {
  if (!isJsonObject(v)) return false;
  if (v.type === 'suppression') {
    return (
      typeof v.rule === 'string' &&
      typeof v.start === 'number' &&
      typeof v.end === 'number' &&
      typeof v.firstId === 'string' &&
      typeof v.count === 'number' &&
      isJsonObject(v.firstDoc)
    );
  }
  return (
    v.type === 'circuit' && typeof v.rule === 'string' && typeof v.minute === 'number' && typeof v.dropped === 'number'
  );
}

/** The follow-up document of a closed window with suppressed alerts. */
function suppressionUpdate(w: SuppressionWindow): TunedAlert {
  const id = suppressionUpdateId(w.firstId);
  const last = w.lastSuppressed ?? w.start;
  const doc = withEventId(clone(w.firstDoc), id, last);
  const picket: JsonObject = { ...(isJsonObject(doc.picket) ? doc.picket : {}) };
  picket.suppressed_count = w.count;
  picket.suppression = {
    of: w.firstId,
    first: formatEventTime(w.firstSuppressed ?? w.start),
    last: formatEventTime(last),
    last_id: w.lastSuppressedId ?? null,
    window: { start: formatEventTime(w.start), end: formatEventTime(w.end), ms: w.end - w.start },
    terms: Object.entries(w.by).map(([f, value]) => ({ field: f, value })),
  };
  doc.picket = picket;
  return { kind: 'suppression_update', id, ruleKey: w.rule, ruleId: w.ruleId, time: last, key: w.firstKey, doc };
}

/** The one summary of a rule's minute over its cap. */
function circuitSummary(m: BreakerMinute): TunedAlert {
  const id = circuitSummaryId(m.ruleId, m.minute);
  const base = m.base ?? {};
  const ruleDoc = isJsonObject(base.rule) ? base.rule : { id: m.ruleId };
  const name = typeof ruleDoc.name === 'string' ? ruleDoc.name : m.ruleId;
  const time = m.minute + MINUTE - 1;
  const doc: JsonObject = {
    '@timestamp': formatEventTime(time),
    message: `${name}: ${m.dropped} alert${m.dropped === 1 ? '' : 's'} over the limit of ${m.limit} per minute not published`,
    event: {
      kind: 'alert',
      id,
      module: 'picket',
      dataset: 'picket.alerts',
      severity: base.severity ?? null,
      risk_score: base.risk_score ?? null,
      risk_score_norm: base.risk_score ?? null,
    },
    rule: ruleDoc,
    ...(isJsonObject(base.threat) ? { threat: base.threat } : {}),
    picket: {
      severity: base.picket_severity ?? null,
      circuit_breaker: {
        minute: { start: formatEventTime(m.minute), end: formatEventTime(m.minute + MINUTE) },
        limit: m.limit,
        published: m.published,
        dropped: m.dropped,
        first_dropped: m.firstDropped ? { id: m.firstDropped.id, time: formatEventTime(m.firstDropped.time) } : null,
        last_dropped: m.lastDropped ? { id: m.lastDropped.id, time: formatEventTime(m.lastDropped.time) } : null,
      },
    },
    observer: { vendor: 'picket', product: 'picket', type: 'detection-engine' },
    tags: ['picket', 'picket.circuit_breaker'],
  };
  return { kind: 'circuit_breaker_summary', id, ruleKey: m.rule, ruleId: m.ruleId, time, key: id, doc };
}
