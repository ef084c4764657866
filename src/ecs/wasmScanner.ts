/**
 * The WebAssembly build of the fast path's byte scanner (src/ecs/wasm/scanner.as.ts, compiled by
 * scripts/build-wasm.mjs into dist/src/ecs/wasm/scanner.wasm) and the memory it works in. FastPath
 * uses it when it loads; otherwise (the file missing, WebAssembly unavailable) FastPath runs its own
 * JavaScript scan(), which reports the same and is about half as fast.
 *
 * One instance per process, shared by every FastPath: a scan is synchronous and never re-entered.
 * Layout of its memory (bytes):
 *   CLASS_AT   256      the class of each byte inside a JSON string
 *   STACK_AT   1,288    container kinds (u8 × 256) and trie nodes (i32 × 256) by depth, then the
 *                       f64 time the scanner read from the `@timestamp` string (TIME_AT)
 *   HEAP_AT…            the compiled interests (bump-allocated, one per distinct set), then the
 *                       message buffer, re-allocated larger when a message does not fit (it grows
 *                       to the largest message scanned, at most input.maxMessageBytes), and the
 *                       records (OUT_CAPACITY of 5 i32: kind, node, start, end, flags). Records are
 *                       `@timestamp` and shape keys, a handful per event; a message with more gets
 *                       WASM_FULL and is scanned in JavaScript instead.
 */
import { readFileSync } from 'node:fs';

/**
 * Record kinds, as the scanner writes them: a value's kind is fastPath.ts's K_STRING (1), K_NUMBER
 * (2) or K_LITERAL (3), which FastPath reads as they are; a key is W_KEY.
 */
export const W_KEY = 4;
/** A W_KEY record's flags: the depth in the low 16 bits, and this bit when the key holds an escape. */
export const W_KEY_ESCAPED = 0x10000;
/** A node's mark: the field it completes has tests. */
export const MARK_TESTS = 1;
/** A node's mark: report the key (it decides the `auto` shape). */
export const MARK_KEY = 2;

const CLASS_AT = 1024;
const STACK_AT = 2048;
const TIME_AT = STACK_AT + 1280;
const HEAP_AT = 16384;
const PAGE = 65536;
/** Records one scan can report (see WASM_FULL). */
const OUT_CAPACITY = 4096;
/** scan()'s answer when a message has more than OUT_CAPACITY records. */
export const WASM_FULL = -2;
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
  prog: number,
  tsNode: number,
  msg: number,
  n: number,
  maxDepth: number,
  out: number,
  outCap: number,
  auto: number,
  stack: number,
) => number;

/**
 * Interests compiled for the scanner (FastPath builds them): the trie and its marks, each node's
 * tests, the tests and their alternatives. scanner.as.ts describes the layout.
 */
export interface WasmProgramTables {
  /** Next node by node * 128 + ASCII byte. */
  readonly trans: Int32Array;
  /** Per node: MARK_TESTS, MARK_KEY. */
  readonly mark: Uint8Array;
  /** Per node: the tests (indices) on the field it completes. */
  readonly nodeTests: readonly (Int32Array | undefined)[];
  readonly tests: readonly {
    readonly op: number;
    readonly number: number;
    readonly text: Uint8Array;
    readonly alternatives: Int32Array;
  }[];
  readonly alternativeSize: Int32Array;
}

const TEST_SIZE = 32;
const HEADER_WORDS = 11;

export class WasmScanner {
  private bytes: Uint8Array;
  /** The records of the last scan. */
  records: Int32Array = new Int32Array(0);
  private heap = HEAP_AT;
  private msgAt = 0;
  private msgSize = 0;
  private readonly outAt: number;
  private readonly programs = new Map<string, number>();
  private timeSlot: Float64Array;

