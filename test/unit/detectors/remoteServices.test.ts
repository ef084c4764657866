import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DetectionContext, Finding } from '../../../src/detectors/detection.js';
import { createDetections, DETECTION_KEYS } from '../../../src/detectors/registry.js';
import {
  EXCLUDED_EXECUTABLES,
  isServiceChild,
  isServicesConnection,
  REMOTE_SERVICES_RULE,
  RemoteServicesDetector,
  type RemoteServicesOptions,
} from '../../../src/detectors/remoteServices.js';
import { compareEvents, type EcsEvent } from '../../../src/ecs/event.js';
import { field } from '../../../src/ecs/fields.js';
import { keywordIn } from '../../../src/ecs/values.js';
import { Engine } from '../../../src/engine.js';
import { ecsEvent } from '../../support/events.js';

type Doc = Record<string, unknown>;

const T0 = Date.parse('2020-09-20T16:16:56.000Z');
const SERVICES_GUID = '{d273d0f0-e865-5f64-0b00-000000000800}';

/** Deep merge for test documents: objects merge, anything else replaces, `undefined` removes. */
function merge(base: Doc, over: Doc): Doc {
  const out: Doc = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    if (v === undefined) delete out[k];
    else if (isPlain(v) && isPlain(b)) out[k] = merge(b, v);
    else out[k] = v;
  }
  return out;
}
const isPlain = (v: unknown): v is Doc => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Stage 1 as the 2020 OTRF Sysmon 3 events carry it: the remote client is `source`. */
function conn(ms: number, over: Doc = {}): Doc {
  return merge(
    {
      '@timestamp': new Date(T0 + ms).toISOString(),
      event: { category: ['network'], type: ['connection', 'start', 'protocol'], code: '3' },
      host: { id: 'workstation6.theshire.local', name: 'workstation6.theshire.local', os: { type: 'windows' } },
      process: {
        name: 'services.exe',
        executable: 'C:\\Windows\\system32\\services.exe',
        entity_id: SERVICES_GUID,
        pid: 640,
      },
      network: { direction: 'ingress', transport: 'tcp', type: 'ipv4' },
      source: { ip: '172.18.39.5', port: 56608 },
      destination: { ip: '172.18.39.6', port: 49726 },
    },
    over,
  );
}

/** Stage 2: a process started by that services.exe. */
function child(ms: number, over: Doc = {}): Doc {
  return merge(
    {
      '@timestamp': new Date(T0 + ms).toISOString(),
      event: { category: ['process'], type: ['start'], code: '1' },
      host: { id: 'workstation6.theshire.local', name: 'workstation6.theshire.local', os: { type: 'windows' } },
      process: {
        name: 'cmd.exe',
        executable: 'C:\\Windows\\System32\\cmd.exe',
        args: ['C:\\Windows\\System32\\cmd.exe', '/c', 'whoami'],
        entity_id: '{child-guid}',
        parent: { name: 'services.exe', entity_id: SERVICES_GUID, executable: 'C:\\Windows\\system32\\services.exe' },
      },
      user: { name: 'SYSTEM', domain: 'NT AUTHORITY' },
    },
    over,
  );
}

function ctx(over: Partial<DetectionContext['limits']> = {}, evictions: [string, number][] = []): DetectionContext {
  return {
    limits: { maxKeys: 1000, maxEntriesPerKey: 16, ...over },
    settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
    countEviction: (reason, count = 1) => void evictions.push([reason, count]),
  };
}

/** Builds events (arrival = position) and feeds them in engine order, the watermark following each. */
function inOrder(docs: Doc[], opts?: RemoteServicesOptions, c: DetectionContext = ctx()): Finding[] {
  const events = docs.map((d, i) => ecsEvent(d, i + 1)).sort(compareEvents);
  return feed(new RemoteServicesDetector(c, opts), events);
}

/** Feeds events exactly as given (late ones included), as the engine does. */
function feed(d: RemoteServicesDetector, events: EcsEvent[]): Finding[] {
  const out: Finding[] = [];
  for (const e of events) {
    d.onEvent(e, (f) => out.push(f));
    d.onWatermark(e.time);
  }
  return out;
}

const lines = (f: Finding): number[] => f.events.map((e) => (e.origin.kind === 'file' ? e.origin.line : -1));

