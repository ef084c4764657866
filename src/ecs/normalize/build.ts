/**
 * Reading raw documents and writing ECS ones safely. Raw documents come from the network: a key
 * such as `__proto__` or `constructor` must never reach a prototype, whether it is read (a plain
 * `doc[key]` on a missing key walks the prototype chain) or written (assigning `__proto__`
 * replaces the prototype). Every read here is an own-property read, and every write of a key that
 * is not a constant of ours goes through `setOwn`.
 */
import { isJsonObject, type JsonObject } from '../fields.js';
import { subtree } from '../nest.js';

const hasOwn = Object.prototype.hasOwnProperty;

/** The own property `key` of `obj`, or undefined. */
export function own(obj: JsonObject, key: string): unknown {
  return hasOwn.call(obj, key) ? obj[key] : undefined;
}

/** The own property `key` when it is an object. */
export function ownObject(obj: JsonObject, key: string): JsonObject | undefined {
  const v = hasOwn.call(obj, key) ? obj[key] : undefined;
  return isJsonObject(v) ? v : undefined;
}

/**
 * Sets an own property without ever invoking a `__proto__` setter. On a plain object `__proto__`
 * is the only inherited accessor (`constructor`, `toString`… are data properties, which an
 * assignment shadows), so only that key needs defineProperty, which is several times slower.
 */
export function setOwn(obj: JsonObject, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

/** The object under `key` in an ECS document being built, created when absent. */
export function child(obj: JsonObject, key: string): JsonObject {
  const v = hasOwn.call(obj, key) ? obj[key] : undefined;
  if (isJsonObject(v)) return v;
  const created: JsonObject = {};
  setOwn(obj, key, created);
  return created;
}

/** Sets `value` at a nested path (`['source', 'ip']`) unless it is undefined. */
export function put(obj: JsonObject, path: readonly string[], value: unknown): void {
  if (value === undefined) return;
  let node = obj;
  for (let i = 0; i < path.length - 1; i++) node = child(node, path[i]!);
  setOwn(node, path[path.length - 1]!, value);
}

/** True when any top-level key is dotted (`"source.ip"`): the document needs expanding first. */
export function hasDottedKeys(obj: JsonObject): boolean {
  for (const k in obj) if (k.includes('.') && hasOwn.call(obj, k)) return true;
  return false;
}

/**
 * A string value as shippers write "no value": Sysmon and Windows use `-`, Zeek TSV `-`, the
 * Elastic pipelines drop `""`, `"-"` and the all-zero GUID before mapping. Those are undefined.
 */
export function text(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (v === '' || v === '-' || v === '{00000000-0000-0000-0000-000000000000}') return undefined;
  return v;
}

const INTEGER = /^[+-]?\d{1,16}$/;
const HEX = /^0[xX][0-9a-fA-F]{1,13}$/;

/** An integer from a JSON number, a decimal string or a `0x…` hex string (Windows ids). */
export function integer(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v !== 'string') return undefined;
  if (INTEGER.test(v)) return Number(v);
  if (HEX.test(v)) return parseInt(v.slice(2), 16);
  return undefined;
}

/**
 * A port as written: a non-negative integer. Not capped at 65535: a malformed port is kept as
 * the shipper wrote it (the Beats Zeek test input has 383341), as the Elastic pipelines keep it.
 */
export function port(v: unknown): number | undefined {
  const n = integer(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

/** `true`/`false` from JSON booleans or their string forms (`"true"`, Zeek TSV `T`/`F`). */
export function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'T') return true;
  if (v === 'false' || v === 'F') return false;
  return undefined;
}

/** The last path segment of a Windows or POSIX path (`C:\\Windows\\cmd.exe` → `cmd.exe`). */
export function basename(path: string): string {
  const i = Math.max(path.lastIndexOf('\\'), path.lastIndexOf('/'));
  return i >= 0 ? path.slice(i + 1) : path;
}

/** `table[key]` for a key from the input: own entries only (`constructor` is not an entry). */
export function lookup<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return hasOwn.call(table, key) ? table[key] : undefined;
}

/**
 * A reader of the document's top-level objects (`winlog`, `source`, …). Shippers write nested
 * JSON, but a document may arrive dotted (`"winlog.event_data.Image"`); then each object is
 * assembled from its dotted keys (nest.ts), which costs a scan, so only when there are any.
 */
export function topObjects(doc: JsonObject): (name: string) => JsonObject | undefined {
  if (!hasDottedKeys(doc)) return (name) => ownObject(doc, name);
  return (name) => subtree(doc, name);
}
