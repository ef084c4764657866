/**
 * The benchmark input: a realistic mix of what Beats, Elastic Defend and Zeek put on Kafka, with
 * attacks of all four kinds sprinkled in. Deterministic for a seed. Sizes follow real documents
 * (agent, ecs, host, observer and hash fields included): 0.5–1.5 KB per event.
 *
 * Share of the mix (benign unless said):
 *   40 % Packetbeat flows (443, 53, 445, 80, 88, 389, 3389 from admins, 135 to the domain controllers)
 *   20 % Sysmon process creation (event code 1), with command line, hashes and parent
 *   10 % Sysmon network connections (event code 3)
 *   10 % Elastic Defend process events
 *   15 % Zeek conn records, 3 % Zeek dce_rpc records, 2 % Windows 4624 logons
 * Attacks, one per ~`attackEvery` events: RPC to the Internet, an endpoint-mapper pair, a service
 * started by services.exe after an inbound connection, and an RDP fan-in of 40 sources within 2 s on one server. Attack events follow their first
 * event by at most 2 s.
 */
import { rng } from '../src/demo/sampleTraffic.js';

type Doc = Record<string, unknown>;

export interface MixOptions {
  readonly seed?: number;
  /** One attack per this many events on average. */
  readonly attackEvery?: number;
  /**
   * Where the event numbering (in `event.id`) starts: consecutive mixes of a stream give each their
   * own range, so that an id names one event (the alert-delay bench looks trigger events up by id).
   */
  readonly firstIndex?: number;
}

export interface Mix {
  readonly lines: Buffer[];
  /** Kafka key of each line: its host.id (as Beats are configured to key), else its destination. */
  readonly keys: string[];
  readonly bytes: number;
  /** Events per kind, for the description. */
  readonly kinds: Record<string, number>;
}

const HOSTS = Array.from({ length: 400 }, (_, i) => ({
  id: `${(0x1f3a9c00 + i).toString(16)}-7c1e-4d2b-9a77-${(0x5e00a1b2c3d4 + i).toString(16)}`,
  name: `ws-${String(i + 1).padStart(4, '0')}`,
  ip: `10.${40 + (i >> 8)}.${i & 255}.${20 + (i % 200)}`,
  mac: `00-50-56-${(i >> 8).toString(16).padStart(2, '0')}-${(i & 255).toString(16).padStart(2, '0')}-1a`,
}));
const SERVERS = ['10.10.0.5', '10.10.0.6', '10.10.1.20', '10.10.1.30', '10.10.2.40', '10.10.2.41'];
const DCS = ['10.10.0.5', '10.10.0.6'];
const INTERNET = ['93.184.215.14', '151.101.1.69', '140.82.121.4', '13.107.42.14', '142.250.74.46', '104.18.32.7'];
const PROCESSES = [
  [
    'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
    '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=renderer --lang=en-US --field-trial-handle=1820,i,1633 /prefetch:1',
  ],
  ['C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule'],
  ['C:\\Windows\\System32\\conhost.exe', '\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1'],
  [
    'C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE',
    '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE" /recycle',
  ],
  [
    'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    'powershell.exe -NoProfile -ExecutionPolicy Bypass -File C:\\ProgramData\\inventory\\collect.ps1',
  ],
  ['C:\\Windows\\System32\\taskhostw.exe', 'taskhostw.exe KEYROAMING'],
] as const;
const PARENTS = [
  ['C:\\Windows\\explorer.exe', 'explorer.exe'],
  ['C:\\Windows\\System32\\svchost.exe', 'svchost.exe'],
  ['C:\\Windows\\System32\\services.exe', 'services.exe'],
  ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', 'chrome.exe'],
] as const;

const hex = (r: () => number, n: number): string => {
  let s = '';
  for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
  return s;
};
const guid = (r: () => number): string => `{${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}}`;
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const eph = (r: () => number): number => 49152 + Math.floor(r() * 16000);
const iso = (t: number): string => new Date(t).toISOString();

type Host = (typeof HOSTS)[number];

function hostDoc(h: Host): Doc {
  return {
    id: h.id,
    name: h.name,
    hostname: h.name,
    architecture: 'x86_64',
    ip: [h.ip, 'fe80::1c2b:' + h.mac.slice(-5).replace('-', '')],
    mac: [h.mac],
    os: {
      type: 'windows',
      family: 'windows',
      name: 'Windows 10 Enterprise',
      version: '10.0',
      build: '19045.4291',
      platform: 'windows',
    },
  };
}

function agent(type: string, h: Host, r: () => number): Doc {
  return {
    type,
    version: '8.15.0',
    name: h.name,
    id: hex(r, 8) + '-' + hex(r, 4) + '-' + hex(r, 4),
    ephemeral_id: hex(r, 8),
  };
}

