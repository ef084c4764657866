/**
 * The fast path's byte scanner (src/ecs/fastPath.ts) in AssemblyScript, compiled to WebAssembly by
 * `npm run build` (scripts/build-wasm.mjs → dist/src/ecs/wasm/scanner.wasm). It is the same pass as
 * FastPath's JavaScript scan(), which stays the readable reference and the fallback: strict JSON and
 * UTF-8, depth, the trie walk over keys, and the interests' field tests on the values of the fields
 * that have them (as FastPath.leaf and mayHold apply them), stopping as soon as an alternative holds.
 * It reports back, in document order, only the values of `@timestamp` (whose common ISO form it also
 * reads: isoUtc below) and, for the `auto` format, the keys that decide the document's shape; FastPath
 * reads those. V8 runs it about twice as fast as the same pass in JavaScript (no bounds checks, no
 * tagged values, string bodies 16 bytes at a time).
 *
 * Memory (imported; laid out by src/ecs/wasmScanner.ts):
 *   cls      256 bytes: the class of each byte inside a JSON string (0 plain, 1 quote, 2 backslash,
 *            3 control, 4 >= 0x80)
 *   prog     the compiled interests (PROG_* offsets below): the trie (i32 per node and ASCII byte:
 *            the next node, 0 when no field continues so), a mark byte per node (1 = the field has
 *            tests, 2 = a key deciding the `auto` shape), per node the first index and count of its
 *            tests in the test list, the tests (TEST_SIZE bytes each), each test's alternatives, the
 *            size of each alternative, and the scratch state `holds` (u8 per test) and `remaining`
 *            (i32 per alternative)
 *   msg      the message, followed by a 0 byte written here (the sentinel), and 15 more bytes
 *            of room: string bodies are skipped 16 bytes at a time (WebAssembly SIMD), and stop at
 *            the sentinel at the latest
 *   out      records of 5 i32: kind, node, start, end, flags (room for outCap of them)
 *   stack    kinds (u8) at stack, nodes (i32) at stack + 256, and at stack + TIME_SLOT the f64 time
 *            read from the last `@timestamp` string (isoUtc below)
 *
 * Returns the number of records; -1: not proved (invalid, deeper than maxDepth, an escape in a
 * key the trie still follows, a `@timestamp` that is an object, array, literal or null), or an
 * alternative of the interests holds (the event may matter: it is parsed); FULL (-2): more records
 * than outCap (a document with thousands of repeated shape keys), which the host then scans in
 * JavaScript.
 */
const FULL: i32 = -2;

// The compiled interests: i32 addresses at these offsets of `prog`.
const PROG_TRIE: usize = 0;
const PROG_MARK: usize = 4;
const PROG_NODE_TESTS: usize = 8; // per node: i32 first, i32 count (into PROG_TEST_LIST)
const PROG_TEST_LIST: usize = 12; // i32 test indices
const PROG_TESTS: usize = 16; // TEST_SIZE bytes per test
const PROG_ALT_LIST: usize = 20; // i32 alternative indices
const PROG_ALT_SIZE: usize = 24; // i32 per alternative
const PROG_HOLDS: usize = 28; // u8 per test (scratch)
const PROG_REMAINING: usize = 32; // i32 per alternative (scratch)
const PROG_TEST_COUNT: usize = 36; // i32
const PROG_ALT_COUNT: usize = 40; // i32
// A test: i32 op, i32 text address, i32 text length, i32 first and i32 count of its alternatives
// (into PROG_ALT_LIST), then the f64 number at 24.
const TEST_SIZE: usize = 32;
const OP_NUMBER_EQ: i32 = 0;
const OP_NUMBER_GTE: i32 = 1;
const OP_KEYWORD_EQ_CI: i32 = 3;
const TIME_SLOT: usize = 1280;
const MARK_TESTS: u8 = 1;
const MARK_KEY: u8 = 2;

