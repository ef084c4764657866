import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ChangelogCollector,
  CHANGELOG_TOPIC_CONFIG,
  changelogKey,
  changelogPartition,
  defaultChangelogTopic,
} from '../../../src/state/changelog.js';

test('changelog topics are named after the group and the detection, and compacted', () => {
  assert.equal(defaultChangelogTopic('picket', 'rdp_spike'), 'picket-rdp_spike-changelog');
  assert.equal(CHANGELOG_TOPIC_CONFIG['cleanup.policy'], 'compact');
});

test('an input partition always maps to the same changelog partition, and partitions spread', () => {
  const seen = new Set<number>();
  for (let p = 0; p < 64; p++) {
    const c = changelogPartition('ecs-events', p, 12);
    assert.equal(changelogPartition('ecs-events', p, 12), c, 'stable');
    assert.ok(c >= 0 && c < 12);
    seen.add(c);
  }
  assert.ok(seen.size >= 10, `64 input partitions use ${seen.size} of 12 changelog partitions`);
  assert.equal(changelogPartition('any', 5, 1), 0);
  assert.throws(() => changelogPartition('t', 0, 0), /at least one partition/);
});

test('the collector keeps the latest value per key of its own input partition; tombstones delete', () => {
  const c = new ChangelogCollector('ecs-events', 3);
  const k = (p: number, key: string) => Buffer.from(changelogKey('ecs-events', p, key));
  c.add(k(3, '10.0.0.1'), Buffer.from('v1'));
  c.add(k(3, '10.0.0.2'), Buffer.from('w1'));
  c.add(k(13, '10.0.0.1'), Buffer.from('other partition')); // "ecs-events/13/" is not "ecs-events/3/"
  c.add(Buffer.from(changelogKey('ecs-events-2', 3, '10.0.0.1')), Buffer.from('other topic'));
  c.add(k(3, '10.0.0.1'), Buffer.from('v2'));
  c.add(k(3, '10.0.0.2'), null);
  c.add(null, Buffer.from('no key'));
  assert.deepEqual([...c.entries()], [['10.0.0.1', 'v2']]);
  assert.equal(c.records, 4, 'records of this input partition read');
});

test('state keys may contain slashes and colons (IPv6, the population key)', () => {
  const c = new ChangelogCollector('t', 0);
  c.add(changelogKey('t', 0, '2001:db8::1'), 'a');
  c.add(changelogKey('t', 0, '#population'), 'b');
  c.add(changelogKey('t', 0, 'a/b'), 'c');
  assert.deepEqual([...c.entries().keys()], ['2001:db8::1', '#population', 'a/b']);
});