test('a services.exe inbound connection then its child 578 ms later: one alert, stage order, entities', () => {
  const found = inOrder([conn(19), child(597)]);
  assert.equal(found.length, 1);
  const f = found[0]!;
  assert.equal(f.rule, REMOTE_SERVICES_RULE);
  assert.deepEqual(lines(f), [1, 2], 'connection first, then the child');
  assert.deepEqual(f.details, { connection_to_child_ms: 578, services_entity_id: SERVICES_GUID });
  const e = f.entities as any;
  assert.equal(e.process.name, 'cmd.exe', 'process is the child');
  assert.equal(e.process.parent.name, 'services.exe');
  assert.equal(e.host.id, 'workstation6.theshire.local');
  assert.equal(e.user.name, 'SYSTEM');
  assert.deepEqual(e.source, { ip: '172.18.39.5', port: 56608 }, 'the remote client, from the connection');
  assert.deepEqual(e.destination, { ip: '172.18.39.6', port: 49726 });
  assert.equal(e.network.direction, 'ingress');
});

test('maxspan=1s is inclusive: 1000 ms pairs, 1001 ms does not', () => {
  assert.equal(inOrder([conn(0), child(1000)]).length, 1);
  assert.equal(inOrder([conn(0), child(1001)]).length, 0);
  assert.equal(inOrder([conn(0), child(1)]).length, 1);
});

// detections.md, "Order": events are ordered by (event time, event.sequence — missing sorts after
// present — then arrival), and "a later stage of a sequence needs an event that is strictly later in
// this order". So equal times pair exactly when the connection comes first in that order.
test('equal timestamps pair only when the connection is strictly earlier in the engine order', () => {
  assert.equal(inOrder([conn(500), child(500)]).length, 1, 'equal time, connection arrived first');
  assert.equal(inOrder([child(500), conn(500)]).length, 0, 'equal time, child arrived first');
  const seq = (n: number): Doc => ({ event: { sequence: n } });
  assert.equal(inOrder([child(500, seq(8)), conn(500, seq(7))]).length, 1, 'connection earlier by sequence');
  assert.equal(inOrder([conn(500, seq(8)), child(500, seq(7))]).length, 0, 'child earlier by sequence');
  assert.equal(inOrder([conn(500), child(500, seq(1))]).length, 0, 'a missing sequence sorts after a present one');
  assert.equal(inOrder([child(500), conn(500, seq(1))]).length, 1);
});

test('a child logged before its connection: no alert without tolerance; the tolerance pairs it', () => {
  const docs = [child(0), conn(15)];
  assert.equal(inOrder(docs).length, 0, 'EQL: stage 2 must follow stage 1');
  for (const [tolerance, expected] of [
    [20, 1],
    [15, 1],
    [14, 0],
  ] as const) {
    const found = inOrder(docs, { clockSkewToleranceMs: tolerance });
    assert.equal(found.length, expected, `tolerance ${tolerance} ms`);
  }
  const f = inOrder(docs, { clockSkewToleranceMs: 20 })[0]!;
  assert.deepEqual(lines(f), [2, 1], 'stage order: the connection (line 2) then the child (line 1)');
  assert.equal((f.details as any).connection_to_child_ms, -15);
  // Equal times with the child first are a skew of 0 ms.
  assert.equal(inOrder([child(7), conn(7)], { clockSkewToleranceMs: 1 }).length, 1);
});

test('the tolerance only adds pairs: EQL pairs are unchanged, and each connection serves one held child', () => {
  // The connection serves the held child by tolerance and, for EQL, the child after it.
  assert.equal(inOrder([child(0), conn(10), child(500)], { clockSkewToleranceMs: 20 }).length, 2);
  assert.equal(inOrder([child(0), conn(10), child(500)]).length, 1);
  // A child EQL pairs is never held, so a connection after it does not pair with it again.
  assert.equal(inOrder([conn(0), child(100), conn(110)], { clockSkewToleranceMs: 20 }).length, 1);
  // Two held children, two connections: the earliest child is served first, so both pair.
  const both = inOrder([child(0), child(5), conn(15), conn(22)], { clockSkewToleranceMs: 20 });
  assert.deepEqual(
    both.map((f) => lines(f)),
    [
      [3, 1],
      [4, 2],
    ],
  );
  // One connection, two held children: one alert.
  assert.equal(inOrder([child(0), child(5), conn(15)], { clockSkewToleranceMs: 20 }).length, 1);
});

test('two children after one connection: one alert (the connection is consumed)', () => {
  const found = inOrder([conn(0), child(100), child(200, { process: { entity_id: '{second}' } })]);
  assert.equal(found.length, 1);
  assert.deepEqual(lines(found[0]!), [1, 2]);
});

test('two connections before one child: one alert naming the later connection; the older is consumed too', () => {
  const found = inOrder([conn(0), conn(300, { source: { port: 56700 } }), child(600)]);
  assert.equal(found.length, 1);
  assert.deepEqual(lines(found[0]!), [2, 3]);
  assert.equal((found[0]!.entities as any).source.port, 56700);
  assert.equal(inOrder([conn(0), conn(300), child(600), child(700)]).length, 1, 'no connection left');
  assert.equal(inOrder([conn(0), child(100), conn(200), child(300)]).length, 2, 'a newer connection re-arms');
});

