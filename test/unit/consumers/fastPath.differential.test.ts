/**
 * Issue 8 item 3: the fast path (src/ecs/fastPath.ts) changes nothing but speed. Every ECS dataset
 * file, the benchmark mix, and variants of their events (re-serialised with random whitespace,
 * shuffled keys, dotted ↔ nested keys, `\uXXXX` and `\/` escapes, ports as numeric strings; plus
 * the hostile mutants of test/support/fuzz.ts) go through two PartitionProcessors, fast path on and
 * off: every record's alerts (ids and documents), duplicates, outputs and dead letters (with reason
 * and detail), the commit points, and the late and future counts must be identical. `now` is the
 * latest event time read so far, so events a little ahead of the clock (observed as now) and far
 * ahead (counted as future) both occur. The fast path runs the WebAssembly scanner (as `run` does);
 * on every record its answer must also equal the JavaScript scanner's, the reference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { benchMix } from '../../../bench/mix.js';
import { PartitionProcessor, type RecordOutcome } from '../../../src/consumers/partitionProcessor.js';
import { rng } from '../../../src/demo/sampleTraffic.js';
import { interestsOf, type Detection } from '../../../src/detectors/detection.js';
import { createDetections } from '../../../src/detectors/registry.js';
import { RpcToInternetDetector } from '../../../src/detectors/rpcToInternet.js';
import { decodeEvent, MAX_DOCUMENT_DEPTH, DEFAULT_MAX_MESSAGE_BYTES } from '../../../src/ecs/event.js';
import { FastPath } from '../../../src/ecs/fastPath.js';
import { isJsonObject, type JsonObject } from '../../../src/ecs/fields.js';
import { interestHolds } from '../../../src/ecs/interest.js';
import type { InputFormat } from '../../../src/ecs/normalize/index.js';
import { parseEventTime } from '../../../src/ecs/time.js';
import { DEFAULT_MAX_AHEAD_MS } from '../../../src/engine.js';
import { DATASETS_DIR, DATASETS_SKIP } from '../../support/datasets.js';
import { Mutator, quarantine } from '../../support/fuzz.js';
import { Variants } from '../../support/jsonVariants.js';

const LATENESS_MS = 15_000;

interface Counts {
  late: number;
  future: number;
}

function processor(fastPath: boolean, counts: Counts, detections: readonly Detection[], format: InputFormat) {
  return new PartitionProcessor('in', 0, {
    detections,
    format,
    deadLetterTopic: 'dlq',
    latenessMs: LATENESS_MS,
    maxAheadMs: DEFAULT_MAX_AHEAD_MS,
    onLate: () => void counts.late++,
    onFuture: () => void counts.future++,
    fastPath,
  });
}

function summary(o: RecordOutcome): string {
  if (o.alerts.length === 0 && o.duplicates.length === 0 && o.outputs.length === 0 && o.deadLetter === undefined) {
    return '';
  }
  return JSON.stringify({
    alerts: o.alerts.map((a) => [a.id, a.time, a.ordered, a.key, a.doc]),
    duplicates: o.duplicates.map((a) => a.id),
    outputs: o.outputs.length,
    deadLetter: o.deadLetter && [o.deadLetter.reason, o.deadLetter.record.headers, o.deadLetter.record.value],
  });
}

export interface Differential {
  readonly records: number;
  readonly skipped: number;
  readonly alerts: number;
  readonly deadLetters: number;
}

/** Both paths over one partition's records; asserts they agree record by record. */
function differential(
  label: string,
  records: readonly { readonly value: Buffer; readonly now: number }[],
  detections: () => readonly Detection[] = () => createDetections(),
  format: InputFormat = 'ecs',
): Differential {
  const fc: Counts = { late: 0, future: 0 };
  const sc: Counts = { late: 0, future: 0 };
  const fast = processor(true, fc, detections(), format);
  const full = processor(false, sc, detections(), format);
  const interests = interestsOf(detections());
  const limits = { maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES, maxDepth: MAX_DOCUMENT_DEPTH };
  const fpFormat = format === 'ecs' || format === 'auto' ? format : undefined;
  const wasm = interests && fpFormat && FastPath.compile(interests, limits, fpFormat, 'wasm');
  const js = interests && fpFormat && FastPath.compile(interests, limits, fpFormat, 'js');
  if (wasm) assert.equal(wasm.scanner, 'wasm', 'the WebAssembly scanner is built (npm run build) and loads');
  let alerts = 0;
  let deadLetters = 0;
  records.forEach(({ value, now }, i) => {
    if (wasm && js) {
      const [w, j] = [wasm.skippableTime(value), js.skippableTime(value)];
      if (w !== j) assert.fail(`${label}: record ${i}: the scanners differ (wasm ${w}, js ${j}):\n${value.toString()}`);
    }
    const rec = { topic: 'in', partition: 0, offset: String(i), key: null, value, timestamp: '0', headers: {} };
    const a = fast.process(rec, now);
    const b = full.process(rec, now);
    const sa = summary(a);
    if (sa !== summary(b)) assert.fail(`${label}: record ${i} differs:\n${sa}\n${summary(b)}\n${value.toString()}`);
    alerts += a.alerts.length;
    if (a.deadLetter !== undefined) deadLetters++;
    if (i % 61 === 0) assert.deepEqual(fast.commitPoint(), full.commitPoint(), `${label}: commit point at ${i}`);
  });
  assert.deepEqual(fast.commitPoint(), full.commitPoint(), `${label}: final commit point`);
  assert.equal(summary(fast.advanceIdle(3_600_000)), summary(full.advanceIdle(3_600_000)), `${label}: idle release`);
  assert.deepEqual(fast.commitPoint(), full.commitPoint(), `${label}: commit point after idle`);
  assert.deepEqual(fc, sc, `${label}: late and future counts`);
  assert.equal(full.skipped, 0);
  return { records: records.length, skipped: fast.skipped, alerts, deadLetters };
}