// Record kinds (fastPath.ts has the same numbers).
const K_STRING: i32 = 1;
const K_NUMBER: i32 = 2;
const K_LITERAL: i32 = 3;
const K_KEY: i32 = 4;
// Flags of a value.
const F_ESCAPE: i32 = 1;
const F_HIGH: i32 = 2;
const F_NOT_PLAIN: i32 = 4;
/** A K_KEY record's flags: the depth, and this bit when the key holds an escape. */
const KEY_ESCAPED: i32 = 0x10000;

const PLAIN: u8 = 0;
const QUOTE: u8 = 1;
const BACKSLASH: u8 = 2;
const HIGH: u8 = 4;
const OBJECT: u8 = 1;
const ARRAY: u8 = 2;
const DEAD: i32 = 0;
const ROOT: i32 = 1;

@inline function isWs(c: u32): bool {
  return c == 0x20 || c == 0x0a || c == 0x0d || c == 0x09;
}

/** The first byte at or after p that is not plain inside a string (`"`, `\\`, < 0x20, >= 0x80). */
@inline function skipPlain(p: usize): usize {
  while (true) {
    const v = v128.load(p);
    const m = i8x16.bitmask(
      v128.or(v128.or(i8x16.eq(v, i8x16.splat(0x22)), i8x16.eq(v, i8x16.splat(0x5c))), v128.or(i8x16.lt_u(v, i8x16.splat(0x20)), v)),
    );
    if (m != 0) return p + <usize>ctz<i32>(m);
    p += 16;
  }
}

@inline function isDigit(c: u32): bool {
  return c - 0x30 < 10;
}

function isHex(c: u32): bool {
  return c - 0x30 < 10 || c - 0x41 < 6 || c - 0x61 < 6;
}

/** An escape at p (a backslash): the index after it, or 0 when invalid (p is never 0 here). */
function escape(p: usize, end: usize): usize {
  if (p + 1 >= end) return 0;
  const c = <u32>load<u8>(p + 1);
  if (c == 0x75) {
    if (p + 6 > end) return 0;
    for (let i: usize = p + 2; i < p + 6; i++) if (!isHex(<u32>load<u8>(i))) return 0;
    return p + 6;
  }
  return c == 0x22 || c == 0x5c || c == 0x2f || c == 0x62 || c == 0x66 || c == 0x6e || c == 0x72 || c == 0x74
    ? p + 2
    : 0;
}

/** A UTF-8 sequence at p (a byte >= 0x80) as RFC 3629 and TextDecoder's fatal mode accept: after it, or 0. */
function utf8(p: usize, end: usize): usize {
  const c = <u32>load<u8>(p);
  let more: usize;
  let lo: u32 = 0x80;
  let hi: u32 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) more = 1;
  else if (c >= 0xe0 && c <= 0xef) {
    more = 2;
    if (c == 0xe0) lo = 0xa0;
    else if (c == 0xed) hi = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    more = 3;
    if (c == 0xf0) lo = 0x90;
    else if (c == 0xf4) hi = 0x8f;
  } else return 0;
  if (p + more >= end) return 0;
  const c1 = <u32>load<u8>(p + 1);
  if (c1 < lo || c1 > hi) return 0;
  for (let i: usize = 2; i <= more; i++) {
    const x = <u32>load<u8>(p + i);
    if (x < 0x80 || x > 0xbf) return 0;
  }
  return p + more + 1;
}

