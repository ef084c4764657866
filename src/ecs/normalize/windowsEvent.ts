/**
 * One Windows event record, whoever shipped it, → ECS. Winlogbeat (winlogbeat.ts) and NXLog
 * (nxlog.ts) only differ in where they put the record's parts; this is the mapping itself: what
 * Winlogbeat's `sysmon`/`security` modules and the Elastic `windows`/`system` ingest pipelines
 * produce (reference/rules.md §E; the datasets README, "How the ECS conversion maps the data").
 *
 * `host.*` is the computer the event happened on (`computer_name`, NXLog's `Hostname`), never the
 * shipper's own host: behind a Windows Event Collector those differ, and D3 joins on `host.id`.
 */
import type { JsonObject } from '../fields.js';
import { parseIp } from '../ip.js';
import { parseEventTime } from '../time.js';
import { basename, integer, lookup, own, port, put, setOwn, text } from './build.js';
import type { NormalizeResult } from './result.js';
import { isoMillis, sysmonTimeToMillis } from './times.js';
import { commandLineToArgv } from './windowsArgv.js';
import { LOGON_TYPES, SECURITY_EVENTS, SYSMON_EVENTS } from './windowsEventTypes.js';

export interface WindowsRecord {
  readonly eventId: number | undefined;
  readonly provider: string | undefined;
  readonly channel: string | undefined;
  /** The originating computer (not the collector). */
  readonly computer: string | undefined;
  readonly recordId: number | undefined;
  /** The event's own fields (`EventData`): Winlogbeat's `event_data`, or NXLog's whole record. */
  readonly data: JsonObject;
  /** The record time the shipper wrote (`@timestamp`), used when the event has no time of its own. */
  readonly recordTime: unknown;
}

const SYSMON = 'Microsoft-Windows-Sysmon';
const SECURITY = 'Microsoft-Windows-Security-Auditing';

function moduleOf(provider: string | undefined): string | undefined {
  switch (provider) {
    case SYSMON:
      return 'sysmon';
    case SECURITY:
      return 'security';
    case 'PowerShell':
    case 'Microsoft-Windows-PowerShell':
      return 'powershell';
    default:
      return undefined;
  }
}

export function windowsEventToEcs(rec: WindowsRecord): NormalizeResult {
  const d = rec.data;
  const sysmon = rec.provider === SYSMON;
  // The Elastic pipeline re-dates Sysmon events from UtcTime (when the event happened); other
  // events keep the record time. A failed date conversion keeps the record time, as there.
  const ms = (sysmon ? sysmonTimeToMillis(own(d, 'UtcTime')) : undefined) ?? parseEventTime(rec.recordTime);
  if (ms === undefined) {
    return { ok: false, reason: 'invalid_event_time', detail: 'Windows event has no usable UtcTime or record time' };
  }
  const event: JsonObject = { kind: 'event' };
  const doc: JsonObject = { '@timestamp': isoMillis(ms), event };
  if (rec.eventId !== undefined) event.code = String(rec.eventId);
  put(event, ['module'], moduleOf(rec.provider));
  put(event, ['provider'], rec.provider);

  if (rec.computer !== undefined) {
    const name = rec.computer.toLowerCase();
    doc.host = { id: name, name, os: { type: 'windows', family: 'windows' } };
  } else {
    doc.host = { os: { type: 'windows', family: 'windows' } };
  }
  const winlog: JsonObject = {};
  put(winlog, ['channel'], rec.channel);
  put(winlog, ['computer_name'], rec.computer);
  put(winlog, ['event_id'], rec.eventId);
  put(winlog, ['provider_name'], rec.provider);
  put(winlog, ['record_id'], rec.recordId);
  doc.winlog = winlog;

  const id = rec.eventId;
  if (sysmon && id !== undefined) mapSysmon(id, d, doc, event);
  else if (rec.provider === SECURITY && id !== undefined) mapSecurity(id, d, doc, event, winlog);
  else if (id === 7045 && rec.provider === 'Service Control Manager') {
    keepEventData(winlog, d, ['ServiceName', 'ImagePath']);
    put(doc, ['service', 'name'], text(own(d, 'ServiceName')));
  }
  return { ok: true, doc };
}

