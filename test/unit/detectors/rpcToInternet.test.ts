import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NON_INTERNET_DESTINATION_RANGES,
  RPC_TO_INTERNET_RULE,
  RpcToInternetDetector,
} from '../../../src/detectors/rpcToInternet.js';
import { Engine } from '../../../src/engine.js';
import { ecsEvent } from '../../support/events.js';

const d1 = new RpcToInternetDetector();

function flow(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@timestamp': '2024-05-01T10:00:00.000Z',
    event: { category: ['network'], dataset: 'network_traffic.flow' },
    network: { transport: 'tcp' },
    source: { ip: '10.1.2.3', port: 50123 },
    destination: { ip: '45.33.32.156', port: 135 },
    ...over,
  };
}

const matches = (doc: Record<string, unknown>): boolean => d1.matches(ecsEvent(doc).doc);

test('a private source to an Internet address on tcp/135 matches', () => {
  assert.equal(matches(flow()), true);
});

test('each private source range, at both ends; anything else does not match', () => {
  for (const ip of ['10.0.0.0', '10.255.255.255', '172.16.0.0', '172.31.255.255', '192.168.0.0', '192.168.255.255']) {
    assert.equal(matches(flow({ source: { ip } })), true, ip);
  }
  for (const ip of [
    '9.255.255.255',
    '11.0.0.0',
    '172.15.255.255',
    '172.32.0.0',
    '192.167.255.255',
    '192.169.0.0',
    '100.64.0.1',
    'fd00::1',
    '::ffff:8.8.8.8',
  ]) {
    assert.equal(matches(flow({ source: { ip } })), false, ip);
  }
  assert.equal(matches(flow({ source: { ip: '::ffff:10.1.2.3' } })), true, 'IPv4-mapped private source');
  assert.equal(matches(flow({ source: { port: 5 } })), false, 'missing source.ip');
  assert.equal(matches(flow({ source: { ip: 'garbage' } })), false, 'unparsable source.ip');
});

