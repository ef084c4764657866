import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PublishedAlerts } from '../../../src/consumers/publishedAlerts.js';

test('published alert ids are known for the window, then forgotten; 0 turns the check off', () => {
  let now = 1_000_000;
  const w = new PublishedAlerts(60_000, () => now);
  w.add('a');
  w.add('b', now - 50_000); // read back from the output topic: its record time
  assert.ok(w.has('a') && w.has('b'));
  assert.ok(!w.has('c'));
  now += 20_000; // b is 70 s old
  assert.ok(w.has('a'));
  assert.ok(!w.has('b'), 'older than the window');
  w.add('a', now - 59_000); // an older sighting does not shorten it
  now += 45_000;
  assert.ok(!w.has('a'), 'a is 65 s old');
  assert.equal(w.size, 0);

  const off = new PublishedAlerts(0, () => now);
  off.add('a');
  assert.ok(!off.enabled && !off.has('a'));
});
