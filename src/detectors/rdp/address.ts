/**
 * The canonical text of an address (formatIp of parseIp, src/ecs/ip.ts), the form D4 keys its state
 * by and counts distinct sources in: `::ffff:10.1.2.3` and `10.1.2.3` are one source, `FE80::1` and
 * `fe80::1` one destination.
 *
 * Nearly every address in the data is already a canonical dotted quad, which is its own canonical
 * text: that case is recognised with one pass over the characters and returned as it is, without
 * parsing or building a string.
 */
import { formatIp, parseIp } from '../../ecs/ip.js';

/** Four decimal parts 0–255 without leading zeros: exactly what formatIp writes for IPv4. */
export function isCanonicalIpv4(s: string): boolean {
  const n = s.length;
  if (n < 7 || n > 15) return false;
  let dots = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (digits === 0) return false;
      dots++;
      value = 0;
      digits = 0;
      continue;
    }
    if (c < 48 || c > 57) return false;
    if (digits > 0 && value === 0) return false;
    value = value * 10 + (c - 48);
    digits++;
    if (value > 255) return false;
  }
  return dots === 3 && digits > 0;
}

/** The canonical text of an address value, or undefined when it is not a parsable address. */
export function canonicalAddress(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  if (isCanonicalIpv4(v)) return v;
  const ip = parseIp(v);
  return ip === undefined ? undefined : formatIp(ip);
}

/** Accepts a field value that is a parsable address (for FastField.find). */
export function isAddress(v: unknown): boolean {
  return typeof v === 'string' && (isCanonicalIpv4(v) || parseIp(v) !== undefined);
}
