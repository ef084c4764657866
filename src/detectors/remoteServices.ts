/**
 * D3 · Remotely Started Services via RPC — Elastic rule aa9a274d-…, an EQL sequence: an inbound
 * high-port TCP connection to services.exe, then within 1 s a process that this services.exe
 * starts. Ported as detections.md specifies, with EQL's state machine (reference/rules.md §C.2):
 *
 * * State is per join key (`host.id`, services.exe's entity id). A child pairs with the most recent
 *   connection strictly before it in the engine order (time, `event.sequence`, arrival); that
 *   connection and every older one of the key are consumed, whether or not the 1 s span holds, as
 *   EQL's `trimBefore` does. A second child needs a newer connection.
 * * Events come in order, except late ones (older than the watermark). A late child looks for the
 *   most recent held connection strictly before it. A late connection is stored in its place in
 *   the order, unless an EQL pairing later than it already happened for the key: EQL would have
 *   consumed it with that pairing (as the partner or as an older one), and storing it would let it
 *   pair with a second child. A connection more than 1 s behind the watermark is not stored.
 * * Optional clock-skew tolerance N (off by default; datasets README quirk 3: a Sysmon child
 *   logged 15 ms before its connection). It is an overlay that only adds pairs: a child that EQL
 *   left unpaired is held until the watermark passes child.time + N, and a connection of the same
 *   key at most N ms after it (or at the same time but later in the order) pairs with the earliest
 *   such held child; the alert fires when the connection arrives. That connection stays in EQL's
 *   state, so EQL's own alerts are exactly those without the tolerance. Each connection serves at
 *   most one held child (the earliest first, which pairs the most children when several wait).
 *   With N = 0 nothing is held and the behaviour is exactly EQL's.
 */
import { compareEvents, type EcsEvent } from '../ecs/event.js';
import { field, isJsonObject, type FieldPath, type JsonObject } from '../ecs/fields.js';
import { ipEquals, ips, parseIp, type Ip } from '../ecs/ip.js';
import type { Interest } from '../ecs/interest.js';
import { pickSubtrees } from '../ecs/nest.js';
import { firstKeyword, keywordEquals, keywords, toNumber } from '../ecs/values.js';
import { compileWildcard, compileWildcardList, keywordMatches } from '../ecs/wildcard.js';
import type { Detection, DetectionContext, Emit, StateLimits } from './detection.js';
import type { RuleMeta } from './rule.js';

export const REMOTE_SERVICES_RULE: RuleMeta = {
  id: 'aa9a274d-6b53-424d-ac5e-cb8ca4251650',
  name: 'Remotely Started Services via RPC',
  description:
    'Identifies remote execution of Windows services over remote procedure call (RPC). This could be ' +
    'indicative of lateral movement, but will be noisy if commonly done by administrators.',
  severity: 'medium',
  riskScore: 47,
  version: '218',
  author: ['Elastic', 'picket'],
  license: 'Elastic License v2',
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/windows/lateral_movement_remote_services.toml',
    // The rule's own references, as reference/rules.md §A.2 quotes them.
    'https://docs.microsoft.com/en-us/openspecs/windows_protocols/ms-scmr/705b624a-13de-43cc-b8a2-99573da3635f',
    'https://www.elastic.co/security-labs/elastic-protects-against-data-wiper-malware-targeting-ukraine-hermeticwiper',
  ],
  threat: [
    {
      tactic: { id: 'TA0008', name: 'Lateral Movement' },
      techniques: [{ id: 'T1021', name: 'Remote Services' }],
    },
    {
      tactic: { id: 'TA0002', name: 'Execution' },
      techniques: [
        { id: 'T1569', name: 'System Services', subtechniques: [{ id: 'T1569.002', name: 'Service Execution' }] },
      ],
    },
  ],
};

/** `maxspan=1s`, inclusive. */
export const MAX_SPAN_MS = 1000;
/** Both ports of the connection must be in the dynamic range (`>= 49152`). */
export const DYNAMIC_PORT_MIN = 49152;