/** First and last address of a CIDR, and the addresses just outside it. */
function edges(cidr: string): { inside: string[]; outside: string[] } {
  if (cidr.includes(':')) {
    const table: Record<string, { inside: string[]; outside: string[] }> = {
      '::1': { inside: ['::1', '0:0:0:0:0:0:0:1'], outside: ['::2', '::'] },
      'fe80::/10': {
        inside: ['fe80::', 'FE80::1', 'febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
        outside: ['fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'fec0::'],
      },
      'ff00::/8': {
        inside: ['ff00::', 'ff02::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
        outside: ['feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
      },
    };
    return table[cidr]!;
  }
  const [addr, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const n = addr!.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  const fmt = (x: number): string => [24, 16, 8, 0].map((s) => Math.floor(x / 2 ** s) % 256).join('.');
  const outside: string[] = [];
  if (n > 0) outside.push(fmt(n - 1));
  if (n + size < 2 ** 32) outside.push(fmt(n + size));
  return { inside: [fmt(n), fmt(n + size - 1)], outside };
}

test('every range of the destination exclusion list, at both edges and just outside', () => {
  for (const cidr of NON_INTERNET_DESTINATION_RANGES) {
    const { inside, outside } = edges(cidr);
    for (const ip of inside) assert.equal(matches(flow({ destination: { ip, port: 135 } })), false, `${ip} in ${cidr}`);
    for (const ip of outside) {
      // Just outside one range can be inside a neighbouring one (192.0.0.0/24 next to 192.0.2.0/24 …).
      const inAnother = NON_INTERNET_DESTINATION_RANGES.some((c) => c !== cidr && inRange(ip, c));
      assert.equal(matches(flow({ destination: { ip, port: 135 } })), !inAnother, `${ip} just outside ${cidr}`);
    }
  }
});

function inRange(ip: string, cidr: string): boolean {
  if (ip.includes(':') !== cidr.includes(':')) return false;
  if (ip.includes(':')) {
    const e = edges(cidr);
    return e.inside.includes(ip);
  }
  const [addr, bitsText] = cidr.split('/');
  const toN = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bitsText));
  const base = toN(addr!);
  const x = toN(ip);
  return x >= base && x < base + size;
}

test('IPv6 destinations: unique-local fc00::/7 and global addresses are the Internet', () => {
  assert.equal(matches(flow({ destination: { ip: 'fd12:3456::1', port: 135 } })), true);
  assert.equal(matches(flow({ destination: { ip: '2001:db8::1', port: 135 } })), true);
  assert.equal(matches(flow({ destination: { ip: '::ffff:8.8.8.8', port: 135 } })), true);
  assert.equal(matches(flow({ destination: { ip: '::ffff:10.0.0.1', port: 135 } })), false, 'IPv4-mapped private');
  assert.equal(matches(flow({ destination: { ip: '0.0.0.4', port: 135 } })), true, '0.0.0.0/8 is not on the list');
});

test('a missing or unparsable destination.ip passes the negated clause', () => {
  assert.equal(matches(flow({ destination: { port: 135 } })), true);
  assert.equal(matches(flow({ destination: { ip: 'not-an-ip', port: 135 } })), true);
  assert.equal(
    matches(flow({ destination: { ip: ['8.8.8.8', '10.0.0.1'], port: 135 } })),
    false,
    'any excluded element',
  );
});

test('transport must be exactly tcp', () => {
  assert.equal(matches(flow({ network: { transport: 'udp' } })), false);
  assert.equal(matches(flow({ network: { transport: 'TCP' } })), false);
  assert.equal(matches(flow({ network: {} })), false);
  assert.equal(matches(flow({ network: { transport: ['udp', 'tcp'] } })), true);
});

test('port 135 (number or numeric string), or zeek.dce_rpc on any port', () => {
  assert.equal(matches(flow({ destination: { ip: '45.33.32.156', port: '135' } })), true);
  assert.equal(matches(flow({ destination: { ip: '45.33.32.156', port: 136 } })), false);
  assert.equal(matches(flow({ destination: { ip: '45.33.32.156', port: 445 } })), false);
  const zeek = {
    '@timestamp': '2024-05-01T10:00:00.000Z',
    event: { dataset: 'zeek.dce_rpc', category: ['network'] },
    network: { transport: 'tcp' },
    source: { ip: '192.168.1.5', port: 50000 },
    destination: { ip: '45.33.32.156', port: 445 },
  };
  assert.equal(matches(zeek), true);
  assert.equal(
    matches({ ...zeek, event: undefined, 'data_stream.dataset': 'zeek.dce_rpc', 'event.category': 'network' }),
    true,
  );
  assert.equal(
    matches({ ...zeek, event: { dataset: 'zeek.dce_rpc' } }),
    false,
    'zeek dce_rpc without a network category',
  );
});

test('network category, network_traffic, or the flow dataset alone', () => {
  assert.equal(matches(flow({ event: { category: ['network_traffic'] } })), true);
  assert.equal(matches(flow({ event: { dataset: 'network_traffic.flow' } })), true);
  assert.equal(matches(flow({ event: {}, data_stream: { dataset: 'network_traffic.flow' } })), true);
  assert.equal(matches(flow({ event: { category: ['process'] } })), false);
  assert.equal(matches(flow({ event: { category: 'Network' } })), false);
});

test('dotted documents match like nested ones', () => {
  assert.equal(
    matches({
      '@timestamp': 1714557600000,
      'event.category': 'network',
      'network.transport': 'tcp',
      'source.ip': '10.1.2.3',
      'destination.ip': '45.33.32.156',
      'destination.port': 135,
    }),
    true,
  );
});

test('the engine emits one alert per matching event, with the rule metadata', () => {
  const engine = new Engine([new RpcToInternetDetector()]);
  const a = engine.process(ecsEvent(flow(), 7));
  assert.equal(a.length, 1);
  assert.equal(a[0]!.rule.id, RPC_TO_INTERNET_RULE.id);
  assert.equal(engine.process(ecsEvent(flow({ network: { transport: 'udp' } }), 8)).length, 0);
  // Stateless: the same event again alerts again.
  assert.equal(engine.process(ecsEvent(flow(), 9)).length, 1);
});

test('rule metadata is the one detections.md gives', () => {
  const r = RPC_TO_INTERNET_RULE;
  assert.equal(r.id, '32923416-763a-4531-bb35-f33b9232ecdb');
  assert.equal(r.name, 'RPC (Remote Procedure Call) to the Internet');
  assert.equal(r.severity, 'high');
  assert.equal(r.riskScore, 73);
  assert.deepEqual(
    r.threat.map((t) => [t.tactic.id, t.techniques.map((x) => [x.id, (x.subtechniques ?? []).map((s) => s.id)])]),
    [
      ['TA0001', [['T1190', []]]],
      ['TA0008', [['T1021', ['T1021.003']]]],
    ],
  );
});
