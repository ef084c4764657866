/**
 * Routing changes where a keyed detection sees its events, never what it concludes: the alerts of
 * the routed topology (router stage on the input, each keyed detection on the partitions of its
 * repartition topic, events carried in the compact routed form) are the alerts of one engine that
 * sees everything, document for document and id for id.
 *
 * Both sides see the same events in the same order (each file sorted as `picket replay` sorts
 * it); the routed side spreads every keyed detection's events over PARTITIONS engines by a hash of
 * the join key, as the producer's partitioner does. Real data from ../shared/datasets (skipped
 * when absent) and ten days of synthetic RDP traffic with two spikes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { createDetections, DEFAULT_DETECTION_OPTIONS, type DetectionOptions } from '../../../src/detectors/registry.js';
import type { Alert } from '../../../src/alerts/alert.js';
import { compareEvents, decodeEvent, type EcsEvent } from '../../../src/ecs/event.js';
import { Engine } from '../../../src/engine.js';
import { openInput, readLines } from '../../../src/replay/lines.js';
import { decodeRoutedEvent } from '../../../src/routing/routedEvent.js';
import { planTopology, Router } from '../../../src/routing/router.js';
import type { RoutingTopology } from '../../../src/config.js';
import { DATASETS_DIR, DATASETS_SKIP, ecsFileTable } from '../../support/datasets.js';
import { RDP_HOUR, rdpTraffic } from '../../support/rdpTraffic.js';

const PARTITIONS = 3;

function partitionOf(key: string): number {
  return createHash('sha1').update(key).digest().readUInt32BE(0) % PARTITIONS;
}

/** Alert documents by id, failing on an id seen twice. */
function byId(alerts: readonly Alert[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const a of alerts) {
    assert.ok(!out.has(a.id), `alert ${a.id} (${a.rule.name}) derived twice`);
    out.set(a.id, JSON.stringify(a.doc));
  }
  return out;
}

function singleProcess(events: readonly EcsEvent[], opts: DetectionOptions): Map<string, string> {
  const engine = new Engine(createDetections(undefined, opts));
  const alerts: Alert[] = [];
  for (const e of events) alerts.push(...engine.process(e));
  alerts.push(...engine.flush());
  return byId(alerts);
}

function routed(events: readonly EcsEvent[], opts: DetectionOptions, topology: RoutingTopology): Map<string, string> {
  const plan = planTopology(createDetections(undefined, opts), topology, 'eq');
  const input = new Engine(createDetections(plan.inputDetections, opts));
  const instances = new Map(createDetections(undefined, opts).map((d) => [d.key, d]));
  const router = new Router(plan.routed.map((r) => ({ detection: instances.get(r.key)!, topic: r.topic })));
  const keyedEngines = new Map<string, { engine: Engine; offset: number }>();
  const detectionOf = new Map(plan.routed.map((r) => [r.topic, r.key]));
  const alerts: Alert[] = [];
  for (const e of events) {
    for (const record of router.route(e)) {
      const slot = `${record.topic}/${partitionOf(record.key as string)}`;
      let k = keyedEngines.get(slot);
      if (k === undefined) {
        k = { engine: new Engine(createDetections([detectionOf.get(record.topic)!], opts)), offset: 0 };
        keyedEngines.set(slot, k);
      }
      const back = decodeRoutedEvent(Buffer.from(record.value as string), k.offset++);
      assert.ok(back.ok);
      alerts.push(...k.engine.process(back.event));
    }
    alerts.push(...input.process(e));
  }
  alerts.push(...input.flush());
  for (const k of keyedEngines.values()) alerts.push(...k.engine.flush());
  return byId(alerts);
}

function assertSameAlerts(name: string, reference: Map<string, string>, actual: Map<string, string>): void {
  const missing = [...reference.keys()].filter((id) => !actual.has(id));
  const extra = [...actual.keys()].filter((id) => !reference.has(id));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `${name}: routed alerts differ by id`);
  for (const [id, doc] of reference) assert.equal(actual.get(id), doc, `${name}: alert ${id} differs`);
}

async function kafkaEvents(file: string): Promise<EcsEvent[]> {
  const out: EcsEvent[] = [];
  for await (const line of readLines(openInput(file))) {
    const origin = { kind: 'kafka', topic: 'in', partition: 0, offset: String(line.number) } as const;
    const r = decodeEvent(Buffer.from(line.bytes), origin, line.number, 'auto');
    if (r.ok) out.push(r.event);
  }
  // Stable: equal events keep their line order.
  return out.sort(compareEvents);
}

test(
  'real data: the routed topologies give exactly the single-process alerts on every file with correlations',
  { skip: DATASETS_SKIP },
  async () => {
    const files = ecsFileTable().filter((f) => f.mapper + f.endpoint + f.svcIn + f.svcChild + f.d1 > 0);
    assert.ok(files.length >= 20, `files with correlating events: ${files.length}`);
    let total = 0;
    const rules = new Map<string, number>();
    for (const f of files) {
      const events = await kafkaEvents(join(DATASETS_DIR, 'ecs', f.file));
      const reference = singleProcess(events, DEFAULT_DETECTION_OPTIONS);
      for (const topology of ['routed', 'direct'] as const) {
        assertSameAlerts(`${f.file} (${topology})`, reference, routed(events, DEFAULT_DETECTION_OPTIONS, topology));
      }
      total += reference.size;
      for (const doc of reference.values()) {
        const rule = (JSON.parse(doc) as { rule: { name: string } }).rule.name;
        rules.set(rule, (rules.get(rule) ?? 0) + 1);
      }
    }
    // The comparison is only worth something if the files raise alerts of the correlating rules.
    assert.ok(total >= 100, `alerts compared: ${total}`);
    assert.ok((rules.get('RPC Activity') ?? 0) >= 50, JSON.stringify([...rules]));
    assert.ok((rules.get('Remotely Started Services via RPC') ?? 0) >= 1, JSON.stringify([...rules]));
  },
);

test('RDP spikes: the routed topology gives exactly the single-process alerts', () => {
  const opts: DetectionOptions = {
    ...DEFAULT_DETECTION_OPTIONS,
    settings: { ...DEFAULT_DETECTION_OPTIONS.settings, rdpSpike: { bucketSpanMs: RDP_HOUR } },
  };
  const events = rdpTraffic().map((t, i) => {
    const r = decodeEvent(t.json, { kind: 'kafka', topic: 'in', partition: i % 4, offset: String(i) }, i);
    assert.ok(r.ok);
    return r.event;
  });
  const reference = singleProcess(events, opts);
  assert.ok(reference.size >= 2, `the traffic's spikes alert: ${reference.size}`);
  assertSameAlerts('rdp traffic', reference, routed(events, opts, 'routed'));
});
