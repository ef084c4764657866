/**
 * The fast path: decides from a message's raw bytes, in one allocation-free pass, that no enabled
 * detection could use the event, so the stream path can skip JSON.parse and the detections and
 * only let the event's time move the partition's event time (Engine.observeUnwanted).
 *
 * It answers "skip, event time is T" only when it has *proved* both:
 * 1. the full path (decodeEvent, `ecs` format) would accept the message: not empty, within the size
 *    limit, valid UTF-8 (RFC 3629, as TextDecoder's fatal mode), strict JSON (RFC 8259) whose value
 *    is an object, nested no deeper than the depth limit, with one top-level `@timestamp` that is a
 *    plain string or a number and that parseEventTime reads as a time;
 * 2. for every alternative of every detection's Interest (src/ecs/interest.ts), some test fails on
 *    every value the document holds for its field.
 * Everything else answers PARSE, and the caller takes the full path, which is the reference: any
 * malformed message (so every dead letter keeps its reason), a leading BOM, a byte-order or
 * whitespace character JSON does not allow, an escape sequence in a key that could still name a
 * field of interest (or `@timestamp`), a `@timestamp` that is escaped, non-ASCII, an array, an
 * object, null, a boolean or duplicated, nesting deeper than the limit.
 *
 * The byte pass runs in WebAssembly (src/ecs/wasm/scanner.as.ts, through src/ecs/wasmScanner.ts)
 * when its build loads, else in JavaScript (scan() below, the reference: the tests hold the two to
 * the same answers). Both read a copy of the message followed by a 0 byte, the sentinel that ends
 * every byte loop without a bounds check.
 *
 * Values of interesting fields are read conservatively: a value the scanner cannot read exactly (a
 * string with escapes, a non-ASCII string under a case-insensitive test, a number with a sign,
 * fraction or exponent, a numeric string that is not plain digits, more than 15 digits) counts as
 * satisfying the test. Keys are matched as FieldPath does (nested, dotted or mixed, arrays anywhere):
 * a trie over the dotted field names is walked byte by byte, the key of a nested object continuing
 * its parent's node after a `.`. A duplicated key contributes the values of every occurrence where
 * JSON.parse keeps only the last: tests are positive (they hold when any value satisfies them), so
 * more values can only make the event interesting, never skipped wrongly.
 */
import type { FieldTest, Interest } from './interest.js';
import { MAX_EVENT_TIME, parseEventTime } from './time.js';
import { MARK_KEY, MARK_TESTS, W_KEY, W_KEY_ESCAPED, WASM_FULL, wasmScanner, type WasmScanner } from './wasmScanner.js';

/** skippableTime's answer when the message must be parsed. */
export const PARSE = -1;

export interface FastPathLimits {
  readonly maxMessageBytes: number;
  readonly maxDepth: number;
}

/**
 * The input formats the fast path reads: `ecs`, and `auto` for the documents it would read as ECS
 * (normalize/shape.ts detectShape's common case, where normalizing returns the document itself):
 * a top-level `event` object and `@timestamp`, and none of the top-level keys that make a document
 * raw (`ts`, `EventID`, `event_data`, `result`) nor `zeek` or `winlog` (a raw Filebeat or Winlogbeat
 * record may hide under them; such documents are parsed).
 */
export type FastPathFormat = 'ecs' | 'auto';

/**
 * Which implementation of the byte pass runs: `wasm` (src/ecs/wasm/scanner.as.ts, the default when
 * its build loads) or `js` (FastPath.scan, the reference, and the fallback). They report the same.
 */
export type FastPathScanner = 'wasm' | 'js';
// detectShape's fast branch, in full: `@timestamp` and an `event` object, none of the raw keys, no
// `zeek` object holding an object with an own `ts` (filebeatZeekLog), and no raw `winlog`
// (isRawWinlogbeat is false when the event object has an own `category` or `module`). The scanner
// proves the last two conservatively: a `winlog` key needs an exact `category` or `module` key in
// the top-level event object; a `zeek` key needs no key at depth 3 that is `ts` or escaped.

