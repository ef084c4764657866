/**
 * Issue 10 item 3: a hundred thousand hostile mutants of real events, interleaved with the clean
 * events they came from, through the stream path that `run` uses (PartitionProcessor: strict
 * decode with the size and depth limits, dead letters, Engine.push with lateness and the wall-clock
 * bound). The clean events' alerts must be exactly those of the clean stream alone, nothing may
 * throw, and memory must stay bounded.
 *
 * Honest comparison: mutants are quarantined (test/support/fuzz.ts) so that none can join a clean
 * event or feed D4's population, and each is made from a clean event already read, so its event
 * time is one the stream has seen; `now` is the stream's latest clean event time (as if live). A
 * mutant can therefore change a clean alert only through a bug, never by being a legitimate event.
 * Offsets are those of the mixed stream in both runs, so the alert documents compare byte for byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { InputRecord } from '../../src/consumers/client.js';
import { PartitionProcessor } from '../../src/consumers/partitionProcessor.js';
import { createDetections } from '../../src/detectors/registry.js';
import type { JsonObject } from '../../src/ecs/fields.js';
import type { InputFormat } from '../../src/ecs/normalize/index.js';
import { DEFAULT_MAX_AHEAD_MS } from '../../src/engine.js';
import type { Alert } from '../../src/alerts/alert.js';
import { DATASETS_DIR, DATASETS_SKIP } from '../support/datasets.js';
import { MUTATION_KINDS, Mutator, quarantine, type MutationKind } from '../support/fuzz.js';

const MUTANTS = Number(process.env.PICKET_FUZZ_MUTANTS ?? 100_000);
const SEED = Number(process.env.PICKET_FUZZ_SEED ?? 0x5eed10);
const LATENESS_MS = 15_000; // ordering.latenessMs default
/** Mutants are made from one of the last few clean events read (their times are the stream's own). */
const RECENT = 16;
/** Heap growth allowed over the run (see the test for why this is the bound). */
const HEAP_GROWTH_BOUND = 512 * 1024 * 1024;

/** Partitions: real recordings with alerts of D1, D2 and D3, read as ECS or recognised per document. */
const PARTITIONS: readonly { file: string; format: InputFormat }[] = [
  {
    file: 'otrf-security-datasets/datasets/atomic/windows/lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json.ndjson.gz',
    format: 'ecs',
  },
  {
    file: 'otrf-security-datasets/datasets/compound/apt29/day2/zeek/individual_zeek_logs/NEWYORK_conn.log.ndjson.gz',
    format: 'auto',
  },
  { file: 'stratosphere-slips/dataset/port-scans/vertical/conn.log.ndjson.gz', format: 'auto' },
  {
    file: 'stratosphere-security-datasets-for-testing/002-zeek-scenario-port-scanning/conn.log.ndjson.gz',
    format: 'ecs',
  },
];

function cleanLines(file: string): Buffer[] {
  const text = gunzipSync(readFileSync(join(DATASETS_DIR, 'ecs', file)));
  const out: Buffer[] = [];
  let start = 0;
  for (;;) {
    const nl = text.indexOf(0x0a, start);
    const line = text.subarray(start, nl < 0 ? text.length : nl);
    if (line.length > 0 && line.toString('latin1').trim() !== '{}') out.push(Buffer.from(line));
    if (nl < 0) break;
    start = nl + 1;
  }
  return out;
}

function record(partition: number, offset: number, value: Uint8Array): InputRecord {
  return {
    topic: 'fuzz',
    partition,
    offset: String(offset),
    key: null,
    value: Buffer.from(value.buffer, value.byteOffset, value.byteLength),
    timestamp: '0',
    headers: {},
  };
}

function eventTime(line: Buffer): number {
  return Date.parse((JSON.parse(line.toString('utf8')) as JsonObject)['@timestamp'] as string);
}

type Outcome = string;

interface RunResult {
  /** Alert documents whose events are all clean, as JSON. */
  readonly clean: string[];
  /** Alerts built from mutants only. */
  readonly mutantOnly: number;
  /** Alerts joining a clean event and a mutant: a quarantine breach or a bug. */
  readonly joined: string[];
  readonly counts: Map<MutationKind, Map<Outcome, number>>;
  readonly crashes: { kind: MutationKind | 'clean'; error: string }[];
  readonly slowest: Map<MutationKind, { ms: number; bytes: number }>;
  readonly peakHeap: number;
  readonly peakRss: number;
  readonly baseHeap: number;
  readonly records: number;
}

