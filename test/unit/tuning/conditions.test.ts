/** The condition language of tuning exceptions: each operator, combinators, stages, errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../src/ecs/fields.js';
import {
  compileCondition,
  TuningError,
  type CompileContext,
  type MatchInput,
  type StageResolver,
} from '../../../src/tuning/conditions.js';
import { ipRangeList, keywordList, type ValueList } from '../../../src/tuning/valueLists.js';

const LISTS = new Map<string, ValueList>([
  ['admins', keywordList('admins', ['Alice', 'bob'], true)],
  ['exact', keywordList('exact', ['Alice'])],
  ['vpn', ipRangeList('vpn', 'cidr', ['10.8.0.0/16', '2001:db8:aa::/48'])],
]);
const STAGES = new Map<string, StageResolver>([
  ['connection', (i) => i.events[0]],
  ['process', (i) => i.events[1]],
  ['alert', (i) => i.alert],
]);
const CTX: CompileContext = { lists: LISTS, stages: STAGES };

/** Whether `cond` holds on `doc` (tested as the current document, no stages). */
function holds(cond: unknown, doc: JsonObject): boolean {
  const input: MatchInput = { events: [doc], alert: undefined };
  return compileCondition(cond, 'when', CTX).holds(input, doc);
}

function errorOf(cond: unknown): TuningError {
  try {
    compileCondition(cond, 'rules.remote_services.exceptions[2].when', CTX);
  } catch (err) {
    assert.ok(err instanceof TuningError, `a TuningError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a TuningError');
}

test('is: strings exact, numbers numerically (numeric strings too), booleans', () => {
  assert.equal(holds({ field: 'user.name', is: 'alice' }, { user: { name: 'alice' } }), true);
  assert.equal(holds({ field: 'user.name', is: 'alice' }, { user: { name: 'Alice' } }), false, 'exact by default');
  assert.equal(holds({ field: 'user.name', is: 'alice', caseInsensitive: true }, { user: { name: 'ALICE' } }), true);
  assert.equal(holds({ field: 'destination.port', is: 135 }, { destination: { port: '135' } }), true);
  assert.equal(holds({ field: 'destination.port', is: 135 }, { destination: { port: 1350 } }), false);
  assert.equal(
    holds({ field: 'winlog.event_data.Initiated', is: true }, { 'winlog.event_data.Initiated': 'true' }),
    true,
  );
  assert.equal(
    holds({ field: 'winlog.event_data.Initiated', is: false }, { 'winlog.event_data.Initiated': true }),
    false,
  );
});

test('is: dotted and nested documents read alike; keyword arrays match when any element does', () => {
  const c = { field: 'event.category', is: 'network' };
  assert.equal(holds(c, { event: { category: ['process', 'network'] } }), true);
  assert.equal(holds(c, { 'event.category': ['network_traffic'] }), false);
  assert.equal(
    holds({ field: 'process.parent.name', is: 'services.exe' }, { process: { 'parent.name': 'services.exe' } }),
    true,
  );
});

test('is on an IP field compares addresses (IPv4-mapped, IPv6 case); elsewhere text', () => {
  assert.equal(holds({ field: 'source.ip', is: '10.1.2.3' }, { source: { ip: '::ffff:10.1.2.3' } }), true);
  assert.equal(holds({ field: 'source.ip', is: 'fe80::1' }, { source: { ip: 'FE80:0:0::1' } }), true);
  assert.equal(holds({ field: 'source.ip', is: 'fe80::1' }, { source: { ip: 'fe80::2' } }), false);
  assert.equal(holds({ field: 'related.ip', is: '10.0.0.1' }, { related: { ip: ['1.1.1.1', '10.0.0.1'] } }), true);
});

test('is_one_of: inline values (strings in a set, numbers), and keyword lists with their own case', () => {
  const c = { field: 'process.name', is_one_of: ['cmd.exe', 'powershell.exe', 4] };
  assert.equal(holds(c, { process: { name: 'cmd.exe' } }), true);
  assert.equal(holds(c, { process: { name: 'CMD.EXE' } }), false);
  assert.equal(holds({ ...c, caseInsensitive: true }, { process: { name: 'CMD.EXE' } }), true);
  assert.equal(holds(c, { process: { name: '4' } }), true);
  assert.equal(holds(c, { process: { name: 'svchost.exe' } }), false);
  const list = { field: 'user.name', is_one_of: { list: 'admins' } };
  assert.equal(holds(list, { user: { name: 'BOB' } }), true, 'admins is a case-insensitive list');
  assert.equal(holds(list, { user: { name: ['carol', 'alice'] } }), true);
  assert.equal(holds(list, { user: { name: 'carol' } }), false);
  assert.equal(holds({ field: 'user.name', is_one_of: { list: 'exact' } }, { user: { name: 'alice' } }), false);
});

test('matches: wildcards; case-insensitive by default on names and paths, case-sensitive elsewhere', () => {
  const exe = { field: 'process.executable', matches: 'C:\\Windows\\CCM\\*' };
  assert.equal(holds(exe, { process: { executable: 'c:\\windows\\ccm\\CcmExec.exe' } }), true);
  assert.equal(holds(exe, { process: { executable: 'C:\\Windows\\System32\\cmd.exe' } }), false);
  assert.equal(
    holds({ ...exe, caseInsensitive: false }, { process: { executable: 'c:\\windows\\ccm\\x.exe' } }),
    false,
  );
  const q = { field: 'process.name', matches: ['psexes?c.exe', 'x*'] };
  assert.equal(holds(q, { process: { name: 'PSEXESVC.exe' } }), true);
  assert.equal(holds(q, { process: { name: 'psexesvc.exe.bak' } }), false);
  // A field outside the case-insensitive set: case-sensitive unless asked.
  const tag = { field: 'labels.env', matches: 'Prod*' };
  assert.equal(holds(tag, { labels: { env: 'Production' } }), true);
  assert.equal(holds(tag, { labels: { env: 'production' } }), false);
  assert.equal(holds({ ...tag, caseInsensitive: true }, { labels: { env: 'production' } }), true);
  // Case-sensitive matching has the same wildcard semantics: `*` spans backslashes, `?` one character.
  const cs = { field: 'labels.path', matches: 'a*b?c*d', caseInsensitive: false };
  assert.equal(holds(cs, { labels: { path: 'a\\\\bXc\\d' } }), true);
  assert.equal(holds(cs, { labels: { path: 'aXbc' } }), false);
  assert.equal(holds(cs, { labels: { path: 'A-bXc-d' } }), false);
});

test('in_cidr: inline IPv4 and IPv6 ranges, lists, mapped addresses; unparsable is missing', () => {
  const c = { field: 'source.ip', in_cidr: ['192.168.0.0/16', 'fc00::/7'] };
  assert.equal(holds(c, { source: { ip: '192.168.4.5' } }), true);
  assert.equal(holds(c, { source: { ip: '::ffff:192.168.4.5' } }), true);
  assert.equal(holds(c, { source: { ip: 'FD12::1' } }), true);
  assert.equal(holds(c, { source: { ip: 'fe80::1' } }), false);
  assert.equal(holds(c, { source: { ip: '192.169.0.1' } }), false);
  assert.equal(holds(c, { source: { ip: 'not-an-ip' } }), false);
  const list = { field: 'destination.ip', in_cidr: { list: 'vpn' } };
  assert.equal(holds(list, { destination: { ip: '10.8.200.1' } }), true);
  assert.equal(holds(list, { destination: { ip: '2001:db8:aa:ffff::9' } }), true);
  assert.equal(holds(list, { destination: { ip: '2001:db8:ab::9' } }), false);
  assert.equal(holds(list, { destination: { ip: ['8.8.8.8', '10.8.0.1'] } }), true, 'any element');
});

test('exists: a null or missing field does not exist; a positive test never holds on it, not does', () => {
  const ex = { field: 'user.name', exists: true };
  assert.equal(holds(ex, { user: { name: 'x' } }), true);
  assert.equal(holds(ex, { user: { name: null } }), false);
  assert.equal(holds(ex, { user: {} }), false);
  assert.equal(holds({ field: 'user.name', exists: false }, { user: { name: null } }), true);
  assert.equal(holds({ field: 'user.name', is: 'x' }, {}), false);
  assert.equal(holds({ not: { field: 'user.name', is: 'x' } }, {}), true, 'negation holds on a missing field');
});

test('all, any, not combine; nested', () => {
  const c = {
    all: [
      { field: 'process.name', is: 'cmd.exe' },
      {
        any: [
          { field: 'user.name', is: 'svc' },
          { field: 'host.name', matches: 'build-*' },
        ],
      },
      { not: { field: 'process.args', is: '/c' } },
    ],
  };
  assert.equal(holds(c, { process: { name: 'cmd.exe', args: ['cmd.exe', '/k'] }, host: { name: 'BUILD-7' } }), true);
  assert.equal(holds(c, { process: { name: 'cmd.exe', args: ['/c'] }, host: { name: 'build-7' } }), false);
  assert.equal(holds(c, { process: { name: 'cmd.exe' }, host: { name: 'web-1' } }), false);
  assert.equal(holds(c, { process: { name: 'cmd.exe' }, user: { name: 'svc' } }), true);
});

test('stage binds a subtree to one event of the alert; a missing stage event fails positive tests', () => {
  const connection = { source: { ip: '10.8.1.1' }, process: { name: 'services.exe' } };
  const child = { process: { name: 'cmd.exe', executable: 'C:\\Windows\\cmd.exe' } };
  const input: MatchInput = { events: [connection, child], alert: { host: { id: 'h1' } } };
  const c = compileCondition(
    {
      all: [
        { stage: 'connection', field: 'source.ip', in_cidr: { list: 'vpn' } },
        { stage: 'process', field: 'process.name', is: 'cmd.exe' },
        { stage: 'alert', field: 'host.id', is: 'h1' },
      ],
    },
    'when',
    CTX,
  );
  assert.equal(c.holds(input, undefined), true);
  // The same leaves bound to the other stage do not hold: the connection is not cmd.exe.
  const swapped = compileCondition({ stage: 'connection', field: 'process.name', is: 'cmd.exe' }, 'when', CTX);
  assert.equal(swapped.holds(input, child), false, 'the stage wins over the current document');
  const oneEvent: MatchInput = { events: [connection], alert: undefined };
  const needsProcess = compileCondition({ stage: 'process', field: 'process.name', exists: true }, 'w', CTX);
  assert.equal(needsProcess.holds(oneEvent, connection), false);
  const trace = needsProcess.trace(oneEvent, connection);
  assert.equal(trace.why, 'no such event in this alert');
  assert.match(trace.text, /^\[process\] /);
});

test('traces say which leaves held and what values they saw', () => {
  const c = compileCondition(
    {
      any: [
        { field: 'process.name', is: 'a.exe' },
        { field: 'user.name', exists: true },
      ],
    },
    'rules.x.exceptions[0].when',
    CTX,
  );
  const t = c.trace({ events: [], alert: undefined }, { process: { name: 'b.exe' } });
  assert.equal(t.holds, false);
  assert.deepEqual(
    t.children.map((x) => [x.path, x.holds, x.why]),
    [
      ['rules.x.exceptions[0].when.any[0]', false, 'value "b.exe"'],
      ['rules.x.exceptions[0].when.any[1]', false, 'field missing'],
    ],
  );
});

test('errors name the exact place in the file and the reason', () => {
  const cases: [unknown, string, RegExp][] = [
    [{ any: [{ field: '', is: 'x' }] }, 'rules.remote_services.exceptions[2].when.any[0].field', /ECS field path/],
    [{ any: [{ field: 'a.b', equals: 'x' }] }, 'rules.remote_services.exceptions[2].when.any[0]', /needs one operator/],
    [
      { field: 'a', is: 'x', matches: 'y' },
      'rules.remote_services.exceptions[2].when',
      /exactly one operator, got is and matches/,
    ],
    [
      { all: [{ field: 'a', is: 'x' }, { not: { field: 'a', is: {} } }] },
      'rules.remote_services.exceptions[2].when.all[1].not.is',
      /string, number or boolean/,
    ],
    [
      { field: 'source.ip', in_cidr: ['10.0.0.0/8', '10.0.0.0/33'] },
      'rules.remote_services.exceptions[2].when.in_cidr',
      /invalid prefix length/,
    ],
    [
      { field: 'source.ip', in_cidr: { list: 'nope' } },
      'rules.remote_services.exceptions[2].when.in_cidr.list',
      /no value list "nope"/,
    ],
    [
      { field: 'user.name', is_one_of: { list: 'vpn' } },
      'rules.remote_services.exceptions[2].when.is_one_of.list',
      /use in_cidr/,
    ],
    [
      { field: 'source.ip', in_cidr: { list: 'admins' } },
      'rules.remote_services.exceptions[2].when.in_cidr.list',
      /use is_one_of/,
    ],
    [
      { field: 'user.name', is_one_of: { list: 'admins' }, caseInsensitive: false },
      'rules.remote_services.exceptions[2].when.caseInsensitive',
      /on the list "admins"/,
    ],
    [{ any: [] }, 'rules.remote_services.exceptions[2].when.any', /non-empty list/],
    [
      { all: [{ field: 'a', is: 1 }], any: [{ field: 'a', is: 1 }] },
      'rules.remote_services.exceptions[2].when',
      /got all and any/,
    ],
    [
      { stage: 'mapper', field: 'a', exists: true },
      'rules.remote_services.exceptions[2].when.stage',
      /unknown stage "mapper" \(this rule has: connection, process, alert\)/,
    ],
    [{ field: 'a', exists: 'yes' }, 'rules.remote_services.exceptions[2].when.exists', /true or false/],
    [{ field: 'a', is: 'x', cas: true }, 'rules.remote_services.exceptions[2].when.cas', /unknown key/],
    ['process.name: x', 'rules.remote_services.exceptions[2].when', /expected a condition/],
  ];
  for (const [cond, path, reason] of cases) {
    const err = errorOf(cond);
    assert.equal(err.path, path, `path for ${JSON.stringify(cond)}`);
    assert.match(err.reason, reason, `reason for ${JSON.stringify(cond)}`);
    assert.ok(err.message.startsWith(`${path}: `));
  }
});
