import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputRecord } from '../../../src/consumers/client.js';
import { DEAD_LETTER_HEADERS } from '../../../src/consumers/deadLetter.js';
import { parseCommitMetadata, PartitionProcessor } from '../../../src/consumers/partitionProcessor.js';
import { createDetections } from '../../../src/detectors/registry.js';
import type { Detection, Emit } from '../../../src/detectors/detection.js';
import { RPC_TO_INTERNET_RULE } from '../../../src/detectors/rpcToInternet.js';
import type { EcsEvent } from '../../../src/ecs/event.js';

function record(offset: number, value: string | Buffer | null, headers: InputRecord['headers'] = {}): InputRecord {
  return {
    topic: 'in',
    partition: 3,
    offset: String(offset),
    key: Buffer.from('k'),
    value: typeof value === 'string' ? Buffer.from(value) : value,
    timestamp: '1700000000000',
    headers,
  };
}

const ATTACK = JSON.stringify({
  '@timestamp': '2024-01-01T00:00:00Z',
  event: { category: ['network'] },
  network: { transport: 'tcp' },
  source: { ip: '10.0.0.1' },
  destination: { ip: '8.8.8.8', port: 135 },
  host: { id: 'h1' },
});

const processor = (opts: Partial<ConstructorParameters<typeof PartitionProcessor>[2]> = {}) =>
  new PartitionProcessor('in', 3, {
    detections: createDetections(['rpc_to_internet']),
    deadLetterTopic: 'dlq',
    latenessMs: 1000,
    ...opts,
  });

test('readable records produce alerts citing topic, partition and offset', () => {
  const p = processor();
  const out = p.process(record(17, ATTACK), 0);
  assert.equal(out.alerts.length, 1);
  assert.deepEqual((out.alerts[0]!.doc.picket as any).events[0].offset, 17);
  assert.equal(out.alerts[0]!.key, 'h1');
  assert.equal(out.deadLetter, undefined);
  assert.equal(p.commitPoint()!.offset, '18');
});

test('unreadable records become dead letters: bytes unchanged, reason and origin in headers', () => {
  const p = processor();
  const out = p.process(record(5, 'not json', { trace: 'abc' }), 0);
  assert.equal(out.alerts.length, 0);
  const dl = out.deadLetter!;
  assert.equal(dl.reason, 'invalid_json');
  assert.equal(dl.record.topic, 'dlq');
  assert.equal(dl.record.value!.toString(), 'not json');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.reason], 'invalid_json');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.topic], 'in');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.partition], '3');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.offset], '5');
  assert.equal(dl.record.headers!.trace, 'abc');
  assert.match(String(dl.record.headers![DEAD_LETTER_HEADERS.detail]), /JSON/);
  assert.equal(p.process(record(6, null), 0).deadLetter!.reason, 'empty');
  assert.equal(p.process(record(7, '[]'), 0).deadLetter!.reason, 'not_an_object');
  assert.equal(p.process(record(8, '{"a":1}'), 0).deadLetter!.reason, 'missing_timestamp');
  assert.equal(p.commitPoint()!.offset, '9', 'dead letters do not hold the commit back');
});

/** An ordered detection that holds every event until the watermark passes it + 10 s. */
class HoldingDetection implements Detection {
  readonly rule = RPC_TO_INTERNET_RULE;
  readonly key = 'holding';
  readonly held: EcsEvent[] = [];
  onEvent(e: EcsEvent, emit: Emit): void {
    this.held.push(e);
    emit({ rule: this.rule, events: [e], entities: {} });
  }
  onWatermark(w: number): void {
    while (this.held.length > 0 && this.held[0]!.time < w - 10_000) this.held.shift();
  }
  oldestHeldArrival(): number | undefined {
    return this.held.length === 0 ? undefined : Math.min(...this.held.map((e) => e.arrival));
  }
}

const at = (ms: number, n: number) => JSON.stringify({ '@timestamp': ms, event: { id: `e${n}` } });

