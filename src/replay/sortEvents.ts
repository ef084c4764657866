/**
 * Orders one input's events by (event time, event.sequence, line), within bounded memory.
 *
 * Events are decoded as they are read and kept in memory up to a chunk limit. A file that fits is
 * sorted in memory. A larger file is sorted chunk by chunk into temporary run files (the raw lines
 * with their sort keys), then merged; merged lines are decoded a second time, which is cheaper than
 * holding millions of parsed documents.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { compareEvents, eventFromDocument, type EcsEvent } from '../ecs/event.js';
import type { InputFormat } from '../ecs/normalize/index.js';
import { createLineDecoder } from './lineDecoder.js';
import { readLines } from './lines.js';

export interface ReadStats {
  lines: number;
  events: number;
  /** Blank lines, `{}` (pretty-printing leftovers in converted files) and Zeek TSV headers. */
  skipped: number;
  /** Unreadable lines by reason (decoding, or normalizing to ECS). */
  unreadable: Map<string, number[]>;
}

export interface SortOptions {
  /** Events held in memory before a sorted run is written to disk. */
  chunkEvents?: number;
  /** Raw bytes held in memory before a sorted run is written to disk. */
  chunkBytes?: number;
  tmpDir?: string;
  /** Shape of the input (default auto: recognised per document). */
  format?: InputFormat;
}

export async function* sortedEvents(
  input: Readable,
  file: string,
  stats: ReadStats,
  opts: SortOptions = {},
): AsyncGenerator<EcsEvent> {
  const chunkEvents = opts.chunkEvents ?? 200_000;
  const chunkBytes = opts.chunkBytes ?? 96 * 1024 * 1024;
  let chunk: EcsEvent[] = [];
  let bytes = 0;
  let runDir: string | undefined;
  const runs: string[] = [];
  const decode = createLineDecoder(opts.format ?? 'auto', file);
  try {
    for await (const line of readLines(input)) {
      stats.lines = line.number;
      const res = decode(line.bytes, line.number);
      if (res.kind === 'skip') {
        stats.skipped++;
        continue;
      }
      if (res.kind === 'unreadable') {
        addUnreadable(stats, res.reason, line.number);
        continue;
      }
      stats.events++;
      chunk.push(res.event);
      bytes += line.bytes.length;
      if (chunk.length >= chunkEvents || bytes >= chunkBytes) {
        runDir ??= mkdtempSync(join(opts.tmpDir ?? tmpdir(), 'picket-sort-'));
        runs.push(await writeRun(chunk, join(runDir, `run-${runs.length}.txt`)));
        chunk = [];
        bytes = 0;
      }
    }
    chunk.sort(compareEvents);
    if (runs.length === 0) {
      yield* chunk;
      return;
    }
    yield* mergeRuns(runs, chunk, file);
  } finally {
    if (runDir !== undefined) rmSync(runDir, { recursive: true, force: true });
  }
}

function addUnreadable(stats: ReadStats, reason: string, line: number): void {
  let lines = stats.unreadable.get(reason);
  if (lines === undefined) stats.unreadable.set(reason, (lines = []));
  lines.push(line);
}

/**
 * A run line: "<time> <sequence|-> <line> <raw length> <raw><ECS JSON>". The normalized document is
 * kept beside the raw line (the alert id is derived from the raw bytes), so merging never has to
 * normalize again (a Zeek TSV line cannot be read without its file's header).
 */
async function writeRun(events: EcsEvent[], path: string): Promise<string> {
  events.sort(compareEvents);
  const out = createWriteStream(path);
  for (const e of events) {
    const raw = e.raw as string;
    const ok = out.write(`${e.time} ${e.sequence ?? '-'} ${e.arrival} ${raw.length} ${raw}${JSON.stringify(e.doc)}\n`);
    if (!ok) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return path;
}

interface Cursor {
  head: EcsEvent | undefined;
  next: () => Promise<EcsEvent | undefined>;
}

function runCursor(path: string, file: string): Cursor {
  const lines = readLines(createReadStream(path, { highWaterMark: 1 << 20 }));
  const cursor: Cursor = {
    head: undefined,
    next: async () => {
      const r = await lines.next();
      if (r.done === true) return undefined;
      const text = r.value.bytes.toString('utf8');
      const a = text.indexOf(' ');
      const b = text.indexOf(' ', a + 1);
      const c = text.indexOf(' ', b + 1);
      const d = text.indexOf(' ', c + 1);
      const lineNo = Number(text.slice(b + 1, c));
      const rawEnd = d + 1 + Number(text.slice(c + 1, d));
      const doc: unknown = JSON.parse(text.slice(rawEnd));
      const res = eventFromDocument(doc, text.slice(d + 1, rawEnd), { kind: 'file', file, line: lineNo }, lineNo);
      if (!res.ok) throw new Error(`sort run ${path} is corrupt at line ${lineNo}`);
      return res.event;
    },
  };
  return cursor;
}

function arrayCursor(events: EcsEvent[]): Cursor {
  let i = 0;
  return { head: undefined, next: async () => events[i++] };
}

async function* mergeRuns(runs: string[], lastChunk: EcsEvent[], file: string): AsyncGenerator<EcsEvent> {
  const cursors = [...runs.map((r) => runCursor(r, file)), arrayCursor(lastChunk)];
  for (const c of cursors) c.head = await c.next();
  // k is small (a run per 200 k events), so a linear scan for the minimum is enough.
  for (;;) {
    let best: Cursor | undefined;
    for (const c of cursors) {
      if (c.head !== undefined && (best === undefined || compareEvents(c.head, best.head!) < 0)) best = c;
    }
    if (best === undefined) return;
    const e = best.head!;
    best.head = await best.next();
    yield e;
  }
}
