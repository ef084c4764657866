import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatEventTime, parseEventTime } from '../../../src/ecs/time.js';

const T = Date.UTC(2020, 8, 20, 12, 16, 8, 123);

test('ISO 8601 with any sub-second precision, truncated to the millisecond', () => {
  assert.equal(parseEventTime('2020-09-20T12:16:08.123Z'), T);
  assert.equal(parseEventTime('2020-09-20T12:16:08.123456789Z'), T);
  assert.equal(parseEventTime('2020-09-20T12:16:08.1239Z'), T);
  assert.equal(parseEventTime('2020-09-20T12:16:08.1Z'), T - 23);
  assert.equal(parseEventTime('2020-09-20T12:16:08Z'), T - 123);
  assert.equal(parseEventTime('2020-09-20 12:16:08.123Z'), T);
});

test('zones: Z, offsets in every form, none means UTC', () => {
  assert.equal(parseEventTime('2020-09-20T14:16:08.123+02:00'), T);
  assert.equal(parseEventTime('2020-09-20T14:16:08.123+0200'), T);
  assert.equal(parseEventTime('2020-09-20T14:16:08.123+02'), T);
  assert.equal(parseEventTime('2020-09-20T07:16:08.123-05:00'), T);
  assert.equal(parseEventTime('2020-09-20T12:16:08.123'), T);
});

test('epoch milliseconds as a number or a string of digits', () => {
  assert.equal(parseEventTime(T), T);
  assert.equal(parseEventTime(String(T)), T);
  assert.equal(parseEventTime(T + 0.9), T);
});

test('unusable times are undefined', () => {
  for (const bad of [
    '',
    'yesterday',
    '2020-13-01T00:00:00Z',
    '2020-02-30T00:00:00Z',
    '2021-02-29T00:00:00Z',
    '2020-09-20T24:00:00Z',
    '2020-09-20T12:16:08.123+25:00',
    -1,
    Number.NaN,
    Infinity,
    null,
    true,
    {},
    [T],
    '1e12',
  ]) {
    assert.equal(parseEventTime(bad), undefined, JSON.stringify(bad));
  }
  assert.equal(parseEventTime('2020-02-29T00:00:00Z'), Date.UTC(2020, 1, 29));
});

test('formatEventTime writes ISO UTC with milliseconds', () => {
  assert.equal(formatEventTime(T), '2020-09-20T12:16:08.123Z');
});
