import { test } from 'node:test';
import assert from 'node:assert/strict';
import ipaddr from 'ipaddr.js';
import { CidrSet, formatIp, ipEquals, parseIp } from '../../../src/ecs/ip.js';

test('IPv4-mapped IPv6 is IPv4; IPv6 compares case-insensitively and in any form', () => {
  assert.ok(ipEquals(parseIp('::ffff:10.1.2.3')!, parseIp('10.1.2.3')!));
  assert.ok(ipEquals(parseIp('::FFFF:0a01:0203')!, parseIp('10.1.2.3')!));
  assert.ok(ipEquals(parseIp('FE80::1')!, parseIp('fe80::1')!));
  assert.ok(ipEquals(parseIp('fe80:0:0:0:0:0:0:1')!, parseIp('fe80::1')!));
  assert.ok(ipEquals(parseIp('0:0:0:0:0:0:0:1')!, parseIp('::1')!));
  assert.ok(ipEquals(parseIp('fe80::1%eth0')!, parseIp('fe80::1')!));
  assert.equal(formatIp(parseIp('::ffff:10.1.2.3')!), '10.1.2.3');
  assert.equal(formatIp(parseIp('FE80:0:0::1')!), 'fe80::1');
});

test('unparsable addresses are missing, including forms Elasticsearch refuses', () => {
  for (const bad of [
    '',
    'x',
    '10.0.0',
    '10.0.0.256',
    '127.1',
    '0x7f.0.0.1',
    '1.2.3.4.5',
    ':::1',
    10,
    null,
    ['10.0.0.1'],
  ]) {
    assert.equal(parseIp(bad), undefined, JSON.stringify(bad));
  }
});

test('IPv4 is read exactly as ipaddr.js reads four dotted decimal parts', () => {
  // The reference: what parseIp did before it read IPv4 by hand.
  const reference = (s: string): number | undefined =>
    ipaddr.IPv4.isValidFourPartDecimal(s) ? ipaddr.IPv4.parse(s).octets.reduce((n, o) => n * 256 + o, 0) : undefined;
  const pieces = ['0', '1', '9', '00', '01', '10', '99', '255', '256', '249', '300', '1000', '0255', ''];
  const odd = ['', ' ', '+', '-', 'x', '\u0661', '.', '..', '0x1', '1e2', '\t'];
  let seed = 7;
  const pick = <T>(xs: readonly T[]): T => xs[(seed = (seed * 1103515245 + 12345) % 2 ** 31) % xs.length]!;
  const cases = ['10.1.2.3', '0.0.0.0', '255.255.255.255', '1.2.3.04', '1.2.3.4.', '.1.2.3.4', '1..2.3'];
  for (let i = 0; i < 20_000; i++) {
    const parts = Array.from({ length: 3 + (i % 3) }, () => pick(pieces));
    let s = parts.join('.');
    if (i % 5 === 0) s = s.slice(0, pick([0, 1, 2])) + pick(odd) + s.slice(pick([0, 1, 2, 3]));
    cases.push(s);
  }
  for (const s of cases) {
    const ip = parseIp(s);
    assert.equal(ip === undefined ? undefined : ip.v === 4 ? ip.n : 'v6', reference(s), JSON.stringify(s));
  }
});

test('CIDR sets: edges of IPv4 and IPv6 ranges', () => {
  const s = new CidrSet(['10.0.0.0/8', '172.16.0.0/12', '192.0.0.8/32', 'fe80::/10', '::1', '0.0.0.0/0']);
  const only = new CidrSet(['172.16.0.0/12']);
  assert.ok(only.contains(parseIp('172.16.0.0')!));
  assert.ok(only.contains(parseIp('172.31.255.255')!));
  assert.ok(!only.contains(parseIp('172.32.0.0')!));
  assert.ok(!only.contains(parseIp('172.15.255.255')!));
  const v6 = new CidrSet(['fe80::/10']);
  assert.ok(v6.contains(parseIp('febf:ffff::1')!));
  assert.ok(!v6.contains(parseIp('fec0::1')!));
  assert.ok(!v6.contains(parseIp('10.0.0.1')!));
  assert.ok(s.contains(parseIp('8.8.8.8')!)); // 0.0.0.0/0
  assert.ok(!new CidrSet(['::1']).contains(parseIp('::2')!));
  assert.throws(() => new CidrSet(['10.0.0.0/33']), /invalid CIDR/);
  assert.throws(() => new CidrSet(['nope/8']), /invalid CIDR/);
});