/** `process.executable` exclusions of seed 003, in its order, EQL-unescaped (Pella's is listed twice there). */
export const EXCLUDED_EXECUTABLES = [
  '?:\\Pella Corporation\\OSCToGPAutoService\\OSCToGPAutoSvc.exe',
  '?:\\Pella Corporation\\Pella Order Management\\GPAutoSvc.exe',
  '?:\\Pella Corporation\\Pella Order Management\\GPAutoSvc.exe',
  '?:\\Program Files (x86)\\*.exe',
  '?:\\Program Files\\*.exe',
  '?:\\Windows\\ADCR_Agent\\adcrsvc.exe',
  '?:\\Windows\\AdminArsenal\\PDQ*.exe',
  '?:\\Windows\\CAInvokerService.exe',
  '?:\\Windows\\ccmsetup\\ccmsetup.exe',
  '?:\\Windows\\eset-remote-install-service.exe',
  '?:\\Windows\\ProPatches\\Scheduler\\STSchedEx.exe',
  '?:\\Windows\\PSEXESVC.EXE',
  '?:\\Windows\\RemoteAuditService.exe',
  '?:\\Windows\\servicing\\TrustedInstaller.exe',
  '?:\\Windows\\System32\\certsrv.exe',
  '?:\\Windows\\System32\\sppsvc.exe',
  '?:\\Windows\\System32\\srmhost.exe',
  '?:\\Windows\\System32\\svchost.exe',
  '?:\\Windows\\System32\\taskhostex.exe',
  '?:\\Windows\\System32\\upfc.exe',
  '?:\\Windows\\System32\\vds.exe',
  '?:\\Windows\\System32\\VSSVC.exe',
  '?:\\Windows\\System32\\wbem\\WmiApSrv.exe',
  '?:\\Windows\\SysWOW64\\NwxExeSvc\\NwxExeSvc.exe',
  '?:\\Windows\\Veeam\\Backup\\VeeamDeploymentSvc.exe',
  '?:\\Windows\\VeeamLogShipper\\VeeamLogShipper.exe',
  '?:\\Windows\\VeeamVssSupport\\VeeamGuestHelper.exe',
] as const;

/** The msiexec exclusion: `process.executable : MSIEXEC and process.args : "/V"`. */
export const MSIEXEC_EXECUTABLE = '?:\\Windows\\System32\\msiexec.exe';
export const MSIEXEC_ARG = '/V';

const SERVICES_EXE = 'services.exe';
const isServicesExe = compileWildcard(SERVICES_EXE);
const WINDOWS = { field: 'host.os.type', op: 'keyword_eq', value: 'windows' } as const;
const isInbound = compileWildcardList(['incoming', 'ingress']);
const isExcludedExecutable = compileWildcardList(EXCLUDED_EXECUTABLES);
const isMsiexec = compileWildcard(MSIEXEC_EXECUTABLE);
const isMsiexecArg = compileWildcard(MSIEXEC_ARG);
const LOOPBACKS: readonly Ip[] = [parseIp('127.0.0.1')!, parseIp('::1')!];

const HOST_OS_TYPE = field('host.os.type');
const HOST_ID = field('host.id');
const EVENT_TYPE = field('event.type');
const NETWORK_TRANSPORT = field('network.transport');
const NETWORK_DIRECTION = field('network.direction');
const SOURCE_PORT = field('source.port');
const DESTINATION_PORT = field('destination.port');
const SOURCE_IP = field('source.ip');
const PROCESS_NAME = field('process.name');
const PROCESS_ENTITY_ID = field('process.entity_id');
const PROCESS_EXECUTABLE = field('process.executable');
const PROCESS_ARGS = field('process.args');
const PARENT_NAME = field('process.parent.name');
const PARENT_ENTITY_ID = field('process.parent.entity_id');
const CHILD_ENTITIES = ['host', 'process', 'user'] as const;
const CONNECTION_ENTITIES = ['host', 'source', 'destination', 'network'] as const;

const NETWORK = 1;
const PROCESS = 2;

function categoryBits(v: unknown): number {
  if (typeof v === 'string') return v === 'network' ? NETWORK : v === 'process' ? PROCESS : 0;
  if (!Array.isArray(v)) return 0;
  let bits = 0;
  for (const x of v) bits |= categoryBits(x);
  return bits;
}

function categoryBitsUnderEvent(v: unknown): number {
  if (isJsonObject(v)) return categoryBits(v['category']);
  if (!Array.isArray(v)) return 0;
  let bits = 0;
  for (const x of v) bits |= categoryBitsUnderEvent(x);
  return bits;
}

