/**
 * NXLog's flat Windows JSON → ECS, field by field, on lines of the OTRF host recordings (zips in the
 * shared datasets): the 2020 psexec recording (forwarded through `wec.internal.cloudapp.net`, with
 * a Logstash `@timestamp`) and the 2023 LSASS campaign (`TimeCreated`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../../src/ecs/fields.js';
import { detectShape, normalize } from '../../../../src/ecs/normalize/index.js';
import { normalizeNxlog } from '../../../../src/ecs/normalize/nxlog.js';
import { DATASETS_SKIP } from '../../../support/datasets.js';
import { deepFreeze, frozenJson } from '../../../support/frozen.js';
import { rawLineText } from '../../../support/rawDatasets.js';

const HOST = 'otrf-security-datasets/datasets/atomic/windows/lateral_movement/host';
const PSEXEC_2020 = `${HOST}/empire_psexec_dcerpc_tcp_svcctl.zip`;
const LSASS_2023 =
  'otrf-security-datasets/datasets/compound/LSASS_campaign_01/metasploit_logonpasswords_lsass_memory_dump.zip';
const WINDOWS = { type: 'windows', family: 'windows' };

function mapped(doc: JsonObject): JsonObject {
  assert.equal(detectShape(doc), 'nxlog');
  const r = normalizeNxlog(doc);
  if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
  const auto = normalize(doc, 'auto');
  assert.ok(auto.ok);
  assert.deepEqual(auto.doc, r.doc);
  return r.doc;
}

test(
  'services.exe accepting 172.18.39.5:56608 → :49726 (Sysmon 3, 2020 orientation)',
  { skip: DATASETS_SKIP },
  async () => {
    const raw = frozenJson(await rawLineText(PSEXEC_2020, 1366));
    assert.equal(raw.host, 'wec.internal.cloudapp.net', 'forwarded by the event collector');
    assert.deepEqual(mapped(raw), {
      '@timestamp': '2020-09-20T16:16:56.019Z',
      event: {
        kind: 'event',
        code: '3',
        module: 'sysmon',
        provider: 'Microsoft-Windows-Sysmon',
        category: ['network'],
        type: ['connection', 'start', 'protocol'],
      },
      host: { id: 'workstation6.theshire.local', name: 'workstation6.theshire.local', os: WINDOWS },
      winlog: {
        channel: 'Microsoft-Windows-Sysmon/Operational',
        computer_name: 'WORKSTATION6.theshire.local',
        event_id: 3,
        provider_name: 'Microsoft-Windows-Sysmon',
        record_id: 2974698,
      },
      user: { domain: 'NT AUTHORITY', name: 'SYSTEM' },
      // No process.pid: NXLog drops Sysmon's ProcessId (quirk 6).
      process: {
        entity_id: '{d273d0f0-e865-5f64-0b00-000000000800}',
        executable: 'C:\\Windows\\System32\\services.exe',
        name: 'services.exe',
      },
      // Initiated=false; this Sysmon logged the remote initiator as the source (quirk 1).
      network: { transport: 'tcp', direction: 'ingress', type: 'ipv4' },
      source: { ip: '172.18.39.5', port: 56608 },
      destination: { ip: '172.18.39.6', port: 49726 },
    });
  },
);

test("the cmd.exe that services.exe starts 578 ms later: D3's stage 2", { skip: DATASETS_SKIP }, async () => {
  const doc = mapped(frozenJson(await rawLineText(PSEXEC_2020, 1057)));
  assert.equal(doc['@timestamp'], '2020-09-20T16:16:56.597Z', 'UtcTime, not the Logstash time 16:16:57.114');
  assert.deepEqual((doc.event as JsonObject).category, ['process']);
  assert.deepEqual((doc.event as JsonObject).type, ['start']);
  assert.equal((doc.host as JsonObject).id, 'workstation6.theshire.local');
  const process = doc.process as JsonObject;
  assert.equal(process.entity_id, '{d273d0f0-8078-5f67-cb06-000000000800}');
  assert.equal(process.pid, undefined);
  assert.equal(process.executable, 'C:\\Windows\\System32\\cmd.exe');
  assert.deepEqual(process.pe, { original_file_name: 'Cmd.Exe' });
  assert.deepEqual((process.args as string[]).slice(0, 4), ['C:\\windows\\system32\\cmd.exe', '/C', 'start', '/b']);
  assert.deepEqual(process.parent, {
    entity_id: '{d273d0f0-e865-5f64-0b00-000000000800}',
    pid: 704,
    executable: 'C:\\Windows\\System32\\services.exe',
    name: 'services.exe',
    command_line: 'C:\\windows\\system32\\services.exe',
    args: ['C:\\windows\\system32\\services.exe'],
  });
});

test(
  'Security 4624 and 4688 keep the record time (NXLog has no UtcTime for them)',
  { skip: DATASETS_SKIP },
  async () => {
    const logon = mapped(frozenJson(await rawLineText(PSEXEC_2020, 289)));
    assert.equal(logon['@timestamp'], '2020-09-20T16:16:29.568Z');
    assert.deepEqual(logon.source, { ip: '::1', port: 52986 });
    assert.deepEqual((logon.winlog as JsonObject).logon, { type: 'Network' });
    assert.equal((logon.host as JsonObject).id, 'mordordc.theshire.local');
    const start = mapped(frozenJson(await rawLineText(PSEXEC_2020, 362)));
    assert.deepEqual(start.process, {
      pid: 4076,
      executable: 'C:\\Program Files\\Common Files\\microsoft shared\\ClickToRun\\OfficeC2RClient.exe',
      name: 'OfficeC2RClient.exe',
      command_line:
        '"C:\\Program Files\\Common Files\\Microsoft Shared\\ClickToRun\\OfficeC2RClient.exe" /frequentupdate SCHEDULEDTASK displaylevel=False',
      args: [
        'C:\\Program Files\\Common Files\\Microsoft Shared\\ClickToRun\\OfficeC2RClient.exe',
        '/frequentupdate',
        'SCHEDULEDTASK',
        'displaylevel=False',
      ],
      parent: { pid: 1184, executable: 'C:\\Windows\\System32\\svchost.exe', name: 'svchost.exe' },
    });
    assert.equal((start.winlog as JsonObject).channel, 'security', 'the channel as NXLog wrote it');
    assert.equal((start.event as JsonObject).module, 'security');
  },
);

test('Sysmon 10 names the source process; Sysmon 22 the query', { skip: DATASETS_SKIP }, async () => {
  const access = mapped(frozenJson(await rawLineText(PSEXEC_2020, 1)));
  assert.deepEqual(access.process, {
    entity_id: '{b34bc01c-7fae-5f63-1000-000000000400}',
    pid: 880,
    executable: 'C:\\windows\\system32\\svchost.exe',
    name: 'svchost.exe',
  });
  assert.equal(access.user, undefined);
  const dns = mapped(frozenJson(await rawLineText(PSEXEC_2020, 1365)));
  assert.deepEqual(dns.dns, { question: { name: 'WORKSTATION6.theshire.local' } });
  assert.deepEqual((dns.event as JsonObject).type, ['connection', 'protocol', 'info']);
});

test(
  '2023 LSASS campaign: TimeCreated, logon type 11, a UDP Sysmon 3 with its pid',
  { skip: DATASETS_SKIP },
  async () => {
    const logon = mapped(frozenJson(await rawLineText(LSASS_2023, 760)));
    assert.equal(logon['@timestamp'], '2023-08-15T09:54:30.820Z');
    assert.deepEqual((logon.winlog as JsonObject).logon, { type: 'CachedInteractive' });
    assert.deepEqual(logon.source, { ip: '::1' });
    assert.equal((logon.winlog as JsonObject).record_id, undefined, 'no RecordNumber in these records');
    const net = mapped(frozenJson(await rawLineText(LSASS_2023, 2626)));
    assert.equal(net['@timestamp'], '2023-08-10T14:39:12.046Z');
    assert.equal((net.process as JsonObject).pid, 1048);
    assert.deepEqual(net.network, { transport: 'udp', direction: 'egress', type: 'ipv4' });
    assert.equal((net.host as JsonObject).id, 'mkt01.pandalab.com');
  },
);

test('record time: @timestamp, else TimeCreated, else EventTime only with a zone', () => {
  const base = { EventID: 4624, SourceName: 'Microsoft-Windows-Security-Auditing', Hostname: 'PC1.example.com' };
  const t = (extra: JsonObject): unknown => {
    const r = normalizeNxlog(deepFreeze({ ...base, ...extra }));
    return r.ok ? r.doc['@timestamp'] : r.reason;
  };
  assert.equal(
    t({ '@timestamp': '2020-09-20T16:16:29.568Z', TimeCreated: '2020-09-20T16:16:27Z' }),
    '2020-09-20T16:16:29.568Z',
  );
  assert.equal(t({ TimeCreated: '2023-08-15T09:54:30.820Z' }), '2023-08-15T09:54:30.820Z');
  assert.equal(t({ EventTime: '2020-09-20 12:16:27' }), 'invalid_event_time', 'local time without a zone');
  assert.equal(t({ EventTime: '2020-09-20T12:16:27-04:00' }), '2020-09-20T16:16:27.000Z');
  const sysmon = normalizeNxlog(
    deepFreeze({
      EventID: 1,
      SourceName: 'Microsoft-Windows-Sysmon',
      Hostname: 'PC1',
      UtcTime: '2020-09-20 16:16:56.597',
    }),
  );
  assert.ok(sysmon.ok && sysmon.doc['@timestamp'] === '2020-09-20T16:16:56.597Z', 'Sysmon needs no record time');
});

test('no numeric EventID: not NXLog', () => {
  const r = normalizeNxlog({ EventID: 'x', Hostname: 'PC1' });
  assert.equal(!r.ok && r.reason, 'unrecognized_shape');
});
