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
      const e = flow(time, host, { ip: ATTACKER_INTERNET_IP }, 135, 'tcp', r, seq);
      e.labels = { demo_attack: 'rpc_to_internet' };
      out.push(e);
      continue;
    }
    const roll = r();
    if (roll < 0.45) out.push(flow(time, host, { ip: pick(r, INTERNET) }, 443, 'tcp', r, seq));
    else if (roll < 0.65) out.push(flow(time, host, SERVERS[0]!, 53, 'udp', r, seq));
    else if (roll < 0.8) out.push(flow(time, host, SERVERS[1]!, 445, 'tcp', r, seq));
    // Internal RPC: port 135 to the domain controller is normal and must not alert.
    else if (roll < 0.9) out.push(flow(time, host, SERVERS[0]!, 135, 'tcp', r, seq));
    else out.push(flow(time, host, SERVERS[2]!, 80, 'tcp', r, seq));
  }
  return out;
}
