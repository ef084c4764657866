import { test } from 'node:test';
import assert from 'node:assert/strict';
import { field } from '../../../src/ecs/fields.js';
import {
  firstNumber,
  keywordEquals,
  keywordIn,
  keywords,
  numberEquals,
  numbers,
  toNumber,
} from '../../../src/ecs/values.js';

const SOURCE_IP = field('source.ip');

test('nested, dotted and mixed documents read the same', () => {
  const docs = [
    { source: { ip: '10.0.0.1' } },
    { 'source.ip': '10.0.0.1' },
    { source: { ip: '10.0.0.1' }, 'other.x': 1 },
  ];
  for (const d of docs) assert.deepEqual(SOURCE_IP.values(d), ['10.0.0.1']);
  const deep = field('process.parent.entity_id');
  for (const d of [
    { process: { parent: { entity_id: 'X' } } },
    { 'process.parent.entity_id': 'X' },
    { process: { 'parent.entity_id': 'X' } },
    { 'process.parent': { entity_id: 'X' } },
  ]) {
    assert.deepEqual(deep.values(d), ['X'], JSON.stringify(d));
  }
});

test('a field given both nested and dotted yields both values', () => {
  assert.deepEqual(field('event.category').values({ event: { category: 'network' }, 'event.category': 'process' }), [
    'network',
    'process',
  ]);
});

test('arrays are flattened anywhere along the path; nulls are missing', () => {
  assert.deepEqual(field('event.category').values({ event: { category: ['network', 'network_traffic'] } }), [
    'network',
    'network_traffic',
  ]);
  assert.deepEqual(field('a.b').values({ a: [{ b: 1 }, { b: [2, 3] }, { c: 4 }] }), [1, 2, 3]);
  assert.deepEqual(field('a.b').values({ a: { b: null } }), []);
  assert.deepEqual(field('a.b').values({ a: 'string' }), []);
  assert.deepEqual(field('a.b').values({}), []);
});

test('inherited properties are never read (__proto__, constructor)', () => {
  const doc = JSON.parse('{"__proto__": {"polluted": 1}, "a": {}}');
  assert.deepEqual(field('polluted').values(doc), []);
  assert.deepEqual(field('a.constructor').values(doc), []);
  assert.deepEqual(field('__proto__.polluted').values(doc), [1]);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('keyword conditions hold when any element matches; == is case-sensitive', () => {
  const cat = field('event.category');
  assert.equal(keywordEquals({ event: { category: ['process', 'network'] } }, cat, 'network'), true);
  assert.equal(keywordEquals({ event: { category: ['Network'] } }, cat, 'network'), false);
  assert.equal(
    keywordIn({ event: { category: 'network_traffic' } }, cat, new Set(['network', 'network_traffic'])),
    true,
  );
  assert.deepEqual(keywords({ event: { code: 4624 } }, field('event.code')), ['4624']);
  assert.deepEqual(keywords({ event: { code: { x: 1 } } }, field('event.code')), []);
});

test('numbers: JSON numbers and numeric strings; anything else is missing', () => {
  const port = field('destination.port');
  assert.equal(numberEquals({ destination: { port: 135 } }, port, 135), true);
  assert.equal(numberEquals({ destination: { port: '135' } }, port, 135), true);
  assert.equal(numberEquals({ destination: { port: [80, '135'] } }, port, 135), true);
  assert.equal(numberEquals({ destination: { port: '135a' } }, port, 135), false);
  assert.equal(numberEquals({ destination: { port: ' 135' } }, port, 135), false);
  assert.equal(numberEquals({ destination: { port: true } }, port, 1), false);
  assert.equal(numberEquals({ destination: { port: { value: 135 } } }, port, 135), false);
  assert.deepEqual(numbers({ destination: { port: ['', 'x', null, 7] } }, port), [7]);
  assert.equal(firstNumber({}, port), undefined);
  assert.equal(toNumber('1e3'), 1000);
  assert.equal(toNumber('-0.5'), -0.5);
  assert.equal(toNumber('NaN'), undefined);
  assert.equal(toNumber('Infinity'), undefined);
  assert.equal(toNumber(Number.NaN), undefined);
});

test('invalid paths are refused when compiled', () => {
  assert.throws(() => field(''), /invalid field path/);
  assert.throws(() => field('a..b'), /invalid field path/);
});
