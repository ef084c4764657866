/**
 * Decode + normalize throughput per input format, on one core, beside plain ECS JSON (issue 6).
 * Prints a table and one JSON line; asserts nothing.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/normalize.js [seconds per format]
 *
 * Each format runs on real samples from the shared datasets (../shared/datasets or
 * PICKET_DATASETS; a format whose samples are absent is skipped, saying so), held in memory as the
 * message bytes a Kafka consumer would get. Per message: UTF-8 decode, JSON.parse (or the Zeek TSV
 * reader), normalize, eventFromDocument: everything before the engine. "parse only" is the same
 * loop stopping after JSON.parse, so the difference is what normalizing costs.
 */
import { performance } from 'node:perf_hooks';
import { eventFromDocument, type Origin } from '../src/ecs/event.js';
import { isJsonObject, type JsonObject } from '../src/ecs/fields.js';
import { normalize, type InputFormat } from '../src/ecs/normalize/index.js';
import { normalizeZeek } from '../src/ecs/normalize/zeek.js';
import { ZeekTsvReader } from '../src/ecs/normalize/zeekTsv.js';
import { datasetsAvailable, DATASETS_DIR } from '../test/support/datasets.js';
import { filebeatOnKafka } from '../test/support/filebeatZeek.js';
import { ecsLines, logsOfRawFile, rawLines } from '../test/support/rawDatasets.js';

const SECONDS = Number(process.argv[2] ?? 1.5);
const MAX_SAMPLES = 20_000;
const ORIGIN: Origin = { kind: 'kafka', topic: 'bench', partition: 0, offset: '0' };

interface Case {
  readonly name: string;
  readonly format: InputFormat | 'zeek-tsv';
  readonly source: string;
  /** Message bytes; for zeek-tsv, the lines of one log including its header. */
  readonly messages: Buffer[];
}

async function collect(lines: AsyncIterable<{ bytes: Buffer }>, keep: (text: string) => boolean): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const l of lines) {
    if (out.length >= MAX_SAMPLES) break;
    const text = l.bytes.toString('utf8');
    if (keep(text)) out.push(Buffer.from(l.bytes));
  }
  return out;
}

const isDocument = (t: string): boolean => t.startsWith('{') && t !== '{}';

async function rawCase(name: string, format: Case['format'], raw: string, member?: string): Promise<Case> {
  const log = logsOfRawFile(raw).find((l) => member === undefined || l.member === member)!;
  const keep = format === 'zeek-tsv' ? (): boolean => true : isDocument;
  return { name, format, source: log.name, messages: await collect(rawLines(log), keep) };
}