/** Top-level keys that send an `auto` document to the full path. */
const AUTO_REFUSED_KEYS = ['ts', 'EventID', 'event_data', 'result'] as const;
const SHAPE_REFUSED = 1;
const SHAPE_EVENT = 2;
/** `winlog`: raw Winlogbeat unless the event is mapped (an `event.category` or `event.module` key). */
const SHAPE_WINLOG = 3;
/** `event.category`, `event.module`: as keys of the top-level event object, the event is mapped. */
const SHAPE_MAPPED = 4;
/** `zeek`: raw Filebeat output when an object under it has a `ts` key. */
const SHAPE_ZEEK = 5;

/** Deeper than this the scanner does not recurse: it answers PARSE (the full path decides). */
const MAX_SCAN_DEPTH = 128;

// Byte classes inside a JSON string.
const PLAIN = 0;
const QUOTE = 1;
const BACKSLASH = 2;
const CONTROL = 3;
const HIGH = 4;
const STRING_CLASS = new Uint8Array(256);
for (let i = 0; i < 0x20; i++) STRING_CLASS[i] = CONTROL;
STRING_CLASS[0x22] = QUOTE;
STRING_CLASS[0x5c] = BACKSLASH;
for (let i = 0x80; i < 0x100; i++) STRING_CLASS[i] = HIGH;

// Token kinds and flags of a leaf value.
const K_STRING = 1;
const K_NUMBER = 2;
const K_LITERAL = 3; // true or false (their text is the keyword)
const F_ESCAPE = 1;
const F_HIGH = 2;
const F_NOT_PLAIN = 4; // a number with a sign, fraction or exponent

const OP_NUMBER_EQ = 0;
const OP_NUMBER_GTE = 1;
const OP_KEYWORD_EQ = 2;
const OP_KEYWORD_EQ_CI = 3;
const OPS: Record<FieldTest['op'], number> = {
  number_eq: OP_NUMBER_EQ,
  number_gte: OP_NUMBER_GTE,
  keyword_eq: OP_KEYWORD_EQ,
  keyword_eq_ci: OP_KEYWORD_EQ_CI,
};

const OBJECT = 1;
const ARRAY = 2;
const DEAD = 0;
const ROOT = 1;
const TIMESTAMP = '@timestamp';
const EMPTY = new Uint8Array(0);
const isAscii = (s: string): boolean => /^[\x20-\x7e]*$/.test(s);

/**
 * Where the scanner reads a message: a copy with a 0 byte after it (the sentinel that lets the byte
 * loops run without bounds checks), always the same array type. One per process: skippableTime is
 * synchronous and not re-entered; it grows to the largest message scanned (at most the size limit).
 */
let scratch = new Uint8Array(64 * 1024);

export class FastPath {
  /** trans[node * 128 + byte]: the trie's next node, DEAD (0) when no field continues so. */
  private readonly trans: Int32Array;
  /** fieldAt[node]: 1 + the index of the field the node completes, else 0. */
  private readonly fieldAt: Int32Array;
  private readonly timestampNode: number;
  /** `auto` format: the top-level keys that decide the document's shape (SHAPE_*), by node. */
  private readonly auto: boolean;
  private readonly shapeAt: Uint8Array;
  private eventSeen = false;
  private eventMapped = false;
  private winlogSeen = false;
  private zeekSeen = false;
  /** A key at depth 3 that is `ts`, or that has an escape (it might be). */
  private tsKeyAtDepth3 = false;
  private keyStart = 0;
  private keyEscaped = false;
  /** The tests (indices) on each field. */
  private readonly fieldTests: readonly Int32Array[];
  private readonly testOp: Uint8Array;
  private readonly testNumber: Float64Array;
  /** ASCII bytes of the keyword (lower-cased for OP_KEYWORD_EQ_CI). */
  private readonly testText: readonly Uint8Array[];
  /** The alternatives (indices) each test belongs to. */
  private readonly testAlternatives: readonly Int32Array[];
  private readonly alternativeSize: Int32Array;