/** Whether test `t` holds, or may hold (the value cannot be read exactly), for this value: FastPath.mayHold. */
function mayHold(t: usize, kind: i32, start: usize, end: usize, flags: i32): bool {
  const op = load<i32>(t);
  const len = <i32>(end - start);
  if (op == OP_NUMBER_EQ || op == OP_NUMBER_GTE) {
    if (kind == K_LITERAL) return false; // booleans are not numbers
    if ((flags & (F_ESCAPE | F_NOT_PLAIN)) != 0 || len > 15) return true;
    let v: f64 = 0;
    for (let i = start; i < end; i++) {
      const c = <u32>load<u8>(i);
      if (!isDigit(c)) {
        // A string: numeric only if it holds a digit somewhere (see values.ts NUMERIC_STRING).
        for (let j = start; j < end; j++) if (isDigit(<u32>load<u8>(j))) return true;
        return false;
      }
      v = v * 10 + <f64>(c - 0x30);
    }
    if (len == 0) return false; // "" is not a number
    const x = load<f64>(t, 24);
    return op == OP_NUMBER_EQ ? v == x : v >= x;
  }
  // Keywords: a string as it is, a number or boolean as its text (toKeyword).
  if ((flags & (F_ESCAPE | F_NOT_PLAIN)) != 0) return true;
  if (kind == K_NUMBER && len > 15) return true;
  const text = <usize>load<i32>(t, 4);
  if (len != load<i32>(t, 8)) {
    // toLowerCase() of a non-ASCII string may yield ASCII letters (U+212A KELVIN SIGN is "k").
    return op == OP_KEYWORD_EQ_CI && (flags & F_HIGH) != 0;
  }
  if (op == OP_KEYWORD_EQ_CI) {
    if ((flags & F_HIGH) != 0) return true;
    for (let i: usize = 0; i < <usize>len; i++) {
      let c = <u32>load<u8>(start + i);
      if (c - 0x41 < 26) c += 0x20;
      if (c != <u32>load<u8>(text + i)) return false;
    }
    return true;
  }
  for (let i: usize = 0; i < <usize>len; i++) if (load<u8>(start + i) != load<u8>(text + i)) return false;
  return true;
}

/**
 * A value of a field with tests: marks the tests it may satisfy (FastPath.leaf). True when an
 * alternative now holds entirely.
 */
function interesting(prog: usize, node: i32, kind: i32, start: usize, end: usize, flags: i32): bool {
  const nodeTests = <usize>load<i32>(prog + PROG_NODE_TESTS) + (<usize>node << 3);
  const list = <usize>load<i32>(prog + PROG_TEST_LIST);
  const tests = <usize>load<i32>(prog + PROG_TESTS);
  const holds = <usize>load<i32>(prog + PROG_HOLDS);
  const altList = <usize>load<i32>(prog + PROG_ALT_LIST);
  const remaining = <usize>load<i32>(prog + PROG_REMAINING);
  const first = <usize>load<i32>(nodeTests);
  const count = <usize>load<i32>(nodeTests, 4);
  for (let k: usize = 0; k < count; k++) {
    const ti = <usize>load<i32>(list + ((first + k) << 2));
    if (load<u8>(holds + ti) != 0) continue;
    const t = tests + ti * TEST_SIZE;
    if (!mayHold(t, kind, start, end, flags)) continue;
    store<u8>(holds + ti, 1);
    const altFirst = <usize>load<i32>(t, 12);
    const altCount = <usize>load<i32>(t, 16);
    for (let a: usize = 0; a < altCount; a++) {
      const at = remaining + (<usize>load<i32>(altList + ((altFirst + a) << 2)) << 2);
      const left = load<i32>(at) - 1;
      store<i32>(at, left);
      if (left == 0) return true;
    }
  }
  return false;
}

/** Writes record number `i` (5 i32) at `out`. */
@inline function record(out: usize, i: i32, kind: i32, node: i32, start: i32, end: i32, flags: i32): void {
  const r = out + <usize>i * 20;
  store<i32>(r, kind);
  store<i32>(r, node, 4);
  store<i32>(r, start, 8);
  store<i32>(r, end, 12);
  store<i32>(r, flags, 16);
}

const NOT_SIMPLE: f64 = -2;
const REFUSED: f64 = -1;
/** FastPath's MAX_EVENT_TIME (time.ts): 9999-12-31T23:59:59.999Z. */
const MAX_EVENT_TIME: f64 = 253402300799999;

