/**
 * The event stream of the scale test (bench/scaleTest.ts, test/integration/scaleOut.test.ts):
 * deterministic for a seed. Ten days of event time (from Monday 2024-01-01) of benign background
 * with near misses, plus attacks of all four kinds:
 *
 *   D1  a private host opens tcp/135 to a public address (stateless: one alert per event);
 *   D2  the endpoint mapper (tcp/135), then 0.2–1.8 s later a high-port-to-high-port flow between the
 *       same hosts (keyed by the source/destination pair);
 *   D3  services.exe on a Windows host accepts an incoming high-port connection, then 0.1–0.9 s later
 *       starts a child whose parent entity id is the connection's process (keyed by host.id);
 *   D4  RDP to a few servers: ten days of regular users (1-hour buckets, see SCALE_DETECTION_ENV),
 *       then on one day a fan-in of 30 new sources within ~20 minutes (keyed by destination.ip);
 *       the model learned from the days before flags it (as test/support/rdpTraffic.ts does).
 *
 * Events are sorted by time and every time is distinct (ties would leave the order of two events
 * on different partitions undefined). The producer writes them in that order, spread over the input
 * partitions round-robin (`partitionOf`), not keyed, as Beats do by default: the events of one
 * attack are neighbours in the stream, so they land on different partitions, and a detection that
 * only sees its own input partition (the `direct` topology) misses the correlations.
 */
import { rng } from '../../src/demo/sampleTraffic.js';

export const SCALE_HOUR = 3_600_000;
export const SCALE_DAY = 24 * SCALE_HOUR;
/** A Monday. */
export const SCALE_T0 = Date.parse('2024-01-01T00:00:00.000Z');
export const SCALE_SPAN_MS = 10 * SCALE_DAY;

/**
 * Detection settings of the scenario, as environment variables, for `run` and `replay` alike:
 * 1-hour D4 buckets so that ten days are enough history. Event times are in the past, so
 * ordering.maxAheadMs (bounded from the wall clock) never applies.
 */
export const SCALE_DETECTION_ENV: Readonly<Record<string, string>> = {
  PICKET_RDP_BUCKET_SPAN_MS: String(SCALE_HOUR),
};

export type ScaleEventKind =
  'background' | 'd1' | 'd2_mapper' | 'd2_endpoint' | 'd3_connection' | 'd3_child' | 'rdp_history' | 'rdp_spike';

export interface ScaleEvent {
  /** Event time, epoch ms. */
  readonly time: number;
  /** The Kafka record value / replay line. */
  readonly json: string;
  readonly kind: ScaleEventKind;
  /** The attack it belongs to (`d2#3`, `d4#10.20.0.11`), none for background. */
  readonly attack?: string;
}

export interface ScaleScenario {
  readonly seed: number;
  readonly events: readonly ScaleEvent[];
  /** Attacks per kind (D4: destinations with a fan-in). */
  readonly attacks: { readonly d1: number; readonly d2: number; readonly d3: number; readonly d4: number };
}

export interface ScaleScenarioOptions {
  readonly seed?: number;
  /** Total events, about (at least the attacks and the RDP history: ~1,300 with the defaults). */
  readonly events?: number;
  /** Attacks of each of D1, D2, D3 (default: one per 1,500 events, at least 4). */
  readonly attacksPerKind?: number;
  /** Servers with RDP history and a fan-in (default 2). */
  readonly rdpDestinations?: number;
}

/** Input partition of the i-th event of the stream: round-robin, as an unkeyed producer spreads. */
export function partitionOf(index: number, partitions: number): number {
  return index % partitions;
}

type Doc = Record<string, unknown>;

const iso = (t: number): string => new Date(t).toISOString();
const AGENT = { type: 'packetbeat', version: '8.17.0', name: 'sensor-01' };
const ECS = { version: '8.17.0' };
const INTERNET = ['93.184.215.14', '151.101.1.69', '140.82.121.4', '13.107.42.14', '142.250.74.46', '104.18.32.7'];
const SERVERS = ['10.10.0.5', '10.10.0.6', '10.10.1.20', '10.10.1.30', '10.10.2.40'];

interface Host {
  readonly id: string;
  readonly name: string;
  readonly ip: string;
}
const HOSTS: readonly Host[] = Array.from({ length: 200 }, (_, i) => ({
  id: `scale-host-${String(i).padStart(3, '0')}`,
  name: `ws-${String(i + 1).padStart(4, '0')}`,
  ip: `10.40.${i >> 6}.${20 + (i & 63)}`,
}));