  // Per-message state.
  private readonly holds: Uint8Array;
  private readonly remaining: Int32Array;
  private b: Uint8Array = EMPTY;
  private n = 0;
  private p = 0;
  private interesting = false;
  private tsKind = 0;
  private tsStart = 0;
  private tsEnd = 0;
  private keyNode = DEAD;
  private readonly kinds = new Uint8Array(MAX_SCAN_DEPTH + 2);
  private readonly nodes = new Int32Array(MAX_SCAN_DEPTH + 2);

  private readonly maxBytes: number;
  private readonly maxDepth: number;
  private readonly wasm: WasmScanner | undefined;
  /** The compiled interests' address in the WebAssembly scanner's memory. */
  private readonly wasmProgram: number = 0;

  /**
   * The fast path for detections with these interests; undefined when nothing could ever be skipped
   * (an alternative without tests) or a declaration is outside what the scanner reads exactly
   * (a non-ASCII keyword or field name, a test on `@timestamp`).
   */
  static compile(
    interests: readonly Interest[],
    limits: FastPathLimits,
    format: FastPathFormat = 'ecs',
    scanner: FastPathScanner = 'wasm',
  ): FastPath | undefined {
    const alternatives: (readonly FieldTest[])[] = interests.flatMap((i) => [...i]);
    for (const all of alternatives) {
      if (all.length === 0) return undefined;
      for (const t of all) {
        if (t.field === TIMESTAMP || !isAscii(t.field) || t.field.split('.').some((s) => s.length === 0)) {
          return undefined;
        }
        if (typeof t.value === 'string' ? !isAscii(t.value) : !Number.isFinite(t.value)) return undefined;
        if (OPS[t.op] === undefined) return undefined;
      }
    }
    return new FastPath(alternatives, limits, format, scanner);
  }

  private constructor(
    alternatives: readonly (readonly FieldTest[])[],
    limits: FastPathLimits,
    format: FastPathFormat,
    scanner: FastPathScanner,
  ) {
    this.auto = format === 'auto';
    this.maxBytes = limits.maxMessageBytes;
    this.maxDepth = Math.min(limits.maxDepth, MAX_SCAN_DEPTH);
    const fields: string[] = [];
    const tests: FieldTest[] = [];
    const testKey = (t: FieldTest): string => `${t.field}\0${t.op}\0${String(t.value)}`;
    const testIndex = new Map<string, number>();
    const testAlternatives: number[][] = [];
    const alternativeSize: number[] = [];
    alternatives.forEach((all, a) => {
      const mine = new Set<number>();
      for (const t of all) {
        let i = testIndex.get(testKey(t));
        if (i === undefined) {
          i = tests.length;
          testIndex.set(testKey(t), i);
          tests.push(t);
          testAlternatives.push([]);
          if (!fields.includes(t.field)) fields.push(t.field);
        }
        if (!mine.has(i)) {
          mine.add(i);
          testAlternatives[i]!.push(a);
        }
      }
      alternativeSize.push(mine.size);
    });

    // The trie: node 0 is dead (its row stays zero), node 1 the root.
    const trans: number[] = new Array<number>(256).fill(0);
    const fieldAt: number[] = [0, 0];
    const insert = (name: string): number => {
      let node = ROOT;
      for (let i = 0; i < name.length; i++) {
        const c = name.charCodeAt(i);
        let next = trans[node * 128 + c]!;
        if (next === DEAD) {
          next = fieldAt.length;
          fieldAt.push(0);
          for (let k = 0; k < 128; k++) trans.push(0);
          trans[node * 128 + c] = next;
        }
        node = next;
      }
      return node;
    };
    fields.forEach((f, i) => (fieldAt[insert(f)] = i + 1));
    this.timestampNode = insert(TIMESTAMP);
    const shapeAt: [number, number][] = [];
    if (this.auto) {
      for (const k of AUTO_REFUSED_KEYS) shapeAt.push([insert(k), SHAPE_REFUSED]);
      shapeAt.push([insert('event'), SHAPE_EVENT]);
      shapeAt.push([insert('winlog'), SHAPE_WINLOG]);
      shapeAt.push([insert('zeek'), SHAPE_ZEEK]);
      shapeAt.push([insert('event.category'), SHAPE_MAPPED]);
      shapeAt.push([insert('event.module'), SHAPE_MAPPED]);
    }
    this.trans = Int32Array.from(trans);
    this.fieldAt = Int32Array.from(fieldAt);
    this.shapeAt = new Uint8Array(fieldAt.length);
    for (const [node, shape] of shapeAt) this.shapeAt[node] = shape;

    this.fieldTests = fields.map((f) => Int32Array.from(tests.flatMap((t, i) => (t.field === f ? [i] : []))));
    this.testOp = Uint8Array.from(tests.map((t) => OPS[t.op]));
    this.testNumber = Float64Array.from(tests.map((t) => (typeof t.value === 'number' ? t.value : 0)));
    this.testText = tests.map((t) => {
      const s = typeof t.value === 'string' ? (t.op === 'keyword_eq_ci' ? t.value.toLowerCase() : t.value) : '';
      return Uint8Array.from(s, (ch) => ch.charCodeAt(0));
    });
    this.testAlternatives = testAlternatives.map((a) => Int32Array.from(a));
    this.alternativeSize = Int32Array.from(alternativeSize);
    this.holds = new Uint8Array(tests.length);
    this.remaining = new Int32Array(alternativeSize.length);

    const wasm = scanner === 'wasm' ? wasmScanner(STRING_CLASS) : undefined;
    if (wasm !== undefined) {
      const nodes = this.fieldAt.length;
      const mark = new Uint8Array(nodes);
      const nodeTests: (Int32Array | undefined)[] = [];
      for (let node = 0; node < nodes; node++) {
        const f = this.fieldAt[node]!;
        mark[node] = (f !== 0 ? MARK_TESTS : 0) | (this.shapeAt[node] !== 0 ? MARK_KEY : 0);
        nodeTests.push(f === 0 ? undefined : this.fieldTests[f - 1]);
      }
      this.wasm = wasm;
      this.wasmProgram = wasm.program(`${format}\n${JSON.stringify(alternatives)}`, {
        trans: this.trans,
        mark,
        nodeTests,
        tests: tests.map((_, i) => ({
          op: this.testOp[i]!,
          number: this.testNumber[i]!,
          text: this.testText[i]!,
          alternatives: this.testAlternatives[i]!,
        })),
        alternativeSize: this.alternativeSize,
      });
    }
  }

