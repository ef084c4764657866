/** Value lists: file syntax, keyword case, IP ranges (merged, binary-searched) at scale. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp, parseIp, type Ip } from '../../../src/ecs/ip.js';
import { ipRangeList, parseValueList, ValueListError } from '../../../src/tuning/valueLists.js';

test('list files: one value per line, blanks and # comment lines skipped; trailing # only in ip lists', () => {
  const kw = parseValueList('hosts', 'keyword', '# admin hosts\n\n  ws-01  \nWS-02\r\nbuild#3\n', {
    caseInsensitive: true,
  });
  assert.equal(kw.kind, 'keyword');
  if (kw.kind !== 'keyword') return;
  assert.equal(kw.size, 3);
  assert.ok(kw.has('WS-01') && kw.has('ws-02') && kw.has('BUILD#3'));
  assert.ok(!kw.has('ws-03'));
  const exact = parseValueList('hosts', 'keyword', 'WS-02\n');
  assert.ok(exact.kind === 'keyword' && exact.has('WS-02') && !exact.has('ws-02'));

  const cidr = parseValueList('nets', 'cidr', '10.0.0.0/8   # corp\n# none\n2001:db8::/32\n192.0.2.7\n');
  assert.ok(cidr.kind === 'cidr');
  if (cidr.kind !== 'cidr') return;
  assert.equal(cidr.size, 3);
  for (const [ip, inside] of [
    ['10.255.255.255', true],
    ['11.0.0.0', false],
    ['2001:db8:ffff::1', true],
    ['2001:db9::', false],
    ['192.0.2.7', true],
    ['192.0.2.8', false],
    ['::ffff:10.1.1.1', true],
  ] as const) {
    assert.equal(cidr.contains(parseIp(ip)!), inside, ip);
  }
});

test('bad entries name their line; an ip list refuses ranges', () => {
  const bad = (kind: 'ip' | 'cidr', text: string): ValueListError => {
    try {
      parseValueList('l', kind, text);
    } catch (err) {
      assert.ok(err instanceof ValueListError);
      return err;
    }
    assert.fail('expected an error');
  };
  assert.deepEqual(
    [bad('cidr', '10.0.0.0/8\n# c\n10.0.0.0/33\n').line, bad('cidr', '10.0.0.0/8\n\nhost.example\n').line],
    [3, 3],
  );
  assert.match(bad('cidr', '10.0.0.0/33').reason, /invalid prefix length/);
  assert.match(bad('cidr', '010.1.2.3').reason, /not an IP address/);
  assert.match(bad('ip', '10.0.0.0/8').reason, /use type cidr/);
});

test('overlapping, nested and adjacent ranges merge; host bits are masked; /0 covers a family only', () => {
  const l = ipRangeList('m', 'cidr', ['10.0.0.0/9', '10.128.0.0/9', '10.1.2.3/8', '10.0.0.5', '::/0']);
  assert.equal(l.ranges, 2, 'the 10/8 pieces become one range, plus ::/0');
  assert.ok(l.contains(parseIp('10.200.0.1')!));
  assert.ok(!l.contains(parseIp('11.0.0.1')!));
  assert.ok(l.contains(parseIp('abcd::1')!));
  const v4all = ipRangeList('all', 'cidr', ['0.0.0.0/0']);
  assert.ok(v4all.contains(parseIp('255.255.255.255')!) && !v4all.contains(parseIp('::2')!));
  const mapped = ipRangeList('mapped', 'cidr', ['::ffff:10.0.0.0/104']);
  assert.ok(mapped.contains(parseIp('10.9.9.9')!) && !mapped.contains(parseIp('11.0.0.0')!));
});

/** A small deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Naive {
  v: 4 | 6;
  lo: bigint;
  hi: bigint;
}

function ipBig(ip: Ip): bigint {
  if (ip.v === 4) return BigInt(ip.n);
  return ip.parts.reduce((n, p) => (n << 16n) | BigInt(p), 0n);
}

test('10 000 mixed IPv4/IPv6 CIDRs: 100 000 lookups, quickly, agreeing with a naive scan', () => {
  const r = rng(11);
  const int = (n: number): number => Math.floor(r() * n);
  const entries: string[] = [];
  const naive: Naive[] = [];
  for (let i = 0; i < 10_000; i++) {
    if (r() < 0.6) {
      // IPv4 inside 10.0.0.0/8 mostly, so that ranges overlap and lookups hit.
      const bits = 20 + int(13);
      const n = ((10 << 24) | int(1 << 24)) >>> 0;
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const base = (n & mask) >>> 0;
      entries.push(`${formatIp({ v: 4, n })}/${bits}`);
      naive.push({ v: 4, lo: BigInt(base), hi: BigInt(base) + (1n << BigInt(32 - bits)) - 1n });
    } else {
      const bits = 56 + int(73);
      const parts = [0x2001, 0x0db8, int(4), int(65536), int(65536), int(65536), int(65536), int(65536)];
      const n = ipBig({ v: 6, parts });
      const host = (1n << BigInt(128 - bits)) - 1n;
      const base = n & (((1n << 128n) - 1n) ^ host);
      entries.push(`${formatIp({ v: 6, parts })}/${bits}`);
      naive.push({ v: 6, lo: base, hi: base | host });
    }
  }
  const t0 = performance.now();
  const list = ipRangeList('big', 'cidr', entries);
  const built = performance.now() - t0;
  assert.equal(list.size, 10_000);
  assert.ok(list.ranges < 10_000, 'overlapping ranges were merged');

  const probes: Ip[] = [];
  for (let i = 0; i < 100_000; i++) {
    if (r() < 0.6) probes.push({ v: 4, n: ((10 << 24) | int(1 << 24)) >>> 0 });
    else
      probes.push({
        v: 6,
        parts: [0x2001, 0x0db8, int(4), int(65536), int(65536), int(65536), int(65536), int(65536)],
      });
  }
  const t1 = performance.now();
  let hits = 0;
  for (const p of probes) if (list.contains(p)) hits++;
  const looked = performance.now() - t1;
  // Generous bounds: this guards against a linear scan (10^9 comparisons), not a benchmark.
  assert.ok(built < 2000, `built in ${built.toFixed(0)} ms`);
  assert.ok(looked < 2000, `100 000 lookups in ${looked.toFixed(0)} ms`);
  assert.ok(hits > 1000 && hits < 99_000, `both answers occur (${hits} hits)`);

  // Correctness against a naive scan, on a random sample of the probes plus each range's edges.
  const naiveContains = (ip: Ip): boolean => {
    const x = ipBig(ip);
    return naive.some((n) => n.v === ip.v && n.lo <= x && x <= n.hi);
  };
  for (let i = 0; i < 2000; i++) {
    const p = probes[int(probes.length)]!;
    assert.equal(list.contains(p), naiveContains(p), formatIp(p));
  }
  for (const n of naive.slice(0, 300)) {
    for (const x of [n.lo - 1n, n.lo, n.hi, n.hi + 1n]) {
      if (n.v === 4) {
        if (x < 0n || x > 0xffffffffn) continue;
        const ip: Ip = { v: 4, n: Number(x) };
        assert.equal(list.contains(ip), naiveContains(ip), formatIp(ip));
      } else {
        const parts = Array.from({ length: 8 }, (_, k) => Number((x >> BigInt(16 * (7 - k))) & 0xffffn));
        const ip: Ip = { v: 6, parts };
        assert.equal(list.contains(ip), naiveContains(ip), formatIp(ip));
      }
    }
  }
});
