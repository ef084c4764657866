/**
 * The detector stage's event time (src/routing/originWatermarks.ts): the lowest watermark of the
 * input partitions it hears from, so one that falls behind holds alerts back instead of losing them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDetections } from '../../../src/detectors/registry.js';
import { decodeEvent } from '../../../src/ecs/event.js';
import type { InputRecord } from '../../../src/consumers/client.js';
import { PartitionProcessor } from '../../../src/consumers/partitionProcessor.js';
import { OriginWatermarks } from '../../../src/routing/originWatermarks.js';
import { decodeRoutedRecord, encodeHeartbeat, encodeRoutedEvent } from '../../../src/routing/routedEvent.js';
import { servicesConnection, serviceChild } from '../../support/scenario.js';

test('the lowest live watermark; a silent origin stops holding it back; nothing before the warm-up', () => {
  const w = new OriginWatermarks(10_000, 1_000);
  w.heard('in/0', 500, 0);
  w.heard('in/1', 200, 0);
  assert.equal(w.watermark(500), Number.NEGATIVE_INFINITY, 'warming up');
  assert.equal(w.watermark(1_000), 200);
  w.heard('in/1', 100, 2_000); // never goes back
  w.heard('in/2', Number.NEGATIVE_INFINITY, 2_000); // an event before its first heartbeat holds everything
  assert.equal(w.watermark(2_000), Number.NEGATIVE_INFINITY);
  w.heard('in/2', 900, 3_000);
  assert.equal(w.watermark(3_000), 200);
  w.heard('in/0', 800, 9_000);
  w.heard('in/2', 950, 9_000);
  // in/1 last heard at 2 000: silent for more than 10 s at 12 001.
  assert.equal(w.watermark(12_000), 200);
  assert.equal(w.watermark(12_001), 800);
  // An idle input partition stops holding event time back; when all are, the caller idles itself.
  w.heard('in/0', 800, 12_001, true);
  assert.equal(w.watermark(12_001), 950);
  assert.ok(!w.allQuiet(12_001));
  w.heard('in/2', 950, 12_001, true);
  assert.ok(w.allQuiet(12_001));
  assert.equal(w.watermark(12_001), Number.NEGATIVE_INFINITY);
});

test('heartbeats are told apart from routed events; a bad one is unreadable', () => {
  assert.deepEqual(decodeRoutedRecord(Buffer.from(encodeHeartbeat('in', 3, 1234)), 0), {
    kind: 'heartbeat',
    origin: 'in/3',
    watermark: 1234,
    idle: false,
  });
  assert.equal(
    (decodeRoutedRecord(Buffer.from(encodeHeartbeat('in', 3, 1234, true)), 0) as { idle: boolean }).idle,
    true,
  );
  assert.equal(decodeRoutedRecord(Buffer.from('{"v":1,"hb":["in"],"w":1}'), 0).kind, 'unreadable');
});

const HOST = { id: 'h-1', name: 'h-1', os: { type: 'windows' } };
let offset = 0;

/** A repartition record as the router writes it: an event read from input partition `partition`. */
function routed(doc: object, partition: number): InputRecord {
  const r = decodeEvent(JSON.stringify(doc), { kind: 'kafka', topic: 'in', partition, offset: String(offset) }, offset);
  assert.ok(r.ok);
  return record(encodeRoutedEvent(r.event));
}

function record(value: string): InputRecord {
  return {
    topic: 'p-remote_services-repartition',
    partition: 0,
    offset: String(offset++),
    key: null,
    value: Buffer.from(value),
    timestamp: '0',
    headers: {},
  };
}

test('a sequence from an input partition that fell behind the others is detected, not late', () => {
  const late: string[] = [];
  const p = new PartitionProcessor('p-remote_services-repartition', 0, {
    detections: createDetections(['remote_services']),
    deadLetterTopic: 'dlq',
    latenessMs: 2000,
    routedInput: { silenceMs: 60_000, warmupMs: 1000 },
    onLate: (e) => late.push(String(e.time)),
  });
  const t0 = Date.parse('2024-05-01T10:00:00Z');
  const now = Date.now();
  // in/0 is an hour ahead; in/1 (a router that was killed) is still at t0.
  p.process(record(encodeHeartbeat('in', 0, t0 + 3_600_000)), now);
  assert.equal(p.watermark, Number.NEGATIVE_INFINITY, 'warming up: every partition may not be heard yet');
  p.process(record(encodeHeartbeat('in', 1, t0 - 1000)), now + 1000);
  assert.equal(p.watermark, t0 - 1000);
  // in/0's own events are an hour ahead: event time following them would make in/1's late.
  p.process(routed(servicesConnection(t0 + 3_600_000, { ...HOST, id: 'h-2' }), 0), now + 1500);
  // in/1's events arrive now (the partition was handed to another router): not late.
  const alerts = [
    ...p.process(routed(servicesConnection(t0, HOST), 1), now + 2000).outputs,
    ...p.process(routed(serviceChild(t0 + 300, HOST), 1), now + 2000).outputs,
  ];
  assert.equal(alerts.length, 0, 'held until in/1 moves on');
  const released = p.process(record(encodeHeartbeat('in', 1, t0 + 5000)), now + 3000).outputs;
  assert.equal(released.length, 1, 'the sequence alerts when the lagging partition moves on');
  assert.deepEqual(late, []);
});