/** `DOMAIN\name` (Sysmon's `User`) → `user.domain`, `user.name`. */
function mapUser(doc: JsonObject, v: unknown): void {
  const u = text(v);
  if (u === undefined) return;
  const i = u.indexOf('\\');
  if (i >= 0) {
    put(doc, ['user', 'domain'], u.slice(0, i));
    put(doc, ['user', 'name'], u.slice(i + 1));
  } else {
    put(doc, ['user', 'name'], u);
  }
}

function mapProcess(target: JsonObject, d: JsonObject, guid: string, pid: string, image: string): void {
  put(target, ['entity_id'], text(own(d, guid)));
  put(target, ['pid'], integer(own(d, pid)));
  const exe = text(own(d, image));
  put(target, ['executable'], exe);
  put(target, ['name'], exe === undefined ? undefined : basename(exe));
}

function mapCommandLine(target: JsonObject, v: unknown): void {
  const cmd = text(v);
  if (cmd === undefined) return;
  target.command_line = cmd;
  // Windows gives a command line that starts with blanks an empty argv[0]; the ECS conversion
  // splits it as if the blanks were not there, so process.args starts with the first word.
  const args = commandLineToArgv(cmd.replace(/^[ \t]+/, ''));
  if (args.length > 0) target.args = args;
}

function mapSysmon(id: number, d: JsonObject, doc: JsonObject, event: JsonObject): void {
  const kind = lookup(SYSMON_EVENTS, String(id));
  if (kind !== undefined) {
    event.category = [...kind.category];
    event.type = [...kind.type];
  }
  mapUser(doc, own(d, 'User'));
  const process: JsonObject = {};
  // CreateRemoteThread (8) and ProcessAccess (10) are told from the source process's side.
  if (id === 8) mapProcess(process, d, 'SourceProcessGuid', 'SourceProcessId', 'SourceImage');
  else if (id === 10) mapProcess(process, d, 'SourceProcessGUID', 'SourceProcessId', 'SourceImage');
  else mapProcess(process, d, 'ProcessGuid', 'ProcessId', 'Image');
  if (id === 1) {
    mapCommandLine(process, own(d, 'CommandLine'));
    put(process, ['working_directory'], text(own(d, 'CurrentDirectory')));
    put(process, ['pe', 'original_file_name'], text(own(d, 'OriginalFileName')));
    const parent: JsonObject = {};
    mapProcess(parent, d, 'ParentProcessGuid', 'ParentProcessId', 'ParentImage');
    mapCommandLine(parent, own(d, 'ParentCommandLine'));
    if (Object.keys(parent).length > 0) process.parent = parent;
  }
  if (Object.keys(process).length > 0) doc.process = process;
  if (id === 3) mapSysmonNetwork(d, doc);
  else if (id === 22) put(doc, ['dns', 'question', 'name'], text(own(d, 'QueryName')));
}

/**
 * Sysmon 3 keeps source and destination as Sysmon logged them and takes the direction from
 * `Initiated`. Sysmon versions disagree on the orientation of an inbound connection (the datasets
 * README, quirk 1): in the 2020 OTRF recordings `source` is the remote initiator, in the 2019 ones
 * `source` is the local listener. Re-orienting would guess; the pipelines do not, so neither does
 * picket.
 */
function mapSysmonNetwork(d: JsonObject, doc: JsonObject): void {
  const network: JsonObject = {};
  put(network, ['transport'], text(own(d, 'Protocol')));
  const initiated = own(d, 'Initiated');
  if (initiated === 'true' || initiated === true) network.direction = 'egress';
  else if (initiated === 'false' || initiated === false) network.direction = 'ingress';
  const v6 = own(d, 'SourceIsIpv6');
  if (v6 === 'true' || v6 === true) network.type = 'ipv6';
  else if (v6 === 'false' || v6 === false) network.type = 'ipv4';
  put(network, ['protocol'], text(own(d, 'DestinationPortName')));
  if (Object.keys(network).length > 0) doc.network = network;
  // Sysmon's SourceHostname/DestinationHostname are a reverse lookup, not what was connected to;
  // the ECS conversion leaves them out (datasets README, Sysmon 3), and so does picket.
  put(doc, ['source', 'ip'], text(own(d, 'SourceIp')));
  put(doc, ['source', 'port'], port(own(d, 'SourcePort')));
  put(doc, ['destination', 'ip'], text(own(d, 'DestinationIp')));
  put(doc, ['destination', 'port'], port(own(d, 'DestinationPort')));
}