function run(withMutants: boolean, data: readonly Buffer[][]): RunResult {
  const mutator = new Mutator(SEED);
  const counts = new Map<MutationKind, Map<Outcome, number>>(MUTATION_KINDS.map((k) => [k, new Map()]));
  const crashes: RunResult['crashes'] = [];
  const slowest = new Map<MutationKind, { ms: number; bytes: number }>();
  const clean: string[] = [];
  const joined: string[] = [];
  let mutantOnly = 0;
  let records = 0;
  const baseHeap = process.memoryUsage().heapUsed;
  let peakHeap = baseHeap;
  let peakRss = process.memoryUsage().rss;
  const sample = (): void => {
    const m = process.memoryUsage();
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
    if (m.rss > peakRss) peakRss = m.rss;
  };
  const totalClean = data.reduce((n, d) => n + d.length, 0);
  const perClean = MUTANTS / totalClean;
  let mutantsMade = 0;
  let cleanSeen = 0;

  data.forEach((lines, partition) => {
    const cleanOffsets = new Set<number>();
    let flag: 'late' | 'future' | undefined;
    const processor = new PartitionProcessor('fuzz', partition, {
      detections: createDetections(),
      deadLetterTopic: 'fuzz-dlq',
      latenessMs: LATENESS_MS,
      format: PARTITIONS[partition]!.format,
      maxAheadMs: DEFAULT_MAX_AHEAD_MS,
      onLate: () => void (flag = 'late'),
      onFuture: () => void (flag = 'future'),
    });
    const templates: string[] = [];
    const collect = (alerts: readonly Alert[]): void => {
      for (const a of alerts) {
        const offsets = (a.doc.picket as { events: { offset: number }[] }).events.map((e) => e.offset);
        const fromClean = offsets.filter((o) => cleanOffsets.has(o)).length;
        if (fromClean === offsets.length) clean.push(JSON.stringify(a.doc));
        else if (fromClean === 0) mutantOnly++;
        else joined.push(`${a.rule.id} @ ${offsets.join(',')}`);
      }
    };
    let offset = 0;
    let now = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      const t = eventTime(line);
      if (t > now) now = t;
      cleanOffsets.add(offset);
      try {
        collect(processor.process(record(partition, offset, line), now).alerts);
      } catch (err) {
        crashes.push({ kind: 'clean', error: String(err) });
      }
      offset++;
      records++;
      templates.push(JSON.stringify(quarantine(JSON.parse(line.toString('utf8')) as JsonObject)));
      if (templates.length > RECENT) templates.shift();
      // The mixed stream's schedule: mutants after this clean event (the clean run keeps the offsets).
      cleanSeen++;
      const due = Math.round(cleanSeen * perClean) - mutantsMade;
      for (let k = 0; k < due; k++, mutantsMade++, offset++) {
        if (!withMutants) continue;
        const m = mutator.mutate(mutator.pick(templates));
        flag = undefined;
        const started = performance.now();
        let outcome: Outcome;
        try {
          const out = processor.process(record(partition, offset, m.bytes), now);
          outcome =
            out.deadLetter !== undefined
              ? `dead_letter:${out.deadLetter.reason}`
              : `processed${flag ? `_${flag}` : ''}`;
          collect(out.alerts);
        } catch (err) {
          outcome = 'crash';
          if (crashes.length < 20)
            crashes.push({ kind: m.kind, error: String((err as Error).stack ?? err).slice(0, 500) });
        }
        const ms = performance.now() - started;
        const s = slowest.get(m.kind);
        if (s === undefined || ms > s.ms) slowest.set(m.kind, { ms, bytes: m.bytes.length });
        const byOutcome = counts.get(m.kind)!;
        byOutcome.set(outcome, (byOutcome.get(outcome) ?? 0) + 1);
        records++;
        if ((mutantsMade & 1023) === 0) sample();
      }
    }
    // End of input: let event time run out so that everything buffered is released.
    collect(processor.advanceIdle(1e12).alerts);
    sample();
  });
  clean.sort();
  return { clean, mutantOnly, joined, counts, crashes, slowest, peakHeap, peakRss, baseHeap, records };
}

