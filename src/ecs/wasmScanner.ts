/**
 * The WebAssembly build of the fast path's byte scanner (src/ecs/wasm/scanner.as.ts, compiled by
 * scripts/build-wasm.mjs into dist/src/ecs/wasm/scanner.wasm) and the memory it works in. FastPath
 * uses it when it loads; otherwise (the file missing, WebAssembly unavailable) FastPath runs its own
 * JavaScript scan(), which reports the same and is about half as fast.
 *
 * One instance per process, shared by every FastPath: a scan is synchronous and never re-entered.
 * Layout of its memory (bytes):
 *   CLASS_AT   256      the class of each byte inside a JSON string
 *   STACK_AT   1,280    container kinds (u8 × 256) and trie nodes (i32 × 256) by depth
 *   HEAP_AT…            the tries (bump-allocated, one per distinct set of fields), then the
 *                       message buffer and the records (5 i32 each: kind, node, start, end, flags),
 *                       both re-allocated larger when a message does not fit. A record is a value
 *                       or a key, each at least 2 bytes of the message with its separator, so
 *                       n / 2 + 2 records always fit: the scanner never gives up for lack of room.
 */
import { readFileSync } from 'node:fs';

/** Record kinds, as the scanner writes them. */
export const W_STRING = 1;
export const W_NUMBER = 2;
export const W_LITERAL = 3;
export const W_KEY = 4;
/** A W_KEY record's flags: the depth in the low 16 bits, and this bit when the key holds an escape. */
export const W_KEY_ESCAPED = 0x10000;
/** A node's mark: report the values of the field it completes (or of `@timestamp`). */
export const MARK_VALUES = 1;
/** A node's mark: report the key (it decides the `auto` shape). */
export const MARK_KEY = 2;

const CLASS_AT = 1024;
const STACK_AT = 2048;
const HEAP_AT = 16384;
const PAGE = 65536;
/** Depth the stack region holds (FastPath never asks for more: MAX_SCAN_DEPTH is 128). */
export const WASM_MAX_DEPTH = 250;

/** The part of the WebAssembly JS API used here (TypeScript's ES2023 lib does not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
const WebAssemblyApi = (
  globalThis as unknown as {
    WebAssembly?: {
      Memory: new (descriptor: { initial: number }) => WasmMemory;
      Module: new (bytes: Uint8Array) => object;
      Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
    };
  }
).WebAssembly;

type ScanFn = (
  cls: number,
  trie: number,
  mark: number,
  tsNode: number,
  msg: number,
  n: number,
  maxDepth: number,
  out: number,
  outCap: number,
  auto: number,
  stack: number,
) => number;

/** A trie placed in the scanner's memory. */
export interface WasmTrie {
  readonly trie: number;
  readonly mark: number;
}

export class WasmScanner {
  private bytes: Uint8Array;
  /** The records of the last scan. */
  records: Int32Array = new Int32Array(0);
  private heap = HEAP_AT;
  private msgAt = 0;
  private msgSize = 0;
  private outAt = 0;
  private outCapacity = 0;
  private readonly tries = new Map<string, WasmTrie>();

  constructor(
    private readonly memory: WasmMemory,
    private readonly scanFn: ScanFn,
    stringClass: Uint8Array,
  ) {
    this.bytes = new Uint8Array(memory.buffer);
    this.bytes.set(stringClass, CLASS_AT);
  }

  /** Places a trie (trans: next node by node * 128 + byte; mark: per node) once per signature. */
  trie(signature: string, trans: Int32Array, mark: Uint8Array): WasmTrie {
    const known = this.tries.get(signature);
    if (known !== undefined) return known;
    const trie = this.alloc(trans.byteLength);
    new Int32Array(this.memory.buffer, trie, trans.length).set(trans);
    const markAt = this.alloc(mark.length);
    this.bytes.set(mark, markAt);
    const placed = { trie, mark: markAt };
    this.tries.set(signature, placed);
    return placed;
  }

  /** Scans `raw` (copied in): the number of records in `records`, or -1 when not proved. */
  scan(raw: Uint8Array, t: WasmTrie, tsNode: number, maxDepth: number, auto: boolean): number {
    const n = raw.length;
    if (n + 1 > this.msgSize) {
      this.msgSize = Math.max(n + 1, 2 * this.msgSize, 64 * 1024);
      this.msgAt = this.alloc(this.msgSize);
      this.outCapacity = (this.msgSize >> 1) + 2;
      this.outAt = this.alloc(this.outCapacity * 20);
      this.records = new Int32Array(this.memory.buffer, this.outAt, this.outCapacity * 5);
    }
    this.bytes.set(raw, this.msgAt);
    const depth = Math.min(maxDepth, WASM_MAX_DEPTH);
    return this.scanFn(
      CLASS_AT,
      t.trie,
      t.mark,
      tsNode,
      this.msgAt,
      n,
      depth,
      this.outAt,
      this.outCapacity,
      auto ? 1 : 0,
      STACK_AT,
    );
  }

  private alloc(size: number): number {
    const at = (this.heap + 7) & ~7;
    this.heap = at + size;
    const need = Math.ceil(this.heap / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) {
      this.memory.grow(need);
      this.bytes = new Uint8Array(this.memory.buffer);
      if (this.outCapacity > 0) this.records = new Int32Array(this.memory.buffer, this.outAt, this.outCapacity * 5);
    }
    return at;
  }
}

let loaded: WasmScanner | null | undefined;

/**
 * The process's scanner, loaded on first use; undefined when it cannot be (dist/src/ecs/wasm/
 * scanner.wasm not built, or no WebAssembly).
 */
export function wasmScanner(stringClass: Uint8Array): WasmScanner | undefined {
  if (loaded === undefined) {
    loaded = null;
    try {
      const api = WebAssemblyApi;
      if (api === undefined) return undefined;
      const bytes = readFileSync(new URL('./wasm/scanner.wasm', import.meta.url));
      const memory = new api.Memory({ initial: 2 });
      const instance = new api.Instance(new api.Module(bytes), { env: { memory } });
      loaded = new WasmScanner(memory, instance.exports.scan as ScanFn, stringClass);
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