@inline function digits2(p: usize): i32 {
  const x = <u32>load<u8>(p) - 0x30;
  const y = <u32>load<u8>(p + 1) - 0x30;
  return x < 10 && y < 10 ? <i32>(x * 10 + y) : -1;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
function daysFromCivil(year: i32, month: i32, day: i32): i64 {
  const y: i64 = <i64>(month <= 2 ? year - 1 : year);
  const era: i64 = (y >= 0 ? y : y - 399) / 400;
  const yoe: i64 = y - era * 400;
  const mp: i64 = <i64>(month > 2 ? month - 3 : month + 9);
  const doy: i64 = (153 * mp + 2) / 5 + <i64>day - 1;
  const doe: i64 = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

/**
 * The common `@timestamp` form, `YYYY-MM-DDTHH:MM:SS[.f…]Z` with a year from 100: the epoch ms,
 * REFUSED when the full path would refuse it, NOT_SIMPLE for any other form. The same reading as
 * isoUtc in fastPath.ts (which FastPath uses with the JavaScript scanner).
 */
function isoUtc(s: usize, e: usize): f64 {
  if (e - s < 20 || load<u8>(s + 4) != 0x2d || load<u8>(s + 7) != 0x2d || load<u8>(s + 10) != 0x54) return NOT_SIMPLE;
  const z = load<u8>(e - 1);
  if (load<u8>(s + 13) != 0x3a || load<u8>(s + 16) != 0x3a || (z != 0x5a && z != 0x7a)) return NOT_SIMPLE;
  const hi = digits2(s);
  const lo = digits2(s + 2);
  const month = digits2(s + 5);
  const day = digits2(s + 8);
  const hour = digits2(s + 11);
  const minute = digits2(s + 14);
  const second = digits2(s + 17);
  if ((hi | lo | month | day | hour | minute | second) < 0) return NOT_SIMPLE;
  const year = hi * 100 + lo;
  if (year < 100) return NOT_SIMPLE;
  let millis: i32 = 0;
  if (e - s > 20) {
    const sep = load<u8>(s + 19);
    if ((sep != 0x2e && sep != 0x2c) || e - s < 22) return NOT_SIMPLE;
    for (let i: usize = s + 20; i < e - 1; i++) if (!isDigit(<u32>load<u8>(i))) return NOT_SIMPLE;
    for (let i: usize = 0; i < 3; i++) millis = millis * 10 + (s + 20 + i < e - 1 ? <i32>load<u8>(s + 20 + i) - 0x30 : 0);
  }
  const leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  let dim: i32 = 31;
  if (month == 2) dim = leap ? 29 : 28;
  else if (month == 4 || month == 6 || month == 9 || month == 11) dim = 30;
  if (month < 1 || month > 12 || day < 1 || day > dim || hour > 23 || minute > 59 || second > 59) return REFUSED;
  const t: f64 =
    <f64>daysFromCivil(year, month, day) * 86400000 + <f64>(hour * 3600000 + minute * 60000 + second * 1000 + millis);
  return t >= 0 && t <= MAX_EVENT_TIME ? t : REFUSED;
}

export function scan(
  cls: usize,
  prog: usize,
  tsNode: i32,
  msg: usize,
  n: i32,
  maxDepth: i32,
  out: usize,
  outCap: i32,
  auto: i32,
  stack: usize,
): i32 {
  const end: usize = msg + <usize>n;
  store<u8>(end, 0);
  const trie = <usize>load<i32>(prog + PROG_TRIE);
  const mark = <usize>load<i32>(prog + PROG_MARK);
  // No test holds yet: holds all 0, remaining = the size of each alternative.
  memory.fill(<usize>load<i32>(prog + PROG_HOLDS), 0, <usize>load<i32>(prog + PROG_TEST_COUNT));
  memory.copy(
    <usize>load<i32>(prog + PROG_REMAINING),
    <usize>load<i32>(prog + PROG_ALT_SIZE),
    <usize>load<i32>(prog + PROG_ALT_COUNT) << 2,
  );
  const kinds = stack;
  const nodes = stack + 256;
  let count: i32 = 0;
  let p: usize = msg;
  let c = <u32>load<u8>(p);
  while (isWs(c)) c = <u32>load<u8>(++p);
  if (c != 0x7b) return -1;
  let depth: i32 = 1;
  store<u8>(kinds + 1, OBJECT);
  store<i32>(nodes + 4, ROOT);
  c = <u32>load<u8>(++p);
  while (isWs(c)) c = <u32>load<u8>(++p);
  let wantKey = c != 0x7d;
  let node: i32 = DEAD;
  if (!wantKey) {
    p++;
    depth = 0;
  }
  while (depth > 0) {
    if (wantKey) {
      if (load<u8>(p) != 0x22) return -1;
      const keyStart = ++p;
      let escaped: i32 = 0;
      node = load<i32>(nodes + (<usize>depth << 2));
      while (node != DEAD) {
        const k = <u32>load<u8>(p);
        if (load<u8>(cls + k) != PLAIN) break;
        node = load<i32>(trie + ((<usize>node << 9) | (<usize>k << 2)));
        p++;
      }
      while (true) {
        p = skipPlain(p);
        const k = load<u8>(cls + <usize>load<u8>(p));
        if (k == QUOTE) break;
        if (k == BACKSLASH) {
          if (node != DEAD) return -1;
          escaped = KEY_ESCAPED;
          p = escape(p, end);
        } else if (k == HIGH) {
          p = utf8(p, end);
          node = DEAD;
        } else return -1;
        if (p == 0) return -1;
      }
      // `auto`: the keys that decide the shape, and at depth 3 a key that is `ts` or escaped (under
      // `zeek` it makes the document raw Filebeat output); FastPath.onKey reads them.
      const keyEnd = p;
      c = <u32>load<u8>(++p);
      while (isWs(c)) c = <u32>load<u8>(++p);
      if (c != 0x3a) return -1;
      c = <u32>load<u8>(++p);
      while (isWs(c)) c = <u32>load<u8>(++p);
      if (
        auto != 0 &&
        ((load<u8>(mark + <usize>node) & MARK_KEY) != 0 ||
          (depth == 3 && (escaped != 0 || (keyEnd - keyStart == 2 && load<u16>(keyStart) == 0x7374))))
      ) {
        if (count >= outCap) return FULL;
        record(out, count++, K_KEY, node, <i32>(keyStart - msg), <i32>(p - msg), depth | escaped);
      }
      wantKey = false;
    }
    // A value at p, reached through trie node `node`, inside the container at `depth`.
    c = <u32>load<u8>(p);
    let kind: i32 = 0;
    let start: usize = p;
    let flags: i32 = 0;
    if (c == 0x22) {
      start = ++p;
      while (true) {
        p = skipPlain(p);
        const k = load<u8>(cls + <usize>load<u8>(p));
        if (k == QUOTE) break;
        if (k == BACKSLASH) {
          flags |= F_ESCAPE;
          p = escape(p, end);
        } else if (k == HIGH) {
          flags |= F_HIGH;
          p = utf8(p, end);
        } else return -1;
        if (p == 0) return -1;
      }
      kind = K_STRING;
    } else if (c == 0x7b || c == 0x5b) {
      if (node == tsNode || depth + 1 > maxDepth) return -1;
      depth++;
      let e = <u32>load<u8>(++p);
      while (isWs(e)) e = <u32>load<u8>(++p);
      if (c == 0x7b) {
        // An object's keys continue the field name after a dot.
        store<u8>(kinds + <usize>depth, OBJECT);
        store<i32>(nodes + (<usize>depth << 2), load<i32>(trie + ((<usize>node << 9) | (0x2e << 2))));
        if (e != 0x7d) {
          wantKey = true;
          continue;
        }
      } else {
        // An array's elements are the field's values.
        store<u8>(kinds + <usize>depth, ARRAY);
        store<i32>(nodes + (<usize>depth << 2), node);
        if (e != 0x5d) continue;
      }
      p++;
      depth--;
    } else if (c == 0x74 || c == 0x66) {
      const len: usize = c == 0x74 ? 4 : 5;
      if (p + len > end) return -1;
      if (c == 0x74) {
        if (!(load<u8>(p + 1) == 0x72 && load<u8>(p + 2) == 0x75 && load<u8>(p + 3) == 0x65)) return -1;
      } else if (!(load<u8>(p + 1) == 0x61 && load<u8>(p + 2) == 0x6c && load<u8>(p + 3) == 0x73 && load<u8>(p + 4) == 0x65)) {
        return -1;
      }
      if (node == tsNode) return -1;
      p += len;
      kind = K_LITERAL;
    } else if (c == 0x6e) {
      if (p + 4 > end || load<u8>(p + 1) != 0x75 || load<u8>(p + 2) != 0x6c || load<u8>(p + 3) != 0x6c) return -1;
      // A null value is a missing value; a null @timestamp is missing_timestamp.
      if (node == tsNode) return -1;
      p += 4;
    } else {
      // A number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      if (c == 0x2d) {
        flags = F_NOT_PLAIN;
        c = <u32>load<u8>(++p);
      }
      if (c == 0x30) c = <u32>load<u8>(++p);
      else if (c - 0x31 < 9) {
        c = <u32>load<u8>(++p);
        while (isDigit(c)) c = <u32>load<u8>(++p);
      } else return -1;
      if (c == 0x2e) {
        flags = F_NOT_PLAIN;
        c = <u32>load<u8>(++p);
        if (!isDigit(c)) return -1;
        while (isDigit(c)) c = <u32>load<u8>(++p);
      }
      if (c == 0x65 || c == 0x45) {
        flags = F_NOT_PLAIN;
        c = <u32>load<u8>(++p);
        if (c == 0x2b || c == 0x2d) c = <u32>load<u8>(++p);
        if (!isDigit(c)) return -1;
        while (isDigit(c)) c = <u32>load<u8>(++p);
      }
      kind = K_NUMBER;
    }
    if (kind != 0 && node != DEAD) {
      if (node == tsNode) {
        // `@timestamp`: reported, FastPath reads it; the common ISO form is read here too, into the
        // f64 at stack + TIME_SLOT.
        if (kind == K_STRING && flags == 0) store<f64>(stack + TIME_SLOT, isoUtc(start, p));
        else store<f64>(stack + TIME_SLOT, NOT_SIMPLE);
        if (count >= outCap) return FULL;
        record(out, count++, kind, node, <i32>(start - msg), <i32>(p - msg), flags);
      } else if ((load<u8>(mark + <usize>node) & MARK_TESTS) != 0 && interesting(prog, node, kind, start, p, flags)) {
        return -1;
      }
    }
    if (kind == K_STRING) p++;
    // After a value: close containers until a `,` opens the next member or element.
    while (true) {
      c = <u32>load<u8>(p);
      while (isWs(c)) c = <u32>load<u8>(++p);
      if (c == 0x2c) {
        c = <u32>load<u8>(++p);
        while (isWs(c)) c = <u32>load<u8>(++p);
        if (load<u8>(kinds + <usize>depth) == OBJECT) wantKey = true;
        else node = load<i32>(nodes + (<usize>depth << 2));
        break;
      }
      if (c != (load<u8>(kinds + <usize>depth) == OBJECT ? 0x7d : 0x5d)) return -1;
      p++;
      if (--depth == 0) break;
    }
  }
  c = <u32>load<u8>(p);
  while (isWs(c)) c = <u32>load<u8>(++p);
  return p == end ? count : -1;
}