/** Copies the named `event_data` fields as written (strings, `-` included). */
function keepEventData(winlog: JsonObject, d: JsonObject, names: readonly string[]): void {
  let out: JsonObject | undefined;
  for (const k of names) {
    const v = own(d, k);
    if (typeof v !== 'string' && typeof v !== 'number') continue;
    out ??= {};
    setOwn(out, k, v);
  }
  if (out !== undefined) winlog.event_data = out;
}

/** `source.ip`/`source.port` of a logon or share access: only an address, only a real port. */
function mapRemote(doc: JsonObject, d: JsonObject): void {
  const ip = text(own(d, 'IpAddress'));
  if (ip !== undefined && parseIp(ip) !== undefined) put(doc, ['source', 'ip'], ip);
  const p = port(own(d, 'IpPort'));
  if (p !== undefined && p !== 0) put(doc, ['source', 'port'], p);
}

function mapSecurity(id: number, d: JsonObject, doc: JsonObject, event: JsonObject, winlog: JsonObject): void {
  const kind = lookup(SECURITY_EVENTS, String(id));
  if (kind !== undefined) {
    event.category = [...kind.category];
    event.type = [...kind.type];
    if (kind.outcome !== undefined) event.outcome = kind.outcome;
  }
  switch (id) {
    case 4624:
    case 4625: {
      keepEventData(winlog, d, [
        'LogonType',
        'IpAddress',
        'IpPort',
        'TargetUserName',
        'TargetDomainName',
        'WorkstationName',
        'LogonProcessName',
        'AuthenticationPackageName',
      ]);
      const logonType = lookup(LOGON_TYPES, String(own(d, 'LogonType')));
      if (logonType !== undefined) winlog.logon = { type: logonType };
      put(doc, ['user', 'name'], text(own(d, 'TargetUserName')));
      put(doc, ['user', 'domain'], text(own(d, 'TargetDomainName')));
      mapRemote(doc, d);
      break;
    }
    case 4648:
      keepEventData(winlog, d, ['IpAddress', 'IpPort', 'TargetUserName', 'TargetDomainName', 'TargetServerName']);
      put(doc, ['user', 'name'], text(own(d, 'TargetUserName')));
      put(doc, ['user', 'domain'], text(own(d, 'TargetDomainName')));
      mapRemote(doc, d);
      break;
    case 4688: {
      const process: JsonObject = {};
      put(process, ['pid'], integer(own(d, 'NewProcessId')));
      const exe = text(own(d, 'NewProcessName'));
      put(process, ['executable'], exe);
      put(process, ['name'], exe === undefined ? undefined : basename(exe));
      mapCommandLine(process, own(d, 'CommandLine'));
      const parent: JsonObject = {};
      put(parent, ['pid'], integer(own(d, 'ProcessId')));
      const parentExe = text(own(d, 'ParentProcessName'));
      put(parent, ['executable'], parentExe);
      put(parent, ['name'], parentExe === undefined ? undefined : basename(parentExe));
      if (Object.keys(parent).length > 0) process.parent = parent;
      if (Object.keys(process).length > 0) doc.process = process;
      break;
    }
    case 4689: {
      const process: JsonObject = {};
      put(process, ['pid'], integer(own(d, 'ProcessId')));
      const exe = text(own(d, 'ProcessName'));
      put(process, ['executable'], exe);
      put(process, ['name'], exe === undefined ? undefined : basename(exe));
      if (Object.keys(process).length > 0) doc.process = process;
      break;
    }
    case 4697:
      keepEventData(winlog, d, ['ServiceName', 'ServiceFileName']);
      put(doc, ['service', 'name'], text(own(d, 'ServiceName')));
      break;
    case 5140:
    case 5145:
      keepEventData(winlog, d, ['IpAddress', 'IpPort', 'ShareName', 'RelativeTargetName']);
      mapRemote(doc, d);
      break;
    case 5156:
    case 5157:
    case 5158:
      // Neither Winlogbeat nor the Elastic pipelines map the Filtering Platform events to
      // source/destination; their addresses stay in event_data.
      keepEventData(winlog, d, [
        'Direction',
        'Application',
        'SourceAddress',
        'SourcePort',
        'DestAddress',
        'DestPort',
        'Protocol',
      ]);
      break;
  }
}
