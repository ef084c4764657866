/**
 * Replays one input the way `picket replay --input <format>` will once the CLI is wired: each line
 * parsed, normalized (src/ecs/normalize), made an event (eventFromDocument), all events sorted in
 * the engine order (compareEvents), then run through a fresh engine. Zeek TSV logs are read with
 * ZeekTsvReader, as a line parser for them must be. Used by the equivalence test.
 */
import { compareEvents, eventFromDocument, type EcsEvent, type Origin } from '../../src/ecs/event.js';
import { isJsonObject, type JsonObject } from '../../src/ecs/fields.js';
import { normalize, type InputFormat } from '../../src/ecs/normalize/index.js';
import { normalizeZeek } from '../../src/ecs/normalize/zeek.js';
import { isZeekTsvHeader, ZeekTsvReader } from '../../src/ecs/normalize/zeekTsv.js';
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

type Decoded =
  { kind: 'skip' } | { kind: 'doc'; doc: JsonObject; same: boolean } | { kind: 'unreadable'; reason: string };

const SKIP: Decoded = { kind: 'skip' };
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A line decoder for one input: JSON lines normalized with `format`, or a Zeek TSV log. */
function lineDecoder(format: InputFormat): (text: string) => Decoded {
  let tsv: ZeekTsvReader | undefined;
  let first = true;
  return (text) => {
    if (first && text.length > 0) {
      first = false;
      if (isZeekTsvHeader(text)) tsv = new ZeekTsvReader();
    }
    if (tsv !== undefined) {
      const r = tsv.read(text);
      if (r.kind === 'header') return SKIP;
      if (r.kind === 'invalid') return { kind: 'unreadable', reason: 'invalid_zeek_tsv' };
      const n = normalizeZeek(r.record, r.log);
      return n.ok ? { kind: 'doc', doc: n.doc, same: false } : { kind: 'unreadable', reason: n.reason };
    }
    const trimmed = text.trim();
    if (trimmed === '' || trimmed === '{}') return SKIP;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return { kind: 'unreadable', reason: 'invalid_json' };
    }
    if (!isJsonObject(parsed)) return { kind: 'unreadable', reason: 'not_an_object' };
    const n = normalize(parsed, format);
    return n.ok ? { kind: 'doc', doc: n.doc, same: n.doc === parsed } : { kind: 'unreadable', reason: n.reason };
  };
}

export async function replayNormalized(
  lines: AsyncIterable<Line>,
  file: string,
  format: InputFormat,
  keepDocs = false,
): Promise<ReplayOutcome> {
  const decode = lineDecoder(format);
  const unreadable = new Map<string, number[]>();
  const bad = (reason: string, line: number): void => {
    let l = unreadable.get(reason);
    if (l === undefined) unreadable.set(reason, (l = []));
    l.push(line);
  };
  const events: EcsEvent[] = [];
  const docs = keepDocs ? new Map<number, JsonObject>() : undefined;
  let count = 0;
  let skipped = 0;
  let passedThrough = 0;
  for await (const line of lines) {
    count = line.number;
    let text: string;
    try {
      text = utf8.decode(line.bytes);
    } catch {
      bad('invalid_utf8', line.number);
      continue;
    }
    const d = decode(text);
    if (d.kind === 'skip') {
      skipped++;
      continue;
    }
    if (d.kind === 'unreadable') {
      bad(d.reason, line.number);
      continue;
    }
    const origin: Origin = { kind: 'file', file, line: line.number };
    const res = eventFromDocument(d.doc, text, origin, line.number);
    if (!res.ok) {
      bad(res.reason, line.number);
      continue;
    }
    if (d.same) passedThrough++;
    events.push(res.event);
    docs?.set(line.number, d.doc);
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