/**
 * Which stages `event.category` allows. This runs on every event, and most are neither stage, so it
 * reads the only two layouts a two-segment path has (`event.category` nested or dotted, arrays
 * anywhere, as FieldPath reads them) without FieldPath's allocation.
 */
function stageCategories(doc: JsonObject): number {
  return categoryBitsUnderEvent(doc['event']) | categoryBits(doc['event.category']);
}

/** `field >= min` on a numeric field: any element (number or numeric string). */
function anyNumberAtLeast(doc: JsonObject, path: FieldPath, min: number): boolean {
  for (const v of path.values(doc)) {
    const n = toNumber(v);
    if (n !== undefined && n >= min) return true;
  }
  return false;
}

/** EQL `by` keys: keyword equality, case-sensitive; a missing key never joins (the first value of an array). */
function joinKey(doc: JsonObject, entityPath: FieldPath): string | undefined {
  const host = firstKeyword(doc, HOST_ID);
  const entity = firstKeyword(doc, entityPath);
  if (host === undefined || entity === undefined) return undefined;
  // The length prefix keeps the pair injective whatever characters the values hold.
  return `${host.length}:${host}${entity}`;
}

/** Stage 1, after the category and OS checks; cheapest and most selective first. */
export function isServicesConnection(doc: JsonObject): boolean {
  if (!keywordEquals(doc, NETWORK_TRANSPORT, 'tcp')) return false;
  if (!anyNumberAtLeast(doc, SOURCE_PORT, DYNAMIC_PORT_MIN)) return false;
  if (!anyNumberAtLeast(doc, DESTINATION_PORT, DYNAMIC_PORT_MIN)) return false;
  if (!keywordMatches(doc, PROCESS_NAME, isServicesExe)) return false;
  if (!keywordMatches(doc, NETWORK_DIRECTION, isInbound)) return false;
  // Negated: a missing or unparsable source.ip passes; any loopback element fails.
  for (const ip of ips(doc, SOURCE_IP)) if (LOOPBACKS.some((l) => ipEquals(ip, l))) return false;
  return true;
}

/** Stage 2, after the category and OS checks. */
export function isServiceChild(doc: JsonObject): boolean {
  if (!keywordEquals(doc, EVENT_TYPE, 'start')) return false;
  if (!keywordMatches(doc, PARENT_NAME, isServicesExe)) return false;
  // Negated, so a missing executable passes, and any excluded element fails.
  const executables = keywords(doc, PROCESS_EXECUTABLE);
  if (executables.some(isExcludedExecutable)) return false;
  return !(executables.some(isMsiexec) && keywordMatches(doc, PROCESS_ARGS, isMsiexecArg));
}

interface HeldConnection {
  readonly event: EcsEvent;
  /** Already paired with a held child by the skew overlay (each connection serves one). */
  usedBySkew: boolean;
}

interface KeyState {
  readonly key: string;
  /** EQL's pending stage-1 events, in engine order. */
  readonly connections: HeldConnection[];
  /** Children EQL left unpaired, held for the skew tolerance only, in engine order. */
  readonly children: EcsEvent[];
  /** The child of the key's latest EQL pairing: a late connection before it was consumed. */
  consumedThrough: EcsEvent | undefined;
  /** The event time after which the earliest of the above is no longer needed (the heap's order). */
  expiry: number;
  heapIndex: number;
}

export interface RemoteServicesOptions {
  /**
   * Lets a child precede its connection by up to this many ms. 0 is EQL exactly; the default is
   * the context's `settings.clockSkewToleranceMs`, itself 0 unless configured.
   */
  readonly clockSkewToleranceMs?: number;
}

export class RemoteServicesDetector implements Detection {
  readonly rule = REMOTE_SERVICES_RULE;
  readonly key = 'remote_services';
  readonly ordered = true;
  private readonly skewMs: number;
  private readonly limits: StateLimits;
  private readonly countEviction: DetectionContext['countEviction'];
  /** Map order is use order: the first key is the least recently used. */
  private readonly keys = new Map<string, KeyState>();
  private readonly expiries = new ExpiryHeap();
  private lastUsedKey: string | undefined;
  private held = 0;
  private watermark = -Infinity;