test('the most recent connection is taken even when it is out of span, and it consumes the older ones', () => {
  // EQL trims at the latest earlier connection whatever the span; the span check follows.
  assert.equal(inOrder([conn(0), conn(200), child(1300)]).length, 0);
  assert.equal(inOrder([conn(0), conn(600), child(1300)]).length, 1);
  // Consumed by the child, not expired: no watermark is given here.
  const d = new RemoteServicesDetector(ctx());
  d.onEvent(ecsEvent(conn(0), 1), () => assert.fail('out of span'));
  d.onEvent(ecsEvent(child(1600), 2), () => assert.fail('out of span'));
  assert.equal(d.stateSize(), 0);
});

test('every exclusion pattern of seed 003 excludes its paths, in any case, drive and depth', () => {
  assert.equal(EXCLUDED_EXECUTABLES.length, 27, 'the seed lists 27 patterns (one of them twice)');
  assert.equal(new Set(EXCLUDED_EXECUTABLES).size, 26);
  for (const pattern of EXCLUDED_EXECUTABLES) {
    const instances = [
      pattern.replace('?', 'C').replace('*', 'Vendor'),
      pattern.replace('?', 'd').replace('*', 'a\\b\\c').toUpperCase(),
      pattern.replace('?', 'Z').replace('*', '').toLowerCase(),
    ];
    for (const exe of instances) {
      assert.equal(isServiceChild(child(0, { process: { executable: exe } })), false, exe);
      assert.equal(inOrder([conn(0), child(100, { process: { executable: exe } })]).length, 0, exe);
    }
    const twoCharDrive = pattern.replace('?', 'CC').replace('*', 'x');
    assert.equal(
      isServiceChild(child(0, { process: { executable: twoCharDrive } })),
      true,
      `${twoCharDrive}: "?" is one`,
    );
  }
  const excluded = [
    'C:\\Program Files\\a\\b\\c.exe',
    'C:\\Program Files (x86)\\Vendor\\agent.EXE',
    'D:\\WINDOWS\\psexesvc.exe',
    'c:\\windows\\system32\\SVCHOST.EXE',
    'C:\\Windows\\AdminArsenal\\PDQDeployRunner\\service-1\\exec\\PDQDeployRunner-1.exe',
  ];
  const notExcluded = [
    'C:\\Windows\\Temp\\PSEXESVC.EXE',
    'CC:\\Windows\\PSEXESVC.EXE',
    ':\\Windows\\PSEXESVC.EXE',
    '\\\\?\\C:\\Windows\\PSEXESVC.EXE',
    'C:\\Windows\\SysWOW64\\svchost.exe',
    'C:\\Windows\\System32\\svchost.exe.bak',
    'C:\\Program Files\\Vendor\\agent.dll',
    'C:\\ProgramData\\x.exe',
    'C:\\Windows\\System32\\svch\u043est.exe',
    'C:\\Windows\\System32\\cmd.exe',
  ];
  for (const exe of excluded) assert.equal(isServiceChild(child(0, { process: { executable: exe } })), false, exe);
  for (const exe of notExcluded) assert.equal(isServiceChild(child(0, { process: { executable: exe } })), true, exe);
});

test('the executable exclusion is a negation: a missing executable passes, any excluded element fails', () => {
  assert.equal(isServiceChild(child(0, { process: { executable: undefined } })), true);
  assert.equal(
    isServiceChild(
      child(0, { process: { executable: ['C:\\Windows\\System32\\cmd.exe', 'C:\\Windows\\PSEXESVC.EXE'] } }),
    ),
    false,
  );
  assert.equal(inOrder([conn(0), child(100, { process: { executable: undefined } })]).length, 1);
});

test('msiexec is excluded only with a /V argument (case-insensitive, any element)', () => {
  const msi = (executable: unknown, args: unknown): boolean =>
    isServiceChild(child(0, { process: { executable, args } }));
  assert.equal(msi('C:\\Windows\\System32\\msiexec.exe', ['C:\\Windows\\System32\\msiexec.exe', '/V']), false);
  assert.equal(msi('C:\\Windows\\System32\\msiexec.exe', ['msiexec.exe', '/v']), false);
  assert.equal(msi('d:\\WINDOWS\\system32\\MSIEXEC.EXE', '/V'), false);
  assert.equal(msi('C:\\Windows\\System32\\msiexec.exe', ['msiexec.exe', '/i', 'x.msi']), true);
  assert.equal(msi('C:\\Windows\\System32\\msiexec.exe', ['msiexec.exe', '/Vx']), true);
  assert.equal(msi('C:\\Windows\\System32\\msiexec.exe', undefined), true, 'no args: the conjunction fails');
  assert.equal(msi('C:\\Windows\\SysWOW64\\msiexec.exe', ['/V']), true, 'another msiexec path');
  assert.equal(msi('C:\\Windows\\System32\\cmd.exe', ['/V']), true, '/V on another executable');
  assert.equal(msi(undefined, ['/V']), true, 'missing executable');
});

