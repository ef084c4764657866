import { test } from 'node:test';
import assert from 'node:assert/strict';
import { extractRdpEvidence, mayBeRdpEvidence } from '../../../../src/detectors/rdp/evidence.js';
import { canonicalAddress, isCanonicalIpv4 } from '../../../../src/detectors/rdp/address.js';
import { FastField, NOT_FOUND } from '../../../../src/detectors/rdp/fieldReader.js';
import { field } from '../../../../src/ecs/fields.js';
import { Random } from '../../../../src/eval/rdpSpikeEval.js';

type Doc = Record<string, unknown>;

const flow = (over: Doc = {}): Doc => ({
  '@timestamp': '2024-05-01T10:00:00Z',
  event: { category: ['network'], dataset: 'zeek.connection' },
  network: { transport: 'tcp' },
  source: { ip: '10.0.0.5', port: 50123 },
  destination: { ip: '10.0.0.9', port: 3389 },
  ...over,
});

const logon = (over: Doc = {}): Doc => ({
  '@timestamp': '2024-05-01T10:00:00Z',
  event: { code: '4624', category: ['authentication'] },
  host: { ip: ['10.0.0.9', 'fe80::1'], name: 'srv' },
  winlog: { event_data: { LogonType: '10', IpAddress: '10.0.0.7' }, logon: { type: 'RemoteInteractive' } },
  source: { ip: '10.0.0.5' },
  ...over,
});

const defend = (over: Doc = {}): Doc => ({
  '@timestamp': '2024-05-01T10:00:00Z',
  event: { category: ['process'], type: ['start'] },
  host: { ip: ['10.0.0.9'] },
  process: {
    name: 'rdpclip.exe',
    Ext: { session_info: { logon_type: 'RemoteInteractive', client_address: '10.0.0.5' } },
  },
  ...over,
});

