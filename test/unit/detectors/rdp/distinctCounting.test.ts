import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DistinctCounter } from '../../../../src/state/distinctCounter.js';
import { FamiliarSources } from '../../../../src/state/familiarSources.js';
import { hashString32 } from '../../../../src/state/hash32.js';
import { HyperLogLog } from '../../../../src/state/hyperLogLog.js';

const ipOf = (seed: number, i: number): string => `${10 + seed}.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;

test('HyperLogLog (p = 12) is within 5 % at 10k–100k distinct, and about 1.6 % on average', () => {
  const errors: number[] = [];
  for (let seed = 0; seed < 6; seed++) {
    for (const n of [10_000, 30_000, 100_000]) {
      const hll = new HyperLogLog(12);
      for (let i = 0; i < n; i++) hll.addHash(hashString32(ipOf(seed, i)));
      // Adding the same values again changes nothing.
      for (let i = 0; i < 100; i++) assert.equal(hll.addHash(hashString32(ipOf(seed, i))), false);
      const err = Math.abs(hll.estimate() - n) / n;
      assert.ok(
        err < 0.05,
        `n=${n} seed=${seed}: estimate ${hll.estimate().toFixed(0)} is ${(100 * err).toFixed(2)} % off`,
      );
      errors.push(err);
    }
  }
  const mean = errors.reduce((a, b) => a + b, 0) / errors.length;
  assert.ok(mean < 0.025, `mean error ${(100 * mean).toFixed(2)} %`);
});

test('HyperLogLog is close at small counts too (no bias between ranges) and round-trips', () => {
  for (const n of [1, 10, 100, 1000, 5000]) {
    const hll = new HyperLogLog(12);
    for (let i = 0; i < n; i++) hll.addHash(hashString32(ipOf(3, i)));
    assert.ok(Math.abs(hll.estimate() - n) <= Math.max(1, 0.05 * n), `n=${n}: ${hll.estimate()}`);
    const back = HyperLogLog.fromBase64(12, hll.toBase64());
    assert.equal(back.estimate(), hll.estimate());
  }
  assert.equal(new HyperLogLog(12).estimate(), 0);
  assert.throws(() => new HyperLogLog(3));
});

test('DistinctCounter is exact up to the threshold, then a sketch of fixed size', () => {
  const c = new DistinctCounter(256);
  for (let i = 0; i < 256; i++) {
    assert.equal(c.add(ipOf(1, i), hashString32(ipOf(1, i))), true);
    assert.equal(c.add(ipOf(1, i), hashString32(ipOf(1, i))), false, 'a repeat does not count');
  }
  assert.equal(c.exact, true);
  assert.equal(c.count, 256);
  assert.equal(c.has(ipOf(1, 5)), true);
  c.add(ipOf(1, 256), hashString32(ipOf(1, 256)));
  assert.equal(c.exact, false, 'past the threshold: sketch');
  assert.ok(Math.abs(c.count - 257) < 5);
  for (let i = 257; i < 50_000; i++) c.add(ipOf(1, i), hashString32(ipOf(1, i)));
  assert.ok(Math.abs(c.count - 50_000) / 50_000 < 0.05);
  // Memory is the sketch's 4 KiB, whatever the count: its snapshot does not grow.
  const size = JSON.stringify(c.toJSON()).length;
  for (let i = 50_000; i < 100_000; i++) c.add(ipOf(1, i), hashString32(ipOf(1, i)));
  assert.equal(JSON.stringify(c.toJSON()).length, size);
  assert.ok(size < 6000, `snapshot of ${size} bytes`);
  const back = DistinctCounter.fromJSON(c.toJSON(), 256);
  assert.equal(back.count, c.count);
});

test('DistinctCounter round-trips in exact mode and rejects a bad threshold', () => {
  const c = new DistinctCounter(10);
  for (const v of ['a', 'b', 'c']) c.add(v, hashString32(v));
  const back = DistinctCounter.fromJSON(JSON.parse(JSON.stringify(c.toJSON())), 10);
  assert.equal(back.count, 3);
  assert.equal(back.has('b'), true);
  assert.throws(() => new DistinctCounter(0));
});

test('FamiliarSources remembers a source for one to two generations', () => {
  const f = new FamiliarSources();
  const h = hashString32('10.1.2.3');
  assert.equal(f.has(h), false);
  f.add(h);
  assert.equal(f.has(h), true);
  f.rotate();
  assert.equal(f.has(h), true, 'previous generation');
  f.rotate();
  assert.equal(f.has(h), false, 'forgotten');
  f.add(h);
  f.rotate(5);
  assert.equal(f.has(h), false);
  // False positives at 150 sources stay rare.
  const g = new FamiliarSources();
  for (let i = 0; i < 150; i++) g.add(hashString32(ipOf(2, i)));
  let fp = 0;
  for (let i = 1000; i < 3000; i++) if (g.has(hashString32(ipOf(2, i)))) fp++;
  assert.ok(fp / 2000 < 0.1, `false positive rate ${fp / 2000}`);
  assert.equal(FamiliarSources.fromBase64(g.toBase64()).has(hashString32(ipOf(2, 7))), true);
});
