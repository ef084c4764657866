/**
 * D2 on the shared real datasets, each file replayed on its own in event-time order (openInput +
 * sortedEvents, as `picket replay` reads), fed straight to the detector: onEvent, then
 * onWatermark(event time).
 *
 * The expected pair counts below were computed independently of picket (a short script applying
 * detections.md D2 as a plain join over each whole file) and agree with what the detector finds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RpcPairingDetector } from '../../../src/detectors/rpcPairing.js';
import type { DetectionContext, Finding } from '../../../src/detectors/detection.js';
import { eventId, type EcsEvent } from '../../../src/ecs/event.js';
import { field } from '../../../src/ecs/fields.js';
import { firstKeyword } from '../../../src/ecs/values.js';
import { openInput } from '../../../src/replay/lines.js';
import { sortedEvents, type ReadStats } from '../../../src/replay/sortEvents.js';
import { DATASETS_DIR, DATASETS_SKIP, ecsFileTable } from '../../support/datasets.js';

const OTRF = 'otrf-security-datasets/datasets/';
const APT29 = `${OTRF}compound/apt29/`;
const LSASS = `${OTRF}compound/LSASS_campaign_01/`;
const HOST = `${OTRF}atomic/windows/`;
const SMALL = 'otrf-security-datasets/small_datasets/windows/';

/**
 * Pairs (alerts) per file; every file of the datasets README not listed here has none. Why:
 * - APT29 Zeek conn logs: clients to the domain controller 10.0.0.4 (epmapper, then drsuapi /
 *   lsarpc on a dynamic port) and 10.0.1.4 to 10.0.1.6. NASHUA and SCRANTON are two sensors of
 *   day 1 that saw some of the same connections. UTICA-C and UTICA-ONE-DRIVE have no port-135 flow.
 * - APT29 Zeek dce_rpc logs (and every other Zeek protocol log): the README counts their records
 *   as mapper/endpoint "flows", but detections.md D2 does not: they are one record per RPC
 *   operation, not connections. None pairs.
 * - LSASS campaign: MKT01 (192.168.1.41) to its DC 192.168.1.4, in the Sysmon host file and in
 *   the Zeek conn log (a different run: the Zeek log is six days later).
 * - OTRF host files (Sysmon network events): lab hosts to each other and to the DC; the 2020
 *   files include DCs talking RPC to themselves over link-local IPv6. covenant_sc_query and
 *   covenant_sharpsc_start have mapper flows and no dynamic-port flow (service control over SMB);
 *   remoteinteractive_taskmngr_lsass_dump_2019 has no port-135 flow.
 * - Stratosphere 002 and Slips `vertical`: nmap scans probing 135 and high ports of one host
 *   within 2 s produce scan-induced pairs. 008–012 have endpoint-port flows but at most three
 *   mapper flows, none followed within 2 s.
 * - NetFlow golden file: one port-135 flow and no endpoint flow. Other files: no flows of interest.
 */
