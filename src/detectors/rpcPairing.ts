/**
 * D2 · RPC endpoint-mapper pairing — MITRE CAR-2014-05-001 "RPC Activity", as detections.md
 * specifies: a tcp flow to the endpoint mapper (port 135) followed, strictly within 2 s, by a flow
 * between two dynamic ports (both ≥ 49152) with the same source and destination addresses. One
 * alert per such endpoint flow, naming the most recent mapper flow before it.
 *
 * The join is on flow time (event.start, else event time), not on arrival. Zeek writes a
 * connection when it ends, and Packetbeat reports the flows active in a period together, under one
 * @timestamp, so either side may be processed first:
 * - mapper flows are held per (source, destination) for `mapperRetentionMs` of event time; an
 *   endpoint flow looks up the newest one in (E.time − 2 s, E.time) and alerts at once;
 * - an endpoint flow that finds none waits, for the same retention, for a mapper flow processed
 *   after it; such a mapper alerts for every waiting endpoint flow it pairs with.
 * Within retention the endpoint flows that alert therefore do not depend on processing order, nor
 * does the mapper flow each names, with one exception: when an endpoint flow has several partners
 * and the most recent is processed after it, the endpoint flow has already alerted with the most
 * recent partner processed before it. Alerts are emitted from onEvent and never taken back.
 *
 * A flow reported several times (Packetbeat's periodic reports share `flow.id`) counts once: the
 * first report processed. Its identity is `flow.id` plus orientation, because NetFlow reports the
 * two directions of a connection under one id, and those are two flows.
 */
import { compareEvents, type EcsEvent } from '../ecs/event.js';
import { field, isJsonObject, type FieldPath, type JsonObject } from '../ecs/fields.js';
import { firstIp, formatIp, parseIp } from '../ecs/ip.js';
import { pickSubtrees } from '../ecs/nest.js';
import { formatEventTime, parseEventTime } from '../ecs/time.js';
import {
  firstKeyword,
  firstNumber,
  keywordEquals,
  keywordIn,
  keywords,
  numbers,
  toKeyword,
  toNumber,
} from '../ecs/values.js';
import { KeyedWindowStore, type TimedEntry } from '../state/keyedWindowStore.js';
import type { Interest } from '../ecs/interest.js';
import type { Detection, DetectionContext, DetectionSettings, Emit, Finding } from './detection.js';
import type { RuleMeta } from './rule.js';

export const RPC_PAIRING_RULE: RuleMeta = {
  id: 'CAR-2014-05-001',
  name: 'RPC Activity',
  description:
    'A connection to the RPC endpoint mapper (TCP 135) was followed within 2 seconds by a connection between ' +
    'the same two hosts on dynamic ports (both ≥ 49152): a Microsoft RPC call reaching its endpoint. RPC is ' +
    'common and mostly benign (clients to domain controllers); peer-to-peer RPC between workstations often ' +
    'indicates lateral movement (remote services, scheduled tasks, WMI).',
  severity: 'medium',
  riskScore: 47,
  // CAR analytics carry no version (the yaml's only date is submission_date 2014/05/01): the first.
  version: '1',
  author: ['MITRE', 'picket'],
  license: 'Apache-2.0',
  references: [
    'https://car.mitre.org/analytics/CAR-2014-05-001/',
    'https://github.com/mitre-attack/car/blob/master/analytics/CAR-2014-05-001.yaml',
  ],
  // detections.md maps T1021 only; CAR's coverage block also lists T1021.002/.003/.006.
  threat: [
    {
      tactic: { id: 'TA0008', name: 'Lateral Movement' },
      techniques: [{ id: 'T1021', name: 'Remote Services' }],
    },
  ],
};

/** `M.time < E.time < M.time + PAIR_WINDOW_MS`, both strict. */
export const PAIR_WINDOW_MS = 2000;
export const DEFAULT_MAPPER_RETENTION_MS = 600_000;
export const ENDPOINT_MAPPER_PORT = 135;
export const DYNAMIC_PORT_MIN = 49152;

export interface RpcPairingOptions {
  /**
   * Event time for which both sides are held (mapper flows, and endpoint flows still without a
   * mapper), measured against the watermark. Long enough for a Zeek connection written minutes
   * after it started to still pair. Default: the context's `settings.mapperRetentionMs`, else
   * 10 minutes.
   */
  readonly mapperRetentionMs?: number;
}

/** What is held of a flow. */
interface Flow {
  readonly event: EcsEvent;
  readonly sourcePort: number;
  readonly destinationPort: number;
}

