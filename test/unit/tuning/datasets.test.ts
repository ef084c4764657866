/**
 * Tuning on real data: the APT29 day-2 NEWYORK Zeek conn log (datasets README; 25 D2 pairs, see
 * test/unit/detectors/rpcPairing.datasets.test.ts), replayed as `picket replay` does (openInput +
 * sortedEvents, a fresh engine with every detection), each alert then decided by the Tuner with its
 * events in stage order.
 *
 * What the data holds: clients 10.0.1.4, 10.0.1.5, 10.0.1.6 and 10.0.0.5 ask the domain controller
 * 10.0.0.4's endpoint mapper (port 135) and then connect to its dynamic port 49667 (once 49675).
 * The 10.0.1.4 pairs are the ones an analyst might except (say it were a backup server).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { alertId, type Alert } from '../../../src/alerts/alert.js';
import type { Detection } from '../../../src/detectors/detection.js';
import { createDetections } from '../../../src/detectors/registry.js';
import type { EcsEvent } from '../../../src/ecs/event.js';
import { Engine } from '../../../src/engine.js';
import { openInput } from '../../../src/replay/lines.js';
import { sortedEvents, type ReadStats } from '../../../src/replay/sortEvents.js';
import { Tuner, type Decision, type TunedAlert } from '../../../src/tuning/tuner.js';
import { parseTuning } from '../../../src/tuning/tuningConfig.js';
import { DATASETS_DIR, DATASETS_SKIP } from '../../support/datasets.js';

const NEWYORK =
  'otrf-security-datasets/datasets/compound/apt29/day2/zeek/individual_zeek_logs/NEWYORK_conn.log.ndjson.gz';

interface Replayed {
  readonly alerts: Alert[];
  /** Finding.events of each alert, by alert id. */
  readonly events: Map<string, readonly EcsEvent[]>;
}

/** The detections, each emitting through a wrapper that keeps the finding's events by alert id. */
function capturing(events: Map<string, readonly EcsEvent[]>): Detection[] {
  return createDetections().map((d) => ({
    rule: d.rule,
    key: d.key,
    ordered: d.ordered ?? d.onWatermark !== undefined,
    wants: d.wants?.bind(d),
    onEvent: (e, emit) =>
      d.onEvent(e, (f) => {
        events.set(alertId(f), f.events);
        emit(f);
      }),
    onWatermark: d.onWatermark?.bind(d),
  }));
}

let cached: Replayed | undefined;

async function replay(): Promise<Replayed> {
  if (cached !== undefined) return cached;
  const path = join(DATASETS_DIR, 'ecs', NEWYORK);
  const events = new Map<string, readonly EcsEvent[]>();
  const engine = new Engine(capturing(events));
  const stats: ReadStats = { lines: 0, events: 0, skipped: 0, unreadable: new Map() };
  const alerts: Alert[] = [];
  for await (const e of sortedEvents(openInput(path), path, stats)) alerts.push(...engine.process(e));
  alerts.push(...engine.flush());
  cached = { alerts, events };
  return cached;
}

function decideAll(yaml: string, r: Replayed): { decisions: Decision[]; published: TunedAlert[] } {
  const tuner = new Tuner(parseTuning(yaml, { baseDir: '.' }));
  const decisions: Decision[] = [];
  const published: TunedAlert[] = [];
  for (const a of r.alerts) {
    const d = tuner.decide(a, { events: r.events.get(a.id)! });
    decisions.push(d);
    published.push(...d.publish);
  }
  published.push(...tuner.flush());
  return { decisions, published };
}

const sourceIp = (a: Alert): unknown => (a.doc.source as { ip?: unknown } | undefined)?.ip;

