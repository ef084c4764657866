import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alertId } from '../../../src/alerts/alert.js';
import type { DetectionContext, Finding, StateLimits } from '../../../src/detectors/detection.js';
import { countUpperTail, type BucketExpectation } from '../../../src/detectors/rdp/destinationModel.js';
import { normalisedScore, NORMALISER_BINS } from '../../../src/detectors/rdp/normaliser.js';
import { OpenBucket } from '../../../src/detectors/rdp/openBucket.js';
import { loadRdpSnapshot, saveRdpSnapshot } from '../../../src/detectors/rdp/snapshotFile.js';
import {
  POPULATION_KEY,
  RDP_SPIKE_RULE,
  RdpSpikeDetector,
  type RdpSpikeOptions,
} from '../../../src/detectors/rdpSpike.js';
import type { EcsEvent } from '../../../src/ecs/event.js';
import { Engine } from '../../../src/engine.js';
import { Random } from '../../../src/eval/rdpSpikeEval.js';
import { hashString32 } from '../../../src/state/hash32.js';
import { ecsEvent } from '../../support/events.js';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
/** A Monday, 00:00 UTC. */
const T0 = Date.parse('2024-01-01T00:00:00.000Z');
const iso = (t: number): string => new Date(t).toISOString();

function context(
  limits: StateLimits = { maxKeys: 10_000, maxEntriesPerKey: 64 },
  evictions?: Map<string, number>,
): DetectionContext {
  return {
    limits,
    settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
    countEviction: (reason, count = 1) => evictions?.set(reason, (evictions.get(reason) ?? 0) + count),
  };
}

let line = 0;
/** A Zeek conn record of an RDP connection. */
function rdp(src: string, dst: string, t: number): EcsEvent {
  line++;
  return ecsEvent(
    {
      '@timestamp': iso(t),
      event: { id: `t:${line}`, category: ['network'], dataset: 'zeek.connection' },
      network: { transport: 'tcp' },
      source: { ip: src, port: 50000 + (line % 10000) },
      destination: { ip: dst, port: 3389 },
    },
    line,
  );
}

/**
 * Office traffic: each destination i has `sources` regular users, each connecting once every
 * weekday between 08:00 and 16:00 UTC, at a time that varies by day.
 */
function office(dests: readonly string[], sources: number, fromDay: number, days: number, seed = 1): EcsEvent[] {
  const rng = new Random(seed);
  const out: EcsEvent[] = [];
  for (let day = fromDay; day < fromDay + days; day++) {
    const dow = new Date(T0 + day * DAY).getUTCDay();
    if (dow === 0 || dow === 6) continue;
    dests.forEach((dst, i) => {
      for (let k = 0; k < sources; k++) {
        if (rng.chance(0.15)) continue;
        out.push(
          rdp(
            `10.${1 + (i % 200)}.${k >>> 8}.${(k % 250) + 1}`,
            dst,
            T0 + day * DAY + 8 * HOUR + Math.floor(rng.next() * 8 * HOUR),
          ),
        );
      }
    });
  }
  return out.sort((a, b) => a.time - b.time);
}

/** `n` new sources to `dst`, evenly over `spanMs` from `t`. */
function fanIn(dst: string, n: number, t: number, spanMs: number, prefix = '172.20'): EcsEvent[] {
  return Array.from({ length: n }, (_, k) =>
    rdp(`${prefix}.${k >>> 8}.${(k % 250) + 1}`, dst, t + Math.floor((k * spanMs) / n)),
  );
}

interface Run {
  readonly det: RdpSpikeDetector;
  readonly findings: Finding[];
  feed(events: readonly EcsEvent[]): void;
}

function run(opts: RdpSpikeOptions = {}, ctx: DetectionContext = context()): Run {
  const det = new RdpSpikeDetector(ctx, opts);
  const findings: Finding[] = [];
  return {
    det,
    findings,
    feed(events) {
      for (const e of events) {
        det.onEvent(e, (f) => findings.push(f));
        det.onWatermark(e.time);
      }
    },
  };
}