function packetbeat(t: number, h: Host, dst: string, port: number, transport: string, r: () => number, n: number): Doc {
  const out = 200 + Math.floor(r() * 5000);
  const inb = 400 + Math.floor(r() * 40000);
  return {
    '@timestamp': iso(t),
    agent: agent('packetbeat', h, r),
    ecs: { version: '8.11.0' },
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection', 'end'],
      action: 'network_flow',
      dataset: 'network_traffic.flow',
      duration: Math.floor(r() * 5e8),
      start: iso(t - Math.floor(r() * 900)),
      end: iso(t),
      id: `pb-${n}`,
    },
    flow: { id: 'EQQA////DP//////FP8BAAE' + hex(r, 24), final: true },
    network: {
      type: 'ipv4',
      transport,
      community_id: '1:' + hex(r, 27) + '=',
      bytes: out + inb,
      packets: 8 + Math.floor(r() * 40),
    },
    source: { ip: h.ip, port: eph(r), bytes: out, packets: 4, mac: h.mac },
    destination: { ip: dst, port, bytes: inb, packets: 6, mac: '00-1c-7f-3a-' + hex(r, 2) + '-01' },
    host: hostDoc(h),
    observer: { hostname: 'sensor-01', type: 'packetbeat', ip: ['10.10.9.9'] },
  };
}

function sysmonProcess(
  t: number,
  h: Host,
  r: () => number,
  n: number,
  exe: string,
  cmd: string,
  parent: readonly [string, string],
): Doc {
  return {
    '@timestamp': iso(t),
    agent: agent('winlogbeat', h, r),
    ecs: { version: '8.0.0' },
    event: {
      kind: 'event',
      code: '1',
      provider: 'Microsoft-Windows-Sysmon',
      category: ['process'],
      type: ['start'],
      action: 'Process Create (rule: ProcessCreate)',
      module: 'sysmon',
      created: iso(t + 40),
      id: `sy-${n}`,
    },
    process: {
      entity_id: guid(r),
      pid: 1000 + Math.floor(r() * 9000),
      executable: exe,
      name: exe.split('\\').pop(),
      command_line: cmd,
      args: cmd.split(' ').slice(0, 4),
      hash: { sha256: hex(r, 64) },
      parent: {
        entity_id: guid(r),
        pid: 600 + Math.floor(r() * 400),
        executable: parent[0],
        name: parent[1],
        command_line: parent[0],
      },
    },
    user: { name: 'jdoe', domain: 'CORP', id: 'S-1-5-21-3623811015-3361044348-30300820-1013' },
    host: hostDoc(h),
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      computer_name: h.name + '.corp.example',
      event_id: '1',
      record_id: n,
      provider_name: 'Microsoft-Windows-Sysmon',
    },
  };
}

function sysmonNetwork(
  t: number,
  h: Host,
  r: () => number,
  n: number,
  exe: string,
  dst: string,
  port: number,
  inbound = false,
  from = '',
): Doc {
  return {
    '@timestamp': iso(t),
    agent: agent('winlogbeat', h, r),
    ecs: { version: '8.0.0' },
    event: {
      kind: 'event',
      code: '3',
      provider: 'Microsoft-Windows-Sysmon',
      category: ['network'],
      type: ['connection', 'start', 'protocol'],
      action: 'Network connection detected (rule: NetworkConnect)',
      module: 'sysmon',
      id: `sn-${n}`,
    },
    process: { entity_id: guid(r), pid: 600 + Math.floor(r() * 9000), executable: exe, name: exe.split('\\').pop() },
    network: { transport: 'tcp', type: 'ipv4', direction: inbound ? 'ingress' : 'egress', protocol: 'https' },
    source: inbound ? { ip: from, port: eph(r) } : { ip: h.ip, port: eph(r), domain: h.name + '.corp.example' },
    destination: inbound ? { ip: h.ip, port: 49668 + Math.floor(r() * 8) } : { ip: dst, port },
    user: { name: 'SYSTEM', domain: 'NT AUTHORITY' },
    host: hostDoc(h),
    winlog: {
      channel: 'Microsoft-Windows-Sysmon/Operational',
      computer_name: h.name + '.corp.example',
      event_id: '3',
      record_id: n,
    },
  };
}