async function cases(): Promise<Case[]> {
  const psexec2020 =
    'otrf-security-datasets/datasets/atomic/windows/lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl';
  const out: Case[] = [];
  out.push({
    name: 'ECS JSON (Windows)',
    format: 'ecs',
    source: `${psexec2020}/….ndjson.gz`,
    messages: await collect(
      ecsLines(`${psexec2020}/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json.ndjson.gz`),
      isDocument,
    ),
  });
  const conn = 'stratosphere-security-datasets-for-testing/002-zeek-scenario-port-scanning/conn.log';
  out.push({
    name: 'ECS JSON (Zeek conn)',
    format: 'ecs',
    source: `${conn}.ndjson.gz`,
    messages: await collect(ecsLines(`${conn}.ndjson.gz`), isDocument),
  });
  out.push(await rawCase('Zeek JSON conn', 'zeek', conn));
  out.push(
    await rawCase(
      'Zeek JSON dce_rpc (APT29)',
      'zeek',
      'otrf-security-datasets/datasets/compound/apt29/day2/zeek/individual_zeek_logs/NEWYORK_dce_rpc.log',
    ),
  );
  const tsv = await rawCase(
    'Zeek TSV conn',
    'zeek-tsv',
    'stratosphere-security-datasets-for-testing/011-zeek-mixed/data/conn.log.labeled',
  );
  out.push(tsv);
  const zeekConn = await rawCase('Filebeat zeek conn', 'zeek', conn);
  out.push({
    ...zeekConn,
    messages: zeekConn.messages.map((b) => Buffer.from(JSON.stringify(filebeatOnKafka(b.toString('utf8'), 'conn')))),
  });
  out.push(
    await rawCase(
      'Winlogbeat 6 (Sysmon, Security…)',
      'winlogbeat',
      'otrf-security-datasets/small_datasets/windows/execution/service_execution_T1035/empire_invoke_psexec.tar.gz',
    ),
  );
  out.push(
    await rawCase(
      'Winlogbeat 7 (winlog.*)',
      'winlogbeat',
      'otrf-security-datasets/small_datasets/windows/credential_access/credential_dumping_T1003/remoteinteractive_taskmngr_lsass_dump.tar.gz',
    ),
  );
  out.push(await rawCase('NXLog JSON', 'nxlog', `${psexec2020}.zip`));
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One pass over the messages; returns events produced (for the sink). */
function pass(c: Case, mode: 'parse' | 'auto' | 'explicit'): number {
  let n = 0;
  if (c.format === 'zeek-tsv') {
    const reader = new ZeekTsvReader();
    for (const m of c.messages) {
      const r = reader.read(utf8.decode(m));
      if (r.kind !== 'record') continue;
      if (mode === 'parse') {
        n++;
        continue;
      }
      const z = normalizeZeek(r.record, r.log);
      if (z.ok && eventFromDocument(z.doc, m, ORIGIN, 0).ok) n++;
    }
    return n;
  }
  const format: InputFormat = mode === 'auto' ? 'auto' : c.format;
  for (const m of c.messages) {
    const doc = JSON.parse(utf8.decode(m)) as unknown;
    if (!isJsonObject(doc)) continue;
    if (mode === 'parse') {
      // Raw records have no @timestamp yet: the attempt costs the same, and counts.
      eventFromDocument(doc, m, ORIGIN, 0);
      n++;
      continue;
    }
    const r = normalize(doc as JsonObject, format);
    if (r.ok && eventFromDocument(r.doc, m, ORIGIN, 0).ok) n++;
  }
  return n;
}

/** The documents (or TSV records) parsed once, to time normalize() alone. */
function parsed(c: Case): { doc: JsonObject; log?: string }[] {
  const out: { doc: JsonObject; log?: string }[] = [];
  const reader = new ZeekTsvReader();
  for (const m of c.messages) {
    const text = utf8.decode(m);
    if (c.format !== 'zeek-tsv') {
      out.push({ doc: JSON.parse(text) as JsonObject });
      continue;
    }
    const r = reader.read(text);
    if (r.kind === 'record') out.push(r.log === undefined ? { doc: r.record } : { doc: r.record, log: r.log });
  }
  return out;
}

/** ns per normalize(doc, 'auto') call on already parsed documents (normalizers never mutate). */
function normalizeNs(c: Case): number {
  const docs = parsed(c);
  const run = (): number => {
    let ok = 0;
    for (const d of docs) {
      const r = c.format === 'zeek-tsv' ? normalizeZeek(d.doc, d.log) : normalize(d.doc, 'auto');
      if (r.ok) ok++;
    }
    return ok;
  };
  run();
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SECONDS * 1000) {
    run();
    calls += docs.length;
    t = performance.now();
  }
  return ((t - t0) * 1e6) / calls;
}

function rate(c: Case, mode: 'parse' | 'auto' | 'explicit'): number {
  pass(c, mode); // warm-up
  let events = 0;
  const t0 = performance.now();
  let t = t0;
  while (t - t0 < SECONDS * 1000) {
    events += pass(c, mode);
    t = performance.now();
  }
  return events / ((t - t0) / 1000);
}

interface Row {
  name: string;
  format: string;
  samples: number;
  avgBytes: number;
  withoutNormalizePerSec: number;
  autoPerSec: number;
  explicitPerSec: number;
  normalizeNsPerEvent: number;
}

async function main(): Promise<void> {
  if (!datasetsAvailable) {
    console.log(`skipped: the shared datasets are not at ${DATASETS_DIR} (set PICKET_DATASETS)`);
    return;
  }
  const rows: Row[] = [];
  for (const c of await cases()) {
    if (c.messages.length === 0) {
      console.log(`skipped ${c.name}: no samples in ${c.source}`);
      continue;
    }
    const bytes = c.messages.reduce((s, m) => s + m.length, 0);
    const parse = rate(c, 'parse');
    const auto = rate(c, 'auto');
    const explicit = rate(c, 'explicit');
    rows.push({
      name: c.name,
      format: c.format,
      samples: c.messages.length,
      avgBytes: Math.round(bytes / c.messages.length),
      withoutNormalizePerSec: Math.round(parse),
      autoPerSec: Math.round(auto),
      explicitPerSec: Math.round(explicit),
      normalizeNsPerEvent: Math.round(normalizeNs(c)),
    });
  }
  const header = [
    'input',
    'format',
    'samples',
    'avg B',
    'without normalize ev/s',
    'auto ev/s',
    'explicit ev/s',
    'normalize alone ns/ev',
  ];
  const lines = rows.map((r) => [
    r.name,
    r.format,
    String(r.samples),
    String(r.avgBytes),
    r.withoutNormalizePerSec.toLocaleString('en-US'),
    r.autoPerSec.toLocaleString('en-US'),
    r.explicitPerSec.toLocaleString('en-US'),
    String(r.normalizeNsPerEvent),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(
    `decode + normalize + eventFromDocument, one core, ${SECONDS} s per measurement (node ${process.version})`,
  );
  console.log(fmt(header));
  for (const l of lines) console.log(fmt(l));
  console.log(JSON.stringify({ bench: 'normalize', node: process.version, rows }));
}

await main();