/** Each event, then (sometimes) a variant of it or a hostile mutant, with `now` = latest time read. */
function withVariants(lines: readonly Buffer[], seed: number, share: number): { value: Buffer; now: number }[] {
  const r = rng(seed);
  const variants = new Variants(r);
  const mutator = new Mutator(seed);
  const out: { value: Buffer; now: number }[] = [];
  let now = 0;
  for (const line of lines) {
    let doc: unknown;
    try {
      doc = JSON.parse(line.toString('utf8'));
    } catch {
      doc = undefined;
    }
    const t = isJsonObject(doc) ? parseEventTime(doc['@timestamp']) : undefined;
    if (t !== undefined && t > now) now = t;
    out.push({ value: line, now });
    if (!isJsonObject(doc) || r() >= share) continue;
    if (r() < 0.08) out.push({ value: Buffer.from(mutator.mutate(JSON.stringify(quarantine(doc))).bytes), now });
    else if (r() < 0.2) {
      const all = ['whitespace', 'shuffle', 'mixed', 'escapes', 'port_strings'] as const;
      out.push({ value: Buffer.from(variants.variant(doc, all)), now });
    } else out.push({ value: Buffer.from(variants.variant(doc)), now });
  }
  return out;
}

function ecsFiles(): string[] {
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (n.endsWith('.ndjson.gz') || n.endsWith('.ndjson')) files.push(p);
    }
  };
  walk(join(DATASETS_DIR, 'ecs'));
  return files;
}

function lines(file: string): Buffer[] {
  const data = file.endsWith('.gz') ? gunzipSync(readFileSync(file)) : readFileSync(file);
  const out: Buffer[] = [];
  let start = 0;
  for (let i = 0; i <= data.length; i++) {
    if (i === data.length || data[i] === 0x0a) {
      if (i > start) out.push(data.subarray(start, i));
      start = i + 1;
    }
  }
  return out;
}

