/**
 * Copies parts of a document as nested ECS, whatever mix of nested and dotted keys it arrived in.
 * Used when building alerts (rare), never on the per-event path.
 */
import { isJsonObject, type JsonObject } from './fields.js';

/** Sets a property without ever invoking a `__proto__` setter (keys come from untrusted input). */
function setOwn(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function mergeInto(target: JsonObject, path: readonly string[], value: unknown): void {
  let node = target;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i]!;
    const next = Object.prototype.hasOwnProperty.call(node, k) ? node[k] : undefined;
    if (isJsonObject(next)) {
      node = next;
    } else if (next === undefined) {
      const created: JsonObject = {};
      setOwn(node, k, created);
      node = created;
    } else {
      return; // a leaf already stands here; the first value wins
    }
  }
  const last = path[path.length - 1]!;
  const existing = Object.prototype.hasOwnProperty.call(node, last) ? node[last] : undefined;
  if (isJsonObject(value)) {
    if (existing !== undefined && !isJsonObject(existing)) return;
    if (existing === undefined) setOwn(node, last, {});
    const dest = node[last] as JsonObject;
    for (const k of Object.keys(value)) mergeInto(dest, k.split('.'), value[k]);
  } else if (existing === undefined) {
    setOwn(node, last, value);
  }
}

/** The object under `top` (e.g. "host"), with dotted keys expanded; undefined when absent. */
export function subtree(doc: JsonObject, top: string): JsonObject | undefined {
  const out: JsonObject = {};
  const prefix = `${top}.`;
  for (const k of Object.keys(doc)) {
    if (k === top) mergeInto(out, [top], doc[k]);
    else if (k.startsWith(prefix)) mergeInto(out, k.split('.'), doc[k]);
  }
  const v = out[top];
  return isJsonObject(v) && Object.keys(v).length > 0 ? v : undefined;
}

/** `{host: …, source: …}` for each of `tops` present in the document. */
export function pickSubtrees(doc: JsonObject, tops: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const t of tops) {
    const v = subtree(doc, t);
    if (v !== undefined) setOwn(out, t, v);
  }
  return out;
}
