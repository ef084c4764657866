import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compareEvents, datasetIs, decodeEvent } from '../../../src/ecs/event.js';

const origin = { kind: 'file', file: 'f', line: 1 } as const;
const reason = (raw: string | Uint8Array): string => {
  const r = decodeEvent(raw, origin, 1);
  return r.ok ? 'ok' : r.reason;
};

test('readable events: JSON objects with a usable @timestamp', () => {
  assert.equal(reason('{"@timestamp":"2024-01-01T00:00:00Z"}'), 'ok');
  assert.equal(reason('{"@timestamp":1704067200000}'), 'ok');
  assert.equal(reason(Buffer.from('{"@timestamp":"2024-01-01T00:00:00Z","@metadata":{"beat":"packetbeat"}}')), 'ok');
});

test('unreadable messages, each with its reason', () => {
  assert.equal(reason(''), 'empty');
  assert.equal(reason(new Uint8Array(0)), 'empty');
  assert.equal(reason(Buffer.from([0x7b, 0xff, 0x7d])), 'invalid_utf8');
  assert.equal(reason('{"@timestamp":1'), 'invalid_json');
  assert.equal(reason("{'@timestamp':1}"), 'invalid_json');
  assert.equal(reason('{"@timestamp":1,}'), 'invalid_json');
  assert.equal(reason('NaN'), 'invalid_json');
  assert.equal(reason('[{"@timestamp":1}]'), 'not_an_object');
  assert.equal(reason('"text"'), 'not_an_object');
  assert.equal(reason('null'), 'not_an_object');
  assert.equal(reason('42'), 'not_an_object');
  assert.equal(reason('{}'), 'missing_timestamp');
  assert.equal(reason('{"timestamp":"2024-01-01T00:00:00Z"}'), 'missing_timestamp');
  assert.equal(reason('{"@timestamp":"soon"}'), 'invalid_timestamp');
  assert.equal(reason('{"@timestamp":-5}'), 'invalid_timestamp');
  assert.equal(reason('{"@timestamp":null}'), 'missing_timestamp');
});

test('order: time, then event.sequence (missing last), then arrival', () => {
  const ev = (doc: object, arrival: number) => {
    const r = decodeEvent(JSON.stringify(doc), origin, arrival);
    assert.ok(r.ok);
    return r.event;
  };
  const a = ev({ '@timestamp': 1000 }, 1);
  const b = ev({ '@timestamp': 1000, event: { sequence: 5 } }, 2);
  const c = ev({ '@timestamp': 1000, event: { sequence: '3' } }, 3);
  const d = ev({ '@timestamp': 999 }, 4);
  const e = ev({ '@timestamp': 1000 }, 0);
  const sorted = [a, b, c, d, e].sort(compareEvents).map((x) => x.arrival);
  assert.deepEqual(sorted, [4, 3, 2, 0, 1]);
});

test('event.dataset and data_stream.dataset are interchangeable', () => {
  assert.ok(datasetIs({ event: { dataset: 'zeek.dce_rpc' } }, 'zeek.dce_rpc'));
  assert.ok(datasetIs({ data_stream: { dataset: 'zeek.dce_rpc' } }, 'zeek.dce_rpc'));
  assert.ok(datasetIs({ 'data_stream.dataset': 'zeek.dce_rpc', event: { dataset: 'x' } }, 'zeek.dce_rpc'));
  assert.ok(!datasetIs({ event: { dataset: 'zeek.conn' } }, 'zeek.dce_rpc'));
});
