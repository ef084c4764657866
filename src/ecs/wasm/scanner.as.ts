/**
 * The fast path's byte scanner (src/ecs/fastPath.ts) in AssemblyScript, compiled to WebAssembly by
 * `npm run build` (scripts/build-wasm.mjs → dist/src/ecs/wasm/scanner.wasm). It is the same pass as
 * FastPath's JavaScript scan(), which stays the readable reference and the fallback: strict JSON and
 * UTF-8, depth, the trie walk over keys. It decides nothing about interests itself: it reports, in
 * document order, the values of fields the trie marks (and, for the `auto` format, the keys that
 * decide the shape), and FastPath applies its tests to them. V8 runs this loop about twice as fast
 * as the same loop in JavaScript (no bounds checks, no tagged values).
 *
 * Memory (imported; laid out by src/ecs/wasmScanner.ts):
 *   cls      256 bytes: the class of each byte inside a JSON string (0 plain, 1 quote, 2 backslash,
 *            3 control, 4 >= 0x80)
 *   trie     i32 per (node, ASCII byte): the next node, 0 (dead) when no field continues so
 *   mark     one byte per node: 1 = report its values (a field with tests, or `@timestamp`),
 *            2 = report the key (a key deciding the `auto` shape)
 *   msg      the message, followed by a 0 byte written here (the sentinel)
 *   out      records of 5 i32: kind, node, start, end, flags (room for outCap)
 *   stack    kinds (u8) at stack, nodes (i32) at stack + 256
 *
 * Returns the number of records, or -1: not proved (invalid, deeper than maxDepth, an escape in a
 * key the trie still follows, a `@timestamp` that is an object, array, literal or null; more
 * records than outCap, which the host makes room for, never happens).
 */

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

export function scan(
  cls: usize,
  trie: usize,
  mark: usize,
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
        while (load<u8>(cls + <usize>load<u8>(p)) == PLAIN) p++;
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
        ((load<u8>(mark + <usize>node) & 2) != 0 ||
          (depth == 3 && (escaped != 0 || (keyEnd - keyStart == 2 && load<u16>(keyStart) == 0x7374))))
      ) {
        if (count >= outCap) return -1;
        const r = out + <usize>count * 20;
        store<i32>(r, K_KEY);
        store<i32>(r, node, 4);
        store<i32>(r, <i32>(keyStart - msg), 8);
        store<i32>(r, <i32>(p - msg), 12);
        store<i32>(r, depth | escaped, 16);
        count++;
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
        while (load<u8>(cls + <usize>load<u8>(p)) == PLAIN) p++;
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
    if (kind != 0 && node != DEAD && (load<u8>(mark + <usize>node) & 1) != 0) {
      if (count >= outCap) return -1;
      const r = out + <usize>count * 20;
      store<i32>(r, kind);
      store<i32>(r, node, 4);
      store<i32>(r, <i32>(start - msg), 8);
      store<i32>(r, <i32>(p - msg), 12);
      store<i32>(r, flags, 16);
      count++;
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