/** `{a: {b: 1}}` → `{"a.b": 1}`. */
function dotted(doc: Doc, prefix = ''): Doc {
  const out: Doc = {};
  for (const [k, v] of Object.entries(doc)) {
    if (v !== null && typeof v === 'object' && !Array.isArray(v))
      Object.assign(out, dotted(v as Doc, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

test('network evidence: tcp to 3389 in a network event; nested, dotted and mixed read the same', () => {
  const expected = { kind: 'network', source: '10.0.0.5', destination: '10.0.0.9' };
  assert.deepEqual(extractRdpEvidence(flow()), expected);
  assert.deepEqual(extractRdpEvidence(dotted(flow())), expected);
  assert.deepEqual(extractRdpEvidence({ ...dotted(flow()), destination: { port: '3389', ip: '10.0.0.9' } }), expected);
  // Zeek's rdp protocol log, a Sysmon network event, a NetFlow record (network_traffic) all count.
  assert.ok(extractRdpEvidence(flow({ event: { category: ['network'], dataset: 'zeek.rdp' } })));
  assert.ok(extractRdpEvidence(flow({ event: { category: 'network_traffic' } })));
  assert.ok(
    extractRdpEvidence(flow({ event: { dataset: 'network_traffic.flow' } })),
    'connection dataset without category',
  );
  assert.ok(extractRdpEvidence(flow({ destination: { ip: '10.0.0.9', port: [443, 3389] } })), 'any port element');
});

test('network evidence: not tcp, another port, not a network event, or no addresses: none', () => {
  assert.equal(extractRdpEvidence(flow({ network: { transport: 'udp' } })), undefined);
  assert.equal(extractRdpEvidence(flow({ network: { transport: 'TCP' } })), undefined, '== is case-sensitive');
  assert.equal(extractRdpEvidence(flow({ destination: { ip: '10.0.0.9', port: 33890 } })), undefined);
  assert.equal(extractRdpEvidence(flow({ destination: { ip: '10.0.0.9', port: '3389x' } })), undefined);
  assert.equal(extractRdpEvidence(flow({ event: { category: ['process'] } })), undefined);
  assert.equal(extractRdpEvidence(flow({ source: { ip: 'not-an-ip' } })), undefined);
  assert.equal(extractRdpEvidence(flow({ destination: { port: 3389 } })), undefined);
});

test('addresses are canonical: IPv4-mapped IPv6 and upper-case IPv6 are the same source', () => {
  const a = extractRdpEvidence(flow({ source: { ip: '::ffff:10.0.0.5' }, destination: { ip: 'FE80::1', port: 3389 } }));
  assert.deepEqual(a, { kind: 'network', source: '10.0.0.5', destination: 'fe80::1' });
  assert.equal(canonicalAddress('10.0.0.5'), '10.0.0.5');
  assert.equal(canonicalAddress('010.0.0.5'), undefined);
  assert.equal(isCanonicalIpv4('10.0.0.256'), false);
  assert.equal(isCanonicalIpv4('1.2.3'), false);
  assert.equal(isCanonicalIpv4('1.2.3.4.'), false);
});

test('logon evidence: 4624 type 10 by LogonType (string or number) or winlog.logon.type', () => {
  const expected = { kind: 'logon', source: '10.0.0.5', destination: '10.0.0.9' };
  assert.deepEqual(extractRdpEvidence(logon()), expected);
  assert.deepEqual(extractRdpEvidence(dotted(logon())), expected);
  assert.deepEqual(
    extractRdpEvidence(
      logon({ event: { code: 4624 }, winlog: { event_data: { LogonType: 10, IpAddress: '10.0.0.7' } } }),
    ),
    expected,
    'Winlogbeat 7: numbers',
  );
  assert.deepEqual(extractRdpEvidence(logon({ winlog: { logon: { type: 'RemoteInteractive' } } })), expected);
  // source.ip missing: IpAddress.
  const { source: _s, ...noSource } = logon();
  assert.deepEqual(extractRdpEvidence(noSource), { ...expected, source: '10.0.0.7' });
  // The first parsable host.ip.
  assert.deepEqual(extractRdpEvidence(logon({ host: { ip: ['-', 'fe80::2', '10.0.0.9'] } })), {
    ...expected,
    destination: 'fe80::2',
  });
});

test('logon evidence: other logon types, other codes, no host.ip or no source: none', () => {
  assert.equal(
    extractRdpEvidence(logon({ winlog: { event_data: { LogonType: '3' }, logon: { type: 'Network' } } })),
    undefined,
  );
  assert.equal(extractRdpEvidence(logon({ event: { code: '4625' } })), undefined);
  const { host: _h, ...noHost } = logon();
  assert.equal(extractRdpEvidence(noHost), undefined);
  const { source: _s, ...noSource } = logon({ winlog: { event_data: { LogonType: '10', IpAddress: '-' } } });
  assert.equal(extractRdpEvidence(noSource), undefined);
});

test('defend evidence: RemoteInteractive process events, client address to the first host.ip', () => {
  const expected = { kind: 'defend', source: '10.0.0.5', destination: '10.0.0.9' };
  assert.deepEqual(extractRdpEvidence(defend()), expected);
  assert.deepEqual(extractRdpEvidence(dotted(defend())), expected);
  assert.deepEqual(
    extractRdpEvidence({
      ...defend(),
      process: { 'Ext.session_info': { logon_type: ['Interactive', 'RemoteInteractive'], client_address: '10.0.0.5' } },
    }),
    expected,
    'mixed keys and an array',
  );
  assert.equal(extractRdpEvidence(defend({ event: { category: ['network'] } })), undefined, 'a process event only');
  assert.equal(
    extractRdpEvidence(
      defend({ process: { Ext: { session_info: { logon_type: 'Interactive', client_address: '10.0.0.5' } } } }),
    ),
    undefined,
  );
  assert.equal(
    extractRdpEvidence(
      defend({ process: { Ext: { session_info: { logon_type: 'remoteinteractive', client_address: '10.0.0.5' } } } }),
    ),
    undefined,
    '== is case-sensitive',
  );
});

test('mayBeRdpEvidence holds for every document that is evidence, and not for unrelated ones', () => {
  for (const d of [flow(), dotted(flow()), logon(), dotted(logon()), defend(), dotted(defend())])
    assert.ok(mayBeRdpEvidence(d));
  assert.equal(mayBeRdpEvidence({ '@timestamp': 1, destination: { port: 443 }, event: { code: '4688' } }), false);
  assert.equal(mayBeRdpEvidence({}), false);
});

test('FastField finds what FieldPath finds, in the same order, for random nested/dotted/array shapes', () => {
  const rng = new Random(7);
  const paths = ['a.b', 'a.b.c', 'x.y.z.w'];
  const leaf = (): unknown => rng.pick([1, 'v', null, ['p', 'q'], { z: 1 }, 2.5]);
  const build = (segments: string[]): unknown => {
    if (segments.length === 0) return leaf();
    const cut = rng.int(1, segments.length);
    const key = segments.slice(0, cut).join('.');
    const rest = segments.slice(cut);
    const child = (): unknown => build(rest);
    const node: Doc = { [key]: rng.chance(0.2) ? [child(), child()] : child() };
    if (rng.chance(0.3)) node[rng.pick(segments)] = leaf();
    return node;
  };
  for (let i = 0; i < 2000; i++) {
    const path = rng.pick(paths);
    const doc = { ...(build(path.split('.')) as Doc), ...(rng.chance(0.3) ? (build(path.split('.')) as Doc) : {}) };
    const f = new FastField(path);
    assert.deepEqual(f.first(doc), field(path).first(doc), JSON.stringify(doc));
    const isString = (v: unknown): boolean => typeof v === 'string';
    const found = f.find(doc, isString);
    const expected = field(path).values(doc).find(isString);
    assert.deepEqual(found === NOT_FOUND ? undefined : found, expected);
  }
});