const merge = (...lists: EcsEvent[][]): EcsEvent[] =>
  lists.flat().sort((a, b) => a.time - b.time || a.arrival - b.arrival);
const DESTS = Array.from({ length: 20 }, (_, i) => `10.200.0.${i + 1}`);

test('rule metadata: Elastic rule 18a5dd9a, low / 21, T1021.001 and T1210 under TA0008', () => {
  assert.equal(RDP_SPIKE_RULE.id, '18a5dd9a-e3fa-4996-99b1-ae533b8f27fc');
  assert.equal(RDP_SPIKE_RULE.name, 'Spike in Number of Connections Made to a Destination IP');
  assert.equal(RDP_SPIKE_RULE.severity, 'low');
  assert.equal(RDP_SPIKE_RULE.riskScore, 21);
  assert.equal(RDP_SPIKE_RULE.license, 'Elastic License v2');
  assert.equal(RDP_SPIKE_RULE.version, '110');
  assert.deepEqual(RDP_SPIKE_RULE.threat, [
    {
      tactic: { id: 'TA0008', name: 'Lateral Movement' },
      techniques: [
        { id: 'T1021', name: 'Remote Services', subtechniques: [{ id: 'T1021.001', name: 'Remote Desktop Protocol' }] },
        { id: 'T1210', name: 'Exploitation of Remote Services' },
      ],
    },
  ]);
  assert.match(RDP_SPIKE_RULE.references[0]!, /lateral_movement_ml_spike_in_connections_to_a_destination_ip\.toml$/);
  const det = new RdpSpikeDetector(context());
  assert.equal(det.key, 'rdp_spike');
  assert.equal(det.ordered, true);
});

test('three weeks of office traffic raise no alert; a fan-in fires once, early, on the event that crossed', () => {
  const r = run();
  r.feed(office(DESTS, 3, 0, 21));
  assert.equal(r.findings.length, 0, 'background alone');
  // Wednesday of week 4, 10:00: 40 new sources in 10 minutes on a destination that sees ~3 a day.
  const start = T0 + 23 * DAY + 10 * HOUR;
  const target = DESTS[4]!;
  const spike = fanIn(target, 40, start, 10 * MIN);
  const before = rdp('10.5.0.1', target, start - 30 * MIN); // the bucket's first event for the destination
  r.feed(merge([before], spike, office(DESTS, 3, 23, 1, 9)));
  const mine = r.findings.filter((f) => (f.entities.destination as { ip: string }).ip === target);
  assert.equal(mine.length, 1, 'one alert for the destination and bucket');
  const f = mine[0]!;
  const d = f.details as Record<string, any>;
  assert.ok(d.score >= 70, `score ${d.score}`);
  assert.ok(f.trigger !== undefined && f.events[f.events.length - 1] === f.trigger, 'the trigger is the last event');
  assert.equal(f.events.length, 2);
  assert.equal(f.events[0]!.time, before.time, 'the bucket’s first event first');
  assert.ok(f.trigger.time - start < 10 * MIN, `fired ${(f.trigger.time - start) / MIN} min after the spike started`);
  assert.ok(d.count < 40, 'before the fan-in ended');
  assert.ok(d.count >= 5);
  assert.ok(d.typical_count < 5, `typical ${d.typical_count}`);
  assert.equal(d.bucket.start, iso(T0 + 23 * DAY + 6 * HOUR));
  assert.equal(d.bucket.end, iso(T0 + 23 * DAY + 12 * HOUR));
  assert.ok(d.new_sources.length <= 10 && d.new_sources.length > 0);
  assert.ok(
    d.new_sources.every((s: string) => s.startsWith('172.20.')),
    'the new sources are the spike’s',
  );
  assert.equal(d.evidence, 'network');
  assert.equal((f.entities.source as { ip: string }).ip, (f.trigger.doc.source as { ip: string }).ip);
  assert.equal(f.discriminator, `${target}@${d.bucket.start}`);

  // More sources in the same bucket: no second alert. The next bucket: a new one.
  r.feed(fanIn(target, 40, start + 20 * MIN, 10 * MIN, '172.21'));
  assert.equal(r.findings.filter((x) => (x.entities.destination as { ip: string }).ip === target).length, 1);
  r.feed(fanIn(target, 60, T0 + 23 * DAY + 13 * HOUR, 10 * MIN, '172.22'));
  assert.equal(r.findings.filter((x) => (x.entities.destination as { ip: string }).ip === target).length, 2);
});

