/**
 * Re-serialisations of an event that every reader must read as the same event (detections.md,
 * "Common rules"), for the fast path's differential test: random JSON whitespace, shuffled key
 * order, nested ↔ dotted keys, `\uXXXX` escapes of ordinary letters and `\/`, ports as numeric
 * strings. Deterministic for a seed.
 */
import { isJsonObject, type JsonObject } from '../../src/ecs/fields.js';

export const VARIANT_KINDS = ['whitespace', 'shuffle', 'dotted', 'nested', 'mixed', 'escapes', 'port_strings'] as const;
export type VariantKind = (typeof VARIANT_KINDS)[number];

interface Style {
  readonly whitespace: boolean;
  readonly shuffle: boolean;
  readonly escapes: boolean;
}

export class Variants {
  constructor(private readonly r: () => number) {}

  /** The document re-serialised with the given kinds (one random kind when none is given). */
  variant(
    doc: JsonObject,
    kinds: readonly VariantKind[] = [VARIANT_KINDS[Math.floor(this.r() * VARIANT_KINDS.length)]!],
  ): string {
    let d: JsonObject = doc;
    if (kinds.includes('port_strings')) d = portStrings(d) as JsonObject;
    if (kinds.includes('dotted')) d = flatten(d, () => true);
    if (kinds.includes('nested')) d = nest(d);
    if (kinds.includes('mixed')) d = flatten(d, () => this.r() < 0.5);
    const style = {
      whitespace: kinds.includes('whitespace'),
      shuffle: kinds.includes('shuffle'),
      escapes: kinds.includes('escapes'),
    };
    return this.write(d, style);
  }

  private ws(style: Style): string {
    if (!style.whitespace) return '';
    let s = '';
    for (let n = Math.floor(this.r() * 3); n > 0; n--) s += ' \n\t\r'[Math.floor(this.r() * 4)];
    return s;
  }

  private str(s: string, style: Style): string {
    const json = JSON.stringify(s);
    if (!style.escapes || this.r() < 0.5) return json;
    let out = '';
    for (let i = 0; i < json.length; i++) {
      const ch = json[i]!;
      if (ch === '\\') {
        // Keep existing escapes whole.
        const len = json[i + 1] === 'u' ? 6 : 2;
        out += json.slice(i, i + len);
        i += len - 1;
      } else if (i > 0 && i < json.length - 1 && /[A-Za-z]/.test(ch) && this.r() < 0.3) {
        const hex = ch.charCodeAt(0).toString(16).padStart(4, '0');
        out += '\\u' + (this.r() < 0.5 ? hex : hex.toUpperCase());
      } else if (ch === '/') out += '\\/';
      else out += ch;
    }
    return out;
  }

  private write(v: unknown, style: Style): string {
    if (Array.isArray(v)) {
      const parts = v.map((x) => this.ws(style) + this.write(x, style) + this.ws(style));
      return '[' + (parts.length === 0 ? this.ws(style) : parts.join(',')) + ']';
    }
    if (isJsonObject(v)) {
      const keys = Object.keys(v);
      if (style.shuffle) {
        for (let i = keys.length - 1; i > 0; i--) {
          const j = Math.floor(this.r() * (i + 1));
          [keys[i], keys[j]] = [keys[j]!, keys[i]!];
        }
      }
      const parts = keys.map(
        (k) =>
          this.ws(style) +
          this.str(k, style) +
          this.ws(style) +
          ':' +
          this.ws(style) +
          this.write(v[k], style) +
          this.ws(style),
      );
      return '{' + (parts.length === 0 ? this.ws(style) : parts.join(',')) + '}';
    }
    if (typeof v === 'string') return this.str(v, style);
    return JSON.stringify(v);
  }
}

function portStrings(v: unknown, key = ''): unknown {
  if (Array.isArray(v)) return v.map((x) => portStrings(x, key));
  if (isJsonObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = portStrings(x, k);
    return out;
  }
  if ((key === 'port' || key.endsWith('.port')) && typeof v === 'number' && Number.isInteger(v)) return String(v);
  return v;
}

/** Nested objects (not those inside arrays) written as dotted keys where `pick` says so. */
function flatten(doc: JsonObject, pick: () => boolean): JsonObject {
  const out: JsonObject = {};
  const put = (prefix: string, v: unknown): void => {
    if (isJsonObject(v) && Object.keys(v).length > 0 && pick()) {
      for (const [k, x] of Object.entries(v)) put(`${prefix}.${k}`, x);
    } else if (!Object.prototype.hasOwnProperty.call(out, prefix)) out[prefix] = v;
  };
  for (const [k, v] of Object.entries(doc)) {
    if (isJsonObject(v) && Object.keys(v).length > 0 && pick())
      for (const [k2, x] of Object.entries(v)) put(`${k}.${k2}`, x);
    else if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = v;
  }
  return out;
}

/** Dotted keys written as nested objects, where that does not collide with a key already there. */
function nest(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) {
    const value = isJsonObject(v) ? nest(v) : v;
    const parts = k.split('.');
    if (parts.length < 2 || parts.some((p) => p.length === 0)) {
      if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = value;
      continue;
    }
    let node = out;
    let ok = true;
    for (const p of parts.slice(0, -1)) {
      const next = Object.prototype.hasOwnProperty.call(node, p) ? node[p] : (node[p] = {});
      if (!isJsonObject(next)) {
        ok = false;
        break;
      }
      node = next;
    }
    const leaf = parts[parts.length - 1]!;
    if (ok && !Object.prototype.hasOwnProperty.call(node, leaf)) node[leaf] = value;
    else if (!Object.prototype.hasOwnProperty.call(out, k)) out[k] = value;
  }
  return out;
}
