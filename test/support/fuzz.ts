/**
 * A seeded mutator of real event messages, for the fuzz test (test/unit/fuzz.test.ts) and
 * bench/fuzz.ts. Each mutant is one clean event's JSON with one kind of damage: bytes flipped,
 * truncated, keys duplicated, types swapped, `__proto__`/`constructor` keys, huge strings, deep
 * nesting, invalid UTF-8, timestamps far in the future or the past, numbers picket cannot use,
 * exploded arrays, control characters, non-objects, empty messages.
 *
 * Mutants must not be able to change the clean events' alerts *legitimately*: a valid event that
 * joins a clean one (same host and process, same address pair) or that is an RDP connection (D4
 * learns a population prior from every destination) may change them by design. So each template
 * is quarantined first (quarantine()): its hosts, entity ids and addresses move to a namespace no
 * clean event uses (`fuzz-…` names, 10.254.0.0/16 and 2001:db8::/32 addresses), and its RDP
 * markers are removed. No mutation below writes a clean value back (none writes 3389, a private
 * address outside 10.254/16, or a host name), so whatever a mutant is, it is a stranger to the clean
 * stream: any clean alert it changes is a bug.
 */
import { rng } from '../../src/demo/sampleTraffic.js';
import { isJsonObject, type JsonObject } from '../../src/ecs/fields.js';
import { parseIp } from '../../src/ecs/ip.js';

export const MUTATION_KINDS = [
  'byte_flip',
  'truncate',
  'duplicate_key',
  'type_swap',
  'proto_keys',
  'huge_string',
  'deep_nesting',
  'invalid_utf8',
  'time_far_future',
  'time_near_future',
  'time_past',
  'time_invalid',
  'bad_number',
  'array_explosion',
  'key_explosion',
  'control_chars',
  'non_object',
  'empty',
] as const;

export type MutationKind = (typeof MUTATION_KINDS)[number];

/**
 * Relative frequency of each kind. The costly ones (a mutant of up to 1.5 MB) are rare so that a
 * hundred thousand mutants stay a unit test; every kind still occurs hundreds of times.
 */
const WEIGHTS: Record<MutationKind, number> = {
  byte_flip: 12,
  truncate: 8,
  duplicate_key: 8,
  type_swap: 12,
  proto_keys: 8,
  huge_string: 0.4,
  deep_nesting: 2,
  invalid_utf8: 8,
  time_far_future: 6,
  time_near_future: 6,
  time_past: 6,
  time_invalid: 5,
  bad_number: 10,
  array_explosion: 0.4,
  key_explosion: 0.4,
  control_chars: 6,
  non_object: 3,
  empty: 2,
};

export interface Mutant {
  readonly kind: MutationKind;
  readonly bytes: Uint8Array;
}

const hasOwn = Object.prototype.hasOwnProperty;
const YEAR_MS = 365.25 * 24 * 3600_000;

/**
 * Keys whose string values are join keys (host, process and flow ids; host names): moved to the
 * `fuzz-` namespace. `name` only under `host`: a process keeps its name (`services.exe`), so mutants
 * still reach the detections' stage conditions.
 */
const NAME_KEYS = new Set([
  'id',
  'hostname',
  'entity_id',
  'computer_name',
  'Hostname',
  'session_id',
  'uid',
  'ProcessGuid',
  'ParentProcessGuid',
]);

