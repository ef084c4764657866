import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rng } from '../../src/demo/sampleTraffic.js';
import type { Detection, Emit } from '../../src/detectors/detection.js';
import { RPC_TO_INTERNET_RULE } from '../../src/detectors/rpcToInternet.js';
import { compareEvents, decodeEvent, fingerprint, type EcsEvent } from '../../src/ecs/event.js';
import { createDetections } from '../../src/detectors/registry.js';
import { Engine } from '../../src/engine.js';
import { ecsEvent } from '../support/events.js';

/** Records the order it is shown events in; wants only those with a "keep" label. */
class RecordingDetection implements Detection {
  readonly rule = RPC_TO_INTERNET_RULE;
  readonly key = 'recording';
  readonly ordered = true;
  readonly seen: number[] = [];
  wants(e: EcsEvent): boolean {
    return (e.doc as any).keep === true;
  }
  onEvent(e: EcsEvent, _emit: Emit): void {
    if (this.wants(e)) this.seen.push(e.arrival);
  }
}

test('property: any arrival order within the lateness shows ordered detections the sorted stream', () => {
  const r = rng(42);
  for (let round = 0; round < 200; round++) {
    const lateness = 1 + Math.floor(r() * 5000);
    const n = 5 + Math.floor(r() * 60);
    // Event times with ties and sequences; each event arrives at most `lateness` after the latest time seen.
    const base = 1_700_000_000_000;
    const events: { time: number; seq?: number; id: number }[] = [];
    for (let i = 0; i < n; i++) {
      const e: { time: number; seq?: number; id: number } = { time: base + Math.floor(r() * 20) * 250, id: i };
      if (r() < 0.3) e.seq = Math.floor(r() * 5);
      events.push(e);
    }
    events.sort((a, b) => a.time - b.time);
    // Arrival order: the time order, each event displaced by a delay smaller than the lateness.
    const arrivals = events
      .map((e) => ({ e, at: e.time + Math.floor(r() * lateness) }))
      .sort((a, b) => a.at - b.at)
      .map((x) => x.e);
    const docs = arrivals.map((e, i) =>
      ecsEvent({ '@timestamp': e.time, keep: true, event: e.seq !== undefined ? { sequence: e.seq } : {} }, i + 1),
    );
    const d = new RecordingDetection();
    const engine = new Engine([d], { latenessMs: lateness, onLate: () => assert.fail('no event is late') });
    for (const doc of docs) engine.push(doc);
    engine.flush();
    const expected = [...docs].sort(compareEvents).map((x) => x.arrival);
    assert.deepEqual(d.seen, expected, `round ${round}`);
  }
});

test('late events are counted and still shown to ordered detections at once', () => {
  const d = new RecordingDetection();
  let late = 0;
  const engine = new Engine([d], { latenessMs: 1000, onLate: () => late++ });
  engine.push(ecsEvent({ '@timestamp': 10_000, keep: true }, 1));
  engine.push(ecsEvent({ '@timestamp': 20_000, keep: true }, 2));
  engine.push(ecsEvent({ '@timestamp': 5_000, keep: true }, 3));
  assert.equal(late, 1);
  assert.deepEqual(d.seen, [1, 3]);
  engine.flush();
  assert.deepEqual(d.seen, [1, 3, 2]);
});

test('events no ordered detection wants are not buffered; stateless detections see events at once', () => {
  const d = new RecordingDetection();
  const engine = new Engine([d], { latenessMs: 60_000 });
  engine.push(ecsEvent({ '@timestamp': 10_000 }, 1));
  assert.equal(engine.buffered, 0);
  engine.push(ecsEvent({ '@timestamp': 10_000, keep: true }, 2));
  assert.equal(engine.buffered, 1);
  assert.equal(engine.oldestHeldArrival(), 2);
});

test('every event moves event time on, also those no detection keeps', () => {
  const d = new RecordingDetection();
  const engine = new Engine([d], { latenessMs: 1000 });
  engine.push(ecsEvent({ '@timestamp': 10_000, keep: true }, 1));
  assert.deepEqual(d.seen, []);
  engine.push(ecsEvent({ '@timestamp': 12_000 }, 2));
  assert.deepEqual(d.seen, [1], 'released by an event it does not want');
  assert.equal(engine.watermark, 11_000);
});

test('an event kept in the reorder buffer or in state does not pin the buffer its bytes were read from', () => {
  // A Kafka client hands record values as slices of the fetch response.
  const response = Buffer.alloc(1 << 20);
  const json = JSON.stringify({
    '@timestamp': '2024-01-01T00:00:00Z',
    event: { id: 'm1', category: ['network'] },
    network: { transport: 'tcp' },
    source: { ip: '10.0.0.5', port: 50000 },
    destination: { ip: '10.0.0.10', port: 135 },
  });
  const at = response.write(json, 4096);
  const value = response.subarray(4096, 4096 + at);
  const res = decodeEvent(value, { kind: 'kafka', topic: 't', partition: 0, offset: '7' }, 7);
  assert.ok(res.ok);
  const fp = fingerprint(res.event);
  const engine = new Engine(createDetections(), { latenessMs: 1000 });
  engine.push(res.event);
  const raw = res.event.raw as Uint8Array;
  assert.notEqual(raw.buffer, response.buffer, 'the mapper flow kept by D2 has its own copy');
  assert.equal(raw.byteLength, raw.buffer.byteLength);
  assert.equal(Buffer.from(raw).toString(), json, 'the same bytes');
  assert.equal(fingerprint(res.event), fp, 'and the same fingerprint (alert ids do not change)');
});