test('join keys: host.id and entity ids must be present and equal, case-sensitively', () => {
  assert.equal(inOrder([conn(0), child(100, { host: { id: 'workstation5.theshire.local' } })]).length, 0);
  assert.equal(inOrder([conn(0), child(100, { process: { parent: { entity_id: '{other}' } } })]).length, 0);
  assert.equal(
    inOrder([conn(0), child(100, { process: { parent: { entity_id: SERVICES_GUID.toUpperCase() } } })]).length,
    0,
  );
  assert.equal(inOrder([conn(0), child(100, { host: { id: 'WORKSTATION6.THESHIRE.LOCAL' } })]).length, 0);
  assert.equal(inOrder([conn(0, { process: { entity_id: undefined } }), child(100)]).length, 0, 'no entity id');
  assert.equal(inOrder([conn(0), child(100, { process: { parent: { entity_id: undefined } } })]).length, 0);
  assert.equal(inOrder([conn(0, { host: { id: undefined } }), child(100)]).length, 0, 'no host.id');
  assert.equal(inOrder([conn(0), child(100, { host: { id: undefined } })]).length, 0);
  assert.equal(
    inOrder([
      conn(0, { process: { entity_id: undefined } }),
      child(100, { process: { parent: { entity_id: undefined } } }),
    ]).length,
    0,
    'two missing keys do not join each other',
  );
  // The child's own entity id is not the join key: only its parent's.
  assert.equal(
    inOrder([conn(0), child(100, { process: { entity_id: SERVICES_GUID, parent: { entity_id: 'x' } } })]).length,
    0,
  );
});