function defineOwn(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A stable small hash of a string (FNV-1a), to map a clean value to the same fuzz value each time. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function fuzzAddress(v: string, destination: boolean): string {
  const h = hash(v);
  // Destinations in 2001:db8::/32, which D1 reads as the Internet: mutants still raise D1 alerts
  // of their own, built from hostile documents. Every other address in 10.254.0.0/16.
  return destination
    ? `2001:db8:${(h >>> 16).toString(16)}::${(h & 0xffff).toString(16)}`
    : `10.254.${(h >>> 8) & 0xff}.${h & 0xff}`;
}

/**
 * A copy of a clean document that can neither join a clean event nor count as an RDP connection
 * (see the module comment). Its structure, categories, ports and times are kept.
 */
export function quarantine(doc: JsonObject): JsonObject {
  return walk(doc, []) as JsonObject;
}

function walk(v: unknown, path: readonly string[]): unknown {
  if (Array.isArray(v)) return v.map((x) => walk(x, path));
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v)) defineOwn(out, k, walk(v[k], [...path, ...k.split('.')]));
    return out;
  }
  const key = path[path.length - 1] ?? '';
  if (typeof v === 'string') {
    if (parseIp(v) !== undefined) return fuzzAddress(v, path.includes('destination') || path.includes('DestAddress'));
    if (NAME_KEYS.has(key) || (key === 'name' && path.includes('host'))) return `fuzz-${v}`;
    if (key === 'IpAddress' || key === 'client_address') return `fuzz-${v}`;
    if (key === 'LogonType' && v === '10') return '3';
    if (key === 'type' && v === 'RemoteInteractive') return 'Network';
    if (key === 'logon_type' && v === 'RemoteInteractive') return 'Network';
    if (key === 'port' && v === '3389') return '3390';
    return v;
  }
  if (typeof v === 'number') {
    if (key === 'port' && v === 3389) return 3390;
    if (key === 'LogonType' && v === 10) return 3;
  }
  return v;
}

/** Every path to a leaf (scalar or empty container) of a parsed document. */
function leafPaths(doc: unknown, path: string[] = [], out: string[][] = []): string[][] {
  if (isJsonObject(doc)) {
    const keys = Object.keys(doc);
    if (keys.length === 0 && path.length > 0) out.push(path);
    for (const k of keys) leafPaths(doc[k], [...path, k], out);
  } else if (Array.isArray(doc) && doc.length > 0) {
    for (let i = 0; i < doc.length; i++) leafPaths(doc[i], [...path, String(i)], out);
  } else if (path.length > 0) {
    out.push(path);
  }
  return out;
}

function setAt(doc: unknown, path: readonly string[], value: unknown): void {
  let node = doc as JsonObject;
  for (let i = 0; i < path.length - 1; i++) node = node[path[i]!] as JsonObject;
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) node[Number(last)] = value;
  else defineOwn(node, last, value);
}

function getAt(doc: unknown, path: readonly string[]): unknown {
  let node = doc as JsonObject;
  for (const k of path) node = node[k] as JsonObject;
  return node;
}

/**
 * Raw JSON text spliced in where a placeholder string stands: numbers JSON.stringify cannot write
 * (`1e400`), and nesting too deep for it to recurse into.
 */
const RAW = '\u0000raw:';
const rawTokens: string[] = [];

function raw(text: string): string {
  rawTokens.push(text);
  return `${RAW}${rawTokens.length - 1}`;
}

function stringifyWithRaw(doc: unknown): string {
  const out = JSON.stringify(doc).replace(/"\\u0000raw:(\d+)"/g, (_, i: string) => rawTokens[Number(i)]!);
  rawTokens.length = 0;
  return out;
}

const encoder = new TextEncoder();

export class Mutator {
  private readonly r: () => number;
  private readonly cumulative: number[] = [];
  private readonly total: number;

  constructor(seed: number) {
    this.r = rng(seed);
    let sum = 0;
    for (const k of MUTATION_KINDS) this.cumulative.push((sum += WEIGHTS[k]));
    this.total = sum;
  }

  /** A random integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.r() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.r() * xs.length)]!;
  }

  chance(p: number): boolean {
    return this.r() < p;
  }

  kind(): MutationKind {
    const x = this.r() * this.total;
    let i = 0;
    while (this.cumulative[i]! <= x) i++;
    return MUTATION_KINDS[i]!;
  }

  /** One mutant of `template` (a quarantined document's JSON), of a random kind or the one given. */
  mutate(template: string, kind: MutationKind = this.kind()): Mutant {
    return { kind, bytes: this.apply(kind, template) };
  }

  private apply(kind: MutationKind, text: string): Uint8Array {
    switch (kind) {
      case 'byte_flip': {
        const b = encoder.encode(text);
        for (let n = this.int(1, 4); n > 0; n--) b[this.int(0, b.length - 1)] = this.int(0, 255);
        return b;
      }
      case 'truncate':
        return encoder.encode(text).subarray(0, this.int(0, text.length - 1));
      case 'duplicate_key':
        return encoder.encode(this.duplicateKey(text));
      case 'invalid_utf8':
        return this.invalidUtf8(text);
      case 'control_chars':
        return this.controlChars(text);
      case 'non_object':
        return encoder.encode(
          this.pick([`[${text}]`, JSON.stringify(text), 'null', '42', 'true', '[]', '""', '-0', '1e400']),
        );
      case 'empty':
        return encoder.encode(this.pick(['', ' ', '\n', '\t\r\n', '{}', '{ }']));
      default:
        return encoder.encode(this.structural(kind, JSON.parse(text) as JsonObject));
    }
  }