function defendProcess(t: number, h: Host, r: () => number, n: number): Doc {
  const [exe, cmd] = pick(r, PROCESSES);
  return {
    '@timestamp': iso(t),
    agent: agent('endpoint', h, r),
    ecs: { version: '8.10.0' },
    data_stream: { type: 'logs', dataset: 'endpoint.events.process', namespace: 'default' },
    event: {
      kind: 'event',
      category: ['process'],
      type: ['start'],
      action: 'start',
      dataset: 'endpoint.events.process',
      module: 'endpoint',
      id: 'N' + hex(r, 20),
      sequence: n,
      ingested: iso(t + 900),
    },
    process: {
      entity_id: hex(r, 40),
      pid: 1000 + Math.floor(r() * 9000),
      executable: exe,
      name: exe.split('\\').pop(),
      command_line: cmd,
      args: cmd.split(' ').slice(0, 4),
      hash: { sha256: hex(r, 64) },
      Ext: { token: { integrity_level_name: 'medium' }, session_info: { logon_type: 'Interactive', id: 3 } },
      parent: { entity_id: hex(r, 40), pid: 4000, executable: 'C:\\Windows\\explorer.exe', name: 'explorer.exe' },
    },
    user: { name: 'jdoe', domain: 'CORP' },
    host: hostDoc(h),
  };
}

function zeekConn(t: number, src: string, dst: string, sport: number, dport: number, r: () => number, n: number): Doc {
  return {
    '@timestamp': iso(t),
    agent: { type: 'filebeat', version: '8.15.0', name: 'zeek-01' },
    ecs: { version: '8.0.0' },
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection'],
      dataset: 'zeek.connection',
      module: 'zeek',
      id: 'C' + hex(r, 17),
      duration: Math.floor(r() * 3e9),
    },
    zeek: {
      session_id: 'C' + hex(r, 17),
      connection: { state: 'SF', history: 'ShADadfF', local_orig: true, local_resp: true, missed_bytes: 0 },
    },
    network: {
      transport: 'tcp',
      community_id: '1:' + hex(r, 27) + '=',
      bytes: 3000 + Math.floor(r() * 9000),
      packets: 20,
    },
    source: { ip: src, port: sport, bytes: 1200, packets: 10 },
    destination: { ip: dst, port: dport, bytes: 2400, packets: 10 },
    observer: { hostname: 'zeek-01', type: 'sensor', vendor: 'zeek' },
    log: { file: { path: '/opt/zeek/logs/current/conn.log' }, offset: n * 380 },
  };
}

function zeekDceRpc(t: number, src: string, dst: string, r: () => number): Doc {
  return {
    '@timestamp': iso(t),
    agent: { type: 'filebeat', version: '8.15.0', name: 'zeek-01' },
    ecs: { version: '8.0.0' },
    event: {
      kind: 'event',
      category: ['network'],
      type: ['connection', 'protocol'],
      dataset: 'zeek.dce_rpc',
      module: 'zeek',
      id: 'C' + hex(r, 17),
    },
    zeek: {
      session_id: 'C' + hex(r, 17),
      dce_rpc: { rtt: 0.0003, named_pipe: '49667', endpoint: 'drsuapi', operation: 'DRSGetNCChanges' },
    },
    network: { transport: 'tcp', protocol: 'dce_rpc' },
    source: { ip: src, port: eph(r) },
    destination: { ip: dst, port: 49667 },
    log: { file: { path: '/opt/zeek/logs/current/dce_rpc.log' } },
  };
}

function logon(t: number, h: Host, r: () => number, n: number, type: number, from: string): Doc {
  return {
    '@timestamp': iso(t),
    agent: agent('winlogbeat', h, r),
    ecs: { version: '8.0.0' },
    event: {
      kind: 'event',
      code: '4624',
      provider: 'Microsoft-Windows-Security-Auditing',
      category: ['authentication'],
      type: ['start'],
      action: 'logged-in',
      outcome: 'success',
      module: 'security',
      id: `lg-${n}`,
    },
    winlog: {
      channel: 'Security',
      event_id: '4624',
      computer_name: h.name + '.corp.example',
      logon: { type: type === 10 ? 'RemoteInteractive' : 'Network', id: '0x' + hex(r, 6) },
      event_data: {
        LogonType: String(type),
        AuthenticationPackageName: 'Negotiate',
        LogonProcessName: 'User32',
        TargetUserName: 'jdoe',
        TargetDomainName: 'CORP',
      },
    },
    source: { ip: from, port: 0 },
    user: { name: 'jdoe', domain: 'CORP', id: 'S-1-5-21-3623811015-3361044348-30300820-1013' },
    host: hostDoc(h),
  };
}