test('the commit never passes an event still held in the reorder buffer or in state', () => {
  const d = new HoldingDetection();
  const p = processor({ detections: [d], latenessMs: 1000 });
  p.process(record(10, at(100_000, 1)), 0);
  assert.equal(p.commitPoint()!.offset, '10', 'buffered in the reorder buffer');
  p.process(record(11, at(105_000, 2)), 0); // releases e1 into the detection's state
  assert.equal(d.held.length, 1);
  assert.equal(p.commitPoint()!.offset, '10', 'held in state');
  p.process(record(12, at(130_000, 3)), 0); // watermark 129 s: e1 (100 s) and e2 expire
  assert.equal(p.commitPoint()!.offset, '12', 'e3 is still in the reorder buffer');
  const meta = parseCommitMetadata(p.commitPoint()!.metadata)!;
  assert.equal(meta.publishedThrough, 12);
  assert.equal(meta.watermark, 129_000);
  // As librdkafka's node binding stores it, with a terminating NUL: the same resume point.
  assert.deepEqual(parseCommitMetadata(`${p.commitPoint()!.metadata}\0`), meta);
});

test('an idle partition releases its buffered events', () => {
  const d = new HoldingDetection();
  const p = processor({ detections: [d], latenessMs: 5000 });
  assert.equal(p.process(record(1, at(100_000, 1)), 0).alerts.length, 0);
  assert.equal(p.advanceIdle(2000).alerts.length, 0, 'not yet: 2 s of 5 s lateness');
  assert.equal(p.advanceIdle(5001).alerts.length, 1);
});

test('after a restart, re-derived alerts that were published are dropped; the others are not', () => {
  // First life: offsets 0..3; e0 and e1 released (alerted) before the commit, e2 and e3 still buffered.
  const first = processor({ detections: [new HoldingDetection()], latenessMs: 1000 });
  const published: string[] = [];
  [at(1000, 0), at(2000, 1), at(3500, 2), at(3600, 3)].forEach((v, i) => {
    for (const a of first.process(record(i, v), 0).alerts) published.push(a.id);
  });
  assert.equal(published.length, 2);
  const point = first.commitPoint()!;
  assert.equal(point.offset, '0', 'e0 is still held by the detection');
  // Second life: read again from the committed offset, resuming from the metadata.
  const second = processor({
    detections: [new HoldingDetection()],
    latenessMs: 1000,
    resume: parseCommitMetadata(point.metadata)!,
  });
  const again: string[] = [];
  const dropped: string[] = [];
  [at(1000, 0), at(2000, 1), at(3500, 2), at(3600, 3), at(9000, 4)].forEach((v, i) => {
    const out = second.process(record(i, v), 0);
    again.push(...out.alerts.map((a) => a.id));
    dropped.push(...out.duplicates.map((a) => a.id));
  });
  assert.deepEqual(dropped, published, 'exactly the alerts published before are dropped');
  assert.equal(again.length, 2, 'e2 and e3, never published, are');
  assert.equal(new Set([...again, ...published]).size, 4);
});

test('stateless alerts after a restart: dropped by offset alone', () => {
  const p = processor({ resume: { publishedThrough: 5, watermark: Number.NEGATIVE_INFINITY } });
  const out = p.process(record(5, ATTACK), 0);
  assert.equal(out.alerts.length, 0);
  assert.equal(out.duplicates.length, 1);
  assert.equal(p.process(record(6, ATTACK), 0).alerts.length, 1);
});

test('commit metadata that is not ours is ignored', () => {
  assert.equal(parseCommitMetadata(null), undefined);
  assert.equal(parseCommitMetadata(''), undefined);
  assert.equal(parseCommitMetadata('something else'), undefined);
  assert.equal(parseCommitMetadata('{"v":2,"m":1}'), undefined);
  assert.deepEqual(parseCommitMetadata('{"v":1,"m":7,"w":null}'), {
    publishedThrough: 7,
    watermark: Number.NEGATIVE_INFINITY,
  });
});

test("a topic's input format normalizes its records; a shape no normalizer knows is a dead letter", () => {
  const zeek = processor({ format: 'auto' });
  const raw = JSON.stringify({
    _path: 'conn',
    ts: 1704067200.123456,
    uid: 'C1',
    'id.orig_h': '10.0.0.1',
    'id.orig_p': 50000,
    'id.resp_h': '8.8.8.8',
    'id.resp_p': 135,
    proto: 'tcp',
    conn_state: 'S0',
  });
  const out = zeek.process(record(1, raw), 0);
  assert.equal(out.alerts.length, 1, 'raw Zeek conn JSON is read as ECS');
  assert.equal(out.alerts[0]!.doc['@timestamp'], '2024-01-01T00:00:00.123Z');
  const strict = processor({ format: 'nxlog' });
  assert.equal(strict.process(record(2, ATTACK), 0).deadLetter?.reason, 'unrecognized_shape');
});