const PAIRS_PER_FILE: Readonly<Record<string, number>> = {
  [`${APT29}day1/zeek/individual_zeek_logs/NASHUA_conn.log.ndjson.gz`]: 7,
  [`${APT29}day1/zeek/individual_zeek_logs/SCRANTON_conn.log.ndjson.gz`]: 7,
  [`${APT29}day2/zeek/individual_zeek_logs/NEWYORK_conn.log.ndjson.gz`]: 25,
  [`${APT29}day2/zeek/individual_zeek_logs/SCRANTON_conn.log.ndjson.gz`]: 9,
  [`${APT29}day2/zeek/individual_zeek_logs/UTICA-A_conn.log.ndjson.gz`]: 4,
  [`${APT29}day2/zeek/individual_zeek_logs/UTICA-D_conn.log.ndjson.gz`]: 3,
  [`${LSASS}metasploit_logonpasswords_lsass_memory_dump/metasploit_logonpasswords_lsass_memory_dump.json.ndjson.gz`]: 7,
  [`${LSASS}metasploit_logonpasswords_lsass_memory_dump_zeek_logs/conn.log.ndjson.gz`]: 4,
  [`${HOST}credential_access/host/rdp_interactive_taskmanager_lsass_dump/rdp_interactive_taskmanager_lsass_dump_2020-09-22043748.json.ndjson.gz`]: 2,
  [`${HOST}discovery/host/empire_find_localadmin_smb_svcctl_OpenSCManager/empire_find_localadmin_smb_svcctl_OpenSCManager_2020-09-22021559.json.ndjson.gz`]: 2,
  [`${HOST}lateral_movement/host/covenant_dcom_registerxll/covenant_dcom_registerxll_2020-09-18145959.json.ndjson.gz`]: 2,
  [`${HOST}lateral_movement/host/covenant_psremoting_grunt/covenant_psremoting_grunt_2019-12-05014931.json.ndjson.gz`]: 7,
  [`${HOST}lateral_movement/host/covenant_sharpsc_create_dcerpc_smb_svcctl/covenant_sharpsc_create_dcerpc_smb_svcctl_2020-08-06022635.json.ndjson.gz`]: 6,
  [`${HOST}lateral_movement/host/covenant_sharpwmi_create_dcerpc_wmi/covenant_sharpwmi_create_dcerpc_wmi_2020-08-06035621.json.ndjson.gz`]: 4,
  [`${HOST}lateral_movement/host/empire_dcom_shellwindows_stager/empire_dcom_shellwindows_stager_2020-09-18130751.json.ndjson.gz`]: 4,
  [`${HOST}lateral_movement/host/empire_msbuild_dcerpc_wmi_smb/empire_msbuild_dcerpc_wmi_smb_2020-09-20173857.json.ndjson.gz`]: 4,
  [`${HOST}lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl/empire_psexec_dcerpc_tcp_svcctl_2020-09-20121608.json.ndjson.gz`]: 2,
  [`${HOST}lateral_movement/host/empire_shell_dcerpc_smb_service_dll_hijack/empire_shell_dcerpc_smb_service_dll_hijack_2020-09-21232839.json.ndjson.gz`]: 7,
  [`${HOST}lateral_movement/host/empire_smbexec_dcerpc_smb_svcctl/empire_smbexec_dcerpc_smb_svcctl_2020-09-20025716.json.ndjson.gz`]: 1,
  [`${HOST}lateral_movement/host/empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod/empire_wmi_dcerpc_wmi_IWbemServices_ExecMethod_2020-09-21001437.json.ndjson.gz`]: 2,
  [`${HOST}lateral_movement/host/purplesharp_ad_playbook_I/purplesharp_ad_playbook_I_2020-10-22042947.json.ndjson.gz`]: 14,
  [`${HOST}lateral_movement/host/schtask_create/schtask_create_2020-12-1907003032.json.ndjson.gz`]: 3,
  [`${SMALL}defense_evasion/modify_registry_T1112/empire_enable_rdp/empire_enable_rdp_2019-05-18203650.json.ndjson.gz`]: 2,
  [`${SMALL}discovery/account_discovery_T1087/empire_find_local_admin/empire_find_local_admin_2019-05-18224039.json.ndjson.gz`]: 2,
  [`${SMALL}execution/service_execution_T1035/empire_invoke_psexec/empire_invoke_psexec_2019-05-18210652.json.ndjson.gz`]: 1,
  [`${SMALL}lateral_movement/distributed_component_object_model_T1175/empire_invoke_dcom/empire_invoke_dcom_2019-05-18211052.json.ndjson.gz`]: 2,
  [`${SMALL}lateral_movement/remote_file_copy_T1105/empire_scm_dll_hijack_ikeext/empire_scm_dll_hijack_ikeext_2019-04-03133337.json.ndjson.gz`]: 3,
  [`${SMALL}lateral_movement/windows_admin_shares_T1077/empire_invoke_smbexec/empire_invoke_smbexec_2019-05-18210125.json.ndjson.gz`]: 1,
  [`${SMALL}lateral_movement/windows_management_instrumentation_T1047/empire_invoke_wmi/empire_invoke_wmi_2019-03-19152813.json.ndjson.gz`]: 1,
  'stratosphere-security-datasets-for-testing/002-zeek-scenario-port-scanning/conn.log.ndjson.gz': 8,
  'stratosphere-slips/dataset/port-scans/vertical/conn.log.ndjson.gz': 2,
};

const NASHUA_CONN = `${APT29}day1/zeek/individual_zeek_logs/NASHUA_conn.log.ndjson.gz`;
const NASHUA_DCE_RPC = `${APT29}day1/zeek/individual_zeek_logs/NASHUA_dce_rpc.log.ndjson.gz`;
const NEWYORK_CONN = `${APT29}day2/zeek/individual_zeek_logs/NEWYORK_conn.log.ndjson.gz`;

function context(): DetectionContext {
  return {
    limits: { maxKeys: 100_000, maxEntriesPerKey: 64 },
    settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
    countEviction: (reason) => assert.fail(`no eviction expected on this data (${reason})`),
  };
}