  /** A key of the document written a second time, before (JSON.parse keeps the last) or after. */
  private duplicateKey(text: string): string {
    const doc = JSON.parse(text) as JsonObject;
    const keys = Object.keys(doc);
    const key = this.pick(keys);
    const value = this.chance(0.5) ? this.randomValue(doc[key]) : doc[this.pick(keys)];
    const member = `${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`;
    if (this.chance(0.5)) return `{${member},${text.slice(1)}`;
    return `${text.slice(0, -1)},${member}}`;
  }

  private invalidUtf8(text: string): Uint8Array {
    const bad = this.pick([
      [0xff],
      [0xfe],
      [0x80],
      [0xc0, 0xaf], // overlong "/"
      [0xe0, 0x80, 0xaf], // overlong
      [0xed, 0xa0, 0x80], // UTF-16 surrogate
      [0xe2, 0x82], // truncated sequence
      [0xf4, 0x90, 0x80, 0x80], // above U+10FFFF
      [0xf8, 0x88, 0x80, 0x80, 0x80], // 5-byte form
    ]);
    const b = encoder.encode(text);
    // Inside a string value, where a lenient reader would accept it.
    const quote = b.indexOf(0x22, this.int(0, b.length - 1));
    const at = quote < 0 ? b.length : quote + 1;
    const out = new Uint8Array(b.length + bad.length);
    out.set(b.subarray(0, at));
    out.set(bad, at);
    out.set(b.subarray(at), at + bad.length);
    return out;
  }

  private controlChars(text: string): Uint8Array {
    switch (this.int(0, 3)) {
      case 0: {
        // A raw control character inside a string: not JSON.
        const i = text.indexOf('"', this.int(0, text.length - 1));
        const at = i < 0 ? 1 : i + 1;
        return encoder.encode(text.slice(0, at) + String.fromCharCode(this.int(0, 31)) + text.slice(at));
      }
      case 1:
        // A byte order mark: RFC 8259 lets a reader ignore it (TextDecoder does).
        return encoder.encode(`\ufeff${text}`);
      default: {
        // Escaped control characters, NUL, line separators and a lone surrogate in a value: valid JSON.
        const doc = JSON.parse(text) as JsonObject;
        const paths = leafPaths(doc).filter((p) => typeof getAt(doc, p) === 'string');
        const weird = this.pick([
          '\u0000',
          '\u001b[31m',
          '\r\n',
          '\u2028\u2029',
          '\ud800',
          '\udfff\ud800',
          '\u0085',
          '\ufffe',
        ]);
        if (paths.length === 0) return encoder.encode(text);
        const p = this.pick(paths);
        const v = getAt(doc, p) as string;
        const at = this.int(0, v.length);
        setAt(doc, p, v.slice(0, at) + weird + v.slice(at));
        return encoder.encode(JSON.stringify(doc));
      }
    }
  }