test('through the engine: @timestamp is the trigger’s time, picket.events ends with it, ids are deterministic', () => {
  const events = merge(office(DESTS.slice(0, 5), 3, 0, 21), fanIn(DESTS[1]!, 40, T0 + 22 * DAY + 9 * HOUR, 10 * MIN));
  const replay = (): ReturnType<Engine['process']>[number][] => {
    const engine = new Engine([new RdpSpikeDetector(context())]);
    return events.flatMap((e) => [...engine.process(e)]);
  };
  const alerts = replay();
  assert.equal(alerts.length, 1);
  const a = alerts[0]!;
  assert.equal(a.doc['@timestamp'], iso(a.trigger.time));
  const picket = a.doc.picket as { events: { line: number }[]; rdp_spike: { score: number } };
  assert.equal(
    picket.events[picket.events.length - 1]!.line,
    a.trigger.origin.kind === 'file' ? a.trigger.origin.line : -1,
  );
  assert.ok(picket.rdp_spike.score >= 70);
  assert.equal((a.doc.rule as { id: string }).id, RDP_SPIKE_RULE.id);
  assert.equal((a.doc.event as { risk_score: number }).risk_score, 21);
  assert.equal((a.doc.destination as { ip: string }).ip, DESTS[1]);
  assert.deepEqual(
    replay().map((x) => x.id),
    [a.id],
  );
});

/** An expectation with random but consistent numbers. */
function randomExpectation(rng: Random, k: number): BucketExpectation {
  const mean = 10 ** rng.uniform(-2, 2.5);
  const phi = 10 ** rng.uniform(-2, 1);
  const cumMean = new Float64Array(k);
  const cumPhi = new Float64Array(k);
  const winMean = new Float64Array(k);
  const winPhi = new Float64Array(k);
  let cum = 0;
  for (let j = 0; j < k; j++) {
    cum = j === k - 1 ? 1 : Math.min(1, cum + rng.uniform(0, 2 / k));
    cumMean[j] = Math.max(1e-3, mean * cum);
    cumPhi[j] = phi + rng.uniform(0, 2);
    winMean[j] = Math.max(1e-3, mean * rng.uniform(0, 0.4));
    winPhi[j] = phi + rng.uniform(0, 3);
  }
  return { mean, phi, level: mean, rho: 0, cumMean, cumPhi, winMean, winPhi };
}

test('scoring monotonicity: a higher count never scores lower (property, 300 random models)', () => {
  const rng = new Random(2024);
  for (let trial = 0; trial < 300; trial++) {
    const k = 12;
    const e = randomExpectation(rng, k);
    const hist = new Float32Array(NORMALISER_BINS);
    for (let i = 0; i < NORMALISER_BINS; i++) hist[i] = rng.chance(0.4) ? rng.uniform(0, 30) : 0;
    const open = new OpenBucket(0, e, 64);
    const j = rng.int(0, k - 1);
    let prevP = Infinity;
    let prevScore = -1;
    let prevFinal = -1;
    for (let n = 0; n < 150; n++) {
      // Each source lands in the current sub-slot (raising both counts) or an earlier one.
      const slot = rng.chance(0.7) ? j : rng.int(0, j);
      open.add(`s${n}`, hashString32(`s${n}`), slot);
      const t = open.running(j, 6);
      const score = normalisedScore(t.p, hist, 0);
      assert.ok(t.p <= prevP, `trial ${trial}: probability rose at ${n + 1} sources`);
      assert.ok(score >= prevScore - 1e-12, `trial ${trial}: score fell at ${n + 1} sources`);
      const final = normalisedScore(Math.min(1, 2 * countUpperTail(n + 1, e.mean, e.phi)), hist, 0);
      assert.ok(final >= prevFinal - 1e-12, `trial ${trial}: closed-bucket score fell`);
      prevP = t.p;
      prevScore = score;
      prevFinal = final;
    }
  }
});