  constructor(ctx: DetectionContext, opts: RemoteServicesOptions = {}) {
    // The option wins (tests, embedding); else the configured `detections.*` setting; else off.
    const skew = opts.clockSkewToleranceMs ?? ctx.settings?.clockSkewToleranceMs ?? 0;
    if (!Number.isFinite(skew) || skew < 0) throw new RangeError(`clockSkewToleranceMs must be >= 0, not ${skew}`);
    const { maxKeys, maxEntriesPerKey } = ctx.limits;
    if (!(maxKeys >= 1 && maxEntriesPerKey >= 1)) throw new RangeError('state limits must be at least 1');
    this.skewMs = skew;
    this.limits = ctx.limits;
    this.countEviction = ctx.countEviction;
  }

  /**
   * Necessary conditions of stagesOf(): a Windows service child (stage 2), or a services.exe tcp
   * connection between dynamic ports (stage 1).
   */
  readonly interest: Interest = [
    [
      WINDOWS,
      { field: 'event.type', op: 'keyword_eq', value: 'start' },
      { field: 'process.parent.name', op: 'keyword_eq_ci', value: SERVICES_EXE },
    ],
    [
      WINDOWS,
      { field: 'network.transport', op: 'keyword_eq', value: 'tcp' },
      { field: 'process.name', op: 'keyword_eq_ci', value: SERVICES_EXE },
      { field: 'source.port', op: 'number_gte', value: DYNAMIC_PORT_MIN },
      { field: 'destination.port', op: 'number_gte', value: DYNAMIC_PORT_MIN },
    ],
  ];

  /**
   * Exactly the events onEvent acts on: a Windows service child or services.exe connection. Any
   * other network or process event changes nothing, so it is not held in the reorder buffer (most
   * of a real stream is network and process events).
   */
  wants(event: EcsEvent): boolean {
    return this.stagesOf(event.doc) !== 0;
  }

  readonly keyedBy = 'host';

  /** host.id of a stage event: both stages' join keys begin with it; without one nothing joins. */
  routeKey(event: EcsEvent): string | undefined {
    if (this.stagesOf(event.doc) === 0) return undefined;
    return firstKeyword(event.doc, HOST_ID);
  }

  onEvent(event: EcsEvent, emit: Emit): void {
    const doc = event.doc;
    const stages = this.stagesOf(doc);
    // An event in both categories is tried as a child first: it cannot pair with itself either way.
    if ((stages & PROCESS) !== 0) {
      const key = joinKey(doc, PARENT_ENTITY_ID);
      if (key !== undefined) this.onChild(event, key, emit);
    }
    if ((stages & NETWORK) !== 0) {
      const key = joinKey(doc, PROCESS_ENTITY_ID);
      if (key !== undefined) this.onConnection(event, key, emit);
    }
  }

  /** The stages the event can be: PROCESS if a service child, NETWORK if a services.exe connection. */
  private stagesOf(doc: JsonObject): number {
    const categories = stageCategories(doc);
    if (categories === 0 || !keywordEquals(doc, HOST_OS_TYPE, 'windows')) return 0;
    let stages = 0;
    if ((categories & PROCESS) !== 0 && isServiceChild(doc)) stages |= PROCESS;
    if ((categories & NETWORK) !== 0 && isServicesConnection(doc)) stages |= NETWORK;
    return stages;
  }

  onWatermark(watermark: number): void {
    if (!(watermark > this.watermark)) return;
    this.watermark = watermark;
    for (let s = this.expiries.peek(); s !== undefined && s.expiry < watermark; s = this.expiries.peek()) {
      this.prune(s);
    }
  }

  /** A scan: pruning keeps the state to about a second of connections, and this runs per commit, not per event. */
  oldestHeldArrival(): number | undefined {
    let oldest: number | undefined;
    for (const s of this.keys.values()) {
      for (const c of s.connections) if (oldest === undefined || c.event.arrival < oldest) oldest = c.event.arrival;
      for (const c of s.children) if (oldest === undefined || c.arrival < oldest) oldest = c.arrival;
    }
    return oldest;
  }

  stateSize(): number {
    return this.held;
  }

