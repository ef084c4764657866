import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { InputRecord } from '../../../src/consumers/client.js';
import { DEAD_LETTER_HEADERS } from '../../../src/consumers/deadLetter.js';
import { PartitionProcessor } from '../../../src/consumers/partitionProcessor.js';
import { createDetections } from '../../../src/detectors/registry.js';

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

test('readable records produce alerts citing topic, partition and offset', () => {
  const p = new PartitionProcessor('in', 3, createDetections(), 'dlq');
  const out = p.process(record(17, ATTACK));
  assert.equal(out.alerts.length, 1);
  assert.deepEqual((out.alerts[0]!.doc.picket as any).events[0].offset, 17);
  assert.equal(out.alerts[0]!.key, 'h1');
  assert.equal(out.deadLetter, undefined);
  assert.equal(p.commitOffsetAfter('17'), '18');
});

test('unreadable records become dead letters: bytes unchanged, reason and origin in headers', () => {
  const p = new PartitionProcessor('in', 3, createDetections(), 'dlq');
  const out = p.process(record(5, 'not json', { trace: 'abc' }));
  assert.equal(out.alerts.length, 0);
  const dl = out.deadLetter!;
  assert.equal(dl.reason, 'invalid_json');
  assert.equal(dl.record.topic, 'dlq');
  assert.equal(dl.record.value.toString(), 'not json');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.reason], 'invalid_json');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.topic], 'in');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.partition], '3');
  assert.equal(dl.record.headers![DEAD_LETTER_HEADERS.offset], '5');
  assert.equal(dl.record.headers!.trace, 'abc');
  assert.match(String(dl.record.headers![DEAD_LETTER_HEADERS.detail]), /JSON/);
  assert.equal(p.process(record(6, null)).deadLetter!.reason, 'empty');
  assert.equal(p.process(record(7, '[]')).deadLetter!.reason, 'not_an_object');
  assert.equal(p.process(record(8, '{"a":1}')).deadLetter!.reason, 'missing_timestamp');
});