test('a destination seen for the first time is scored by the population prior', () => {
  const r = run();
  r.feed(office(DESTS, 3, 0, 14)); // a population of quiet destinations
  const t = T0 + 15 * DAY + 10 * HOUR; // a Tuesday
  // A new destination with a few sources, or with a new server's twenty users: nothing unusual
  // for a destination of unknown size.
  r.feed(merge(fanIn('10.201.0.1', 3, t, 30 * MIN), fanIn('10.201.0.2', 20, t, 3 * HOUR, '10.77')));
  assert.equal(r.findings.length, 0);
  // Three hundred sources in half an hour: anomalous even for a destination never seen.
  r.feed(fanIn('10.201.0.3', 300, t + 4 * HOUR, 30 * MIN, '172.30'));
  assert.equal(r.findings.length, 1);
  const d = r.findings[0]!.details as Record<string, any>;
  assert.equal(d.history_buckets, 0, 'no history of its own');
  assert.ok(d.typical_count < 10, `typical ${d.typical_count} comes from the population`);
  assert.ok(d.count >= 20 && d.count < 300, `fired at ${d.count}`);
});

test('snapshot and restore (through a file) give identical subsequent decisions and state', () => {
  const target = DESTS[2]!;
  const history = office(DESTS, 3, 0, 22);
  const spikeStart = T0 + 22 * DAY + 11 * HOUR;
  const spike = fanIn(target, 40, spikeStart, 20 * MIN);
  const after = merge(office(DESTS, 3, 22, 6, 5), fanIn(DESTS[7]!, 50, T0 + 25 * DAY + 14 * HOUR, 15 * MIN, '172.25'));
  // Stop in the middle of the spike's bucket, after the first alert... or before it: both cases.
  for (const cut of [3, 30]) {
    const a = run({ trackChanges: true });
    a.feed(history);
    a.feed(spike.slice(0, cut));
    const dir = mkdtempSync(join(tmpdir(), 'rdp-snap-'));
    try {
      const file = join(dir, 'state.json');
      saveRdpSnapshot(file, a.det.snapshot());
      const b = run({ trackChanges: true });
      b.det.restore(loadRdpSnapshot(file));
      assert.equal(b.det.destinationCount, a.det.destinationCount);
      const rest = merge(spike.slice(cut), after);
      const seenA = a.findings.length;
      a.feed(rest);
      b.feed(rest);
      const ids = (fs: Finding[]): string[] => fs.map((f) => `${alertId(f)} ${JSON.stringify(f.details)}`);
      assert.deepEqual(ids(b.findings), ids(a.findings.slice(seenA)), `cut ${cut}`);
      const spikeAlerts = (fs: Finding[]): number =>
        fs.filter((f) => (f.entities.destination as { ip: string }).ip === target).length;
      assert.equal(spikeAlerts(a.findings), 1, `cut ${cut}: one alert for the spike, before or after the restart`);
      assert.ok(b.findings.length >= 1, 'the restored detector alerts (the other fan-in at least)');
      assert.deepEqual([...b.det.snapshot()], [...a.det.snapshot()], 'the same state afterwards');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test('drainChanges lists what changed, with tombstones for evicted destinations', () => {
  const evictions = new Map<string, number>();
  const r = run({ trackChanges: true }, context({ maxKeys: 3, maxEntriesPerKey: 64 }, evictions));
  r.feed([rdp('10.0.0.1', '10.9.0.1', T0), rdp('10.0.0.1', '10.9.0.2', T0 + 1)]);
  const first = r.det.drainChanges();
  assert.deepEqual([...first.keys()].sort(), ['10.9.0.1', '10.9.0.2']);
  assert.equal(r.det.drainChanges().size, 0, 'drained');
  r.feed([rdp('10.0.0.1', '10.9.0.3', T0 + 2), rdp('10.0.0.1', '10.9.0.4', T0 + 3)]);
  const second = r.det.drainChanges();
  assert.equal(second.get('10.9.0.1'), null, 'evicted: tombstone');
  assert.ok(typeof second.get('10.9.0.4') === 'string');
  assert.equal(evictions.get('max_keys'), 1);
  r.feed([rdp('10.0.0.1', '10.9.0.4', T0 + 7 * HOUR)]);
  assert.ok(r.det.drainChanges().has(POPULATION_KEY), 'a bucket closed: the population changed');
});

test('memory is bounded by maxKeys: least recently seen destinations are evicted and counted', () => {
  const evictions = new Map<string, number>();
  const r = run({}, context({ maxKeys: 50, maxEntriesPerKey: 64 }, evictions));
  const events: EcsEvent[] = [];
  for (let i = 0; i < 500; i++) events.push(rdp('10.0.0.1', `10.50.${i >>> 8}.${i & 255}`, T0 + i * 1000));
  r.feed(events);
  assert.equal(r.det.destinationCount, 50);
  assert.equal(evictions.get('max_keys'), 450);
  assert.ok(r.det.stateSize() <= 100);
});

test('state is durable, not re-read: oldestHeldArrival is undefined; non-RDP events are not wanted', () => {
  const r = run();
  r.feed(office(DESTS.slice(0, 2), 2, 0, 2));
  assert.equal(r.det.oldestHeldArrival(), undefined);
  assert.ok(r.det.stateSize() > 0);
  assert.equal(r.det.wants(ecsEvent({ '@timestamp': iso(T0), destination: { port: 443 } })), false);
  assert.equal(r.det.wants(rdp('10.0.0.1', '10.0.0.2', T0)), true);
});

test('a late event of a bucket already closed is not counted', () => {
  const r = run();
  r.feed([rdp('10.0.0.1', '10.9.0.1', T0 + 7 * HOUR)]);
  r.feed([rdp('10.0.0.2', '10.9.0.1', T0 + HOUR)]);
  assert.equal(r.det.lateIgnored, 1);
});

test("fireOn 'close': the same model alerts once the bucket has closed, on the bucket's last event", () => {
  const r = run({ fireOn: 'close' });
  r.feed(office(DESTS.slice(0, 5), 3, 0, 21));
  const start = T0 + 22 * DAY + 7 * HOUR;
  const spike = fanIn(DESTS[1]!, 40, start, 10 * MIN);
  r.feed(spike);
  assert.equal(r.findings.length, 0, 'not while the bucket is open');
  r.feed([rdp('10.0.0.9', DESTS[3]!, T0 + 22 * DAY + 12 * HOUR + MIN)]);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.equal(f.trigger, spike[spike.length - 1]);
  assert.equal((f.details as { count: number }).count, 40);
  assert.equal((f.details as { fired_on: string }).fired_on, 'close');
});

test('options: validated, and read from the context settings (detections.rdpSpike.*)', () => {
  assert.throws(() => new RdpSpikeDetector(context(), { scoreThreshold: 0 }));
  assert.throws(() => new RdpSpikeDetector(context(), { sketchThreshold: 0 }));
  assert.throws(() => new RdpSpikeDetector(context(), { bucketSpanMs: 10 }));
  const ctx = {
    ...context(),
    settings: { ...context().settings, rdpSpike: { bucketSpanMs: HOUR, maxNewSources: 3 } },
  } as DetectionContext;
  const det = new RdpSpikeDetector(ctx);
  assert.equal(det.options.bucketSpanMs, HOUR);
  assert.equal(det.options.maxNewSources, 3);
  assert.equal(det.options.scoreThreshold, 70);
  assert.equal(det.layout.weeklySlots, 168);
});