  private onChild(child: EcsEvent, key: string, emit: Emit): void {
    const state = this.keys.get(key);
    if (state !== undefined) {
      this.use(key, state);
      const conns = state.connections;
      let i = conns.length - 1;
      while (i >= 0 && compareEvents(conns[i]!.event, child) >= 0) i--;
      if (i >= 0) {
        const partner = conns[i]!.event;
        conns.splice(0, i + 1);
        this.held -= i + 1;
        if (child.time - partner.time <= MAX_SPAN_MS) {
          this.emitPair(partner, child, emit);
          const last = state.consumedThrough;
          if (last === undefined || compareEvents(child, last) > 0) state.consumedThrough = child;
          this.settle(state);
          return;
        }
      }
    }
    if (this.skewMs > 0) this.onUnpairedChild(child, key, state, emit);
    else if (state !== undefined) this.settle(state);
  }

  /** The skew overlay for a child EQL did not pair. */
  private onUnpairedChild(child: EcsEvent, key: string, existing: KeyState | undefined, emit: Emit): void {
    // Only a late child can find a held connection after it; in order, all are before it.
    for (const c of existing?.connections ?? []) {
      if (!c.usedBySkew && compareEvents(c.event, child) > 0 && c.event.time - child.time <= this.skewMs) {
        c.usedBySkew = true;
        this.emitPair(c.event, child, emit);
        this.settle(existing!);
        return;
      }
    }
    if (child.time + this.skewMs < this.watermark) {
      if (existing !== undefined) this.settle(existing);
      return;
    }
    const state = existing ?? this.createKey(key);
    insertInOrder(state.children, child, (e) => e);
    this.held++;
    if (state.children.length > this.limits.maxEntriesPerKey) {
      state.children.shift();
      this.held--;
      this.countEviction('max_entries_per_key', 1);
    }
    this.settle(state);
  }

  private onConnection(conn: EcsEvent, key: string, emit: Emit): void {
    let state = this.keys.get(key);
    if (state?.consumedThrough !== undefined && compareEvents(conn, state.consumedThrough) < 0) return;
    let usedBySkew = false;
    if (state !== undefined && this.skewMs > 0) {
      const children = state.children;
      for (let i = 0; i < children.length; i++) {
        const child = children[i]!;
        if (compareEvents(child, conn) < 0 && conn.time - child.time <= this.skewMs) {
          children.splice(i, 1);
          this.held--;
          usedBySkew = true;
          this.emitPair(conn, child, emit);
          break;
        }
      }
    }
    if (conn.time + MAX_SPAN_MS < this.watermark) {
      // No child still to come in order can be within 1 s of it.
      if (state !== undefined) this.settle(state);
      return;
    }
    state ??= this.createKey(key);
    this.use(key, state);
    insertInOrder(state.connections, { event: conn, usedBySkew }, (c) => c.event);
    this.held++;
    if (state.connections.length > this.limits.maxEntriesPerKey) {
      state.connections.shift();
      this.held--;
      this.countEviction('max_entries_per_key', 1);
    }
    this.settle(state);
  }

  private emitPair(conn: EcsEvent, child: EcsEvent, emit: Emit): void {
    const entities = pickSubtrees(child.doc, CHILD_ENTITIES);
    const fromConnection = pickSubtrees(conn.doc, CONNECTION_ENTITIES);
    for (const k of CONNECTION_ENTITIES) {
      const v = fromConnection[k];
      // The host is the child's; the connection's stands in only when the child has none.
      if (v !== undefined && (k !== 'host' || entities.host === undefined)) entities[k] = v;
    }
    const details: JsonObject = { connection_to_child_ms: child.time - conn.time };
    const servicesEntityId = firstKeyword(conn.doc, PROCESS_ENTITY_ID);
    if (servicesEntityId !== undefined) details.services_entity_id = servicesEntityId;
    // With the clock-skew tolerance the connection can come after the child in event order: the
    // later of the two is the one whose arrival completed the alert.
    const trigger = compareEvents(conn, child) > 0 ? conn : child;
    emit({ rule: this.rule, events: [conn, child], trigger, entities, details });
  }

  private use(key: string, state: KeyState): void {
    if (this.lastUsedKey === key) return;
    this.keys.delete(key);
    this.keys.set(key, state);
    this.lastUsedKey = key;
  }

