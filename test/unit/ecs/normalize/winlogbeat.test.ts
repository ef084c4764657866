/**
 * Raw Winlogbeat → ECS, field by field, on real Kafka message bodies (the OTRF 2019 tarballs:
 * Winlogbeat 6.7 with `event_id`/`computer_name`/`event_data` at the top level, and 7.4 with
 * `winlog.*`, the layout Winlogbeat 8 still sends before its ingest pipelines run). The events were
 * forwarded through a Windows Event Collector (`host.name: WECserver`): host.* must be the
 * originating computer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../../src/ecs/fields.js';
import { detectShape, normalize } from '../../../../src/ecs/normalize/index.js';
import { normalizeWinlogbeat } from '../../../../src/ecs/normalize/winlogbeat.js';
import { DATASETS_SKIP } from '../../../support/datasets.js';
import { deepFreeze, frozenJson } from '../../../support/frozen.js';
import { rawLineText } from '../../../support/rawDatasets.js';

const SMALL = 'otrf-security-datasets/small_datasets/windows';
const PSEXEC_2019 = `${SMALL}/execution/service_execution_T1035/empire_invoke_psexec.tar.gz`;
const RDP_2019 = `${SMALL}/credential_access/credential_dumping_T1003/remoteinteractive_taskmngr_lsass_dump.tar.gz`;

const WINDOWS = { type: 'windows', family: 'windows' };

function mapped(doc: JsonObject): JsonObject {
  assert.equal(detectShape(doc), 'winlogbeat');
  const r = normalizeWinlogbeat(doc);
  if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
  const auto = normalize(doc, 'auto');
  assert.ok(auto.ok);
  assert.deepEqual(auto.doc, r.doc, 'auto picks the winlogbeat normalizer');
  return r.doc;
}

test(
  'Winlogbeat 6: services.exe accepting a connection (Sysmon 3, 2019 orientation)',
  { skip: DATASETS_SKIP },
  async () => {
    const raw = frozenJson(await rawLineText(PSEXEC_2019, 1349));
    assert.deepEqual((raw.host as JsonObject).name, 'WECserver', 'forwarded by the event collector');
    assert.deepEqual(mapped(raw), {
      '@timestamp': '2019-05-18T21:07:23.062Z', // UtcTime, not the record's 21:07:24.031
      event: {
        kind: 'event',
        code: '3',
        module: 'sysmon',
        provider: 'Microsoft-Windows-Sysmon',
        category: ['network'],
        type: ['connection', 'start', 'protocol'],
      },
      host: { id: 'it001.shire.com', name: 'it001.shire.com', os: WINDOWS },
      winlog: {
        channel: 'Microsoft-Windows-Sysmon/Operational',
        computer_name: 'IT001.shire.com',
        event_id: 3,
        provider_name: 'Microsoft-Windows-Sysmon',
        record_id: 2942781,
      },
      user: { domain: 'NT AUTHORITY', name: 'SYSTEM' },
      process: {
        entity_id: '{aa6b4a20-e823-5cda-0000-0010a1880000}',
        pid: 596,
        executable: 'C:\\Windows\\System32\\services.exe',
        name: 'services.exe',
      },
      // Initiated=false: ingress. This Sysmon logged the local listener as the source (quirk 1);
      // the orientation is kept as logged.
      network: { transport: 'tcp', direction: 'ingress', type: 'ipv4' },
      source: { ip: '172.18.39.105', port: 49689 },
      destination: { ip: '172.18.39.106', port: 54610 },
    });
  },
);

test(
  'Winlogbeat 6: the services.exe child (Sysmon 1) with args split as CommandLineToArgvW',
  { skip: DATASETS_SKIP },
  async () => {
    const doc = mapped(frozenJson(await rawLineText(PSEXEC_2019, 837)));
    assert.equal(doc['@timestamp'], '2019-05-18T21:07:23.047Z');
    assert.deepEqual(doc.event, {
      kind: 'event',
      code: '1',
      module: 'sysmon',
      provider: 'Microsoft-Windows-Sysmon',
      category: ['process'],
      type: ['start'],
    });
    assert.deepEqual((doc.host as JsonObject).id, 'it001.shire.com');
    const process = doc.process as JsonObject;
    assert.equal(process.entity_id, '{aa6b4a20-740b-5ce0-0000-00102ebb4901}');
    assert.equal(process.pid, 2916);
    assert.equal(process.executable, 'C:\\Windows\\System32\\cmd.exe');
    assert.equal(process.name, 'cmd.exe');
    assert.equal(process.working_directory, 'C:\\Windows\\system32\\');
    assert.deepEqual((process.args as string[]).slice(0, 10), [
      'C:\\Windows\\system32\\cmd.exe',
      '/C',
      'start',
      '/b',
      'C:\\Windows\\System32\\WindowsPowershell\\v1.0\\powershell',
      '-noP',
      '-sta',
      '-w',
      '1',
      '-enc',
    ]);
    assert.equal((process.args as string[]).length, 11);
    assert.deepEqual(process.parent, {
      entity_id: '{aa6b4a20-e823-5cda-0000-0010a1880000}',
      pid: 596,
      executable: 'C:\\Windows\\System32\\services.exe',
      name: 'services.exe',
      command_line: 'C:\\Windows\\system32\\services.exe',
      args: ['C:\\Windows\\system32\\services.exe'],
    });
    // D3's join: the child's parent is the process that accepted the connection above.
    assert.deepEqual(doc.user, { domain: 'NT AUTHORITY', name: 'SYSTEM' });
  },
);

test(
  'Winlogbeat 6: Sysmon 3 keeps UtcTime even when the host clock is stale (quirk 4)',
  { skip: DATASETS_SKIP },
  async () => {
    const raw = frozenJson(await rawLineText(PSEXEC_2019, 18));
    assert.equal(raw['@timestamp'], '2019-05-18T21:06:51.517Z');
    const doc = mapped(raw);
    assert.equal(doc['@timestamp'], '2019-05-07T12:20:08.307Z');
    assert.deepEqual(doc.network, { transport: 'tcp', direction: 'egress', type: 'ipv4', protocol: 'https' });
    assert.deepEqual(doc.user, { domain: 'SHIRE', name: 'pgustavo' });
  },
);

test(
  'Winlogbeat 6: Security 4624 keeps the record time; source from IpAddress/IpPort',
  { skip: DATASETS_SKIP },
  async () => {
    const doc = mapped(frozenJson(await rawLineText(PSEXEC_2019, 404)));
    assert.deepEqual(doc, {
      '@timestamp': '2019-05-18T21:07:06.368Z',
      event: {
        kind: 'event',
        code: '4624',
        module: 'security',
        provider: 'Microsoft-Windows-Security-Auditing',
        category: ['authentication'],
        type: ['start'],
        outcome: 'success',
      },
      host: { id: 'hfdc01.shire.com', name: 'hfdc01.shire.com', os: WINDOWS },
      winlog: {
        channel: 'Security',
        computer_name: 'HFDC01.shire.com',
        event_id: 4624,
        provider_name: 'Microsoft-Windows-Security-Auditing',
        record_id: 12285289,
        event_data: {
          LogonType: '3',
          IpAddress: 'fe80::e086:822b:9735:45c8',
          IpPort: '57899',
          TargetUserName: 'HFDC01$',
          TargetDomainName: 'SHIRE.COM',
          LogonProcessName: 'Kerberos',
          AuthenticationPackageName: 'Kerberos',
        },
        logon: { type: 'Network' },
      },
      user: { name: 'HFDC01$', domain: 'SHIRE.COM' },
      source: { ip: 'fe80::e086:822b:9735:45c8', port: 57899 },
    });
  },
);

test('Winlogbeat 7: an RDP logon (4624, logon type 10), the evidence D4 counts', { skip: DATASETS_SKIP }, async () => {
  const raw = frozenJson(await rawLineText(RDP_2019, 1702));
  assert.equal((raw.host as JsonObject).name, 'WECServer');
  const doc = mapped(raw);
  assert.equal(doc['@timestamp'], '2019-10-27T05:50:47.175Z');
  assert.deepEqual(doc.host, { id: 'hfdc01.shire.com', name: 'hfdc01.shire.com', os: WINDOWS });
  const winlog = doc.winlog as JsonObject;
  assert.equal((winlog.event_data as JsonObject).LogonType, '10');
  assert.deepEqual(winlog.logon, { type: 'RemoteInteractive' });
  assert.deepEqual(doc.source, { ip: '172.18.39.105' }, 'IpPort 0 is no port');
  assert.deepEqual(doc.user, { name: 'Administrator', domain: 'shire' });
  assert.equal((doc.event as JsonObject).code, '4624');
});

test('Winlogbeat 7: Sysmon 1 and 3 under winlog.*', { skip: DATASETS_SKIP }, async () => {
  const net = mapped(frozenJson(await rawLineText(RDP_2019, 18)));
  assert.equal(net['@timestamp'], '2019-10-27T05:50:34.996Z');
  assert.deepEqual(net.source, { ip: '172.18.39.5', port: 59704 });
  assert.deepEqual(net.destination, { ip: '172.18.39.102', port: 5985 });
  assert.deepEqual(net.network, { transport: 'tcp', direction: 'egress', type: 'ipv4' });
  assert.deepEqual(net.user, { domain: 'NT AUTHORITY', name: 'NETWORK SERVICE' });
  const proc = mapped(frozenJson(await rawLineText(RDP_2019, 214)));
  assert.deepEqual((proc.process as JsonObject).args, ['\\SystemRoot\\System32\\smss.exe', '000000fc', '00000088']);
  assert.deepEqual(((proc.process as JsonObject).pe as JsonObject).original_file_name, 'smss.exe');
  assert.equal(((proc.process as JsonObject).parent as JsonObject).pid, 396);
});

test(
  'Winlogbeat 7 golden output (module already ran Beat-side) passes through untouched',
  { skip: DATASETS_SKIP },
  async () => {
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { RAW_DIR } = await import('../../../support/rawDatasets.js');
    const golden = JSON.parse(
      readFileSync(
        join(RAW_DIR, 'elastic-beats/x-pack/winlogbeat/module/sysmon/test/testdata/sysmon-9.01.evtx.golden.json'),
        'utf8',
      ),
    ) as JsonObject[];
    let network = 0;
    for (const doc of golden) {
      deepFreeze(doc);
      // Sysmon 3 there has event.module but no event.category, and its event_data lost the moved
      // fields: re-mapping it would lose source/destination.
      if ((doc.winlog as JsonObject).event_id === 3) network++;
      assert.equal(detectShape(doc), 'ecs');
      for (const format of ['auto', 'winlogbeat'] as const) {
        const r = normalize(doc, format);
        assert.ok(r.ok && r.doc === doc, `${format}: the same object`);
      }
    }
    assert.ok(network > 0);
  },
);

test('a Winlogbeat document with a __proto__ event_data key stays safe', () => {
  const raw = deepFreeze(
    JSON.parse(
      '{"@timestamp":"2024-05-01T00:00:00Z","winlog":{"api":"wineventlog","event_id":3,' +
        '"provider_name":"Microsoft-Windows-Sysmon","computer_name":"PC1","event_data":{"__proto__":{"x":1},' +
        '"constructor":"y","UtcTime":"2024-05-01 00:00:01.5","Initiated":"constructor","Protocol":"tcp"}}}',
    ) as JsonObject,
  );
  const r = normalize(raw, 'auto');
  assert.ok(r.ok);
  assert.equal(r.doc['@timestamp'], '2024-05-01T00:00:01.500Z');
  assert.deepEqual(r.doc.network, { transport: 'tcp' });
  assert.equal(({} as JsonObject).x, undefined);
});
