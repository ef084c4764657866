/**
 * D3 on real data: the OTRF Sysmon recordings named in the datasets README ("D3"), replayed in the
 * engine order (sortedEvents), the watermark following each event as in `picket replay`.
 *
 * What the data holds (README, and checked below):
 * * empire_psexec_dcerpc_tcp_svcctl_2020: services.exe accepts 172.18.39.5:56608 → :49726 (line
 *   1366, 16:16:56.019) and starts cmd.exe 578 ms later (line 1057, 16:16:56.597): the one alert.
 * * empire_invoke_psexec_2019: the cmd.exe child (line 837, 21:07:23.047) is logged 15 ms before
 *   its connection (line 1349, 21:07:23.062). EQL needs the connection first: no alert, unless the
 *   clock-skew tolerance (20 ms here) is on.
 * * empire_scm_dll_hijack_ikeext_2019 and empire_shell_dcerpc_smb_service_dll_hijack_2020: the
 *   connections are there, but services.exe's children are svchost.exe, which the rule excludes.
 * * empire_find_local_admin_2019 and empire_find_localadmin_…_OpenSCManager_2020: a connection and no
 *   child (service enumeration, nothing started).
 * * empire_invoke_smbexec_2019 and empire_smbexec_dcerpc_smb_svcctl_2020: a cmd.exe child and no
 *   high-port connection (the service is controlled over SMB named pipes, port 445).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { Finding } from '../../../src/detectors/detection.js';
import { isServiceChild, isServicesConnection, RemoteServicesDetector } from '../../../src/detectors/remoteServices.js';
import { field } from '../../../src/ecs/fields.js';
import { firstKeyword, keywordEquals, keywordIn } from '../../../src/ecs/values.js';
import { openInput } from '../../../src/replay/lines.js';
import { sortedEvents, type ReadStats } from '../../../src/replay/sortEvents.js';
import { DATASETS_DIR, DATASETS_SKIP, ecsFileTable } from '../../support/datasets.js';

const OTRF = 'otrf-security-datasets';
const FILES = {
  psexec2020: `${OTRF}/datasets/atomic/windows/lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json.ndjson.gz`,
  invokePsexec2019: `${OTRF}/small_datasets/windows/execution/service_execution_T1035/empire_invoke_psexec/empire_invoke_psexec_2019-05-18210652.json.ndjson.gz`,
  ikeext2019: `${OTRF}/small_datasets/windows/lateral_movement/remote_file_copy_T1105/empire_scm_dll_hijack_ikeext/empire_scm_dll_hijack_ikeext_2019-04-03133337.json.ndjson.gz`,
  dllHijack2020: `${OTRF}/datasets/atomic/windows/lateral_movement/host/empire_shell_dcerpc_smb_service_dll_hijack/empire_shell_dcerpc_smb_service_dll_hijack_2020-09-21232839.json.ndjson.gz`,
  findLocalAdmin2019: `${OTRF}/small_datasets/windows/discovery/account_discovery_T1087/empire_find_local_admin/empire_find_local_admin_2019-05-18224039.json.ndjson.gz`,
  findLocalAdmin2020: `${OTRF}/datasets/atomic/windows/discovery/host/empire_find_localadmin_smb_svcctl_OpenSCManager/empire_find_localadmin_smb_svcctl_OpenSCManager_2020-09-22021559.json.ndjson.gz`,
  invokeSmbexec2019: `${OTRF}/small_datasets/windows/lateral_movement/windows_admin_shares_T1077/empire_invoke_smbexec/empire_invoke_smbexec_2019-05-18210125.json.ndjson.gz`,
  smbexec2020: `${OTRF}/datasets/atomic/windows/lateral_movement/host/empire_smbexec_dcerpc_smb_svcctl/empire_smbexec_dcerpc_smb_svcctl_2020-09-20025716.json.ndjson.gz`,
} as const;

interface Replayed {
  readonly findings: Finding[];
  /** Events that pass stage 1 / stage 2 with their join keys: the README's svc-in / svc-child. */
  readonly svcIn: number;
  readonly svcChild: number;
}

const CATEGORY = field('event.category');
const OS_TYPE = field('host.os.type');
const HOST_ID = field('host.id');
const ENTITY_ID = field('process.entity_id');
const PARENT_ENTITY_ID = field('process.parent.entity_id');

async function replay(file: string, clockSkewToleranceMs = 0): Promise<Replayed> {
  const path = join(DATASETS_DIR, 'ecs', file);
  const detector = new RemoteServicesDetector(
    {
      limits: { maxKeys: 100_000, maxEntriesPerKey: 64 },
      settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
      countEviction: (reason) => assert.fail(`unexpected eviction (${reason}) in ${file}`),
    },
    { clockSkewToleranceMs },
  );
  const stats: ReadStats = { lines: 0, events: 0, skipped: 0, unreadable: new Map() };
  const findings: Finding[] = [];
  let svcIn = 0;
  let svcChild = 0;
  for await (const event of sortedEvents(openInput(path), path, stats)) {
    const doc = event.doc;
    if (keywordEquals(doc, OS_TYPE, 'windows') && firstKeyword(doc, HOST_ID) !== undefined) {
      const network = keywordIn(doc, CATEGORY, new Set(['network'])) && isServicesConnection(doc);
      if (network && firstKeyword(doc, ENTITY_ID) !== undefined) svcIn++;
      const process = keywordIn(doc, CATEGORY, new Set(['process'])) && isServiceChild(doc);
      if (process && firstKeyword(doc, PARENT_ENTITY_ID) !== undefined) svcChild++;
    }
    detector.onEvent(event, (f) => findings.push(f));
    detector.onWatermark(event.time);
  }
  assert.equal(stats.unreadable.size, 0, `${file} reads cleanly`);
  return { findings, svcIn, svcChild };
}

