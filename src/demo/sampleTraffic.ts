/**
 * Sample traffic for `picket demo` and tests: ECS events as Beats would put them on Kafka, mostly
 * benign, with attacks mixed in. Deterministic for a given seed and start time.
 */
import type { JsonObject } from '../ecs/fields.js';

/** A small seeded PRNG (mulberry32): the same seed gives the same traffic. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Workstation {
  readonly id: string;
  readonly name: string;
  readonly ip: string;
}

export const WORKSTATIONS: readonly Workstation[] = Array.from({ length: 12 }, (_, i) => ({
  id: `demo-ws-${String(i + 1).padStart(2, '0')}`,
  name: `ws-${String(i + 1).padStart(2, '0')}.corp.example`,
  ip: `10.20.0.${i + 11}`,
}));

const SERVERS = [
  { name: 'dc-01.corp.example', ip: '10.20.1.5' },
  { name: 'files-01.corp.example', ip: '10.20.1.20' },
  { name: 'web-01.corp.example', ip: '10.20.1.30' },
];
const INTERNET = ['93.184.215.14', '151.101.1.69', '140.82.121.4', '13.107.42.14'];
/** Where the demo's attacker's RPC goes: a documentation-like but routable Internet address. */
export const ATTACKER_INTERNET_IP = '45.33.32.156';

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

function ephemeralPort(r: () => number): number {
  return 49152 + Math.floor(r() * 16000);
}

function flow(
  time: number,
  host: Workstation,
  dst: { ip: string; name?: string },
  port: number,
  transport: 'tcp' | 'udp',
  r: () => number,
  seq: number,
): JsonObject {
  const srcPort = ephemeralPort(r);
  const bytesOut = 200 + Math.floor(r() * 5000);
  const bytesIn = 400 + Math.floor(r() * 40000);
  return {
    '@timestamp': new Date(time).toISOString(),
    '@metadata': { beat: 'packetbeat', type: '_doc', version: '8.15.0' },
    event: {
      id: `pb-${seq}`,
      dataset: 'network_traffic.flow',
      kind: 'event',
      category: ['network'],
      type: ['connection'],
      action: 'network_flow',
      start: new Date(time - Math.floor(r() * 500)).toISOString(),
      end: new Date(time).toISOString(),
      duration: Math.floor(r() * 5e8),
    },
    flow: { id: `demo-${seq}-${host.id}`, final: true },
    network: {
      type: 'ipv4',
      transport,
      community_id: `1:demo${seq}`,
      bytes: bytesIn + bytesOut,
      packets: 8 + Math.floor(r() * 40),
    },
    source: { ip: host.ip, port: srcPort, bytes: bytesOut, packets: 4 },
    destination: { ip: dst.ip, port, bytes: bytesIn, packets: 6, ...(dst.name ? { domain: dst.name } : {}) },
    host: { id: host.id, name: host.name, hostname: host.name.split('.')[0], os: { type: 'windows' } },
    agent: { type: 'packetbeat', version: '8.15.0', name: host.name },
    ecs: { version: '8.0.0' },
  };
}

function sysmonBase(time: number, host: Workstation, seq: number): JsonObject {
  return {
    '@timestamp': new Date(time).toISOString(),
    '@metadata': { beat: 'winlogbeat', type: '_doc', version: '7.17.0' },
    event: { module: 'sysmon', id: `demo-${seq}` },
    host: { id: host.id, name: host.name, hostname: host.name.split('.')[0], os: { type: 'windows' } },
    agent: { type: 'winlogbeat', version: '7.17.0', name: host.name },
    winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', computer_name: host.name },
  };
}

const SERVICES_GUID = (host: Workstation): string => `{7d3f1a2b-0001-5f00-0b00-${host.id.slice(-2).padStart(12, '0')}}`;

/** Sysmon 3: services.exe accepts an inbound connection on a dynamic port (stage 1 of D3). */
function servicesInbound(time: number, host: Workstation, from: string, r: () => number, seq: number): JsonObject {
  const e = sysmonBase(time, host, seq);
  e.event = { ...(e.event as JsonObject), code: '3', category: ['network'], type: ['connection', 'start', 'protocol'] };
  e.process = {
    entity_id: SERVICES_GUID(host),
    pid: 672,
    executable: 'C:\\Windows\\System32\\services.exe',
    name: 'services.exe',
  };
  e.network = { direction: 'ingress', transport: 'tcp', type: 'ipv4' };
  e.source = { ip: from, port: ephemeralPort(r) };
  e.destination = { ip: host.ip, port: 49668 + Math.floor(r() * 8) };
  return e;
}

