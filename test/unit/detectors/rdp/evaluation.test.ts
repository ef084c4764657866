/**
 * The labelled evaluation's harness (src/eval/rdpSpikeEval.ts) on a small run: the generator is
 * deterministic, its spikes are where it says, and the scoring counts what it should. The figures
 * themselves come from `node dist/bench/rdpSpikeEval.js`; nothing here times anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractRdpEvidence } from '../../../../src/detectors/rdp/evidence.js';
import {
  DEFAULT_EVAL_CONFIG,
  TrafficGenerator,
  evaluateSeed,
  score,
  type EvalConfig,
} from '../../../../src/eval/rdpSpikeEval.js';

const SMALL: EvalConfig = { ...DEFAULT_EVAL_CONFIG, weeks: 4, destinations: 80, spikesPerShape: 4 };

test('the generator is deterministic per seed, in time order, and holds its spikes', () => {
  const a = new TrafficGenerator(SMALL);
  const b = new TrafficGenerator(SMALL);
  assert.equal(a.spikes.length, 12);
  assert.deepEqual(a.spikes, b.spikes);
  for (let day = 0; day < 3; day++) {
    const da = a.day(day);
    assert.deepEqual(
      da.map((e) => e.time),
      b.day(day).map((e) => e.time),
    );
    for (let i = 1; i < da.length; i++) assert.ok(da[i - 1]!.time <= da[i]!.time);
  }
  const kinds = new Set<string>();
  for (let day = 3; day < a.days; day++) {
    for (const e of a.day(day)) {
      const ev = extractRdpEvidence(e.doc);
      if (ev !== undefined) kinds.add(ev.kind);
    }
  }
  assert.deepEqual([...kinds].sort(), ['defend', 'logon', 'network']);
  for (const s of a.spikes) {
    assert.ok(s.start >= SMALL.start + SMALL.warmupWeeks * 7 * 86_400_000);
    assert.ok(s.end > s.start && s.sources >= 8);
  }
});

test('score(): alerts within a spike’s window detect it, others are false alerts', () => {
  const spikes = [
    { destination: 'a', shape: 'fan-in' as const, start: 1000, end: 2000, sources: 10, typical: 1 },
    { destination: 'b', shape: 'ramp' as const, start: 1000, end: 5000, sources: 12, typical: 3 },
  ];
  const r = score(
    'm',
    [
      { destination: 'a', time: 1600 },
      { destination: 'a', time: 1300 },
      { destination: 'c', time: 1300 },
      { destination: 'b', time: 900 },
    ],
    spikes,
    10,
  );
  assert.equal(r.detected, 1);
  assert.equal(r.falseAlerts, 2);
  assert.equal(r.falsePer100DestinationWeeks, 20);
  assert.equal(r.byShape['fan-in'].medianMinutes, 300 / 60_000);
});

test('a small run: early firing finds spikes sooner than the closed bucket does', () => {
  const r = evaluateSeed(SMALL);
  const [running, closed, stat] = r.methods;
  assert.equal(running!.spikes, 12);
  assert.ok(running!.detected >= closed!.detected);
  assert.ok(running!.recall >= 0.75, `recall ${running!.recall}`);
  assert.ok(running!.medianMinutes < closed!.medianMinutes);
  assert.match(stat!.name, /^static \(T=\d+\)$/);
  assert.ok(r.events > r.rdpEvents && r.rdpEvents > 0);
});