const line = (f: Finding, i: number): number => {
  const o = f.events[i]!.origin;
  return o.kind === 'file' ? o.line : -1;
};
const executable = (f: Finding): unknown => (f.entities as any).process?.executable;

test(
  'empire_psexec 2020: one alert, cmd.exe started 578 ms after the services.exe connection',
  { skip: DATASETS_SKIP },
  async () => {
    const r = await replay(FILES.psexec2020);
    assert.equal(r.findings.length, 1);
    const f = r.findings[0]!;
    assert.deepEqual([line(f, 0), line(f, 1)], [1366, 1057], 'connection (line 1366), then child (line 1057)');
    assert.equal((f.events[0]!.doc as any).process.name, 'services.exe');
    assert.equal(executable(f), 'C:\\Windows\\System32\\cmd.exe');
    assert.deepEqual(f.details, {
      connection_to_child_ms: 578,
      services_entity_id: '{d273d0f0-e865-5f64-0b00-000000000800}',
    });
    const e = f.entities as any;
    assert.equal(e.host.id, 'workstation6.theshire.local');
    assert.deepEqual([e.source.ip, e.source.port, e.destination.port], ['172.18.39.5', 56608, 49726]);
    // The tolerance adds nothing here.
    assert.equal((await replay(FILES.psexec2020, 20)).findings.length, 1);
  },
);

test(
  'empire_invoke_psexec 2019: the child is logged 15 ms before its connection',
  { skip: DATASETS_SKIP },
  async () => {
    const exact = await replay(FILES.invokePsexec2019);
    assert.equal(exact.findings.length, 0, 'EQL: stage 2 must come after stage 1');
    assert.deepEqual([exact.svcIn, exact.svcChild], [1, 1], 'both stages are there, in the wrong order');
    const tolerant = await replay(FILES.invokePsexec2019, 20);
    assert.equal(tolerant.findings.length, 1, 'a 20 ms clock-skew tolerance pairs them');
    const f = tolerant.findings[0]!;
    assert.deepEqual([line(f, 0), line(f, 1)], [1349, 837]);
    assert.equal(executable(f), 'C:\\Windows\\System32\\cmd.exe');
    assert.deepEqual(f.details, {
      connection_to_child_ms: -15,
      services_entity_id: '{aa6b4a20-e823-5cda-0000-0010a1880000}',
    });
    assert.equal((f.entities as any).host.id, 'it001.shire.com');
    assert.equal((await replay(FILES.invokePsexec2019, 14)).findings.length, 0, '14 ms is not enough');
  },
);

test(
  'the other D3 recordings: connections without an accepted child, or children without a connection',
  { skip: DATASETS_SKIP },
  async () => {
    // [file, svc-in, svc-child, why there is no alert]
    const cases: [string, number, number, string][] = [
      [FILES.ikeext2019, 3, 0, 'the children are svchost.exe, excluded'],
      [FILES.dllHijack2020, 3, 0, 'the children are svchost.exe, excluded'],
      [FILES.findLocalAdmin2019, 2, 0, 'connections, no child'],
      [FILES.findLocalAdmin2020, 1, 0, 'a connection, no child'],
      [FILES.invokeSmbexec2019, 0, 1, 'a child, no high-port connection'],
      [FILES.smbexec2020, 0, 1, 'a child, no high-port connection'],
    ];
    for (const [file, svcIn, svcChild, why] of cases) {
      for (const tolerance of [0, 20]) {
        const r = await replay(file, tolerance);
        assert.deepEqual([r.svcIn, r.svcChild], [svcIn, svcChild], `${file}: stage counts`);
        assert.equal(r.findings.length, 0, `${file} (tolerance ${tolerance} ms): ${why}`);
      }
    }
  },
);

test(
  'every ECS file: stage counts as the README table gives them, and only the two psexec files alert',
  { skip: DATASETS_SKIP },
  async () => {
    const table = ecsFileTable();
    assert.ok(table.length >= 80, `expected the README table to list the ECS files, found ${table.length}`);
    const mismatches: string[] = [];
    const alerting: Record<string, number[]> = {};
    for (const row of table) {
      const exact = await replay(row.file);
      if (exact.svcIn !== row.svcIn || exact.svcChild !== row.svcChild) {
        mismatches.push(`${row.file}: svc-in ${exact.svcIn}/${row.svcIn}, svc-child ${exact.svcChild}/${row.svcChild}`);
      }
      const tolerant = row.svcIn > 0 && row.svcChild > 0 ? await replay(row.file, 20) : exact;
      if (exact.findings.length + tolerant.findings.length > 0) {
        alerting[row.file] = [exact.findings.length, tolerant.findings.length];
      }
    }
    assert.deepEqual(mismatches, [], 'svc-in / svc-child columns of the datasets README');
    assert.deepEqual(alerting, { [FILES.psexec2020]: [1, 1], [FILES.invokePsexec2019]: [0, 1] });
  },
);
