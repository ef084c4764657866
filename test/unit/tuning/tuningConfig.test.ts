/** The tuning file: format, list files relative to it, validation errors, version, defaults. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DETECTION_KEYS } from '../../../src/detectors/registry.js';
import { TuningError } from '../../../src/tuning/conditions.js';
import { EMPTY_TUNING, loadTuningFile, parseTuning } from '../../../src/tuning/tuningConfig.js';
import { REPO_ROOT } from '../../support/datasets.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'picket-tuning-'));
}

const EXAMPLE = `
version: 1
lists:
  admin_hosts: { type: keyword, file: lists/admin-hosts.txt, caseInsensitive: true }
  vpn_ranges: { type: cidr, file: lists/vpn.txt }
rules:
  remote_services:
    severity: high
    riskScore: 80
    exceptions:
      - name: sccm
        stage: process
        when: { field: process.executable, matches: 'C:\\Windows\\CCM\\*' }
      - name: admin-hosts-from-vpn
        when:
          all:
            - { field: host.name, is_one_of: { list: admin_hosts } }
            - { stage: connection, field: source.ip, in_cidr: { list: vpn_ranges } }
    suppression: { by: [host.id], windowMs: 300000 }
    maxAlertsPerMinute: 100
  rdp_spike:
    enabled: false
`;

test('the documented example loads: lists relative to the file, rules, defaults for the rest', () => {
  const dir = tempDir();
  try {
    mkdirSync(join(dir, 'lists'));
    writeFileSync(join(dir, 'lists', 'admin-hosts.txt'), '# admins\nWS-ADMIN-1\nws-admin-2\n');
    writeFileSync(join(dir, 'lists', 'vpn.txt'), '10.8.0.0/16\n2001:db8:aa::/48\n');
    writeFileSync(join(dir, 'tuning.yaml'), EXAMPLE);
    const t = loadTuningFile(join(dir, 'tuning.yaml'));
    assert.match(t.version, /^[0-9a-f]{12}$/);
    assert.deepEqual(t.enabledRules, ['rpc_to_internet', 'rpc_pairing', 'remote_services']);
    assert.deepEqual([...t.rules.keys()], [...DETECTION_KEYS]);
    const rs = t.rules.get('remote_services')!;
    assert.deepEqual([rs.severity, rs.riskScore, rs.maxAlertsPerMinute], ['high', 80, 100]);
    assert.deepEqual(rs.suppression, { by: ['host.id'], windowMs: 300000, missingFields: 'suppress' });
    assert.deepEqual(
      rs.exceptions.map((e) => [e.name, e.stage, e.path]),
      [
        ['sccm', 'process', 'rules.remote_services.exceptions[0]'],
        ['admin-hosts-from-vpn', undefined, 'rules.remote_services.exceptions[1]'],
      ],
    );
    assert.deepEqual(rs.stages, ['connection', 'process', 'alert']);
    assert.equal(t.files.length, 3, 'the tuning file and both lists');
    const sccm = rs.exceptions[0]!;
    const conn = { source: { ip: '10.8.3.3' }, process: { name: 'services.exe' } };
    const child = (exe: string) => ({ host: { name: 'ws-admin-1' }, process: { executable: exe } });
    assert.equal(sccm.matches({ events: [conn, child('c:\\windows\\ccm\\ccmexec.exe')], alert: undefined }), true);
    assert.equal(sccm.matches({ events: [conn, child('c:\\windows\\cmd.exe')], alert: undefined }), false);
    const admins = rs.exceptions[1]!;
    assert.equal(admins.matches({ events: [conn, child('x')], alert: undefined }), true);
    assert.equal(admins.matches({ events: [{ source: { ip: '10.9.0.1' } }, child('x')], alert: undefined }), false);
    // Untouched rules: defaults.
    const d1 = t.rules.get('rpc_to_internet')!;
    assert.deepEqual([d1.enabled, d1.exceptions.length, d1.suppression, d1.severity], [true, 0, undefined, undefined]);
    assert.ok(Object.isFrozen(t) && Object.isFrozen(rs));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the version follows the file and its lists; it is stable for the same content', () => {
  const lists = new Map([['/base/l.txt', 'a\n']]);
  const text = 'lists:\n  l: { type: keyword, file: l.txt }\n';
  const parse = () => parseTuning(text, { baseDir: '/base', readText: (p) => lists.get(p)! });
  const v1 = parse().version;
  assert.equal(parse().version, v1);
  lists.set('/base/l.txt', 'a\nb\n');
  assert.notEqual(parse().version, v1, 'a list edit is a new version');
  assert.notEqual(parseTuning(`${text}# comment\n`, { baseDir: '/base', readText: () => 'a\n' }).version, v1);
  assert.equal(parseTuning('', { baseDir: '.' }).enabledRules.length, DETECTION_KEYS.length);
  assert.equal(EMPTY_TUNING.version, 'none');
});

test('inline lists work like list files', () => {
  const t = parseTuning(
    `lists:\n  nets: { type: cidr, values: ['10.0.0.0/8', 'fd00::/8'] }\nrules:\n  rpc_to_internet:\n    exceptions:\n      - name: n\n        when: { field: destination.ip, in_cidr: { list: nets } }\n`,
    { baseDir: '.' },
  );
  const ex = t.rules.get('rpc_to_internet')!.exceptions[0]!;
  assert.equal(ex.matches({ events: [{ destination: { ip: 'fd00::5' } }], alert: undefined }), true);
  assert.equal(ex.matches({ events: [{ destination: { ip: '8.8.8.8' } }], alert: undefined }), false);
});

test('errors name the file, the place and the reason', () => {
  const err = (text: string, readText: (p: string) => string = () => ''): TuningError => {
    try {
      parseTuning(text, { baseDir: '/t', file: 'tuning.yaml', readText });
    } catch (e) {
      assert.ok(e instanceof TuningError, String(e));
      return e;
    }
    assert.fail('expected an error');
  };
  const cases: [string, string, RegExp][] = [
    [
      'rules: { remote_service: {} }',
      'rules.remote_service',
      /unknown rule \(detections: rpc_to_internet, rpc_pairing, rdp_spike, remote_services\)/,
    ],
    ['rules: { rdp_spike: { risk_score: 80 } }', 'rules.rdp_spike.risk_score', /did you mean riskScore/],
    ['rules: { rdp_spike: { riskScore: 101 } }', 'rules.rdp_spike.riskScore', /0 to 100/],
    ['rules: { rdp_spike: { severity: urgent } }', 'rules.rdp_spike.severity', /low, medium, high, critical/],
    ['rules: { rdp_spike: { enabled: "no" } }', 'rules.rdp_spike.enabled', /true or false/],
    ['rules: { rdp_spike: { maxAlertsPerMinute: 0 } }', 'rules.rdp_spike.maxAlertsPerMinute', /1 to 1000000/],
    [
      'rules: { rdp_spike: { suppression: { by: [], windowMs: 60000 } } }',
      'rules.rdp_spike.suppression.by',
      /1 to 8 field paths/,
    ],
    [
      'rules: { rdp_spike: { suppression: { by: [source.ip], windowMs: 5 } } }',
      'rules.rdp_spike.suppression.windowMs',
      /1000 to/,
    ],
    [
      'rules: { rdp_spike: { suppression: { by: [a..b], windowMs: 5000 } } }',
      'rules.rdp_spike.suppression.by[0]',
      /field path/,
    ],
    [
      'rules:\n  remote_services:\n    exceptions:\n      - { name: a, when: { field: x, exists: true } }\n      - { name: a, when: { field: x, exists: true } }',
      'rules.remote_services.exceptions[1].name',
      /used twice/,
    ],
    [
      'rules:\n  remote_services:\n    exceptions:\n      - { name: a, stage: endpoint, when: { field: x, exists: true } }',
      'rules.remote_services.exceptions[0].stage',
      /unknown stage "endpoint" \(remote_services has: connection, process, alert\)/,
    ],
    [
      'rules:\n  remote_services:\n    exceptions:\n      - name: a\n        when: { any: [ { field: x, exists: true }, { field: "", is: 1 } ] }',
      'rules.remote_services.exceptions[0].when.any[1].field',
      /ECS field path/,
    ],
    [
      'rules:\n  remote_services:\n    exceptions:\n      - { name: "a b", when: { field: x, exists: true } }',
      'rules.remote_services.exceptions[0].name',
      /letters/,
    ],
    [
      'rules:\n  remote_services:\n    exceptions:\n      - { name: a }',
      'rules.remote_services.exceptions[0].when',
      /missing/,
    ],
    ['lists: { l: { type: ipv4, file: x } }', 'lists.l.type', /keyword, ip, cidr/],
    ['lists: { l: { type: cidr, file: l.txt } }', 'lists.l.file (l.txt) line 2', /"300.0.0.0\/8" is not an IP address/],
    ['lists: { l: { type: cidr, values: ["10.0.0.0/8", "x"] } }', 'lists.l.values[1]', /not an IP address/],
    ['lists: { l: { type: cidr } }', 'lists.l', /either file .* or values/],
    [
      'lists: { l: { type: cidr, caseInsensitive: true, values: [] } }',
      'lists.l.caseInsensitive',
      /only keyword lists/,
    ],
    ['version: 2', 'version', /format 1/],
    ['rulez: {}', 'rulez', /unknown key/],
    ['rules: [a]', 'rules', /map of detection key/],
    ['rules: { a: [1', '', /not valid YAML/],
  ];
  for (const [text, path, reason] of cases) {
    const readText = (p: string) => (p === '/t/l.txt' ? '10.0.0.0/8\n300.0.0.0/8\n' : '');
    const e = err(text, readText);
    assert.equal(e.path, path, text);
    assert.match(e.reason, reason, text);
    assert.equal(e.file, 'tuning.yaml');
    assert.ok(e.message.startsWith(`tuning.yaml: ${path.length > 0 ? `${path}: ` : ''}`), e.message);
  }
  const missing = err('lists: { l: { type: keyword, file: gone.txt } }', (p) => {
    throw new Error(`ENOENT: no such file, open '${p}'`);
  });
  assert.equal(missing.path, 'lists.l.file');
  assert.match(missing.reason, /cannot read \/t\/gone.txt/);
});

test('examples/tuning.yaml loads and says what it means', () => {
  const t = loadTuningFile(join(REPO_ROOT, 'examples', 'tuning.yaml'));
  assert.deepEqual(t.enabledRules, [...DETECTION_KEYS]);
  const [sccm, admins] = t.rules.get('remote_services')!.exceptions;
  const conn = (ip: string) => ({ source: { ip }, process: { name: 'services.exe' } });
  const child = (host: string, exe: string) => ({
    host: { name: host },
    process: { executable: exe, name: exe.split('\\').pop() },
  });
  const input = (ip: string, host: string, exe: string) => ({ events: [conn(ip), child(host, exe)], alert: undefined });
  assert.equal(sccm!.matches(input('10.1.1.1', 'x', 'C:\\WINDOWS\\ccm\\CcmExec.exe')), true);
  assert.equal(admins!.matches(input('10.8.1.1', 'WS-ADMIN-01', 'C:\\Tools\\agent.exe')), true);
  assert.equal(
    admins!.matches(input('10.8.1.1', 'WS-ADMIN-01', 'C:\\Windows\\System32\\cmd.exe')),
    false,
    'not cmd.exe',
  );
  assert.equal(admins!.matches(input('10.9.1.1', 'WS-ADMIN-01', 'C:\\Tools\\agent.exe')), false, 'not from the VPN');
  assert.equal(admins!.matches(input('10.8.1.1', 'ws-dev-07', 'C:\\Tools\\agent.exe')), false, 'not an admin host');
});
