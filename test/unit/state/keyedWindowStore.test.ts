import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyedWindowStore, type EvictionReason, type StoreLimits } from '../../../src/state/keyedWindowStore.js';

interface Counted {
  store: KeyedWindowStore<string>;
  evictions: Map<EvictionReason, number>;
}

function store(limits: StoreLimits = { maxKeys: 100, maxEntriesPerKey: 100 }): Counted {
  const evictions = new Map<EvictionReason, number>();
  const s = new KeyedWindowStore<string>({
    limits,
    onEvict: (reason, count) => evictions.set(reason, (evictions.get(reason) ?? 0) + count),
  });
  return { store: s, evictions };
}

/** The entries of a key, oldest first, read through latestBetween (one per distinct time). */
function timesOf(s: KeyedWindowStore<string>, key: string): string[] {
  const out: string[] = [];
  let hi = Infinity;
  for (;;) {
    const e = s.latestBetween(key, -Infinity, hi);
    if (e === undefined) return out.reverse();
    out.push(`${e.time}:${e.value}`);
    hi = e.time;
  }
}

test('entries stay sorted by time when late entries arrive; equal times keep insertion order', () => {
  const { store: s } = store();
  for (const [t, v] of [
    [10, 'a'],
    [20, 'b'],
    [30, 'c'],
    [15, 'late'],
    [5, 'very-late'],
    [30, 'c2'],
    [20, 'b2'],
    [40, 'd'],
  ] as const) {
    s.insert('k', t, t, v);
  }
  const all = s.takeBetween('k', -Infinity, Infinity).map((e) => `${e.time}:${e.value}`);
  assert.deepEqual(all, ['5:very-late', '10:a', '15:late', '20:b', '20:b2', '30:c', '30:c2', '40:d']);
  assert.equal(s.size, 0);
  assert.equal(s.keyCount, 0, 'a key whose entries were all taken is dropped');
});

test('a tie-break orders entries of equal time whatever their insertion order', () => {
  const s = new KeyedWindowStore<number>({
    limits: { maxKeys: 10, maxEntriesPerKey: 10 },
    tieBreak: (a, b) => a - b,
  });
  s.insert('k', 100, 1, 3);
  s.insert('k', 100, 2, 1);
  s.insert('k', 100, 3, 2);
  assert.equal(s.latestBetween('k', 99, 101)?.value, 3, 'the last in tie-break order is the latest');
  assert.deepEqual(
    s.takeBetween('k', 0, 200).map((e) => e.value),
    [1, 2, 3],
  );
});

test('latestBetween: both bounds strict, newest inside, undefined for an unknown key', () => {
  const { store: s } = store();
  for (const t of [100, 200, 300]) s.insert('k', t, t, `v${t}`);
  assert.equal(s.latestBetween('k', 100, 300), s.latestBetween('k', 199, 201), 'only 200 is strictly inside');
  assert.equal(s.latestBetween('k', 100, 300)?.time, 200);
  assert.equal(s.latestBetween('k', 200, 300), undefined, 'lo is exclusive, hi is exclusive');
  assert.equal(s.latestBetween('k', 99, 100), undefined);
  assert.equal(s.latestBetween('k', 99, 101)?.time, 100);
  assert.equal(s.latestBetween('k', 0, 1000)?.time, 300);
  assert.equal(s.latestBetween('k', 300, 1000), undefined);
  assert.equal(s.latestBetween('other', 0, 1000), undefined);
  assert.deepEqual(timesOf(s, 'k'), ['100:v100', '200:v200', '300:v300']);
});

test('takeBetween removes only the entries strictly inside, and is not an eviction', () => {
  const { store: s, evictions } = store();
  for (const t of [100, 200, 300, 400]) s.insert('k', t, t, `v${t}`);
  assert.deepEqual(
    s.takeBetween('k', 100, 400).map((e) => e.time),
    [200, 300],
  );
  assert.equal(s.size, 2);
  assert.deepEqual(timesOf(s, 'k'), ['100:v100', '400:v400']);
  assert.deepEqual(s.takeBetween('none', 0, 1000), []);
  assert.equal(evictions.size, 0);
});

