/**
 * The alert document (detections.md, "Every alert"): ECS with `event.kind: alert`, shaped so that
 * Kibana's "External alerts" views and the prebuilt "External Alerts" rule show it.
 *
 * Building is pure and deterministic: the same events give the same document and the same
 * `event.id`. Only `event.created` (wall-clock time of production) is added when it is written.
 */
import { createHash } from 'node:crypto';
import { eventId, fingerprint, type EcsEvent } from '../ecs/event.js';
import { firstKeyword } from '../ecs/values.js';
import { field, isJsonObject, type JsonObject } from '../ecs/fields.js';
import { formatEventTime } from '../ecs/time.js';
import type { Finding } from '../detectors/detection.js';
import { SEVERITY_NUMBER, type RuleMeta } from '../detectors/rule.js';

export const ECS_VERSION = '8.17.0';
export const ALERT_ID_VERSION = 'picket-alert-v1';

export interface Alert {
  /** `event.id`: deterministic, see alertId(). */
  readonly id: string;
  readonly rule: RuleMeta;
  /** Event time at which it fired (its trigger event's time), epoch ms. */
  readonly time: number;
  /** The event that completed it (the last of its events). */
  readonly trigger: EcsEvent;
  /** Every event it is built from, in stage order (exceptions bound to a stage test these). */
  readonly events: readonly EcsEvent[];
  /**
   * True when its detection sees events through the engine's reorder buffer (the trigger was
   * released by the watermark); false when it saw the trigger as soon as it arrived.
   */
  readonly ordered: boolean;
  /** Kafka key of the alert record: the alert's `host.id`, else its id. */
  readonly key: string;
  /** The document without `event.created`. */
  readonly doc: JsonObject;
}

/** sha256 over the rule id, the fingerprint of each event in stage order, and the discriminator. */
export function alertId(finding: Finding): string {
  const h = createHash('sha256').update(ALERT_ID_VERSION).update('\n').update(finding.rule.id);
  for (const e of finding.events) h.update('\n').update(fingerprint(e));
  if (finding.discriminator !== undefined) h.update('\n#').update(finding.discriminator);
  return h.digest('hex').slice(0, 32);
}

/** The ECS `threat.*` form: flat parallel arrays. */
export function threatFields(rule: RuleMeta): JsonObject {
  const tactic = { id: [] as string[], name: [] as string[], reference: [] as string[] };
  const technique = { id: [] as string[], name: [] as string[], reference: [] as string[] };
  const sub = { id: [] as string[], name: [] as string[], reference: [] as string[] };
  for (const t of rule.threat) {
    tactic.id.push(t.tactic.id);
    tactic.name.push(t.tactic.name);
    tactic.reference.push(`https://attack.mitre.org/tactics/${t.tactic.id}/`);
    for (const tech of t.techniques) {
      if (!technique.id.includes(tech.id)) {
        technique.id.push(tech.id);
        technique.name.push(tech.name);
        technique.reference.push(`https://attack.mitre.org/techniques/${tech.id}/`);
      }
      for (const s of tech.subtechniques ?? []) {
        if (sub.id.includes(s.id)) continue;
        sub.id.push(s.id);
        sub.name.push(s.name);
        sub.reference.push(`https://attack.mitre.org/techniques/${s.id.replace('.', '/')}/`);
      }
    }
  }
  const techniqueOut: JsonObject = { ...technique };
  if (sub.id.length > 0) techniqueOut.subtechnique = sub;
  return { framework: 'MITRE ATT&CK', tactic, technique: techniqueOut };
}

function eventReference(e: EcsEvent): JsonObject {
  const ref: JsonObject = { '@timestamp': formatEventTime(e.time) };
  const id = eventId(e);
  if (id !== undefined) ref.event = { id };
  if (e.origin.kind === 'kafka') {
    ref.topic = e.origin.topic;
    ref.partition = e.origin.partition;
    ref.offset = Number(e.origin.offset);
  } else {
    ref.file = e.origin.file;
    ref.line = e.origin.line;
  }
  return ref;
}

const IP_FIELDS = ['source.ip', 'destination.ip', 'host.ip'].map(field);
const HOST_FIELDS = ['host.name', 'host.hostname', 'host.id'].map(field);
const USER_FIELDS = ['user.name'].map(field);

/** `related.*`, so that Kibana's pivots find the alert from any of its entities. */
function relatedFields(entities: JsonObject): JsonObject | undefined {
  const collect = (paths: typeof IP_FIELDS): string[] => {
    const out = new Set<string>();
    for (const p of paths) for (const v of p.values(entities)) if (typeof v === 'string') out.add(v);
    return [...out];
  };
  const related: JsonObject = {};
  const ip = collect(IP_FIELDS);
  const hosts = collect(HOST_FIELDS);
  const user = collect(USER_FIELDS);
  if (ip.length > 0) related.ip = ip;
  if (hosts.length > 0) related.hosts = hosts;
  if (user.length > 0) related.user = user;
  return Object.keys(related).length > 0 ? related : undefined;
}

const HOST_ID = field('host.id');

/** `detectionKey` names the detection's details object: `picket.<detectionKey>`. */
export function buildAlert(finding: Finding, detectionKey: string, ordered = false): Alert {
  const { rule } = finding;
  const trigger = finding.trigger ?? finding.events[finding.events.length - 1];
  if (trigger === undefined) throw new Error(`finding of ${rule.id} names no event`);
  const id = alertId(finding);
  const severity = SEVERITY_NUMBER[rule.severity];
  const doc: JsonObject = {
    '@timestamp': formatEventTime(trigger.time),
    message: rule.name,
    event: {
      kind: 'alert',
      id,
      module: 'picket',
      dataset: 'picket.alerts',
      severity,
      risk_score: rule.riskScore,
      risk_score_norm: rule.riskScore,
    },
    rule: {
      id: rule.id,
      name: rule.name,
      description: rule.description,
      reference: rule.references[0],
      ruleset: 'picket',
      version: rule.version,
      author: [...rule.author],
      license: rule.license,
    },
    threat: threatFields(rule),
  };
  for (const [k, v] of Object.entries(finding.entities)) {
    if (isJsonObject(v)) doc[k] = v;
  }
  const related = relatedFields(finding.entities);
  if (related !== undefined) doc.related = related;
  const picket: JsonObject = {
    severity: rule.severity,
    events: finding.events.map(eventReference),
    rule: { references: [...rule.references] },
  };
  if (finding.details !== undefined) picket[detectionKey] = finding.details;
  doc.picket = picket;
  doc.observer = { vendor: 'picket', product: 'picket', type: 'detection-engine' };
  doc.ecs = { version: ECS_VERSION };
  doc.tags = ['picket', ...rule.threat.map((t) => `attack.${t.tactic.id.toLowerCase()}`)];
  const key = firstKeyword(finding.entities, HOST_ID) ?? id;
  return { id, rule, time: trigger.time, trigger, events: finding.events, ordered, key, doc };
}

/** The alert document with `event.created` set to the time it is written. */
export function alertDocument(alert: Pick<Alert, 'doc'>, createdMs: number): JsonObject {
  const event = { ...(alert.doc.event as JsonObject), created: new Date(createdMs).toISOString() };
  return { ...alert.doc, event };
}

/** The alert as one JSON line, with `event.created` set to the time it is written. */
export function alertToJson(alert: Pick<Alert, 'doc'>, createdMs: number): string {
  return JSON.stringify(alertDocument(alert, createdMs));
}