const MB = (n: number): string => `${(n / 1024 / 1024).toFixed(0)} MB`;

test(
  'fuzz: 100 000 hostile mutants of real events change no clean alert, crash nothing, stay in memory bounds',
  { skip: DATASETS_SKIP, timeout: 120_000 },
  () => {
    const data = PARTITIONS.map((p) => cleanLines(p.file));
    const started = performance.now();
    const cleanRun = run(false, data);
    const cleanMs = performance.now() - started;
    const mixedStarted = performance.now();
    const mixed = run(true, data);
    const mixedMs = performance.now() - mixedStarted;

    const tried = [...mixed.counts.values()].reduce((n, m) => n + [...m.values()].reduce((a, b) => a + b, 0), 0);
    const crashes = mixed.crashes.length + cleanRun.crashes.length;
    const before = new Set(cleanRun.clean);
    const after = new Set(mixed.clean);
    const changed =
      cleanRun.clean.filter((a) => !after.has(a)).length +
      mixed.clean.filter((a) => !before.has(a)).length +
      mixed.joined.length;

    const lines = [
      `fuzz: seed ${SEED}, ${tried} mutants among ${data.reduce((n, d) => n + d.length, 0)} clean events in ${data.length} partitions`,
      `  clean run ${cleanMs.toFixed(0)} ms, mixed run ${mixedMs.toFixed(0)} ms (${mixed.records} records)`,
      `  clean alerts ${cleanRun.clean.length}; with mutants: clean alerts ${mixed.clean.length}, mutant-only alerts ${mixed.mutantOnly}, joined ${mixed.joined.length}`,
      `  crashes ${crashes}, alerts changed ${changed}`,
      `  memory: heap ${MB(mixed.baseHeap)} at start, peak ${MB(mixed.peakHeap)} (growth ${MB(mixed.peakHeap - mixed.baseHeap)}, bound ${MB(HEAP_GROWTH_BOUND)}); peak RSS ${MB(mixed.peakRss)}`,
      '  kind                 tried  outcomes                                         slowest',
    ];
    for (const [kind, outcomes] of mixed.counts) {
      const n = [...outcomes.values()].reduce((a, b) => a + b, 0);
      const shown = [...outcomes.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([o, c]) => `${o.replace('dead_letter:', 'dl:')} ${c}`)
        .join(', ');
      const s = mixed.slowest.get(kind);
      const slow = s === undefined ? '' : `${s.ms.toFixed(1)} ms for ${(s.bytes / 1024).toFixed(0)} KB`;
      lines.push(`  ${kind.padEnd(18)} ${String(n).padStart(7)}  ${shown.padEnd(48)} ${slow}`);
    }
    console.log(lines.join('\n'));

    assert.equal(tried, MUTANTS);
    assert.deepEqual(mixed.crashes, [], 'no mutant crashes picket');
    assert.deepEqual(cleanRun.crashes, []);
    assert.ok(cleanRun.clean.length > 0, 'the clean stream has alerts to protect');
    assert.deepEqual(mixed.joined, [], 'no alert joins a clean event with a mutant');
    assert.deepEqual(mixed.clean, cleanRun.clean, 'the clean events alert exactly as without mutants');
    // Every kind was tried, and every outcome is a dead letter or processing.
    for (const [kind, outcomes] of mixed.counts) assert.ok(outcomes.size > 0, `${kind} was tried`);
    // Nothing reached a prototype.
    assert.equal(({} as JsonObject)['polluted'], undefined);
    assert.deepEqual(
      Object.getOwnPropertyNames(Object.prototype).filter((k) => k.includes('polluted')),
      [],
    );
    // Memory: what is held is bounded by the lateness and the state limits, not by the mutants:
    // the largest mutant is 1.5 MB (dead-lettered above 1 MiB), held at most while it is read.
    assert.ok(
      mixed.peakHeap - mixed.baseHeap < HEAP_GROWTH_BOUND,
      `heap grew by ${MB(mixed.peakHeap - mixed.baseHeap)} (bound ${MB(HEAP_GROWTH_BOUND)})`,
    );
  },
);