const MAPPER = 1;
const ENDPOINT = 2;

/** Marks a field value that is not a single simple value. */
const SLOW = Symbol('slow');

/**
 * Reads a two-part field (`a.b`) without allocating in the shapes nearly all documents use, and
 * through FieldPath (fields.ts) otherwise, with the same result.
 */
class TwoPartField {
  readonly path: FieldPath;
  private readonly top: string;
  private readonly leaf: string;

  constructor(readonly name: string) {
    const [top, leaf, rest] = name.split('.');
    if (top === undefined || leaf === undefined || rest !== undefined) throw new Error(`not a two-part field: ${name}`);
    this.path = field(name);
    this.top = top;
    this.leaf = leaf;
  }

  /**
   * The single value when the field is `{a: {b: v}}` or `{"a.b": v}` with v not an array (undefined
   * when missing); SLOW otherwise (arrays, both forms in one document).
   * Plain property reads suffice: no top or leaf name used here exists on Object.prototype.
   */
  simple(doc: JsonObject): unknown {
    const nested = doc[this.top];
    let fromNested: unknown;
    if (isJsonObject(nested)) fromNested = nested[this.leaf];
    else if (Array.isArray(nested)) return SLOW;
    const dotted = doc[this.name];
    if (fromNested === undefined || fromNested === null) return Array.isArray(dotted) ? SLOW : (dotted ?? undefined);
    if (dotted !== undefined && dotted !== null) return SLOW;
    return Array.isArray(fromNested) ? SLOW : fromNested;
  }

  first(doc: JsonObject): unknown {
    const v = this.simple(doc);
    return v === SLOW ? this.path.first(doc) : v;
  }

  keyword(doc: JsonObject): string | undefined {
    const v = this.simple(doc);
    return v === SLOW ? firstKeyword(doc, this.path) : toKeyword(v);
  }

  number(doc: JsonObject): number | undefined {
    const v = this.simple(doc);
    return v === SLOW ? firstNumber(doc, this.path) : toNumber(v);
  }
}

/**
 * An address field read as canonical text (the state key), remembering the last text parsed:
 * a flood, or a chatty pair of hosts, repeats the same address, and parsing costs more than the
 * rest of the per-flow work.
 */
class AddressField extends TwoPartField {
  private lastText: string | undefined;
  private lastCanonical = '';

  canonical(doc: JsonObject): string | undefined {
    const v = this.simple(doc);
    if (typeof v === 'string') {
      if (v === this.lastText) return this.lastCanonical;
      const ip = parseIp(v);
      if (ip === undefined) return undefined;
      this.lastText = v;
      return (this.lastCanonical = formatIp(ip));
    }
    if (v !== SLOW) return undefined;
    const ip = firstIp(doc, this.path);
    return ip === undefined ? undefined : formatIp(ip);
  }
}

const SOURCE_PORT = new TwoPartField('source.port');
const DESTINATION_PORT = new TwoPartField('destination.port');
const SOURCE_IP = new AddressField('source.ip');
const DESTINATION_IP = new AddressField('destination.ip');
const NETWORK_TRANSPORT = new TwoPartField('network.transport');
const EVENT_START = new TwoPartField('event.start');
const FLOW_ID = new TwoPartField('flow.id');
const EVENT_CATEGORY = field('event.category');
const EVENT_DATASET = field('event.dataset');
const DATA_STREAM_DATASET = field('data_stream.dataset');

const NETWORK_CATEGORIES: ReadonlySet<string> = new Set(['network', 'network_traffic']);
/** Connection-record datasets: flows even without a network category. */
const FLOW_DATASETS: ReadonlySet<string> = new Set(['network_traffic.flow', 'zeek.connection']);
const ENTITY_FIELDS = ['host', 'source', 'destination', 'network'] as const;

/** Role bits from the ports alone: the cheap first test, which nearly every event fails. */
function roleOf(doc: JsonObject): number {
  const dst = DESTINATION_PORT.simple(doc);
  if (dst === SLOW) return roleOfMany(doc);
  const d = toNumber(dst);
  if (d === undefined) return 0;
  if (d === ENDPOINT_MAPPER_PORT) return MAPPER;
  if (d < DYNAMIC_PORT_MIN) return 0;
  const src = SOURCE_PORT.simple(doc);
  if (src === SLOW) return roleOfMany(doc);
  const s = toNumber(src);
  return s !== undefined && s >= DYNAMIC_PORT_MIN ? ENDPOINT : 0;
}