  /** The implementation of the byte pass this fast path runs. */
  get scanner(): FastPathScanner {
    return this.wasm === undefined ? 'js' : 'wasm';
  }

  /**
   * The event time (epoch ms) of a message the full path would accept and no detection could use;
   * PARSE when that is not proved.
   */
  skippableTime(raw: Uint8Array): number {
    const n = raw.length;
    if (n === 0 || n > this.maxBytes || this.maxDepth < 1) return PARSE;
    this.n = n;
    this.interesting = false;
    this.tsKind = 0;
    this.eventSeen = false;
    this.eventMapped = false;
    this.winlogSeen = false;
    this.zeekSeen = false;
    this.tsKeyAtDepth3 = false;
    const ok = this.wasm === undefined ? this.scanJs(raw) : this.scanWasm(raw);
    // Not kept: a record's bytes are often a slice of a whole fetch response.
    this.b = EMPTY;
    if (!ok || this.interesting || this.tsKind === 0) return PARSE;
    if (this.auto) {
      if (!this.eventSeen || (this.winlogSeen && !this.eventMapped) || (this.zeekSeen && this.tsKeyAtDepth3)) {
        return PARSE;
      }
    }
    if (this.tsKind === K_STRING) {
      // The WebAssembly scanner has read the common form already (the same function, ported).
      const t = this.wasm === undefined ? isoUtc(raw, this.tsStart, this.tsEnd) : this.wasm.time;
      if (t !== NOT_SIMPLE) return t;
    }
    const text = latin1(raw, this.tsStart, this.tsEnd);
    const time = parseEventTime(this.tsKind === K_STRING ? text : Number(text));
    return time === undefined ? PARSE : time;
  }

