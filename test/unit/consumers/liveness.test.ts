import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsumerLiveness, stallThresholdMs } from '../../../src/consumers/liveness.js';

test('live only after contact, until no contact for the stall threshold or a crash', () => {
  let t = 1000;
  const l = new ConsumerLiveness(15_000, () => t);
  assert.equal(l.isLive(), false, 'no contact yet');
  l.contact();
  assert.equal(l.isLive(), true);
  t += 15_000;
  assert.equal(l.isLive(), true, 'at the threshold');
  t += 1;
  assert.equal(l.isLive(), false, 'a stall');
  assert.equal(l.sinceContactMs(), 15_001);
  l.contact();
  assert.equal(l.isLive(), true);
  l.lose();
  assert.equal(l.isLive(), false, 'crashed: out of touch until the next contact');
});

test('idleness counts from the end of the last stall, not across it', () => {
  let t = 0;
  const l = new ConsumerLiveness(10_000, () => t);
  l.contact();
  assert.equal(l.idleSince(), 0);
  t = 5000;
  l.contact();
  assert.equal(l.idleSince(), 0, 'contact without a stall keeps it');
  t = 60_000; // a 55 s outage
  l.contact();
  assert.equal(l.idleSince(), 60_000);
  l.lose();
  t = 61_000;
  l.contact();
  assert.equal(l.idleSince(), 61_000, 'a crash ends with the next contact too');
});

test('the stall threshold is the session timeout, at least 15 s', () => {
  assert.equal(stallThresholdMs(6000), 15_000);
  assert.equal(stallThresholdMs(45_000), 45_000);
});
