/**
 * `picket replay --explain`: why an event did or did not lead to a published alert, in words.
 * Pure: it returns lines (and the structured result they come from); the CLI prints them.
 *
 * * explainEvent(): each rule's exceptions tested on one event as if it were each stage the
 *   exception is bound to (an unbound exception: on the event itself), every condition with
 *   whether it held and the values it saw.
 * * explainAlert(): an alert the event completed, with its events in stage order and the tuner's
 *   decision: which exception stopped it, or that it was suppressed, capped or published.
 */
import type { Alert } from '../alerts/alert.js';
import { eventId, type EcsEvent } from '../ecs/event.js';
import type { JsonObject } from '../ecs/fields.js';
import type { ConditionTrace, MatchInput } from './conditions.js';
import { alertMatchInput, RULE_STAGES, stageDocument, type Exception, type Tuning } from './tuningConfig.js';
import { detectionKeyOfRule, type Decision } from './tuner.js';

export interface ExceptionExplanation {
  readonly rule: string;
  readonly exception: string;
  readonly path: string;
  readonly stage: string | undefined;
  readonly matched: boolean;
  /** One trace per document it was tested on (an unbound exception: each event until one holds). */
  readonly traces: readonly ConditionTrace[];
}

export interface Explanation {
  readonly lines: readonly string[];
  readonly exceptions: readonly ExceptionExplanation[];
}

function traceLines(t: ConditionTrace, indent: string, out: string[]): void {
  const mark = t.holds ? '[x]' : '[ ]';
  const why = t.why !== undefined ? ` (${t.why})` : '';
  out.push(`${indent}${mark} ${t.text}${why}  @ ${t.path}`);
  for (const c of t.children) traceLines(c, `${indent}    `, out);
}

/** Tests one exception on an input, keeping the trace of each document it was tested on. */
function explainException(rule: string, ex: Exception, input: MatchInput): ExceptionExplanation {
  const traces: ConditionTrace[] = [];
  if (ex.stage !== undefined) {
    // Bound at the exception: `when` on that stage's document (nodes bound below resolve their own).
    traces.push(ex.when.trace(input, stageDocument(rule, ex.stage, input)));
  } else {
    const known = input.events.filter((e): e is JsonObject => e !== undefined);
    const docs = known.length > 0 ? known : input.alert !== undefined ? [input.alert] : [];
    for (const d of docs) {
      const t = ex.when.trace(input, d);
      traces.push(t);
      if (t.holds) break;
    }
  }
  return { rule, exception: ex.name, path: ex.path, stage: ex.stage, matched: ex.matches(input), traces };
}

function describeEvent(e: EcsEvent): string {
  const id = eventId(e);
  const where =
    e.origin.kind === 'file'
      ? `${e.origin.file}:${e.origin.line}`
      : `${e.origin.topic}/${e.origin.partition}@${e.origin.offset}`;
  return `${id !== undefined ? `${id} ` : ''}(${where})`;
}

function exceptionLines(x: ExceptionExplanation, out: string[], indent: string): void {
  const bound = x.stage !== undefined ? ` [stage ${x.stage}]` : '';
  out.push(`${indent}exception ${x.exception}${bound}: ${x.matched ? 'MATCHES' : 'no match'}  @ ${x.path}`);
  for (const t of x.traces) traceLines(t, `${indent}  `, out);
}

/**
 * Every enabled rule's exceptions tested on one event, as if the event were the stage each
 * exception is bound to (`stage: alert` conditions see no alert document here).
 */
export function explainEvent(tuning: Tuning, event: EcsEvent): Explanation {
  const lines: string[] = [`event ${describeEvent(event)} — tuning ${tuning.version}`];
  const exceptions: ExceptionExplanation[] = [];
  for (const key of tuning.enabledRules) {
    const rule = tuning.rules.get(key)!;
    if (rule.exceptions.length === 0) continue;
    lines.push(`  rule ${key}`);
    // The event stands in for every stage: each bound exception sees it where it looks.
    const stages = Object.keys(RULE_STAGES[key] ?? {}).length;
    const input: MatchInput = { events: new Array<JsonObject>(Math.max(1, stages)).fill(event.doc), alert: undefined };
    for (const ex of rule.exceptions) {
      const x = explainException(key, ex, ex.stage === undefined ? { events: [event.doc], alert: undefined } : input);
      exceptions.push(x);
      exceptionLines(x, lines, '    ');
    }
  }
  const disabled = [...tuning.rules.values()].filter((r) => !r.enabled).map((r) => r.key);
  if (disabled.length > 0) lines.push(`  disabled rules (not run): ${disabled.join(', ')}`);
  return { lines, exceptions };
}

/**
 * An alert and what the tuner decided for it, with its rule's exceptions tested on its events
 * (in stage order; without them, on its trigger only).
 */
export function explainAlert(
  tuning: Tuning,
  alert: Alert,
  events?: readonly EcsEvent[],
  decision?: Decision,
): Explanation {
  const key = decision?.ruleKey ?? detectionKeyOfRule(alert.rule.id) ?? alert.rule.id;
  const rule = tuning.rules.get(key);
  const evs = events ?? [alert.trigger];
  const input = alertMatchInput(alert, events);
  const lines: string[] = [`alert ${alert.id} ${key} (${alert.rule.name}) at ${new Date(alert.time).toISOString()}`];
  const stageNames = Object.keys(RULE_STAGES[key] ?? {});
  evs.forEach((e, i) => {
    // The last event is the last stage (a D4 alert may list one event: it is the trigger).
    const stage = i === evs.length - 1 ? stageNames[stageNames.length - 1] : stageNames[i];
    const name = events === undefined ? 'trigger' : (stage ?? `#${i}`);
    lines.push(`  ${name}: ${describeEvent(e)}`);
  });
  const exceptions: ExceptionExplanation[] = [];
  if (rule !== undefined) {
    for (const ex of rule.exceptions) {
      const x = explainException(key, ex, input);
      exceptions.push(x);
      exceptionLines(x, lines, '  ');
    }
  }
  if (decision !== undefined) lines.push(`  => ${decisionText(decision, rule === undefined)}`);
  return { lines, exceptions };
}

function decisionText(d: Decision, unknownRule: boolean): string {
  switch (d.outcome) {
    case 'excepted':
      return `not published: stopped by exception ${d.exception}`;
    case 'suppressed':
      return `not published: suppressed (key ${d.suppressionKey}); counted in the window's follow-up`;
    case 'circuit_broken':
      return "not published: over the rule's maxAlertsPerMinute; counted in the minute's summary";
    case 'disabled':
      return 'not published: the rule is disabled';
    case 'unknown_rule':
      return `published untouched: ${unknownRule ? 'no tuning for this rule' : 'unknown rule'}`;
    case 'published':
      return d.suppressionKey !== undefined
        ? `published; opens a suppression window (key ${d.suppressionKey})`
        : 'published';
  }
}