  /**
   * The byte pass in WebAssembly (src/ecs/wasm/scanner.as.ts): it proves the message valid and
   * applies the tests, as scan() and leaf() do, and reports `@timestamp` and, for `auto`, the shape
   * keys in document order, which are read here.
   */
  private scanWasm(raw: Uint8Array): boolean {
    const count = this.wasm!.scan(raw, this.wasmProgram, this.timestampNode, this.maxDepth, this.auto);
    if (count === WASM_FULL) return this.scanJs(raw);
    if (count < 0) return false;
    this.b = raw;
    const r = this.wasm!.records;
    for (let i = 0; i < count; i++) {
      const o = i * 5;
      if (r[o] === W_KEY) {
        this.keyStart = r[o + 2]!;
        this.keyEscaped = (r[o + 4]! & W_KEY_ESCAPED) !== 0;
        this.keyNode = r[o + 1]!;
        if (!this.onKey(r[o + 3]!, r[o + 4]! & 0xffff)) return false;
      } else if (!this.timestamp(r[o]!, r[o + 2]!, r[o + 3]!, r[o + 4]!)) return false;
    }
    return true;
  }

  /** The byte pass in JavaScript: the message is copied to `scratch` with the sentinel after it. */
  private scanJs(raw: Uint8Array): boolean {
    const n = raw.length;
    if (scratch.length <= n) scratch = new Uint8Array(Math.max(n + 1, Math.min(scratch.length * 2, this.maxBytes + 1)));
    scratch.set(raw);
    scratch[n] = 0;
    this.b = scratch;
    this.holds.fill(0);
    this.remaining.set(this.alternativeSize);
    return this.scan();
  }