test(
  'NEWYORK conn log: an exception removes exactly the intended alerts, and nothing else',
  { skip: DATASETS_SKIP },
  async () => {
    const r = await replay();
    assert.equal(r.alerts.length, 25, 'the 25 D2 pairs, untuned');
    assert.ok(r.alerts.every((a) => a.rule.id === 'CAR-2014-05-001'));
    const untuned = decideAll('', r);
    assert.deepEqual(
      untuned.published.map((p) => p.id),
      r.alerts.map((a) => a.id),
      'no tuning: every alert, untouched',
    );

    const { decisions, published } = decideAll(
      `
rules:
  rpc_pairing:
    exceptions:
      - name: backup-server
        stage: mapper
        when: { field: source.ip, in_cidr: 10.0.1.4/32 }
`,
      r,
    );
    // Chosen independently of the exception: the alert's own source (the endpoint flow's, which D2
    // requires to equal the mapper's).
    const intended = r.alerts.filter((a) => sourceIp(a) === '10.0.1.4').map((a) => a.id);
    assert.equal(intended.length, 9);
    const excepted = r.alerts.filter((_, i) => decisions[i]!.outcome === 'excepted').map((a) => a.id);
    assert.deepEqual(excepted, intended);
    assert.ok(decisions.every((d) => d.outcome !== 'excepted' || d.exception === 'backup-server'));
    assert.deepEqual(
      published.map((p) => p.id),
      r.alerts.filter((a) => !intended.includes(a.id)).map((a) => a.id),
      'the other 16 alerts, in order',
    );
    for (const p of published) assert.equal(p.doc, p.source!.doc, 'published documents untouched');
  },
);

test('NEWYORK conn log: the stage decides which flow a condition reads', { skip: DATASETS_SKIP }, async () => {
  const r = await replay();
  const outcome = (stage: string): number[] => {
    const { decisions } = decideAll(
      `rules: { rpc_pairing: { exceptions: [ { name: x, stage: ${stage}, when: { field: destination.port, is: 49667 } } ] } }`,
      r,
    );
    return [decisions.filter((d) => d.outcome === 'excepted').length, decisions.length];
  };
  // Every endpoint flow goes to 49667 except one (to 49675); no mapper flow does (they go to 135).
  assert.deepEqual(outcome('endpoint'), [24, 25]);
  assert.deepEqual(outcome('mapper'), [0, 25]);
});

/**
 * The 25 pairs by time (all to 10.0.0.4): 10.0.1.5 at 07:09:51, 07:10:43, 07:10:49, 07:15:10, then
 * ten from 07:23:55.343 to 07:28:54; 10.0.1.4 at 07:10:50 and eight at 07:29:31–07:29:32; 10.0.1.6
 * at 07:10:55; 10.0.0.5 at 07:11:02. With 10-minute windows per (source, destination):
 * 10.0.1.5 → published 07:09:51 (3 suppressed), published 07:23:55.343 (9 suppressed);
 * 10.0.1.4 → published 07:10:50 (window closes empty), published 07:29:31.511 (7 suppressed);
 * 10.0.1.6 and 10.0.0.5 → one each. 6 published, 19 suppressed, follow-ups of 3, 9 and 7.
 */
test(
  'NEWYORK conn log: suppression by source and destination, worked out by hand',
  { skip: DATASETS_SKIP },
  async () => {
    const r = await replay();
    const { decisions, published } = decideAll(
      'rules: { rpc_pairing: { suppression: { by: [source.ip, destination.ip], windowMs: 600000 } } }',
      r,
    );
    const at = (p: TunedAlert): string =>
      `${p.kind} ${new Date(p.time).toISOString().slice(11, 23)} ${String(sourceIp(p as unknown as Alert))}`;
    assert.deepEqual(published.map(at), [
      'alert 07:09:51.323 10.0.1.5',
      'alert 07:10:50.669 10.0.1.4',
      'alert 07:10:55.159 10.0.1.6',
      'alert 07:11:02.824 10.0.0.5',
      'suppression_update 07:15:10.420 10.0.1.5',
      'alert 07:23:55.343 10.0.1.5',
      'alert 07:29:31.511 10.0.1.4',
      'suppression_update 07:28:54.527 10.0.1.5',
      'suppression_update 07:29:32.359 10.0.1.4',
    ]);
    const counts = published
      .filter((p) => p.kind === 'suppression_update')
      .map((u) => (u.doc.picket as { suppressed_count: number }).suppressed_count);
    assert.deepEqual(counts, [3, 9, 7]);
    assert.equal(decisions.filter((d) => d.outcome === 'suppressed').length, 19);
    for (const u of published.filter((p) => p.kind === 'suppression_update')) {
      const of = (u.doc.picket as { suppression: { of: string } }).suppression.of;
      assert.ok(
        published.some((a) => a.kind === 'alert' && a.id === of),
        'each follow-up names a published alert',
      );
    }
  },
);
