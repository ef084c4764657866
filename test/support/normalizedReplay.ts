/**
 * Replays one input as `picket replay --input <format>` does (src/replay/lineDecoder.ts for each
 * line, the engine order, a fresh engine), keeping what the equivalence test compares: the alerts
 * by line, each event's document, and how many ECS documents passed through uncopied.
 */
import { compareEvents, type EcsEvent } from '../../src/ecs/event.js';
import { isJsonObject, type JsonObject } from '../../src/ecs/fields.js';
import { normalize, type InputFormat } from '../../src/ecs/normalize/index.js';
import { createLineDecoder } from '../../src/replay/lineDecoder.js';
import { Engine } from '../../src/engine.js';
import { createDetections } from '../../src/detectors/registry.js';
import type { Line } from '../../src/replay/lines.js';

export interface ReplayOutcome {
  readonly lines: number;
  readonly events: number;
  /** Blank lines, `{}` and Zeek TSV header lines. */
  readonly skipped: number;
  /** Unreadable lines by reason. */
  readonly unreadable: Map<string, number[]>;
  /** One entry per alert: `<rule.id> @ <line>,<line>…`, sorted. */
  readonly alerts: string[];
  /** Documents the normalizer returned as they were (the same object): ECS passed through. */
  readonly passedThrough: number;
  /** Each event's document by line (only when asked for). */
  readonly docs: Map<number, JsonObject> | undefined;
}

/** Whether `normalize` returns the very object it was given: ECS passed through, not copied. */
function passesThrough(text: string, format: InputFormat): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return false;
  }
  if (!isJsonObject(parsed)) return false;
  const n = normalize(parsed, format);
  return n.ok && n.doc === parsed;
}

export async function replayNormalized(
  lines: AsyncIterable<Line>,
  file: string,
  format: InputFormat,
  keepDocs = false,
): Promise<ReplayOutcome> {
  const decode = createLineDecoder(format, file);
  const unreadable = new Map<string, number[]>();
  const events: EcsEvent[] = [];
  const docs = keepDocs ? new Map<number, JsonObject>() : undefined;
  let count = 0;
  let skipped = 0;
  let passedThrough = 0;
  for await (const line of lines) {
    count = line.number;
    const d = decode(line.bytes, line.number);
    if (d.kind === 'skip') {
      skipped++;
    } else if (d.kind === 'unreadable') {
      let l = unreadable.get(d.reason);
      if (l === undefined) unreadable.set(d.reason, (l = []));
      l.push(line.number);
    } else {
      if (passesThrough(d.event.raw as string, format)) passedThrough++;
      events.push(d.event);
      docs?.set(line.number, d.event.doc);
    }
  }
  events.sort(compareEvents);
  const engine = new Engine(createDetections());
  const alerts: string[] = [];
  for (const e of events) {
    for (const a of engine.process(e)) {
      const refs = (a.doc.picket as { events: { line?: number }[] }).events;
      alerts.push(`${a.rule.id} @ ${refs.map((r) => r.line).join(',')}`);
    }
  }
  alerts.sort();
  return { lines: count, events: events.length, skipped, unreadable, alerts, passedThrough, docs };
}
