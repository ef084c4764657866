import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReorderBuffer } from '../../../src/state/reorderBuffer.js';
import { ecsEvent } from '../../support/events.js';

const ev = (ms: number, line: number, seq?: number) =>
  ecsEvent({ '@timestamp': ms, ...(seq !== undefined ? { event: { sequence: seq } } : {}) }, line);

test('events wait until the watermark (max time − lateness) passes them, then leave in order', () => {
  const b = new ReorderBuffer(1000);
  assert.equal(b.push(ev(5000, 1)), true);
  assert.equal(b.watermark, 4000);
  assert.equal(b.push(ev(4500, 2)), true);
  assert.deepEqual(b.release(), []);
  assert.equal(b.push(ev(6000, 3)), true); // watermark 5000: releases 4500 only (5000 is not < 5000)
  assert.deepEqual(
    b.release().map((e) => e.time),
    [4500],
  );
  assert.equal(b.push(ev(7000, 4)), true);
  assert.deepEqual(
    b.release().map((e) => e.time),
    [5000],
  );
  assert.deepEqual(
    b.drain().map((e) => e.time),
    [6000, 7000],
  );
});

test('an event older than the watermark is late and not buffered', () => {
  const b = new ReorderBuffer(1000);
  b.push(ev(10_000, 1));
  assert.equal(b.push(ev(8999, 2)), false);
  assert.equal(b.push(ev(9000, 3)), true, 'exactly at the watermark is not late');
  assert.equal(b.size, 2);
});

test('equal times: event.sequence first, then arrival', () => {
  const b = new ReorderBuffer(0);
  b.push(ev(1000, 3));
  b.push(ev(1000, 1, 7));
  b.push(ev(1000, 2));
  b.push(ev(1000, 4, 2));
  b.push(ev(2000, 5));
  assert.deepEqual(
    b.release().map((e) => e.arrival),
    [4, 1, 2, 3],
  );
});

test('idle time moves the watermark on; oldestArrival tracks what is buffered', () => {
  const b = new ReorderBuffer(5000);
  b.advanceIdle(60_000);
  assert.equal(b.watermark, Number.NEGATIVE_INFINITY, 'nothing seen yet: no time to move');
  b.push(ev(100_000, 42));
  b.push(ev(99_000, 41));
  assert.equal(b.oldestArrival(), 41);
  b.advanceIdle(4000);
  assert.deepEqual(b.release(), []);
  b.advanceIdle(4500);
  assert.deepEqual(
    b.release().map((e) => e.arrival),
    [41],
  );
  b.advanceIdle(5001);
  assert.deepEqual(
    b.release().map((e) => e.arrival),
    [42],
  );
  assert.equal(b.oldestArrival(), undefined);
});