/** Sysmon 1: a process started by services.exe (stage 2 of D3 unless excluded). */
function serviceChild(time: number, host: Workstation, executable: string, seq: number): JsonObject {
  const e = sysmonBase(time, host, seq);
  const name = executable.split('\\').pop()!;
  e.event = { ...(e.event as JsonObject), code: '1', category: ['process'], type: ['start', 'process_start'] };
  e.process = {
    entity_id: `{7d3f1a2b-${seq.toString(16).slice(-4).padStart(4, '0')}-5f00-0c00-000000000000}`,
    pid: 4000 + (seq % 1000),
    executable,
    name,
    command_line: executable,
    args: [executable],
    parent: { entity_id: SERVICES_GUID(host), name: 'services.exe', executable: 'C:\\Windows\\System32\\services.exe' },
  };
  e.user = { name: 'SYSTEM', domain: 'NT AUTHORITY' };
  return e;
}

export interface TrafficOptions {
  seed?: number;
  /** One attack among this many events, on average. */
  attackEvery?: number;
}

/**
 * Generates `count` events at times spread over [start, start + spanMs). Attacks are labelled in
 * `labels.demo_attack` so that a reader of the demo can tell them apart.
 */
export function generateTraffic(start: number, spanMs: number, count: number, opts: TrafficOptions = {}): JsonObject[] {
  const r = rng(opts.seed ?? 1);
  const attackEvery = opts.attackEvery ?? 400;
  const out: JsonObject[] = [];
  for (let i = 0; i < count; i++) {
    const time = start + Math.floor((i / Math.max(1, count)) * spanMs);
    const host = pick(r, WORKSTATIONS);
    const seq = start + i;
    if (r() < 1 / attackEvery) {
      out.push(...attack(time, host, r, seq));
      continue;
    }
    const roll = r();
    if (roll < 0.45) out.push(flow(time, host, { ip: pick(r, INTERNET) }, 443, 'tcp', r, seq));
    else if (roll < 0.65) out.push(flow(time, host, SERVERS[0]!, 53, 'udp', r, seq));
    else if (roll < 0.8) out.push(flow(time, host, SERVERS[1]!, 445, 'tcp', r, seq));
    // Internal RPC: port 135 to the domain controller is normal and must not alert.
    else if (roll < 0.9) out.push(flow(time, host, SERVERS[0]!, 135, 'tcp', r, seq));
    else if (roll < 0.97) out.push(flow(time, host, SERVERS[2]!, 80, 'tcp', r, seq));
    // services.exe starting an excluded service binary, with no inbound connection: no alert.
    else out.push(serviceChild(time, host, 'C:\\Windows\\System32\\svchost.exe', seq));
  }
  return out;
}

/** One attack, of one of the kinds picket detects, labelled in `labels.demo_attack`. */
function attack(time: number, host: Workstation, r: () => number, n: number): JsonObject[] {
  const seq = n * 10; // room for the attack's several events without colliding with other ids
  const kind = r();
  let events: JsonObject[];
  let label: string;
  if (kind < 0.4) {
    label = 'rpc_to_internet';
    events = [flow(time, host, { ip: ATTACKER_INTERNET_IP }, 135, 'tcp', r, seq)];
  } else if (kind < 0.7) {
    // Lateral movement over RPC: the endpoint mapper, then a dynamic-port connection 300 ms later.
    label = 'rpc_pairing';
    const victim = pick(
      r,
      WORKSTATIONS.filter((w) => w !== host),
    );
    const mapper = flow(time, host, { ip: victim.ip }, 135, 'tcp', r, seq);
    const endpoint = flow(time + 300, host, { ip: victim.ip }, 49152 + Math.floor(r() * 1000), 'tcp', r, seq + 1);
    (endpoint.source as JsonObject).port = 49152 + Math.floor(r() * 16000);
    delete (endpoint.event as JsonObject).start;
    delete (mapper.event as JsonObject).start;
    events = [mapper, endpoint];
  } else {
    // A service created remotely (PsExec-like): services.exe accepts a connection, then starts a binary.
    label = 'remote_services';
    const attacker = pick(
      r,
      WORKSTATIONS.filter((w) => w !== host),
    );
    events = [
      servicesInbound(time, host, attacker.ip, r, seq),
      serviceChild(time + 250, host, 'C:\\Windows\\Temp\\updater.exe', seq + 1),
    ];
  }
  for (const e of events) e.labels = { demo_attack: label };
  return events;
}
