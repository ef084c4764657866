import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/datasets.js';
import { between, RDP_DAY, RDP_T0, rdpTraffic } from '../support/rdpTraffic.js';

const BIN = join(REPO_ROOT, 'bin', 'picket');
const dir = mkdtempSync(join(tmpdir(), 'picket-cli-test-'));

function picket(args: string[], input?: string, env: Record<string, string> = {}) {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const ATTACK = JSON.stringify({
  '@timestamp': '2024-01-01T00:00:00Z',
  event: { category: ['network'] },
  network: { transport: 'tcp' },
  source: { ip: '192.168.1.9' },
  destination: { ip: '45.33.32.156', port: 135 },
});

test('--help and version exit 0', () => {
  const h = picket(['--help']);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /picket replay/);
  assert.match(picket(['version']).stdout, /^picket \d+\.\d+\.\d+/);
});

test('bad usage exits 2 with a clear message', () => {
  const unknown = picket(['frobnicate']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "frobnicate"/);
  const missing = picket(['replay', join(dir, 'nope.ndjson')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.ndjson: no such file/);
  const flag = picket(['replay', '--bogus', 'x']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--bogus/);
  const format = picket(['replay', '--input', 'xml', 'x']);
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--input xml/);
  assert.equal(picket(['replay']).code, 2);
});

test('replay reads stdin with "-", alerts on stdout, summary on stderr', () => {
  const r = picket(['replay', '-'], `${ATTACK}\nnot json\n`);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1);
  const alert = JSON.parse(lines[0]!);
  assert.equal(alert.rule.id, '32923416-763a-4531-bb35-f33b9232ecdb');
  assert.equal(alert.picket.events[0].line, 1);
  assert.match(r.stderr, /events 1/);
  assert.match(r.stderr, /unreadable \(invalid_json\): 1 — line 2/);
});

test('each file is replayed on its own, with its own summary', () => {
  const a = join(dir, 'a.ndjson');
  const b = join(dir, 'b.ndjson');
  writeFileSync(a, ATTACK + '\n');
  writeFileSync(b, ATTACK + '\n' + ATTACK + '\n');
  const r = picket(['replay', a, b]);
  assert.equal(r.code, 0);
  const files = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l).picket.events[0].file);
  assert.deepEqual(files, [a, b, b]);
  assert.equal((r.stderr.match(/picket replay /g) ?? []).length, 2);
});

test('a bad configuration fails at start naming the key', () => {
  const r = picket(['run'], undefined, { KAFKA_BROKERS: 'localhost' });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /kafka\.brokers \(environment KAFKA_BROKERS\)/);
  const ref = picket(['config', '--reference']);
  assert.equal(ref.code, 0);
  assert.match(ref.stdout, /`topics\.input`/);
});

test('replay --input: raw Zeek JSON gives the same alert as its ECS form; unknown shapes are unreadable', () => {
  const zeekConn = JSON.stringify({
    ts: 1704067200.5,
    uid: 'C1',
    'id.orig_h': '192.168.1.9',
    'id.orig_p': 46100,
    'id.resp_h': '45.33.32.156',
    'id.resp_p': 135,
    proto: 'tcp',
    conn_state: 'REJ',
  });
  const auto = picket(['replay', '-'], zeekConn + '\n');
  assert.equal(auto.code, 0, auto.stderr);
  assert.equal(JSON.parse(auto.stdout).rule.id, '32923416-763a-4531-bb35-f33b9232ecdb');
  const asEcs = picket(['replay', '--input', 'ecs', '-'], zeekConn + '\n');
  assert.equal(asEcs.stdout, '', 'read as ECS it has no @timestamp');
  assert.match(asEcs.stderr, /unreadable \(missing_timestamp\)/);
  const nx = picket(['replay', '--input', 'nxlog', '-'], ATTACK + '\n');
  assert.match(nx.stderr, /unreadable \(unrecognized_shape\)/);
});