test('past maxEntriesPerKey the oldest entry of the key is evicted and counted', () => {
  const { store: s, evictions } = store({ maxKeys: 10, maxEntriesPerKey: 3 });
  for (const t of [1, 2, 3, 4, 5]) s.insert('k', t, t, `v${t}`);
  assert.deepEqual(timesOf(s, 'k'), ['3:v3', '4:v4', '5:v5']);
  assert.equal(evictions.get('max_entries_per_key'), 2);
  // A late entry older than every held entry is the oldest: it is the one dropped.
  s.insert('k', 0, 0, 'too-late');
  assert.deepEqual(timesOf(s, 'k'), ['3:v3', '4:v4', '5:v5']);
  assert.equal(evictions.get('max_entries_per_key'), 3);
  // A late entry inside the run stays; the oldest goes.
  s.insert('k', 4, 6, 'late-4');
  assert.deepEqual(
    s.takeBetween('k', 0, 10).map((e) => `${e.time}:${e.value}`),
    ['4:v4', '4:late-4', '5:v5'],
  );
  assert.equal(evictions.get('max_entries_per_key'), 4);
  assert.equal(evictions.get('max_keys'), undefined);
});

test('past maxKeys the least recently written key is evicted with its entries, counted by entries', () => {
  const { store: s, evictions } = store({ maxKeys: 2, maxEntriesPerKey: 10 });
  s.insert('a', 1, 1, 'a1');
  s.insert('a', 2, 2, 'a2');
  s.insert('b', 3, 3, 'b1');
  s.insert('a', 4, 4, 'a3'); // a is now the most recently written
  s.insert('c', 5, 5, 'c1'); // evicts b (1 entry)
  assert.equal(s.has('b'), false);
  assert.equal(s.has('a'), true);
  assert.equal(evictions.get('max_keys'), 1);
  s.insert('d', 6, 6, 'd1'); // evicts a (3 entries)
  assert.equal(s.has('a'), false);
  assert.equal(evictions.get('max_keys'), 4);
  assert.equal(s.keyCount, 2);
  assert.equal(s.size, 2);
  assert.equal(evictions.get('max_entries_per_key'), undefined);
});

test('expiry by time drops entries of every key and is not counted as eviction', () => {
  const { store: s, evictions } = store();
  s.insert('a', 100, 1, 'a100');
  s.insert('b', 150, 2, 'b150');
  s.insert('a', 200, 3, 'a200');
  s.insert('b', 50, 4, 'b50-late');
  assert.equal(s.expireBefore(50), 0, 'strictly before');
  assert.equal(s.expireBefore(151), 3);
  assert.equal(s.size, 1);
  assert.equal(s.has('b'), false, 'a key left empty is dropped');
  assert.deepEqual(timesOf(s, 'a'), ['200:a200']);
  assert.equal(s.expireBefore(1000), 1);
  assert.equal(s.size, 0);
  assert.equal(s.keyCount, 0);
  assert.equal(evictions.size, 0);
});

test('oldestArrival follows evictions, expiry and takes, including late arrivals', () => {
  const { store: s } = store({ maxKeys: 2, maxEntriesPerKey: 2 });
  assert.equal(s.oldestArrival(), undefined);
  s.insert('a', 1000, 10, 'a1');
  s.insert('a', 1001, 11, 'a2');
  s.insert('b', 900, 7, 'b-late'); // arrived before the others (an offset reordered by event time)
  assert.equal(s.oldestArrival(), 7);
  s.insert('a', 1002, 12, 'a3'); // evicts a1 (max_entries_per_key)
  assert.equal(s.oldestArrival(), 7);
  s.expireBefore(901); // b-late expires
  assert.equal(s.oldestArrival(), 11);
  s.insert('c', 1003, 13, 'c1'); // fits: b was dropped when its only entry expired
  s.insert('d', 1004, 14, 'd1'); // evicts a, the least recently written key (a2, a3)
  assert.equal(s.has('a'), false);
  assert.equal(s.oldestArrival(), 13);
  s.takeBetween('c', 0, 2000);
  assert.equal(s.oldestArrival(), 14);
  s.expireBefore(5000);
  assert.equal(s.oldestArrival(), undefined);
});