/** Arrays of ports: a condition holds when any element satisfies it (detections.md, "Common rules"). */
function roleOfMany(doc: JsonObject): number {
  const dst = numbers(doc, DESTINATION_PORT.path);
  const src = numbers(doc, SOURCE_PORT.path);
  let role = 0;
  if (dst.includes(ENDPOINT_MAPPER_PORT)) role |= MAPPER;
  if (dst.some((p) => p >= DYNAMIC_PORT_MIN) && src.some((p) => p >= DYNAMIC_PORT_MIN)) role |= ENDPOINT;
  return role;
}

/** The port that gave the flow its role (the only one, nearly always). */
function portOf(doc: JsonObject, f: TwoPartField, role: number): number | undefined {
  if (f.simple(doc) !== SLOW) return f.number(doc);
  const all = numbers(doc, f.path);
  if (f === DESTINATION_PORT && (role & MAPPER) !== 0) return ENDPOINT_MAPPER_PORT;
  return all.find((p) => p >= DYNAMIC_PORT_MIN) ?? all[0];
}

function isTcp(doc: JsonObject): boolean {
  const v = NETWORK_TRANSPORT.simple(doc);
  return v === SLOW ? keywordEquals(doc, NETWORK_TRANSPORT.path, 'tcp') : toKeyword(v) === 'tcp';
}

/** Zeek protocol logs and Packetbeat transactions describe operations, not connections. */
function isOperationDataset(dataset: string): boolean {
  if (dataset.startsWith('zeek.')) return dataset !== 'zeek.connection';
  if (dataset.startsWith('network_traffic.')) return dataset !== 'network_traffic.flow';
  return false;
}

function isConnectionRecord(doc: JsonObject): boolean {
  const datasets = [...keywords(doc, EVENT_DATASET), ...keywords(doc, DATA_STREAM_DATASET)];
  if (datasets.some(isOperationDataset)) return false;
  return keywordIn(doc, EVENT_CATEGORY, NETWORK_CATEGORIES) || datasets.some((d) => FLOW_DATASETS.has(d));
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  return b === undefined || a <= b ? a : b;
}

export class RpcPairingDetector implements Detection {
  readonly rule = RPC_PAIRING_RULE;
  readonly key = 'rpc_pairing';
  readonly ordered = true;
  readonly mapperRetentionMs: number;
  /** Mapper flows by (source, destination). */
  private readonly mappers: KeyedWindowStore<Flow>;
  /** Endpoint flows that found no mapper flow yet, by (source, destination). */
  private readonly waiting: KeyedWindowStore<Flow>;
  /** Flows already counted, by flow.id and orientation (only flows that carry a flow.id). */
  private readonly counted: KeyedWindowStore<undefined>;
  /** Entries older than this would be expired at once: they are looked up against, never stored. */
  private horizon = -Infinity;

  constructor(ctx: DetectionContext, opts: RpcPairingOptions = {}) {
    // A context built before `settings` existed (a caller in plain JS) falls back to the default.
    const retention =
      opts.mapperRetentionMs ??
      (ctx.settings as Partial<DetectionSettings> | undefined)?.mapperRetentionMs ??
      DEFAULT_MAPPER_RETENTION_MS;
    if (!Number.isFinite(retention) || retention < PAIR_WINDOW_MS) {
      throw new Error(`mapperRetentionMs must be at least ${PAIR_WINDOW_MS}, not ${retention}`);
    }
    this.mapperRetentionMs = retention;
    const onEvict = (reason: string, count: number): void => ctx.countEviction(reason, count);
    const byEventOrder = (a: Flow, b: Flow): number => compareEvents(a.event, b.event);
    this.mappers = new KeyedWindowStore({ limits: ctx.limits, onEvict, tieBreak: byEventOrder });
    this.waiting = new KeyedWindowStore({ limits: ctx.limits, onEvict, tieBreak: byEventOrder });
    this.counted = new KeyedWindowStore({ limits: { maxKeys: ctx.limits.maxKeys, maxEntriesPerKey: 1 }, onEvict });
  }

  /** What wants() tests: a mapper's port, or two dynamic ports (roleOf). */
  readonly interest: Interest = [
    [{ field: 'destination.port', op: 'number_eq', value: ENDPOINT_MAPPER_PORT }],
    [
      { field: 'destination.port', op: 'number_gte', value: DYNAMIC_PORT_MIN },
      { field: 'source.port', op: 'number_gte', value: DYNAMIC_PORT_MIN },
    ],
  ];

  /** Only port-135 and high-port-to-high-port events can matter; the test reads two properties. */
  wants(event: EcsEvent): boolean {
    return roleOf(event.doc) !== 0;
  }