test('source.ip must not be loopback, compared as addresses; missing or unparsable passes', () => {
  for (const ip of ['127.0.0.1', '::1', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1', ['172.18.39.5', '127.0.0.1']]) {
    assert.equal(isServicesConnection(conn(0, { source: { ip } })), false, JSON.stringify(ip));
  }
  for (const ip of ['127.0.0.2', '172.18.39.5', 'fe80::1', 'not-an-ip', undefined]) {
    assert.equal(isServicesConnection(conn(0, { source: { ip } })), true, JSON.stringify(ip));
  }
});

test('direction must be incoming or ingress (case-insensitive); outgoing, egress and inbound are not', () => {
  for (const direction of ['ingress', 'incoming', 'INGRESS', 'Incoming', ['egress', 'ingress']]) {
    assert.equal(isServicesConnection(conn(0, { network: { direction } })), true, JSON.stringify(direction));
  }
  for (const direction of ['egress', 'outgoing', 'inbound', 'internal', undefined]) {
    assert.equal(isServicesConnection(conn(0, { network: { direction } })), false, JSON.stringify(direction));
  }
  assert.equal(inOrder([conn(0, { network: { direction: 'egress' } }), child(100)]).length, 0);
});

test('both ports >= 49152, as numbers or numeric strings, any element', () => {
  const ok = (source: Doc, destination: Doc): boolean =>
    isServicesConnection(conn(0, { source: { ip: '172.18.39.5', ...source }, destination }));
  assert.equal(ok({ port: 49152 }, { port: 49152 }), true);
  assert.equal(ok({ port: '65535' }, { port: '49726' }), true);
  assert.equal(ok({ port: [135, 50000] }, { port: 50001 }), true);
  assert.equal(ok({ port: 49151 }, { port: 49726 }), false, 'source 49151');
  assert.equal(ok({ port: 56608 }, { port: 49151 }), false, 'destination 49151');
  assert.equal(ok({ port: 56608 }, { port: 135 }), false);
  assert.equal(ok({ port: 'high' }, { port: 49726 }), false);
  assert.equal(ok({ port: undefined }, { port: 49726 }), false, 'missing source.port');
  assert.equal(ok({ port: 56608 }, { port: undefined }), false, 'missing destination.port');
  assert.equal(ok({ port: null }, { port: 49726 }), false, 'null source.port');
});

test('transport is exactly tcp', () => {
  assert.equal(isServicesConnection(conn(0, { network: { transport: 'TCP' } })), false);
  assert.equal(isServicesConnection(conn(0, { network: { transport: 'udp' } })), false);
  assert.equal(isServicesConnection(conn(0, { network: { transport: undefined } })), false);
});

test('services.exe is matched case-insensitively, never through homoglyphs', () => {
  assert.equal(isServicesConnection(conn(0, { process: { name: 'SERVICES.EXE' } })), true);
  assert.equal(isServicesConnection(conn(0, { process: { name: 'serv\u0456ces.exe' } })), false, 'Cyrillic і');
  assert.equal(isServicesConnection(conn(0, { process: { name: '\uff53ervices.exe' } })), false, 'fullwidth');
  assert.equal(isServicesConnection(conn(0, { process: { name: 'svchost.exe' } })), false);
  assert.equal(isServicesConnection(conn(0, { process: { name: undefined } })), false);
  assert.equal(isServiceChild(child(0, { process: { parent: { name: 'Services.Exe' } } })), true);
  assert.equal(isServiceChild(child(0, { process: { parent: { name: 'serv\u0456ces.exe' } } })), false);
  assert.equal(isServiceChild(child(0, { process: { parent: { name: undefined } } })), false);
  assert.equal(inOrder([conn(0, { process: { name: 'SERVICES.EXE' } }), child(100)]).length, 1);
});

test('host.os.type must be exactly windows on both stages', () => {
  for (const type of ['linux', 'Windows', undefined]) {
    const os = { host: { os: { type } } };
    assert.equal(inOrder([conn(0, os), child(100)]).length, 0, `connection on ${type}`);
    assert.equal(inOrder([conn(0), child(100, os)]).length, 0, `child on ${type}`);
  }
});

test('categories and event.type: network for stage 1, process with a start for stage 2', () => {
  assert.equal(inOrder([conn(0, { event: { category: ['process'] } }), child(100)]).length, 0);
  assert.equal(inOrder([conn(0), child(100, { event: { category: ['network'] } })]).length, 0);
  assert.equal(inOrder([conn(0), child(100, { event: { type: ['end'] } })]).length, 0);
  assert.equal(inOrder([conn(0), child(100, { event: { type: 'Start' } })]).length, 0, '== is case-sensitive');
  assert.equal(inOrder([conn(0), child(100, { event: { type: ['start', 'process_start'] } })]).length, 1);
  assert.equal(
    inOrder([conn(0, { event: { category: 'network' } }), child(100, { event: { category: 'process' } })]).length,
    1,
  );
  assert.equal(inOrder([conn(0, { event: { category: ['network', 'network_traffic'] } }), child(100)]).length, 1);
});

test('dotted and mixed documents read as nested ones', () => {
  const dottedConn: Doc = {
    '@timestamp': new Date(T0).toISOString(),
    'event.category': 'network',
    'host.id': 'h1',
    'host.os.type': 'windows',
    'process.name': 'services.exe',
    'process.entity_id': 'svc',
    'network.direction': 'incoming',
    'network.transport': 'tcp',
    'source.ip': '10.0.0.9',
    'source.port': '50000',
    'destination.port': 50001,
  };
  const mixedChild: Doc = {
    '@timestamp': T0 + 250,
    event: { category: ['process'], type: 'start' },
    'host.id': 'h1',
    host: { 'os.type': 'windows' },
    'process.parent': { name: 'services.exe', entity_id: 'svc' },
    process: { executable: 'C:\\Users\\Public\\evil.exe', name: 'evil.exe' },
  };
  const found = inOrder([dottedConn, mixedChild]);
  assert.equal(found.length, 1);
  const e = found[0]!.entities as any;
  assert.equal(e.host.id, 'h1');
  assert.equal(e.process.parent.entity_id, 'svc');
  assert.equal(e.source.port, '50000');
  // event.category as an array of objects along the path, as FieldPath reads it.
  const arrayed = merge(conn(0), { event: undefined, 'event.category': undefined });
  assert.equal(inOrder([{ ...arrayed, event: [{ category: 'network' }] }, child(100)]).length, 1);
});

test('wants() holds exactly for the events onEvent acts on, on every event.category layout', () => {
  const d = new RemoteServicesDetector(ctx());
  const CATEGORY = field('event.category');
  const layouts: Doc[] = [
    { event: { category: 'network' } },
    { event: { category: ['file', 'process'] } },
    { 'event.category': ['network'] },
    { event: [{ category: 'authentication' }, { category: ['process'] }] },
    { event: [{ category: 'authentication' }, { category: ['network'] }] },
    { event: { category: [['network']] } },
    { event: { category: 'Network' } },
    { event: { category: ['network_traffic'] } },
    { event: {} },
    { event: 'network' },
    { category: 'network' },
    {},
  ];
  for (const layout of layouts) {
    // A services.exe inbound connection in every respect but its category.
    const e = ecsEvent({ ...conn(0), event: undefined, ...layout });
    assert.equal(d.wants(e), keywordIn(e.doc, CATEGORY, new Set(['network'])), JSON.stringify(layout));
  }
  assert.equal(d.wants(ecsEvent(conn(0))), true);
  assert.equal(d.wants(ecsEvent(child(0))), true);
  // Network and process events that cannot be a stage are not held in the reorder buffer.
  const never: [string, Doc][] = [
    ['another process', conn(0, { process: { name: 'svchost.exe' } })],
    ['outbound', conn(0, { network: { direction: 'egress' } })],
    ['not Windows', conn(0, { host: { os: { type: 'linux' } } })],
    ['a child of explorer.exe', child(0, { process: { parent: { name: 'explorer.exe' } } })],
    ['a process end', child(0, { event: { type: ['end'] } })],
  ];
  for (const [what, doc] of never) assert.equal(d.wants(ecsEvent(doc)), false, what);
});

test('a late child finds the most recent held connection strictly before it, within 1 s', () => {
  const d = new RemoteServicesDetector(ctx());
  const out = feed(d, [
    ecsEvent(conn(0), 1),
    ecsEvent(conn(400, { source: { port: 50400 } }), 2),
    ecsEvent(conn(900, { source: { port: 50900 } }), 3),
    ecsEvent(child(950, { process: { executable: 'C:\\x.exe' } }), 4),
  ]);
  assert.equal(out.length, 1, 'the in-order child pairs with the connection at 900');
  // A late child at 500 (the watermark is at 950): the newest connection before it is at 400, but the
  // in-order child already consumed it (everything up to 900); nothing is left before 500.
  assert.equal(feed(d, [ecsEvent(child(500), 5)]).length, 0);
  // A fresh detector: connections at 0 and 400, then a later connection at 900; a late child at 500
  // pairs with the one at 400 and leaves the one at 900 to a later child.
  const d2 = new RemoteServicesDetector(ctx());
  feed(d2, [ecsEvent(conn(0), 1), ecsEvent(conn(400), 2), ecsEvent(conn(900), 3)]);
  const late = feed(d2, [ecsEvent(child(500), 4)]);
  assert.deepEqual(late.map(lines), [[2, 4]]);
  assert.equal(d2.stateSize(), 1, 'the connection at 900 is still held');
  assert.deepEqual(feed(d2, [ecsEvent(child(1000), 5)]).map(lines), [[3, 5]]);
});

test('a late connection that an earlier EQL pairing consumed is dropped', () => {
  const d = new RemoteServicesDetector(ctx());
  assert.equal(feed(d, [ecsEvent(conn(0), 1), ecsEvent(child(500), 2)]).length, 1);
  // In event order the connection at 100 came before the child at 500: EQL would have paired it
  // (instead of the one at 0) and consumed it. The alert is out; it must not pair a second child.
  const before = d.stateSize();
  feed(d, [ecsEvent(conn(100), 3)]);
  assert.equal(d.stateSize(), before);
  assert.equal(feed(d, [ecsEvent(child(900), 4)]).length, 0);
  // A late connection after that pairing is stored as usual.
  feed(d, [ecsEvent(conn(600), 5)]);
  assert.equal(feed(d, [ecsEvent(child(950), 6)]).length, 1);
});

test('a late connection with no pairing since is stored; one more than 1 s behind the watermark is not', () => {
  const d = new RemoteServicesDetector(ctx());
  feed(d, [ecsEvent(child(500), 1)]);
  feed(d, [ecsEvent(conn(100), 2)]);
  assert.equal(d.stateSize(), 1);
  assert.deepEqual(feed(d, [ecsEvent(child(900), 3)]).map(lines), [[2, 3]]);
  const d2 = new RemoteServicesDetector(ctx());
  feed(d2, [ecsEvent(conn(5000, { host: { id: 'other' } }), 1)]);
  feed(d2, [ecsEvent(conn(3999), 2)]);
  assert.equal(d2.stateSize(), 1, 'only the connection at 5000 is held');
  feed(d2, [ecsEvent(conn(4000), 3)]);
  assert.equal(d2.stateSize(), 2, 'exactly 1 s behind: a child at the watermark could still pair');
});

test('with the tolerance, a late child pairs with a held connection up to N ms after it', () => {
  const d = new RemoteServicesDetector(ctx(), { clockSkewToleranceMs: 20 });
  feed(d, [ecsEvent(conn(1000), 1), ecsEvent(conn(2000, { host: { id: 'other' } }), 2)]);
  assert.equal(feed(d, [ecsEvent(child(975), 3)]).length, 0, '25 ms before: beyond the tolerance');
  assert.deepEqual(feed(d, [ecsEvent(child(985), 4)]).map(lines), [[1, 4]]);
  assert.equal(feed(d, [ecsEvent(child(990), 5)]).length, 0, 'the connection served one held child already');
  // A late child exactly N ms behind the watermark is still held: a connection at the watermark may come.
  const d2 = new RemoteServicesDetector(ctx(), { clockSkewToleranceMs: 20 });
  feed(d2, [ecsEvent(conn(100, { host: { id: 'other' } }), 1), ecsEvent(child(80), 2)]);
  assert.deepEqual(feed(d2, [ecsEvent(conn(100), 3)]).map(lines), [[3, 2]]);
});

test('onWatermark expires connections more than 1 s old; oldestHeldArrival follows', () => {
  const d = new RemoteServicesDetector(ctx());
  const none = (): void => undefined;
  assert.equal(d.oldestHeldArrival(), undefined);
  d.onEvent(ecsEvent(conn(0), 7), none);
  d.onEvent(ecsEvent(conn(300, { host: { id: 'h2' } }), 9), none);
  assert.equal(d.stateSize(), 2);
  assert.equal(d.oldestHeldArrival(), 7);
  d.onWatermark(T0 + 1000);
  assert.equal(d.stateSize(), 2, 'a child at exactly +1000 ms could still pair');
  d.onWatermark(T0 + 1001);
  assert.equal(d.stateSize(), 1);
  assert.equal(d.oldestHeldArrival(), 9);
  d.onWatermark(T0 + 1200);
  assert.equal(d.stateSize(), 1);
  d.onWatermark(T0 + 1301);
  assert.equal(d.stateSize(), 0);
  assert.equal(d.oldestHeldArrival(), undefined);
  d.onWatermark(T0 + 500);
  assert.equal(d.stateSize(), 0, 'a watermark never goes back');
  // Within one key, the entry exactly at the boundary stays while the one before it goes.
  const k = new RemoteServicesDetector(ctx());
  k.onEvent(ecsEvent(conn(0), 1), none);
  k.onEvent(ecsEvent(conn(1), 2), none);
  k.onWatermark(T0 + 1001);
  assert.equal(k.stateSize(), 1);
  assert.deepEqual(feed(k, [ecsEvent(child(1001), 3)]).map(lines), [[2, 3]]);
});

test('expiry across many keys holds exactly the connections a future child could still reach', () => {
  const rand = mulberry32(7);
  const d = new RemoteServicesDetector(ctx({ maxEntriesPerKey: 1000 }));
  // Dense keys (several entries each, so pruning re-places keys in the heap) and some late events
  // (up to 1.5 s behind, so a key's expiry also moves earlier).
  const times = Array.from({ length: 2000 }, () => rand(10_000))
    .sort((a, b) => a - b)
    .map((t) => (rand(5) === 0 ? Math.max(0, t - rand(1200)) : t));
  const fed: number[] = [];
  let watermark = -Infinity;
  let peak = 0;
  times.forEach((t, i) => {
    d.onEvent(ecsEvent(conn(t, { host: { id: `h${rand(40)}` } }), i + 1), () => undefined);
    fed.push(t);
    // Watermarks that now and then jump ahead of the events.
    const w = T0 + t + (rand(20) === 0 ? rand(600) : 0);
    d.onWatermark(w);
    watermark = Math.max(watermark, w);
    // A connection that came late by more than 1 s was never stored; the same formula covers it.
    const expected = fed.filter((x) => T0 + x + 1000 >= watermark).length;
    assert.equal(d.stateSize(), expected, `after event ${i} (watermark +${watermark - T0} ms)`);
    peak = Math.max(peak, expected);
  });
  assert.ok(peak > 100, `the state grew (peak ${peak}), so the heap was exercised`);
});

test('held children expire once the watermark passes child time + tolerance', () => {
  const d = new RemoteServicesDetector(ctx(), { clockSkewToleranceMs: 20 });
  const none = (): void => undefined;
  d.onEvent(ecsEvent(child(0), 3), none);
  assert.equal(d.stateSize(), 1);
  assert.equal(d.oldestHeldArrival(), 3);
  d.onWatermark(T0 + 20);
  assert.equal(d.stateSize(), 1);
  d.onEvent(ecsEvent(child(1, { process: { entity_id: '{second}' } }), 4), none);
  d.onWatermark(T0 + 21);
  assert.equal(d.stateSize(), 1, 'the child at +1 ms waits for a connection up to +21 ms');
  d.onWatermark(T0 + 22);
  assert.equal(d.stateSize(), 0);
  assert.equal(feed(d, [ecsEvent(conn(22), 5)]).length, 0);
  // Without the tolerance nothing is held for children.
  const d0 = new RemoteServicesDetector(ctx());
  d0.onEvent(ecsEvent(child(0), 1), none);
  assert.equal(d0.stateSize(), 0);
});

test('maxEntriesPerKey evicts the oldest entry of the key, counted', () => {
  const evictions: [string, number][] = [];
  const d = new RemoteServicesDetector(ctx({ maxEntriesPerKey: 2 }, evictions));
  feed(d, [ecsEvent(conn(0), 1), ecsEvent(conn(100), 2), ecsEvent(conn(200), 3)]);
  assert.equal(d.stateSize(), 2);
  assert.deepEqual(evictions, [['max_entries_per_key', 1]]);
  // A late child at 50 would pair with the connection at 0, which is gone.
  assert.equal(feed(d, [ecsEvent(child(50), 4)]).length, 0);
});

test('maxKeys evicts the least recently used key, counted', () => {
  const evictions: [string, number][] = [];
  const d = new RemoteServicesDetector(ctx({ maxKeys: 2 }, evictions));
  const on = (host: string): Doc => ({ host: { id: host } });
  feed(d, [
    ecsEvent(conn(0, on('h1')), 1),
    ecsEvent(conn(10, on('h2')), 2),
    ecsEvent(conn(20, on('h1')), 3), // h1 used again: h2 is now the least recently used
    ecsEvent(conn(30, on('h3')), 4),
  ]);
  assert.deepEqual(evictions, [['max_keys', 1]]);
  assert.equal(d.stateSize(), 3, 'h1 holds two, h3 one');
  assert.equal(feed(d, [ecsEvent(child(100, on('h2')), 5)]).length, 0);
  assert.equal(feed(d, [ecsEvent(child(100, on('h1')), 6)]).length, 1);
  assert.equal(feed(d, [ecsEvent(child(100, on('h3')), 7)]).length, 1);
});

test('invalid options are refused', () => {
  assert.throws(() => new RemoteServicesDetector(ctx(), { clockSkewToleranceMs: -1 }), RangeError);
  assert.throws(() => new RemoteServicesDetector(ctx(), { clockSkewToleranceMs: Number.NaN }), RangeError);
  assert.throws(() => new RemoteServicesDetector(ctx({ maxKeys: 0 })), RangeError);
});

test('the tolerance comes from the context settings unless the option overrides it', () => {
  const configured: DetectionContext = { ...ctx(), settings: { mapperRetentionMs: 1, clockSkewToleranceMs: 20 } };
  const docs = [ecsEvent(child(0), 1), ecsEvent(conn(15), 2)];
  assert.equal(feed(new RemoteServicesDetector(configured), docs).length, 1);
  assert.equal(feed(new RemoteServicesDetector(configured, { clockSkewToleranceMs: 0 }), docs).length, 0);
});

test('through the registry and the engine: an alert document with rule, events and details', () => {
  assert.ok(DETECTION_KEYS.includes('remote_services'));
  const engine = new Engine(createDetections(['remote_services']));
  assert.equal(engine.process(ecsEvent(conn(19), 11)).length, 0);
  assert.equal(engine.process(ecsEvent(merge(child(300), { event: { category: ['file'] } }), 12)).length, 0);
  const alerts = engine.process(ecsEvent(child(597), 13));
  assert.equal(alerts.length, 1);
  const doc = alerts[0]!.doc as any;
  assert.equal(doc.rule.id, 'aa9a274d-6b53-424d-ac5e-cb8ca4251650');
  assert.equal(doc.event.risk_score, 47);
  assert.equal(doc['@timestamp'], new Date(T0 + 597).toISOString(), 'fires at the child');
  assert.deepEqual(
    doc.picket.events.map((e: any) => e.line),
    [11, 13],
  );
  assert.deepEqual(doc.picket.remote_services, { connection_to_child_ms: 578, services_entity_id: SERVICES_GUID });
  assert.equal(doc.process.name, 'cmd.exe');
  assert.equal(doc.source.ip, '172.18.39.5');
  assert.deepEqual(doc.threat.tactic.id, ['TA0008', 'TA0002']);
});

test('rule metadata is the one detections.md gives', () => {
  const r = REMOTE_SERVICES_RULE;
  assert.equal(r.id, 'aa9a274d-6b53-424d-ac5e-cb8ca4251650');
  assert.equal(r.name, 'Remotely Started Services via RPC');
  assert.equal(r.severity, 'medium');
  assert.equal(r.riskScore, 47);
  assert.equal(r.version, '218');
  assert.deepEqual(r.author, ['Elastic', 'picket']);
  assert.equal(r.license, 'Elastic License v2');
  assert.equal(
    r.references[0],
    'https://github.com/elastic/detection-rules/blob/main/rules/windows/lateral_movement_remote_services.toml',
  );
  assert.deepEqual(
    r.threat.map((t) => [
      t.tactic.id,
      t.tactic.name,
      t.techniques.map((x) => [x.id, x.name, (x.subtechniques ?? []).map((s) => [s.id, s.name])]),
    ]),
    [
      ['TA0008', 'Lateral Movement', [['T1021', 'Remote Services', []]]],
      ['TA0002', 'Execution', [['T1569', 'System Services', [['T1569.002', 'Service Execution']]]]],
    ],
  );
});

/** A small seeded PRNG (mulberry32): rand(n) is an integer in [0, n). */
function mulberry32(seed: number): (n: number) => number {
  let a = seed >>> 0;
  return (n) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
}