  /**
   * One pass over the message (in `scratch`, a 0 byte after it), iterative: `kinds[d]` and `nodes[d]`
   * describe the container at depth d (an object and the trie node its keys start from, or an array
   * and the node of its elements). False: not proved (invalid, too deep, or interesting).
   *
   * The byte loops need no bounds checks: the sentinel is a control byte, which ends a string
   * (invalid), a number and whitespace, and is no structural character; every step of more than one
   * byte (literals, escapes, UTF-8 sequences) checks `n` itself. Keys, values, numbers and
   * whitespace are read inline: this loop is most of the fast path's cost, and calls per token
   * (about a hundred strings in a 1.2 KB event) cost as much as the bytes.
   */
  private scan(): boolean {
    const b = this.b;
    const n = this.n;
    const trans = this.trans;
    const fieldAt = this.fieldAt;
    const kinds = this.kinds;
    const nodes = this.nodes;
    const maxDepth = this.maxDepth;
    const tsNode = this.timestampNode;
    const auto = this.auto;
    const shapeAt = this.shapeAt;
    let p = 0;
    let c = b[0]!;
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
    if (c !== 0x7b) return false;
    let depth = 1;
    kinds[1] = OBJECT;
    nodes[1] = ROOT;
    c = b[++p]!;
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
    // Whether a key comes next (after `{` or a `,` in an object), and the trie node of the value.
    let wantKey = c !== 0x7d;
    let node = DEAD;
    if (!wantKey) {
      p++;
      depth = 0;
    }
    while (depth > 0) {
      if (wantKey) {
        // A key at p, of the object at `depth`, then `:` and whitespace.
        if (b[p] !== 0x22) return false;
        const keyStart = ++p;
        let keyEscaped = false;
        node = nodes[depth]!;
        // Walk the trie while the key may still name a field; then skip the rest of it.
        while (node !== DEAD) {
          const k = b[p]!;
          if (STRING_CLASS[k] !== PLAIN) break;
          node = trans[(node << 7) | k]!;
          p++;
        }
        for (;;) {
          while (STRING_CLASS[b[p]!] === PLAIN) p++;
          const cls = STRING_CLASS[b[p]!];
          if (cls === QUOTE) break;
          if (cls === BACKSLASH) {
            // An escape while the key could still name a field: JSON.parse decodes it, the trie cannot.
            if (node !== DEAD) return false;
            keyEscaped = true;
            p = this.escape(p);
          } else if (cls === HIGH) {
            p = this.utf8(p);
            node = DEAD;
          } else return false;
          if (p < 0) return false;
        }
        c = b[++p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c !== 0x3a) return false;
        c = b[++p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (auto && (depth === 3 || shapeAt[node] !== 0)) {
          this.keyStart = keyStart;
          this.keyEscaped = keyEscaped;
          this.keyNode = node;
          if (!this.onKey(p, depth)) return false;
        }
        wantKey = false;
      }
      // A value at p, reached through trie node `node`, inside the container at `depth`.
      c = b[p]!;
      if (c === 0x22) {
        const start = ++p;
        let flags = 0;
        for (;;) {
          while (STRING_CLASS[b[p]!] === PLAIN) p++;
          const cls = STRING_CLASS[b[p]!];
          if (cls === QUOTE) break;
          if (cls === BACKSLASH) {
            flags |= F_ESCAPE;
            p = this.escape(p);
          } else if (cls === HIGH) {
            flags |= F_HIGH;
            p = this.utf8(p);
          } else return false;
          if (p < 0) return false;
        }
        if (node !== DEAD) {
          if (node === tsNode) {
            if (!this.timestamp(K_STRING, start, p, flags)) return false;
          } else if (fieldAt[node] !== 0 && !this.leaf(node, K_STRING, start, p, flags)) return false;
        }
        p++;
      } else if (c === 0x7b || c === 0x5b) {
        if (node === tsNode || depth + 1 > maxDepth) return false;
        depth++;
        let e = b[++p]!;
        while (e === 0x20 || e === 0x0a || e === 0x0d || e === 0x09) e = b[++p]!;
        if (c === 0x7b) {
          // An object's keys continue the field name after a dot.
          kinds[depth] = OBJECT;
          nodes[depth] = trans[(node << 7) | 0x2e]!;
          if (e !== 0x7d) {
            wantKey = true;
            continue;
          }
        } else {
          // An array's elements are the field's values.
          kinds[depth] = ARRAY;
          nodes[depth] = node;
          if (e !== 0x5d) continue;
        }
        p++;
        depth--;
      } else if (c === 0x74 || c === 0x66) {
        // true, false
        const len = c === 0x74 ? 4 : 5;
        if (p + len > n) return false;
        if (c === 0x74 ? !(b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65) : !isFalse(b, p)) return false;
        if (node !== DEAD) {
          if (node === tsNode) return false;
          if (fieldAt[node] !== 0 && !this.leaf(node, K_LITERAL, p, p + len, 0)) return false;
        }
        p += len;
      } else if (c === 0x6e) {
        if (p + 4 > n || b[p + 1] !== 0x75 || b[p + 2] !== 0x6c || b[p + 3] !== 0x6c) return false;
        // A null value is a missing value; a null @timestamp is missing_timestamp.
        if (node === tsNode) return false;
        p += 4;
      } else {
        // A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        const start = p;
        let flags = 0;
        if (c === 0x2d) {
          flags = F_NOT_PLAIN;
          c = b[++p]!;
        }
        if (c === 0x30) c = b[++p]!;
        else if (c >= 0x31 && c <= 0x39) {
          c = b[++p]!;
          while (c >= 0x30 && c <= 0x39) c = b[++p]!;
        } else return false;
        if (c === 0x2e) {
          flags = F_NOT_PLAIN;
          c = b[++p]!;
          if (!(c >= 0x30 && c <= 0x39)) return false;
          while (c >= 0x30 && c <= 0x39) c = b[++p]!;
        }
        if (c === 0x65 || c === 0x45) {
          flags = F_NOT_PLAIN;
          c = b[++p]!;
          if (c === 0x2b || c === 0x2d) c = b[++p]!;
          if (!(c >= 0x30 && c <= 0x39)) return false;
          while (c >= 0x30 && c <= 0x39) c = b[++p]!;
        }
        if (node !== DEAD) {
          if (node === tsNode) {
            if (!this.timestamp(K_NUMBER, start, p, flags)) return false;
          } else if (fieldAt[node] !== 0 && !this.leaf(node, K_NUMBER, start, p, flags)) return false;
        }
      }
      // After a value: close containers until a `,` opens the next member or element.
      for (;;) {
        c = b[p]!;
        while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
        if (c === 0x2c) {
          c = b[++p]!;
          while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
          if (kinds[depth] === OBJECT) wantKey = true;
          else node = nodes[depth]!;
          break;
        }
        if (c !== (kinds[depth] === OBJECT ? 0x7d : 0x5d)) return false;
        p++;
        if (--depth === 0) break;
      }
    }
    c = b[p]!;
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = b[++p]!;
    return p === n;
  }

  /** `auto`: notes what a key (this.keyNode, value at p) at `depth` says of the shape; false: parse. */
  private onKey(p: number, depth: number): boolean {
    if (depth === 3) {
      const b = this.b;
      const k = this.keyStart;
      if (this.keyEscaped || (b[k] === 0x74 && b[k + 1] === 0x73 && b[k + 2] === 0x22)) this.tsKeyAtDepth3 = true;
    }
    const shape = this.shapeAt[this.keyNode]!;
    if (shape === 0) return true;
    if (depth === 2) {
      // Keys at depth 2 reach these nodes only inside the one top-level `event` object.
      if (shape === SHAPE_MAPPED) this.eventMapped = true;
      return true;
    }
    if (depth !== 1 || shape === SHAPE_MAPPED) return true;
    if (shape === SHAPE_WINLOG) this.winlogSeen = true;
    else if (shape === SHAPE_ZEEK) this.zeekSeen = true;
    else if (shape === SHAPE_REFUSED || this.eventSeen || this.b[p] !== 0x7b) return false;
    else this.eventSeen = true;
    return true;
  }

  private timestamp(kind: number, start: number, end: number, flags: number): boolean {
    // Only one plain @timestamp: a duplicate (JSON.parse keeps the last), an escaped or non-ASCII one is parsed.
    if (this.tsKind !== 0 || (kind === K_STRING && flags !== 0)) return false;
    this.tsKind = kind;
    this.tsStart = start;
    this.tsEnd = end;
    return true;
  }

  /** A leaf value of the node's field (if it completes one): marks the tests it may satisfy. */
  private leaf(node: number, kind: number, start: number, end: number, flags: number): boolean {
    const f = this.fieldAt[node]!;
    if (f === 0) return true;
    const tests = this.fieldTests[f - 1]!;
    for (let i = 0; i < tests.length; i++) {
      const t = tests[i]!;
      if (this.holds[t] === 1 || !this.mayHold(t, kind, start, end, flags)) continue;
      this.holds[t] = 1;
      const alts = this.testAlternatives[t]!;
      for (let a = 0; a < alts.length; a++) if (--this.remaining[alts[a]!]! === 0) this.interesting = true;
    }
    // An interesting event is parsed anyway: stop scanning.
    return !this.interesting;
  }

  /** Whether test `t` holds, or may hold (the value cannot be read exactly here), for this value. */
  private mayHold(t: number, kind: number, start: number, end: number, flags: number): boolean {
    const b = this.b;
    const op = this.testOp[t]!;
    const len = end - start;
    if (op === OP_NUMBER_EQ || op === OP_NUMBER_GTE) {
      if (kind === K_LITERAL) return false; // booleans are not numbers
      if ((flags & (F_ESCAPE | F_NOT_PLAIN)) !== 0 || len > 15) return true;
      let v = 0;
      for (let i = start; i < end; i++) {
        const c = b[i]!;
        if (!isDigit(c)) {
          // A string: numeric only if it holds a digit somewhere (see values.ts NUMERIC_STRING).
          for (let j = start; j < end; j++) if (isDigit(b[j]!)) return true;
          return false;
        }
        v = v * 10 + (c - 0x30);
      }
      if (len === 0) return false; // "" is not a number
      return op === OP_NUMBER_EQ ? v === this.testNumber[t] : v >= this.testNumber[t]!;
    }
    // Keywords: a string as it is, a number or boolean as its text (toKeyword).
    if ((flags & (F_ESCAPE | F_NOT_PLAIN)) !== 0) return true;
    if (kind === K_NUMBER && len > 15) return true;
    const text = this.testText[t]!;
    if (op === OP_KEYWORD_EQ_CI) {
      // toLowerCase() of a non-ASCII string may yield ASCII letters (U+212A KELVIN SIGN is "k").
      if ((flags & F_HIGH) !== 0) return true;
      if (len !== text.length) return false;
      for (let i = 0; i < len; i++) {
        let c = b[start + i]!;
        if (c >= 0x41 && c <= 0x5a) c += 0x20;
        if (c !== text[i]) return false;
      }
      return true;
    }
    if (len !== text.length) return false;
    for (let i = 0; i < len; i++) if (b[start + i] !== text[i]) return false;
    return true;
  }

  /** An escape sequence at `p` (a backslash): the index after it, or -1 when invalid. */
  private escape(p: number): number {
    const b = this.b;
    if (p + 1 >= this.n) return -1;
    const c = b[p + 1];
    if (c === 0x75) {
      if (p + 6 > this.n) return -1;
      for (let i = p + 2; i < p + 6; i++) if (!isHex(b[i]!)) return -1;
      return p + 6;
    }
    // " \ / b f n r t
    return c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74
      ? p + 2
      : -1;
  }

  /** A UTF-8 sequence at `p` (a byte >= 0x80), as RFC 3629 and TextDecoder's fatal mode accept: after it, or -1. */
  private utf8(p: number): number {
    const b = this.b;
    const n = this.n;
    const c = b[p]!;
    let more: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) more = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return -1;
    if (p + more >= n) return -1;
    const c1 = b[p + 1]!;
    if (c1 < lo || c1 > hi) return -1;
    for (let i = 2; i <= more; i++) {
      const x = b[p + i]!;
      if (x < 0x80 || x > 0xbf) return -1;
    }
    return p + more + 1;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function isFalse(b: Uint8Array, p: number): boolean {
  return b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65;
}

const NOT_SIMPLE = -2;
const DAYS_IN_MONTH = [0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const digits2 = (b: Uint8Array, i: number): number => {
  const x = b[i]! - 0x30;
  const y = b[i + 1]! - 0x30;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
};

/**
 * The common `@timestamp` form, `YYYY-MM-DDTHH:MM:SS[.f…]Z` with a year from 100, read from bytes
 * exactly as parseIso (time.ts) reads it: the event time, PARSE when parseIso would refuse it, or
 * NOT_SIMPLE for any other form (the caller then asks parseEventTime itself).
 */
function isoUtc(b: Uint8Array, s: number, e: number): number {
  if (e - s < 20 || b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54) return NOT_SIMPLE;
  if (b[s + 13] !== 0x3a || b[s + 16] !== 0x3a || (b[e - 1] !== 0x5a && b[e - 1] !== 0x7a)) return NOT_SIMPLE;
  const hi = digits2(b, s);
  const lo = digits2(b, s + 2);
  const month = digits2(b, s + 5);
  const day = digits2(b, s + 8);
  const hour = digits2(b, s + 11);
  const minute = digits2(b, s + 14);
  const second = digits2(b, s + 17);
  if ((hi | lo | month | day | hour | minute | second) < 0) return NOT_SIMPLE;
  const year = hi * 100 + lo;
  if (year < 100) return NOT_SIMPLE;
  let millis = 0;
  if (e - s > 20) {
    const sep = b[s + 19];
    if ((sep !== 0x2e && sep !== 0x2c) || e - s < 22) return NOT_SIMPLE;
    for (let i = s + 20; i < e - 1; i++) if (!isDigit(b[i]!)) return NOT_SIMPLE;
    for (let i = 0; i < 3; i++) millis = millis * 10 + (s + 20 + i < e - 1 ? b[s + 20 + i]! - 0x30 : 0);
  }
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const dim = month === 2 && leap ? 29 : DAYS_IN_MONTH[month]!;
  if (month < 1 || month > 12 || day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) return PARSE;
  const t = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  return t >= 0 && t <= MAX_EVENT_TIME ? t : PARSE;
}

/** ASCII bytes as a string. */
function latin1(b: Uint8Array, start: number, end: number): string {
  const buf = Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  return buf.toString('latin1', start, end);
}
