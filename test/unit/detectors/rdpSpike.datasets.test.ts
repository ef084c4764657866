/**
 * D4 on real data: the Stratosphere captures 008, 010, 011 and 012 (24 hours each of a Windows host
 * with a public address, scanned for RDP from the Internet; datasets README). They hold no spike,
 * so the spike test is DERIVED from them, and says how.
 *
 * Files are read as `picket replay` reads them (openInput + sortedEvents, event-time order) and fed
 * to the detector directly: onEvent, then onWatermark(event time).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Finding } from '../../../src/detectors/detection.js';
import { extractRdpEvidence } from '../../../src/detectors/rdp/evidence.js';
import { RdpSpikeDetector } from '../../../src/detectors/rdpSpike.js';
import { compareEvents, type EcsEvent } from '../../../src/ecs/event.js';
import { openInput } from '../../../src/replay/lines.js';
import { sortedEvents, type ReadStats } from '../../../src/replay/sortEvents.js';
import { DATASETS_DIR, DATASETS_SKIP } from '../../support/datasets.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;
const STRAT = 'stratosphere-security-datasets-for-testing';
const CAPTURES = ['008', '010', '011', '012'].map((n) => `${STRAT}/${n}-zeek-mixed/data/conn.log.labeled.ndjson.gz`);

/** RDP evidence per capture as the datasets README counts it: events, distinct sources. */
const README_COUNTS: Readonly<Record<string, readonly [number, number]>> = {
  '008': [33, 22],
  '010': [22, 15],
  '011': [40, 28],
  '012': [37, 24],
};

async function read(file: string): Promise<EcsEvent[]> {
  const stats: ReadStats = { lines: 0, events: 0, skipped: 0, unreadable: new Map() };
  const out: EcsEvent[] = [];
  const path = join(DATASETS_DIR, 'ecs', file);
  for await (const e of sortedEvents(openInput(path), path, stats)) out.push(e);
  return out;
}

function detector(): RdpSpikeDetector {
  return new RdpSpikeDetector({
    limits: { maxKeys: 100_000, maxEntriesPerKey: 64 },
    settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
    countEviction: () => undefined,
  });
}

function replay(det: RdpSpikeDetector, events: readonly EcsEvent[]): Finding[] {
  const findings: Finding[] = [];
  for (const e of events) {
    det.onEvent(e, (f) => findings.push(f));
    det.onWatermark(e.time);
  }
  return findings;
}

/** The event moved in time by `dt` (a new document: @timestamp rewritten), to `destination` if given. */
function moved(e: EcsEvent, dt: number, arrival: number, destination?: string): EcsEvent {
  const doc = structuredClone(e.doc) as Record<string, any>;
  doc['@timestamp'] = new Date(e.time + dt).toISOString();
  if (doc.event?.start !== undefined) doc.event.start = doc['@timestamp'];
  if (destination !== undefined) doc.destination.ip = destination;
  return { ...e, doc, time: e.time + dt, arrival, raw: JSON.stringify(doc) };
}

test('Stratosphere 008–012 replayed unchanged: no alert', { skip: DATASETS_SKIP }, async () => {
  for (const file of CAPTURES) {
    const events = await read(file);
    const rdp = events.map((e) => extractRdpEvidence(e.doc)).filter((x) => x !== undefined);
    const id = file.slice(STRAT.length + 1, STRAT.length + 4);
    assert.deepEqual([rdp.length, new Set(rdp.map((x) => x.source)).size], README_COUNTS[id], `${id}: RDP evidence`);
    // Why none: each capture is one day of low-rate Internet scanning of one host (15–28 distinct
    // sources that day, at most a handful in any 6-hour bucket), and each is replayed on its own, so
    // the destination is new and the population knows no rhythm yet: the prior is wide, and a few
    // sources an hour are well within it.
    const det = detector();
    assert.deepEqual(replay(det, events), [], `${id}: no alert`);
    assert.ok(det.destinationCount >= 1);
  }
});

test(
  'DERIVED spike: the scanning sources of 008–012 compressed into one hour onto 008’s host alert',
  { skip: DATASETS_SKIP },
  async () => {
    const captures = await Promise.all(CAPTURES.map(read));
    const rdp008 = captures[0]!.filter((e) => extractRdpEvidence(e.doc) !== undefined);
    const host = extractRdpEvidence(rdp008[0]!.doc)!.destination; // 147.32.81.167
    // Derived background: 008's real day of RDP scanning (33 connections, 22 sources), repeated on
    // 14 consecutive days, so the model has two weeks of this host's normal.
    let arrival = 0;
    const background: EcsEvent[] = [];
    for (let k = 0; k < 14; k++) for (const e of rdp008) background.push(moved(e, k * DAY, ++arrival));
    // Derived spike: every distinct RDP scanning source of the four captures (first connection of
    // each, in their order), compressed into one hour the day after, aimed at 008's host.
    const firstOf = new Map<string, EcsEvent>();
    for (const e of captures.flat().sort(compareEvents)) {
      const ev = extractRdpEvidence(e.doc);
      if (ev !== undefined && !firstOf.has(ev.source)) firstOf.set(ev.source, e);
    }
    const sources = [...firstOf.values()];
    assert.equal(sources.length, 56);
    const start = Math.floor(rdp008[0]!.time / DAY) * DAY + 15 * DAY + 10 * HOUR;
    const spike = sources.map((e, i) =>
      moved(e, start + Math.floor((i * HOUR) / sources.length) - e.time, ++arrival, host),
    );

    assert.deepEqual(replay(detector(), background), [], 'the derived background alone: no alert');

    const findings = replay(detector(), [...background, ...spike].sort(compareEvents));
    assert.equal(findings.length, 1, 'one alert');
    const f = findings[0]!;
    const d = f.details as Record<string, any>;
    assert.equal((f.entities.destination as { ip: string }).ip, host);
    assert.ok(f.trigger!.time >= start && f.trigger!.time < start + HOUR, 'within the compressed hour');
    assert.ok(spike.includes(f.trigger!), 'fired by a spike connection');
    assert.ok(d.score >= 70 && d.count < 56, `score ${d.score} at ${d.count} of 56 sources`);
    assert.ok(d.typical_count < d.count / 2);
    assert.ok(d.new_source_count > 0, 'sources never seen at this host are listed');
  },
);