  /** Kinds that edit the parsed document and write it back. */
  private structural(kind: MutationKind, doc: JsonObject): string {
    const paths = leafPaths(doc);
    const somePath = (): string[] => (paths.length > 0 ? this.pick(paths) : ['x']);
    const time = Date.parse(String(doc['@timestamp']));
    switch (kind) {
      case 'type_swap': {
        const p = somePath();
        setAt(doc, p, this.randomValue(getAt(doc, p)));
        if (this.chance(0.3)) {
          // A whole ECS object replaced by a scalar or an array (`"source": "x"`, `"event": [1]`).
          const tops = Object.keys(doc).filter((k) => k !== '@timestamp');
          if (tops.length > 0) defineOwn(doc, this.pick(tops), this.randomValue(undefined));
        }
        return JSON.stringify(doc);
      }
      case 'proto_keys':
        return JSON.stringify(this.protoKeys(doc));
      case 'huge_string': {
        const size = this.chance(0.7) ? this.int(64 << 10, 512 << 10) : this.int(512 << 10, 1536 << 10);
        const unit = this.pick(['A', '*', '\\', '?', 'services.exe*', '10.0.0.1,', 'é', '\u{1F600}']);
        const huge = unit.repeat(Math.ceil(size / unit.length));
        if (this.chance(0.2))
          defineOwn(doc, huge.slice(0, 100_000), 1); // a huge key
        else setAt(doc, somePath(), huge);
        return JSON.stringify(doc);
      }
      case 'deep_nesting': {
        // Depths around the 64 limit, and now and then far beyond (hostile.test.ts tries 400 000).
        const depth = this.chance(0.02) ? 100_000 : this.pick([10, 62, 63, 64, 65, 100, 1000, 10_000]);
        const leaf = JSON.stringify(getAt(doc, somePath())) ?? '1';
        const [open, close] = this.chance(0.5) ? ['[', ']'] : ['{"a":', '}'];
        const nested = open.repeat(depth) + leaf + close.repeat(depth);
        const p = this.pick([['@timestamp'], ['event', 'category'], ['source', 'ip'], ['host'], somePath()]);
        setAt(doc, p.length === 1 || isJsonObject(getParent(doc, p)) ? p : ['x'], raw(nested));
        return stringifyWithRaw(doc);
      }
      case 'time_far_future': {
        const base = Number.isFinite(time) ? time : Date.now();
        setAt(
          doc,
          ['@timestamp'],
          this.pick([
            new Date(base + YEAR_MS).toISOString(),
            new Date(base + 100 * YEAR_MS).toISOString(),
            base + 2 * YEAR_MS,
            String(base + 3600_000),
            '9999-12-31T23:59:59.999Z',
            '9999-12-31T23:59:59.999+00:00',
            '2999-01-01T00:00:00Z',
          ]),
        );
        return JSON.stringify(doc);
      }
      case 'time_near_future': {
        // Within or just past the allowed lead over the wall clock (the test's `now` is the
        // stream's own latest clean time): ordered but not moving time, or suspect.
        const base = Number.isFinite(time) ? time : Date.now();
        const lead = this.pick([1, 1000, 60_000, 299_000, 300_000, 301_000, 3600_000]);
        setAt(doc, ['@timestamp'], new Date(base + lead).toISOString());
        return JSON.stringify(doc);
      }
      case 'time_past':
        setAt(
          doc,
          ['@timestamp'],
          this.pick([
            '1970-01-01T00:00:00Z',
            0,
            1,
            '1970-01-01T00:00:00.001Z',
            '2000-01-01T00:00:00Z',
            new Date((Number.isFinite(time) ? time : 0) - YEAR_MS).toISOString(),
            '1969-12-31T23:59:59Z',
            '0001-01-01T00:00:00Z',
            '1900-01-01T00:00:00Z',
          ]),
        );
        return JSON.stringify(doc);
      case 'time_invalid':
        setAt(
          doc,
          ['@timestamp'],
          this.pick([
            'NaN',
            'Infinity',
            raw('1e400'),
            raw('-1e400'),
            -1,
            -0.5,
            1.5e300,
            '2024-02-30T00:00:00Z',
            '2024-13-01T00:00:00Z',
            '2024-01-01T24:00:00Z',
            '+275760-09-13T00:00:00Z',
            '10000-01-01T00:00:00Z',
            '2024-01-01T00:00:00+99:99',
            '',
            ' ',
            [],
            {},
            [null],
            true,
            '99999999999999999',
            '2024-01-01T00:00:00.' + '9'.repeat(10_000) + 'Z',
          ]),
        );
        return stringifyWithRaw(doc);
      case 'bad_number': {
        const numeric = paths.filter((p) => {
          const v = getAt(doc, p);
          return typeof v === 'number' || (typeof v === 'string' && /^\d+$/.test(v));
        });
        const targets = [
          ['source', 'port'],
          ['destination', 'port'],
          ['process', 'pid'],
          ['event', 'sequence'],
          ...numeric,
        ];
        for (let n = this.int(1, 3); n > 0; n--) {
          const p = this.pick(targets);
          if (p.length > 1 && !isJsonObject(getParent(doc, p))) continue;
          setAt(doc, p, this.badNumber());
        }
        return stringifyWithRaw(doc);
      }
      case 'array_explosion': {
        const p = this.pick([
          ['event', 'category'],
          ['source', 'ip'],
          ['destination', 'port'],
          ['process', 'args'],
          somePath(),
        ]);
        if (p.length > 1 && !isJsonObject(getParent(doc, p))) return JSON.stringify(doc);
        const v = getAt(doc, p) ?? 'network';
        const n = this.chance(0.8) ? this.int(1000, 10_000) : this.int(10_000, 100_000);
        const mixed = this.chance(0.3);
        setAt(
          doc,
          p,
          Array.from({ length: n }, (_, i) => (mixed ? this.randomValue(v) : typeof v === 'number' ? i : v)),
        );
        return JSON.stringify(doc);
      }
      case 'key_explosion': {
        // Many dotted keys beside the nested ones: subtree assembly (alerts, normalizers) reads them all.
        const top = this.pick(['host', 'process', 'source', 'destination', 'event', 'winlog', 'zeek']);
        const n = this.chance(0.8) ? this.int(1000, 5000) : this.int(5000, 50_000);
        const leaf = this.pick(['a', '__proto__', 'constructor', 'b.c']);
        const members: string[] = [];
        for (let i = 0; i < n; i++) members.push(`"${top}.k${i}.${leaf}":${i}`);
        const text = JSON.stringify(doc);
        return `${text.slice(0, -1)},${members.join(',')}}`;
      }
      default:
        throw new Error(`unhandled mutation kind ${kind}`);
    }
  }