test('replay --rdp-state: a replay resumes the RDP models an earlier replay saved', () => {
  const events = rdpTraffic();
  const early = join(dir, 'rdp-days-0-7.ndjson');
  const late = join(dir, 'rdp-days-8-9.ndjson');
  const all = join(dir, 'rdp-days-0-9.ndjson');
  const lines = (list: { json: string }[]) => list.map((e) => e.json).join('\n') + '\n';
  const split = RDP_T0 + 8 * RDP_DAY;
  writeFileSync(early, lines(between(events, RDP_T0, split)));
  writeFileSync(late, lines(between(events, split, Number.MAX_SAFE_INTEGER)));
  writeFileSync(all, lines(events));
  const env = { PICKET_RDP_BUCKET_SPAN_MS: '3600000' };
  const ids = (stdout: string) =>
    stdout
      .trim()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { event: { id: string } }).event.id);

  const whole = picket(['replay', '-q', '--detections', 'rdp_spike', all], undefined, env);
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(ids(whole.stdout).length, 2, 'both fan-ins alert in one replay');

  const state = join(dir, 'rdp-state.json');
  const first = picket(['replay', '-q', '--detections', 'rdp_spike', '--rdp-state', state, early], undefined, env);
  assert.equal(first.code, 0, first.stderr);
  const second = picket(['replay', '-q', '--detections', 'rdp_spike', '--rdp-state', state, late], undefined, env);
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual([...ids(first.stdout), ...ids(second.stdout)], ids(whole.stdout), 'the same alerts, split in two');

  const cold = picket(['replay', '-q', '--detections', 'rdp_spike', late], undefined, env);
  assert.notDeepEqual(
    ids(cold.stdout),
    ids(second.stdout),
    'without the saved models the last days answer differently',
  );
});

test('replay --tuning: an exception removes its alert; --explain says which condition stopped it', () => {
  const lines = [
    JSON.stringify({ ...JSON.parse(ATTACK), event: { id: 'kept', category: ['network'] } }),
    JSON.stringify({
      ...JSON.parse(ATTACK),
      '@timestamp': '2024-01-01T00:00:01Z',
      event: { id: 'lab', category: ['network'] },
      source: { ip: '192.168.7.7' },
    }),
  ].join('\n');
  const tuning = join(dir, 'tuning.yaml');
  writeFileSync(
    tuning,
    'rules:\n  rpc_to_internet:\n    exceptions:\n      - name: lab-net\n        when: { field: source.ip, in_cidr: 192.168.7.0/24 }\n',
  );
  const plain = picket(['replay', '-q', '-'], lines);
  assert.equal(plain.stdout.trim().split('\n').length, 2, 'two alerts without tuning');
  const tuned = picket(['replay', '-q', '--tuning', tuning, '-'], lines);
  assert.equal(tuned.code, 0, tuned.stderr);
  const ids = tuned.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { picket: { events: { event: { id: string } }[] } }).picket.events[0]!.event.id);
  assert.deepEqual(ids, ['kept']);

  const explained = picket(['replay', '-q', '--tuning', tuning, '--explain', '--event', 'lab', '-'], lines);
  assert.equal(explained.code, 0, explained.stderr);
  assert.match(explained.stdout, /exception lab-net: MATCHES/);
  assert.match(explained.stdout, /\[x\] source\.ip in CIDR 192\.168\.7\.0\/24 \(value "192\.168\.7\.7"\)/);
  assert.match(explained.stdout, /stopped by exception lab-net/);
  assert.doesNotMatch(explained.stdout, /kept/, '--event limits the explanation to that event');

  writeFileSync(tuning, 'rules:\n  rpc_to_internet:\n    exceptions: [ { name: x } ]\n');
  const bad = picket(['replay', '--tuning', tuning, '-'], lines);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /tuning\.yaml: rules\.rpc_to_internet\.exceptions\[0\]/);
});