async function readSorted(relative: string): Promise<EcsEvent[]> {
  const file = join(DATASETS_DIR, 'ecs', relative);
  const stats: ReadStats = { lines: 0, events: 0, skipped: 0, unreadable: new Map() };
  const out: EcsEvent[] = [];
  for await (const e of sortedEvents(openInput(file), relative, stats)) out.push(e);
  assert.equal(stats.unreadable.size, 0, `${relative}: every line is readable`);
  return out;
}

/** In event-time order, the watermark following each event's time. */
function detectInOrder(events: readonly EcsEvent[]): Finding[] {
  const det = new RpcPairingDetector(context());
  const findings: Finding[] = [];
  for (const e of events) {
    det.onEvent(e, (f) => void findings.push(f));
    det.onWatermark(e.time);
  }
  return findings;
}

/** "line M > line E", for comparing sets of pairs. */
const pairKey = (f: Finding): string => f.events.map((e) => (e.origin.kind === 'file' ? e.origin.line : -1)).join('>');

test('D2 pairs per file match the recorded counts, for every ECS file', { skip: DATASETS_SKIP }, async (t) => {
  const rows = ecsFileTable();
  assert.ok(rows.length >= 80, `the README lists the ECS files (${rows.length})`);
  for (const f of Object.keys(PAIRS_PER_FILE))
    assert.ok(
      rows.some((r) => r.file === f),
      `listed in the README: ${f}`,
    );
  const found: Record<string, number> = {};
  for (const row of rows) {
    const n = detectInOrder(await readSorted(row.file)).length;
    if (n > 0) found[row.file] = n;
    if (n > 0 || row.mapper > 0) t.diagnostic(`${String(n).padStart(3)} pairs  ${row.file}`);
  }
  assert.deepEqual(found, PAIRS_PER_FILE);
});

test('APT29 Zeek conn logs hold endpoint-mapper pairs; one checked by hand', { skip: DATASETS_SKIP }, async (t) => {
  const findings = detectInOrder(await readSorted(NASHUA_CONN));
  assert.ok(findings.length > 0);
  // Lines 10 and 11 of NASHUA_conn.log (raw ts 1588206048.591635 and 1588206048.59429):
  //   10.0.1.6:56953 → 10.0.0.4:135    uid CAGQDqsQlWvA6qoV5, 14.7 s, SF
  //   10.0.1.6:56954 → 10.0.0.4:49667  uid CYLYKc2ieSc5eKgOH2, 34.7 s, SF
  // The client's next ephemeral port, 3 ms later, to a dynamic port of the same server.
  const f = findings.find((x) => pairKey(x) === '10>11');
  assert.ok(f !== undefined, `the pair 10>11 is found (found: ${findings.map(pairKey).join(', ')})`);
  const [m, e] = f.events as [EcsEvent, EcsEvent];
  t.diagnostic(
    `checked: line ${pairKey(f)} ${JSON.stringify(f.entities.source)} → ${JSON.stringify(f.entities.destination)}`,
  );
  t.diagnostic(`  details ${JSON.stringify(f.details)}`);
  assert.equal(eventId(m), 'otrf:NASHUA_conn:10');
  assert.equal(eventId(e), 'otrf:NASHUA_conn:11');
  assert.equal(m.time, Date.parse('2020-04-30T00:20:48.591Z'));
  assert.equal(e.time, Date.parse('2020-04-30T00:20:48.594Z'));
  assert.deepEqual(f.entities.source, { ip: '10.0.1.6', port: 56954, bytes: 1264, packets: 10 });
  assert.deepEqual(f.entities.destination, { ip: '10.0.0.4', port: 49667, bytes: 1650, packets: 10 });
  assert.deepEqual(f.details, {
    mapper: { time: '2020-04-30T00:20:48.591Z', source: { port: 56953 }, destination: { port: 135 } },
    endpoint: { time: '2020-04-30T00:20:48.594Z' },
    gap_ms: 3,
  });
  // The same sensor's dce_rpc log names what was called on each connection: the endpoint mapper
  // (ept_map) on the first, the directory replication service (DRSBind…) on the second.
  const sessionId = field('zeek.session_id');
  const endpointName = field('zeek.dce_rpc.endpoint');
  const calls = new Map<string, Set<string>>();
  for (const r of await readSorted(NASHUA_DCE_RPC)) {
    const uid = firstKeyword(r.doc, sessionId);
    const name = firstKeyword(r.doc, endpointName);
    if (uid === undefined || name === undefined) continue;
    if (!calls.has(uid)) calls.set(uid, new Set());
    calls.get(uid)!.add(name);
  }
  assert.deepEqual([...(calls.get(firstKeyword(m.doc, sessionId)!) ?? [])], ['epmapper']);
  assert.deepEqual([...(calls.get(firstKeyword(e.doc, sessionId)!) ?? [])], ['drsuapi']);
});