function hostDoc(h: Host): Doc {
  return { id: h.id, name: h.name, hostname: h.name, ip: [h.ip], os: { type: 'windows', family: 'windows' } };
}

export function scaleScenario(opts: ScaleScenarioOptions = {}): ScaleScenario {
  const seed = opts.seed ?? 1;
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const eph = (): number => 49152 + Math.floor(r() * 16000);
  const hex = (n: number): string => {
    let s = '';
    for (let i = 0; i < n; i++) s += Math.floor(r() * 16).toString(16);
    return s;
  };
  const guid = (): string => `{${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}}`;
  const at = (lo: number, hi: number): number => Math.floor(lo + r() * (hi - lo));

  const raw: { time: number; doc: Doc; kind: ScaleEventKind; attack?: string }[] = [];
  const add = (time: number, doc: Doc, kind: ScaleEventKind, attack?: string): void => {
    raw.push({ time, doc, kind, ...(attack !== undefined ? { attack } : {}) });
  };
  const flow = (src: string, sport: number, dst: string, dport: number, dataset = 'zeek.connection'): Doc => ({
    event: { category: ['network'], type: ['connection'], dataset, kind: 'event' },
    network: { transport: 'tcp', protocol: dport === 135 ? 'dce_rpc' : undefined },
    source: { ip: src, port: sport },
    destination: { ip: dst, port: dport },
    agent: AGENT,
    ecs: ECS,
  });
  const servicesConnection = (h: Host, entity: string, src: string): Doc => ({
    event: { category: ['network'], type: ['connection', 'start'], code: '3', dataset: 'windows.sysmon_operational' },
    host: hostDoc(h),
    process: { name: 'services.exe', entity_id: entity, executable: 'C:\\Windows\\System32\\services.exe', pid: 700 },
    network: { direction: 'ingress', transport: 'tcp' },
    source: { ip: src, port: eph() },
    destination: { ip: h.ip, port: eph() },
    ecs: ECS,
  });
  const processStart = (h: Host, exe: string, parentName: string, parentEntity: string): Doc => ({
    event: { category: ['process'], type: ['start'], code: '1', dataset: 'windows.sysmon_operational' },
    host: hostDoc(h),
    process: {
      entity_id: guid(),
      name: exe.slice(exe.lastIndexOf('\\') + 1),
      executable: exe,
      args: [exe],
      command_line: exe,
      pid: 1000 + Math.floor(r() * 60000),
      parent: { name: parentName, entity_id: parentEntity },
    },
    user: { name: 'SYSTEM', domain: 'NT AUTHORITY' },
    ecs: ECS,
  });

  const perKind = opts.attacksPerKind ?? Math.max(4, Math.round((opts.events ?? 0) / 1500));
  const destinations = opts.rdpDestinations ?? 2;
  const margin = SCALE_HOUR;
  const attackTime = (): number => at(SCALE_T0 + margin, SCALE_T0 + SCALE_SPAN_MS - margin);

  // ---- D4: RDP history and one fan-in per destination ----------------------------------------
  let rdpN = 0;
  const rdp = (src: string, dst: string, time: number, kind: ScaleEventKind, attack?: string): void => {
    rdpN++;
    add(time, flow(src, 40000 + (rdpN % 20000), dst, 3389), kind, attack);
  };
  for (let k = 0; k < destinations; k++) {
    const dst = `10.20.0.${10 + k}`;
    const attack = `d4#${dst}`;
    // A weekday with at least three days of history before it, in working hours (as rdpTraffic's).
    const spike = SCALE_T0 + [4, 8, 3, 7][k % 4]! * SCALE_DAY + (10 + (k % 6)) * SCALE_HOUR;
    for (let d = 0; d < 10; d++) {
      for (let h = 0; h < 24; h++) {
        const start = SCALE_T0 + d * SCALE_DAY + h * SCALE_HOUR;
        if (start === spike) {
          for (let i = 0; i < 30; i++) {
            rdp(
              `10.${66 + k}.1.${i + 1}`,
              dst,
              start + Math.round((5 + i * 0.6) * 60_000) + k * 41,
              'rdp_spike',
              attack,
            );
          }
        }
        const work = d % 7 < 5 && h >= 8 && h < 18;
        if (!work && h % 3 !== 0) continue;
        const users = work ? 1 + (h % 2) : 1;
        for (let i = 0; i < users; i++) {
          const src = `10.20.${k + 1}.${((d * 7 + h + i) % 8) + 1}`;
          rdp(src, dst, start + ((i * 13 + h * 7 + k * 5) % 60) * 60_000 + i * 1000 + k * 37, 'rdp_history');
        }
      }
    }
  }

  // ---- D1: private host → public address, tcp/135 ----------------------------------------------
  for (let i = 0; i < perKind; i++) {
    const h = pick(HOSTS);
    add(attackTime(), flow(h.ip, eph(), pick(INTERNET), 135, 'network_traffic.flow'), 'd1', `d1#${i}`);
  }

  // ---- D2: mapper, then an endpoint flow between the same hosts within 2 s ------------------------
  for (let i = 0; i < perKind; i++) {
    const h = HOSTS[(i * 7 + 3) % HOSTS.length]!;
    const dst = `10.30.${i >> 8}.${i & 255}`; // a pair of its own: attacks never pair with each other
    const t = attackTime();
    add(t, flow(h.ip, eph(), dst, 135), 'd2_mapper', `d2#${i}`);
    add(t + at(200, 1800), flow(h.ip, eph(), dst, eph()), 'd2_endpoint', `d2#${i}`);
  }

  // ---- D3: services.exe accepts a connection, then starts a child within 1 s ---------------------
  for (let i = 0; i < perKind; i++) {
    const h = HOSTS[(i * 11 + 5) % HOSTS.length]!;
    const entity = guid();
    const t = attackTime();
    add(t, servicesConnection(h, entity, pick(SERVERS)), 'd3_connection', `d3#${i}`);
    const exe = `C:\\Windows\\Temp\\svc${hex(6)}.exe`;
    add(t + at(100, 900), processStart(h, exe, 'services.exe', entity), 'd3_child', `d3#${i}`);
  }

  // ---- background, with near misses ---------------------------------------------------------
  const background = Math.max(0, (opts.events ?? 0) - raw.length);
  for (let i = 0; i < background; i++) {
    const t = at(SCALE_T0, SCALE_T0 + SCALE_SPAN_MS);
    const h = pick(HOSTS);
    const roll = r();
    if (roll < 0.35) add(t, flow(h.ip, eph(), pick(INTERNET), 443, 'network_traffic.flow'), 'background');
    else if (roll < 0.45) add(t, flow(h.ip, eph(), pick(SERVERS), 445), 'background');
    else if (roll < 0.5) {
      // Endpoint mapper to a server, and an endpoint flow that comes too late (near miss for D2).
      add(t, flow(h.ip, eph(), pick(SERVERS.slice(0, 2)), 135), 'background');
      if (r() < 0.3) add(t + at(2500, 60_000), flow(h.ip, eph(), SERVERS[0]!, eph()), 'background');
    } else if (roll < 0.75) {
      const exe = pick(['C:\\Windows\\System32\\svchost.exe', 'C:\\Program Files\\App\\app.exe']);
      add(t, processStart(h, exe, pick(['explorer.exe', 'svchost.exe']), guid()), 'background');
    } else if (roll < 0.78) {
      // services.exe accepts a connection and starts nothing (near miss for D3).
      add(t, servicesConnection(h, guid(), pick(SERVERS)), 'background');
    } else if (roll < 0.8) {
      // A service child whose parent was never seen connecting (near miss for D3).
      add(t, processStart(h, 'C:\\Windows\\System32\\svchost.exe', 'services.exe', guid()), 'background');
    } else {
      add(t, flow(h.ip, eph(), pick(SERVERS), pick([53, 88, 389, 80])), 'background');
    }
  }

  raw.sort((a, b) => a.time - b.time);
  const events: ScaleEvent[] = [];
  let last = Number.NEGATIVE_INFINITY;
  raw.forEach((e, n) => {
    const time = Math.max(e.time, last + 1); // distinct times: a tie's order across partitions is undefined
    last = time;
    const doc: Doc = { '@timestamp': iso(time), ...e.doc };
    (doc.event as Doc).id = `scale-${seed}-${n}`;
    events.push({
      time,
      json: JSON.stringify(doc),
      kind: e.kind,
      ...(e.attack !== undefined ? { attack: e.attack } : {}),
    });
  });
  return { seed, events, attacks: { d1: perKind, d2: perKind, d3: perKind, d4: destinations } };
}

/** Attacks whose events landed on more than one input partition. */
export function splitAttacks(scenario: ScaleScenario, partitions: number): Set<string> {
  const seen = new Map<string, Set<number>>();
  scenario.events.forEach((e, i) => {
    if (e.attack === undefined) return;
    let s = seen.get(e.attack);
    if (s === undefined) seen.set(e.attack, (s = new Set()));
    s.add(partitionOf(i, partitions));
  });
  return new Set([...seen].filter(([, s]) => s.size > 1).map(([a]) => a));
}