  readonly keyedBy = 'other';

  /**
   * The (source, destination) pair of a flow that could be a mapper or an endpoint, as the state
   * keys it (canonical addresses): a mapper and its endpoint flows always share it.
   */
  routeKey(event: EcsEvent): string | undefined {
    const doc = event.doc;
    if (roleOf(doc) === 0 || !isTcp(doc) || !isConnectionRecord(doc)) return undefined;
    const src = SOURCE_IP.canonical(doc);
    const dst = DESTINATION_IP.canonical(doc);
    return src === undefined || dst === undefined ? undefined : `${src}>${dst}`;
  }

  onEvent(event: EcsEvent, emit: Emit): void {
    const doc = event.doc;
    const role = roleOf(doc);
    if (role === 0) return;
    if (!isTcp(doc) || !isConnectionRecord(doc)) return;
    const src = SOURCE_IP.canonical(doc);
    const dst = DESTINATION_IP.canonical(doc);
    const sourcePort = portOf(doc, SOURCE_PORT, role);
    const destinationPort = portOf(doc, DESTINATION_PORT, role);
    if (src === undefined || dst === undefined || sourcePort === undefined || destinationPort === undefined) return;
    const time = parseEventTime(EVENT_START.first(doc)) ?? event.time;

    // A repeated report: ignored. The memory of flows seen is held as long as the flows themselves
    // are, so once it forgets a flow, that flow's own state has expired as well.
    const flowId = FLOW_ID.keyword(doc);
    if (flowId !== undefined) {
      const identity = `${flowId}\u0000${src}\u0000${sourcePort}\u0000${dst}\u0000${destinationPort}`;
      if (this.counted.has(identity)) return;
      if (time >= this.horizon) this.counted.insert(identity, time, event.arrival, undefined);
    }

    const pair = `${src}\u0000${dst}`;
    const flow: Flow = { event, sourcePort, destinationPort };
    if ((role & ENDPOINT) !== 0) {
      const mapper = this.mappers.latestBetween(pair, time - PAIR_WINDOW_MS, time);
      if (mapper !== undefined) {
        emit(this.finding(mapper, { key: pair, time, arrival: event.arrival, value: flow }, event));
      } else if (time >= this.horizon) this.waiting.insert(pair, time, event.arrival, flow);
    }
    if ((role & MAPPER) !== 0) {
      const mapper: TimedEntry<Flow> = { key: pair, time, arrival: event.arrival, value: flow };
      for (const endpoint of this.waiting.takeBetween(pair, time, time + PAIR_WINDOW_MS)) {
        emit(this.finding(mapper, endpoint, event));
      }
      if (time >= this.horizon) this.mappers.insert(pair, time, event.arrival, flow);
    }
  }

  onWatermark(watermark: number): void {
    const horizon = watermark - this.mapperRetentionMs;
    if (horizon <= this.horizon) return;
    this.horizon = horizon;
    this.mappers.expireBefore(horizon);
    this.waiting.expireBefore(horizon);
    this.counted.expireBefore(horizon);
  }

  oldestHeldArrival(): number | undefined {
    return minDefined(
      minDefined(this.mappers.oldestArrival(), this.waiting.oldestArrival()),
      this.counted.oldestArrival(),
    );
  }

  stateSize(): number {
    return this.mappers.size + this.waiting.size + this.counted.size;
  }

  /**
   * Details (under `picket.rpc_pairing`): the mapper flow's time and ports (the alert's own
   * source/destination are the endpoint flow's), the endpoint flow's time, and the gap between the
   * two flow times. Flow times are event.start when present, so they can differ from the events'
   * @timestamp listed in picket.events.
   */
  private finding(mapper: TimedEntry<Flow>, endpoint: TimedEntry<Flow>, trigger: EcsEvent): Finding {
    const e = endpoint.value.event;
    return {
      rule: this.rule,
      // Stage order, whichever was processed last, so that the alert id does not depend on arrival.
      events: [mapper.value.event, e],
      // The flow being processed completed the alert: usually the endpoint, a mapper for a waiting one.
      trigger,
      entities: pickSubtrees(e.doc, ENTITY_FIELDS),
      details: {
        mapper: {
          time: formatEventTime(mapper.time),
          source: { port: mapper.value.sourcePort },
          destination: { port: mapper.value.destinationPort },
        },
        endpoint: { time: formatEventTime(endpoint.time) },
        gap_ms: endpoint.time - mapper.time,
      },
    };
  }
}