/** `count` events over `spanMs` from `start`. */
export function benchMix(start: number, spanMs: number, count: number, opts: MixOptions = {}): Mix {
  const r = rng(opts.seed ?? 7);
  const attackEvery = opts.attackEvery ?? 2000;
  const docs: { kind: string; doc: Doc }[] = [];
  const add = (kind: string, doc: Doc): void => void docs.push({ kind, doc });
  for (let i = opts.firstIndex ?? 0; docs.length < count; i++) {
    const t = start + Math.floor((docs.length / count) * spanMs);
    const h = pick(r, HOSTS);
    if (r() < 1 / attackEvery) {
      const k = Math.floor(r() * 4);
      const victim = pick(r, HOSTS);
      if (k === 0) add('attack', packetbeat(t, h, '45.33.32.156', 135, 'tcp', r, i));
      else if (k === 1) {
        add('attack', zeekConn(t, h.ip, victim.ip, eph(r), 135, r, i));
        add('attack', zeekConn(t + 200, h.ip, victim.ip, eph(r), eph(r), r, i + 1));
      } else if (k === 2) {
        // The connection's services.exe is the child's parent: the same entity id joins them.
        const connection = sysmonNetwork(
          t,
          victim,
          r,
          i,
          'C:\\Windows\\System32\\services.exe',
          victim.ip,
          0,
          true,
          h.ip,
        );
        const started = sysmonProcess(
          t + 300,
          victim,
          r,
          i + 1,
          'C:\\Windows\\Temp\\svc-update.exe',
          'C:\\Windows\\Temp\\svc-update.exe',
          PARENTS[2],
        );
        const services = (connection.process as Doc).entity_id;
        ((started.process as Doc).parent as Doc).entity_id = services;
        ((started.process as Doc).parent as Doc).pid = (connection.process as Doc).pid;
        add('attack', connection);
        add('attack', started);
      } else {
        for (let j = 0; j < 40; j++)
          add('attack', packetbeat(t + j * 50, HOSTS[(j * 7) % HOSTS.length]!, SERVERS[4]!, 3389, 'tcp', r, i + j));
      }
      continue;
    }
    const roll = r();
    if (roll < 0.4) {
      const p = r();
      if (p < 0.5) add('packetbeat', packetbeat(t, h, pick(r, INTERNET), 443, 'tcp', r, i));
      else if (p < 0.65) add('packetbeat', packetbeat(t, h, pick(r, DCS), 53, 'udp', r, i));
      else if (p < 0.78) add('packetbeat', packetbeat(t, h, pick(r, SERVERS), 445, 'tcp', r, i));
      else if (p < 0.86) add('packetbeat', packetbeat(t, h, pick(r, SERVERS), 80, 'tcp', r, i));
      else if (p < 0.92) add('packetbeat', packetbeat(t, h, pick(r, DCS), 88, 'tcp', r, i));
      else if (p < 0.97) add('packetbeat', packetbeat(t, h, pick(r, DCS), 389, 'tcp', r, i));
      else if (p < 0.985)
        add('packetbeat', packetbeat(t, HOSTS[Math.floor(r() * 8)]!, pick(r, SERVERS), 3389, 'tcp', r, i));
      else add('packetbeat', packetbeat(t, h, pick(r, DCS), 135, 'tcp', r, i));
    } else if (roll < 0.6) {
      const [exe, cmd] = pick(r, PROCESSES);
      add('sysmon_process', sysmonProcess(t, h, r, i, exe, cmd, pick(r, PARENTS.slice(0, 2))));
    } else if (roll < 0.7) {
      add('sysmon_network', sysmonNetwork(t, h, r, i, pick(r, PROCESSES)[0], pick(r, INTERNET), 443));
    } else if (roll < 0.8) add('defend_process', defendProcess(t, h, r, i));
    else if (roll < 0.95) {
      const dport = pick(r, [443, 445, 53, 88, 389, 80, 8080]);
      add('zeek_conn', zeekConn(t, h.ip, pick(r, dport === 443 ? INTERNET : SERVERS), eph(r), dport, r, i));
    } else if (roll < 0.98) add('zeek_dce_rpc', zeekDceRpc(t, h.ip, pick(r, DCS), r));
    else add('logon_4624', logon(t, h, r, i, 3, pick(r, SERVERS)));
  }
  const kinds: Record<string, number> = {};
  const lines: Buffer[] = [];
  const keys: string[] = [];
  let bytes = 0;
  for (const { kind, doc } of docs.slice(0, count)) {
    kinds[kind] = (kinds[kind] ?? 0) + 1;
    const b = Buffer.from(JSON.stringify(doc));
    bytes += b.length;
    lines.push(b);
    const host = doc.host as { id?: string } | undefined;
    keys.push(host?.id ?? String((doc.destination as { ip?: string } | undefined)?.ip ?? ''));
  }
  return { lines, keys, bytes, kinds };
}
