/**
 * The time forms raw shippers write, turned into picket's event time (epoch milliseconds,
 * sub-millisecond digits truncated as in ../time.ts) and its ISO form.
 */
import { formatEventTime, MAX_EVENT_TIME, parseIso } from '../time.js';

const DECIMAL = /^(\d{1,12})(?:\.(\d*))?$/;

/**
 * Epoch seconds with a fraction (Zeek's `ts`: `1588205199.82437`), as a number or a string.
 * Truncated on the decimal digits, not by float arithmetic: `1547188417.857 * 1000` is
 * `1547188417856.9998` in binary floating point, but the event happened at millisecond 857.
 */
export function epochSecondsToMillis(v: unknown): number | undefined {
  let digits: string;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    // Fast path: the float product is off by far less than 0.001 ms, so its floor is right unless
    // it lies just below an integer (…856.9998), where the decimal digits must decide.
    const x = v * 1000;
    const f = Math.floor(x);
    if (x - f < 0.999) return checked(f);
    digits = String(v); // the shortest decimal that round-trips: the digits Zeek wrote
  } else if (typeof v === 'string') {
    digits = v;
  } else {
    return undefined;
  }
  const m = DECIMAL.exec(digits);
  if (m === null) {
    // Exponent forms (`1e-7`) only occur for values no real log holds; fall back to arithmetic.
    return typeof v === 'number' ? checked(Math.floor(v * 1000)) : undefined;
  }
  const frac = (m[2] ?? '').slice(0, 3).padEnd(3, '0');
  return checked(Number(m[1]) * 1000 + Number(frac));
}

function checked(ms: number): number | undefined {
  return Number.isSafeInteger(ms) && ms >= 0 && ms <= MAX_EVENT_TIME ? ms : undefined;
}

/** Zeek's `ts`: epoch seconds (JSON writer default, TSV) or ISO 8601 (`json_timestamps` ISO). */
export function zeekTimeToMillis(v: unknown): number | undefined {
  if (typeof v === 'number') return epochSecondsToMillis(v);
  if (typeof v !== 'string') return undefined;
  if (DECIMAL.test(v)) return epochSecondsToMillis(v);
  return parseIso(v);
}

/**
 * Sysmon's `UtcTime` (`2020-09-20 16:16:56.010`), which is UTC without a zone designator; also
 * accepts ISO 8601 with a zone.
 */
export function sysmonTimeToMillis(v: unknown): number | undefined {
  return typeof v === 'string' ? parseIso(v) : undefined;
}

let cachedSecond = Number.NaN;
let cachedPrefix = '';

/**
 * Epoch milliseconds as the ISO 8601 UTC text picket writes (`…T16:16:56.010Z`). Consecutive
 * events mostly share their second, so the `YYYY-MM-DDTHH:MM:SS.` part of the last one is reused:
 * Date's formatting is the costliest step of normalizing a Zeek record otherwise.
 */
export function isoMillis(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const iso = formatEventTime(ms);
    if (iso.length !== 24) return iso; // years beyond 9999 or before 0: no caching
    cachedSecond = second;
    cachedPrefix = iso.slice(0, 20);
  }
  const milli = ms - second * 1000;
  return `${cachedPrefix}${milli < 10 ? '00' : milli < 100 ? '0' : ''}${milli}Z`;
}