  private createKey(key: string): KeyState {
    if (this.keys.size >= this.limits.maxKeys) {
      const lru = this.keys.values().next().value as KeyState;
      const dropped = lru.connections.length + lru.children.length;
      this.dropKey(lru);
      this.held -= dropped;
      // A key that held only its consumption marker drops no event.
      if (dropped > 0) this.countEviction('max_keys', dropped);
    }
    const state: KeyState = {
      key,
      connections: [],
      children: [],
      consumedThrough: undefined,
      expiry: Infinity,
      heapIndex: -1,
    };
    this.keys.set(key, state);
    this.lastUsedKey = key;
    return state;
  }

  private dropKey(state: KeyState): void {
    this.keys.delete(state.key);
    this.expiries.remove(state);
    if (this.lastUsedKey === state.key) this.lastUsedKey = undefined;
  }

  /**
   * Expiry, not eviction. A connection is needed while a child still to come (time >= watermark)
   * can be within 1 s of it. The tolerance does not lengthen that: it lets a child come before its
   * connection, not after. A held child is needed while a connection up to N ms after it can come;
   * the consumption marker while a late connection before it could still be stored.
   */
  private prune(state: KeyState): void {
    const w = this.watermark;
    const conns = state.connections;
    let n = 0;
    while (n < conns.length && conns[n]!.event.time + MAX_SPAN_MS < w) n++;
    conns.splice(0, n);
    let m = 0;
    while (m < state.children.length && state.children[m]!.time + this.skewMs < w) m++;
    state.children.splice(0, m);
    this.held -= n + m;
    if (state.consumedThrough !== undefined && state.consumedThrough.time + MAX_SPAN_MS < w) {
      state.consumedThrough = undefined;
    }
    this.settle(state);
  }

  /** After any change to a key: drop it when it holds nothing, else re-place it in the expiry heap. */
  private settle(state: KeyState): void {
    const c = state.connections[0];
    const h = state.children[0];
    const expiry = Math.min(
      c === undefined ? Infinity : c.event.time + MAX_SPAN_MS,
      h === undefined ? Infinity : h.time + this.skewMs,
      state.consumedThrough === undefined ? Infinity : state.consumedThrough.time + MAX_SPAN_MS,
    );
    if (expiry === Infinity) {
      this.dropKey(state);
      return;
    }
    state.expiry = expiry;
    this.expiries.place(state);
  }
}

/** Inserts into a list kept in engine order; in-order input appends without scanning. */
function insertInOrder<T>(list: T[], item: T, eventOf: (t: T) => EcsEvent): void {
  const e = eventOf(item);
  let i = list.length;
  while (i > 0 && compareEvents(eventOf(list[i - 1]!), e) > 0) i--;
  list.splice(i, 0, item);
}

/**
 * Keys by their next expiry, smallest first. Each key knows its index, so re-placing or removing
 * one is O(log keys) and the heap never holds more than the keys: a watermark step costs nothing
 * when nothing expires.
 */
class ExpiryHeap {
  private readonly items: KeyState[] = [];

  peek(): KeyState | undefined {
    return this.items[0];
  }

  /** Adds the key, or moves it after its expiry changed. */
  place(s: KeyState): void {
    if (s.heapIndex < 0) {
      s.heapIndex = this.items.length;
      this.items.push(s);
    }
    this.siftDown(this.siftUp(s.heapIndex));
  }

  remove(s: KeyState): void {
    const i = s.heapIndex;
    if (i < 0) return;
    s.heapIndex = -1;
    const last = this.items.pop()!;
    if (last === s) return;
    this.items[i] = last;
    last.heapIndex = i;
    this.siftDown(this.siftUp(i));
  }

  private siftUp(i: number): number {
    const items = this.items;
    const s = items[i]!;
    while (i > 0) {
      const parent = (i - 1) >>> 1;
      const p = items[parent]!;
      if (p.expiry <= s.expiry) break;
      items[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    items[i] = s;
    s.heapIndex = i;
    return i;
  }

  private siftDown(i: number): void {
    const items = this.items;
    const n = items.length;
    const s = items[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && items[r]!.expiry < items[l]!.expiry ? r : l;
      const child = items[c]!;
      if (s.expiry <= child.expiry) break;
      items[i] = child;
      child.heapIndex = i;
      i = c;
    }
    items[i] = s;
    s.heapIndex = i;
  }
}