  constructor(
    private readonly memory: WasmMemory,
    private readonly scanFn: ScanFn,
    stringClass: Uint8Array,
  ) {
    this.bytes = new Uint8Array(memory.buffer);
    this.timeSlot = new Float64Array(memory.buffer, TIME_AT, 1);
    this.bytes.set(stringClass, CLASS_AT);
    this.outAt = this.alloc(OUT_CAPACITY * 20);
    this.records = new Int32Array(memory.buffer, this.outAt, OUT_CAPACITY * 5);
  }

  /** Places compiled interests once per signature: the `prog` address scan() takes. */
  program(signature: string, t: WasmProgramTables): number {
    const known = this.programs.get(signature);
    if (known !== undefined) return known;
    const i32 = (values: ArrayLike<number>): number => {
      const at = this.alloc(Math.max(4, values.length * 4));
      new Int32Array(this.memory.buffer, at, values.length).set(values);
      return at;
    };
    const u8 = (values: Uint8Array): number => {
      const at = this.alloc(Math.max(1, values.length));
      this.bytes.set(values, at);
      return at;
    };
    const nodeTests: number[] = [];
    const testList: number[] = [];
    for (const tests of t.nodeTests) {
      nodeTests.push(testList.length, tests?.length ?? 0);
      if (tests !== undefined) testList.push(...tests);
    }
    const altList: number[] = [];
    const testsAt = this.alloc(t.tests.length * TEST_SIZE);
    t.tests.forEach((test, i) => {
      const textAt = u8(test.text);
      const words = new Int32Array(this.memory.buffer, testsAt + i * TEST_SIZE, 6);
      words.set([test.op, textAt, test.text.length, altList.length, test.alternatives.length, 0]);
      new Float64Array(this.memory.buffer, testsAt + i * TEST_SIZE + 24, 1)[0] = test.number;
      altList.push(...test.alternatives);
    });
    const header = [
      i32(t.trans),
      u8(t.mark),
      i32(nodeTests),
      i32(testList),
      testsAt,
      i32(altList),
      i32(t.alternativeSize),
      this.alloc(Math.max(1, t.tests.length)),
      this.alloc(Math.max(4, t.alternativeSize.length * 4)),
      t.tests.length,
      t.alternativeSize.length,
    ];
    if (header.length !== HEADER_WORDS) throw new Error('wasm scanner: program header');
    const prog = i32(header);
    this.programs.set(signature, prog);
    return prog;
  }

  /**
   * The time the last scan read from its `@timestamp` string (fastPath.ts isoUtc's answer: epoch ms,
   * -1 refused, -2 not the common form).
   */
  get time(): number {
    return this.timeSlot[0]!;
  }

  /** Scans `raw` (copied in): the number of records in `records`, -1 when not proved, or WASM_FULL. */
  scan(raw: Uint8Array, prog: number, tsNode: number, maxDepth: number, auto: boolean): number {
    const n = raw.length;
    if (n + 1 > this.msgSize) {
      this.msgSize = Math.max(n + 1, 2 * this.msgSize, 64 * 1024);
      // 16 bytes of room after the sentinel: the scanner reads string bodies 16 bytes at a time.
      this.msgAt = this.alloc(this.msgSize + 16);
    }
    this.bytes.set(raw, this.msgAt);
    const depth = Math.min(maxDepth, WASM_MAX_DEPTH);
    return this.scanFn(CLASS_AT, prog, tsNode, this.msgAt, n, depth, this.outAt, OUT_CAPACITY, auto ? 1 : 0, STACK_AT);
  }

  private alloc(size: number): number {
    const at = (this.heap + 7) & ~7;
    this.heap = at + size;
    const need = Math.ceil(this.heap / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (need > 0) {
      this.memory.grow(need);
      this.bytes = new Uint8Array(this.memory.buffer);
      this.timeSlot = new Float64Array(this.memory.buffer, TIME_AT, 1);
      if (this.outAt !== undefined) this.records = new Int32Array(this.memory.buffer, this.outAt, OUT_CAPACITY * 5);
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