  private protoKeys(doc: JsonObject): JsonObject {
    const poison = { polluted: 'yes', '@timestamp': '2999-01-01T00:00:00Z', host: { id: 'fuzz-proto' }, toString: 1 };
    const objects: JsonObject[] = [doc];
    for (const k of Object.keys(doc)) if (isJsonObject(doc[k])) objects.push(doc[k] as JsonObject);
    for (let n = this.int(1, 4); n > 0; n--) {
      const target = this.pick(objects);
      const key = this.pick([
        '__proto__',
        'constructor',
        'prototype',
        '__proto__.polluted',
        'constructor.prototype.polluted',
        'host.__proto__.polluted',
        'hasOwnProperty',
        'toString',
        'valueOf',
        '__defineGetter__',
        'event.__proto__',
      ]);
      const value = this.pick<unknown>([poison, { prototype: poison }, 'polluted', 1, [poison], null]);
      defineOwn(target, key, value);
    }
    return doc;
  }

  /** A value of another type than `v` (or of any type when v is undefined). */
  private randomValue(v: unknown): unknown {
    const options: unknown[] = [
      null,
      true,
      false,
      0,
      -1,
      1.5,
      '',
      'x',
      '135',
      '-',
      [],
      {},
      [1, 'a', null, {}],
      { a: { b: [1] } },
      ['network', ['process']],
    ];
    if (v !== undefined) options.push([v], { value: v }, String(v), typeof v === 'string' ? v.length : 'str');
    let out: unknown;
    do out = this.pick(options);
    while (typeof out === typeof v && options.length > 1 && !Array.isArray(v) && this.chance(0.8));
    return out;
  }

  private badNumber(): unknown {
    return this.pick<unknown>([
      -1,
      -0,
      -135,
      1.5,
      135.5,
      65536,
      383341,
      2 ** 53 + 1,
      1e21,
      1e308,
      -1e308,
      raw('1e400'),
      raw('-1e400'),
      raw('135.000000000000000000001'),
      'NaN',
      'Infinity',
      '-Infinity',
      '-1',
      '0x87',
      '135abc',
      ' 135',
      '1e999',
      '',
      [],
      {},
      [-1, 'NaN'],
      true,
    ]);
  }
}

function getParent(doc: unknown, path: readonly string[]): unknown {
  let node: unknown = doc;
  for (let i = 0; i < path.length - 1; i++) {
    if (!isJsonObject(node) && !Array.isArray(node)) return undefined;
    const k = path[i]!;
    node = hasOwn.call(node, k) ? (node as JsonObject)[k] : undefined;
  }
  return node;
}