const MIX = benchMix(Date.UTC(2024, 4, 1), 600_000, 20_000, { seed: 7, attackEvery: 300 });

test('the benchmark mix: identical results, and the fast path skips most of it', () => {
  const plain = differential(
    'mix',
    MIX.lines.map((value, i) => ({ value, now: Date.UTC(2024, 4, 1) + i * 30 })),
  );
  assert.ok(plain.alerts > 0, 'the mix has attacks');
  const share = plain.skipped / plain.records;
  assert.ok(share > 0.8, `the fast path skipped only ${(share * 100).toFixed(1)} % of the mix`);
  const fuzzed = differential('mix with variants', withVariants(MIX.lines, 11, 0.5));
  assert.ok(fuzzed.skipped > 0.5 * plain.skipped, `variants: only ${fuzzed.skipped} skipped`);
  assert.ok(fuzzed.deadLetters > 0, 'the hostile mutants were dead-lettered');
  // `auto`, the default input format: documents it reads as ECS are skipped alike.
  const auto = differential('mix, auto', withVariants(MIX.lines, 12, 0.3), undefined, 'auto');
  assert.ok(auto.skipped / auto.records > 0.6, `auto: ${auto.skipped} of ${auto.records} skipped`);
});

test('fewer detections skip more; a detection that declares no interest disables skipping', () => {
  const records = MIX.lines.map((value, i) => ({ value, now: Date.UTC(2024, 4, 1) + i * 30 }));
  const d1 = differential('D1 only', records, () => [new RpcToInternetDetector()]);
  const all = differential('all', records);
  assert.ok(d1.skipped > all.skipped, `${d1.skipped} <= ${all.skipped}`);
  const opaque = (): Detection[] => {
    const [first, ...rest] = createDetections();
    return [...rest, { rule: first!.rule, key: 'opaque', onEvent: () => undefined }];
  };
  assert.equal(differential('undeclared', records.slice(0, 2000), opaque).skipped, 0);
});

test('every ECS dataset file, with variants: identical results', { skip: DATASETS_SKIP }, () => {
  let records = 0;
  let skipped = 0;
  let alerts = 0;
  ecsFiles().forEach((file, i) => {
    for (const format of ['ecs', 'auto'] as const) {
      const input = withVariants(lines(file), 100 + i, format === 'ecs' ? 0.25 : 0.1);
      const d = differential(`${relative(DATASETS_DIR, file)} (${format})`, input, undefined, format);
      records += d.records;
      skipped += d.skipped;
      alerts += d.alerts;
    }
  });
  assert.ok(records > 100_000 && alerts > 0, `${records} records, ${alerts} alerts`);
  console.log(`datasets: ${records} records, ${alerts} alerts, ${((skipped / records) * 100).toFixed(1)} % skipped`);
});

test(
  "each detection's declared interest holds for every event it wants (or D1 matches)",
  { skip: DATASETS_SKIP },
  () => {
    const detections = createDetections();
    const docs: { doc: JsonObject; raw: Buffer }[] = [];
    const add = (raw: Buffer): void => {
      const r = decodeEvent(raw, { kind: 'file', file: 'x', line: 1 }, 0);
      if (r.ok) docs.push({ doc: r.event.doc, raw });
    };
    for (const l of MIX.lines) add(l);
    for (const f of ecsFiles()) for (const l of lines(f)) add(l);
    const d1 = new RpcToInternetDetector();
    let wanted = 0;
    for (const { doc, raw } of docs) {
      const event = decodeEvent(raw, { kind: 'file', file: 'x', line: 1 }, 0);
      assert.ok(event.ok);
      for (const d of detections) {
        const uses =
          d.wants !== undefined ? d.wants(event.event) : d instanceof RpcToInternetDetector && d1.matches(doc);
        if (!uses) continue;
        wanted++;
        assert.ok(interestHolds(d.interest!, doc), `${d.key} wants an event its interest excludes: ${raw.toString()}`);
      }
    }
    assert.ok(wanted > 1000, `${wanted}`);
  },
);