test('flat memory: a million inserts on one key hold maxEntriesPerKey entries', () => {
  const { store: s, evictions } = store({ maxKeys: 1000, maxEntriesPerKey: 64 });
  for (let i = 0; i < 1_000_000; i++) s.insert('10.0.0.1\u000010.0.0.2', i, i, 'm');
  assert.equal(s.size, 64);
  assert.equal(s.keyCount, 1);
  assert.ok(s.retained <= 2 * 64 + 64, `entries still referenced (lazily deleted included): ${s.retained}`);
  assert.equal(evictions.get('max_entries_per_key'), 1_000_000 - 64);
  assert.equal(s.oldestArrival(), 1_000_000 - 64);
});

test('flat memory: a million distinct keys hold maxKeys keys', () => {
  const { store: s, evictions } = store({ maxKeys: 1000, maxEntriesPerKey: 64 });
  for (let i = 0; i < 1_000_000; i++) s.insert(`k${i}`, i, i, 'm');
  assert.equal(s.keyCount, 1000);
  assert.equal(s.size, 1000);
  assert.ok(s.retained <= 3 * 1000, `retained ${s.retained}`);
  assert.equal(evictions.get('max_keys'), 1_000_000 - 1000);
});

test('randomised: the store agrees with a plain sorted list under inserts, takes and expiry', () => {
  let seed = 12345;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const s = new KeyedWindowStore<number>({ limits: { maxKeys: 1000, maxEntriesPerKey: 1000 } });
  const model: { key: string; time: number; arrival: number }[] = [];
  let now = 0;
  for (let i = 0; i < 20_000; i++) {
    const op = rand(10);
    const key = `k${rand(5)}`;
    if (op < 6) {
      now += rand(20);
      const time = now - (rand(4) === 0 ? rand(500) : 0);
      const arrival = i * 10 - rand(500); // offsets reordered by event time: not monotonic
      s.insert(key, time, arrival, i);
      model.push({ key, time, arrival });
    } else if (op < 8) {
      const hi = now - rand(300);
      const lo = hi - rand(200);
      const want = model.filter((e) => e.key === key && e.time > lo && e.time < hi);
      const got = s.takeBetween(key, lo, hi);
      assert.deepEqual(
        got.map((e) => e.arrival).sort((a, b) => a - b),
        want.map((e) => e.arrival).sort((a, b) => a - b),
      );
      for (const w of want) model.splice(model.indexOf(w), 1);
    } else if (op < 9) {
      const hi = now - rand(300);
      const lo = hi - rand(2000);
      const inside = model.filter((e) => e.key === key && e.time > lo && e.time < hi);
      const latest = inside.reduce<number | undefined>(
        (m, e) => (m === undefined || e.time > m ? e.time : m),
        undefined,
      );
      assert.equal(s.latestBetween(key, lo, hi)?.time, latest);
    } else {
      const cut = now - 1000 - rand(1000);
      const n = model.filter((e) => e.time < cut).length;
      assert.equal(s.expireBefore(cut), n);
      for (let j = model.length - 1; j >= 0; j--) if (model[j]!.time < cut) model.splice(j, 1);
    }
    assert.equal(s.size, model.length);
    const oldest = model.reduce<number | undefined>(
      (m, e) => (m === undefined || e.arrival < m ? e.arrival : m),
      undefined,
    );
    if (i % 97 === 0) assert.equal(s.oldestArrival(), oldest);
  }
});

test('limits must be positive integers', () => {
  assert.throws(() => new KeyedWindowStore({ limits: { maxKeys: 0, maxEntriesPerKey: 1 } }), /maxKeys/);
  assert.throws(() => new KeyedWindowStore({ limits: { maxKeys: 1, maxEntriesPerKey: 1.5 } }), /maxEntriesPerKey/);
});
