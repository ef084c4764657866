/**
 * IP addresses compared as addresses, never as strings: `::ffff:10.1.2.3` is `10.1.2.3`, and
 * `FE80::1` equals `fe80::1`. An unparsable value is missing.
 *
 * Parsing uses ipaddr.js, restricted to the forms Elasticsearch's `ip` type accepts: IPv4 only as
 * four dotted decimal parts (ipaddr.js would also take `127.1` or `0x7f.0.0.1`), IPv6 in any
 * standard form, an IPv6 zone id (`fe80::1%eth0`) ignored.
 */
import ipaddr from 'ipaddr.js';
import type { FieldPath } from './fields.js';

/** A parsed address: IPv4 as an unsigned 32-bit number, IPv6 as 8 16-bit parts. */
export type Ip = { readonly v: 4; readonly n: number } | { readonly v: 6; readonly parts: readonly number[] };

export function parseIp(text: unknown): Ip | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  if (text.includes(':')) {
    const zone = text.indexOf('%');
    const bare = zone >= 0 ? text.slice(0, zone) : text;
    if (!ipaddr.IPv6.isValid(bare)) return undefined;
    const a = ipaddr.IPv6.parse(bare);
    if (a.isIPv4MappedAddress()) return { v: 4, n: v4ToNumber(a.toIPv4Address().octets) };
    return { v: 6, parts: a.parts.slice() };
  }
  const n = fourPartDecimal(text);
  return n < 0 ? undefined : { v: 4, n };
}

/**
 * Exactly what ipaddr.IPv4.isValidFourPartDecimal accepts (four parts `0` or `[1-9][0-9]*`, each at
 * most 255), read by hand: the address as a number, or -1. ipaddr.js's regular expressions were a
 * few % of the detections' time on network events.
 */
function fourPartDecimal(s: string): number {
  let n = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || part > 255 || ++parts > 4) return -1;
      n = n * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return -1; // a leading zero
      if (++digits > 3) return -1;
      part = part * 10 + (c - 0x30);
    } else return -1;
  }
  return parts === 4 ? n : -1;
}

function v4ToNumber(o: readonly number[]): number {
  return ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
}

/** Canonical text form (`10.1.2.3`, `fe80::1`), for alert documents and state keys. */
export function formatIp(ip: Ip): string {
  if (ip.v === 4) return `${ip.n >>> 24}.${(ip.n >>> 16) & 255}.${(ip.n >>> 8) & 255}.${ip.n & 255}`;
  return new ipaddr.IPv6(ip.parts.slice()).toString();
}

export function ipEquals(a: Ip, b: Ip): boolean {
  if (a.v === 4) return b.v === 4 && a.n === b.n;
  if (b.v !== 6) return false;
  for (let i = 0; i < 8; i++) if (a.parts[i] !== b.parts[i]) return false;
  return true;
}

/** Every parsable address of the field (unparsable elements are missing). */
export function ips(doc: unknown, path: FieldPath): Ip[] {
  const out: Ip[] = [];
  for (const v of path.values(doc)) {
    const ip = parseIp(v);
    if (ip !== undefined) out.push(ip);
  }
  return out;
}

export function firstIp(doc: unknown, path: FieldPath): Ip | undefined {
  for (const v of path.values(doc)) {
    const ip = parseIp(v);
    if (ip !== undefined) return ip;
  }
  return undefined;
}

interface V4Range {
  readonly base: number;
  readonly mask: number;
}
interface V6Range {
  readonly parts: readonly number[];
  readonly bits: number;
}

/**
 * A set of CIDR ranges (or single addresses), compiled once. Membership is a scan of a short
 * list of masks: the rule lists hold a few dozen ranges at most.
 */
export class CidrSet {
  private readonly v4: V4Range[] = [];
  private readonly v6: V6Range[] = [];

  constructor(readonly source: readonly string[]) {
    for (const entry of source) {
      const [addr, bitsText] = entry.includes('/') ? entry.split('/') : [entry, undefined];
      const ip = parseIp(addr);
      if (ip === undefined) throw new Error(`invalid CIDR "${entry}"`);
      const max = ip.v === 4 ? 32 : 128;
      const bits = bitsText === undefined ? max : Number(bitsText);
      if (!Number.isInteger(bits) || bits < 0 || bits > max) throw new Error(`invalid CIDR "${entry}"`);
      if (ip.v === 4) {
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        this.v4.push({ base: (ip.n & mask) >>> 0, mask });
      } else {
        this.v6.push({ parts: ip.parts, bits });
      }
    }
  }

  contains(ip: Ip): boolean {
    if (ip.v === 4) {
      for (const r of this.v4) if ((ip.n & r.mask) >>> 0 === r.base) return true;
      return false;
    }
    for (const r of this.v6) if (v6InRange(ip.parts, r)) return true;
    return false;
  }
}

function v6InRange(parts: readonly number[], r: V6Range): boolean {
  let bits = r.bits;
  for (let i = 0; i < 8 && bits > 0; i++, bits -= 16) {
    const take = bits >= 16 ? 16 : bits;
    const mask = (0xffff << (16 - take)) & 0xffff;
    if ((parts[i]! & mask) !== (r.parts[i]! & mask)) return false;
  }
  return true;
}