test(
  'APT29: the dce_rpc logs have port-135 and high-port records, but they are not flows',
  { skip: DATASETS_SKIP },
  async () => {
    const rows = ecsFileTable().filter((r) => r.file.startsWith(APT29) && r.file.includes('_dce_rpc.'));
    assert.ok(rows.length >= 6);
    for (const row of rows) {
      assert.ok(row.mapper > 0, `the README counts port-135 records in ${row.file}`);
      assert.equal(detectInOrder(await readSorted(row.file)).length, 0, row.file);
    }
  },
);

/**
 * The sorted stream, with some flows of `kind` moved later (up to `maxDelayMs` of event time) as
 * a stream with late events would deliver them: the watermark follows the in-order events only,
 * so a moved event arrives late, after the watermark has passed it.
 */
function detectWithLateFlows(
  events: readonly EcsEvent[],
  late: (e: EcsEvent) => boolean,
  maxDelayMs: number,
): Finding[] {
  let seed = 2014_05_001;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const delayed: { due: number; event: EcsEvent }[] = [];
  const stream: EcsEvent[] = [];
  let moved = 0;
  for (const e of events) {
    for (let i = delayed.length - 1; i >= 0; i--) {
      if (delayed[i]!.due <= e.time) stream.push(delayed.splice(i, 1)[0]!.event);
    }
    if (late(e) && rand() < 0.7) {
      delayed.push({ due: e.time + 1 + Math.floor(rand() * maxDelayMs), event: e });
      moved++;
    } else {
      stream.push(e);
    }
  }
  for (const d of delayed) stream.push(d.event);
  assert.ok(moved > 5, `enough flows moved (${moved})`);
  const det = new RpcPairingDetector(context());
  const findings: Finding[] = [];
  let watermark = -Infinity;
  let lateSeen = 0;
  for (const e of stream) {
    if (e.time < watermark) lateSeen++;
    det.onEvent(e, (f) => void findings.push(f));
    if (e.time > watermark) {
      watermark = e.time;
      det.onWatermark(watermark);
    }
  }
  assert.ok(lateSeen > 5, `late events were delivered (${lateSeen})`);
  return findings;
}

const HIGH_PORT = (e: EcsEvent): boolean => {
  const d = (e.doc.destination as { port?: number } | undefined)?.port;
  return d !== undefined && d >= 49152;
};
const PORT_135 = (e: EcsEvent): boolean => (e.doc.destination as { port?: number } | undefined)?.port === 135;

test(
  'order independence on NEWYORK_conn: late endpoint flows give the same pairs; late mapper flows the same endpoints',
  { skip: DATASETS_SKIP },
  async (t) => {
    const events = await readSorted(NEWYORK_CONN);
    const inOrder = detectInOrder(events);
    const expected = inOrder.map(pairKey).sort();
    assert.equal(expected.length, 25);
    const lateEndpoints = detectWithLateFlows(events, HIGH_PORT, 180_000).map(pairKey).sort();
    assert.deepEqual(lateEndpoints, expected, 'endpoint flows up to 3 minutes late: the same (M, E) pairs');

    // Late mapper flows: every endpoint flow still alerts once, with a valid partner. When its most
    // recent partner comes after it and an older one was already held, the older one is named:
    // an alert is never taken back (the limitation documented in rpcPairing.ts). Here: lines
    // 230, 232 and 234 have partners 231, 233 and 235 (late) and 195 (held), 0.2–1.7 s older.
    const lateMappers = detectWithLateFlows(events, PORT_135, 180_000);
    const endpointLine = (f: Finding): number => (f.events[1]!.origin as { line: number }).line;
    assert.deepEqual(lateMappers.map(endpointLine).sort(), inOrder.map(endpointLine).sort(), 'the same endpoint flows');
    const best = new Map(inOrder.map((f) => [endpointLine(f), f]));
    for (const f of lateMappers) {
      const gap = (f.details as { gap_ms: number }).gap_ms;
      assert.ok(gap > 0 && gap < 2000, `${pairKey(f)}: a partner within the window`);
      const b = best.get(endpointLine(f))!;
      if (pairKey(f) !== pairKey(b)) {
        t.diagnostic(`late mapper: ${pairKey(b)} became ${pairKey(f)}`);
        assert.ok(f.events[0]!.time < b.events[0]!.time, `${pairKey(f)}: an older partner than ${pairKey(b)}`);
      }
    }
  },
);
