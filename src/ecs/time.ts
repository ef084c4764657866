/**
 * Event time. picket measures every window on event time, as integer epoch milliseconds:
 * sub-millisecond digits are truncated, as Elasticsearch's millisecond `date` type stores them, so
 * a Zeek record with microseconds and its ECS conversion compare the same way.
 */

/** The latest event time picket accepts at all (9999-12-31T23:59:59.999Z). */
export const MAX_EVENT_TIME = 253402300799999;

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const DIGITS = /^\d{1,16}$/;

/**
 * Parses `@timestamp`: ISO 8601 (any sub-second precision; `Z`, `±hh:mm`, `±hhmm` or `±hh`; no zone
 * means UTC, as Elasticsearch assumes) or epoch milliseconds (a JSON number or a string of digits).
 * Returns undefined when the value is not a usable time.
 */
export function parseEventTime(v: unknown): number | undefined {
  if (typeof v === 'number') return epochMillis(v);
  if (typeof v !== 'string') return undefined;
  if (DIGITS.test(v)) return epochMillis(Number(v));
  return parseIso(v);
}

function epochMillis(n: number): number | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  const ms = Math.floor(n);
  return ms <= MAX_EVENT_TIME ? ms : undefined;
}

export function parseIso(text: string): number | undefined {
  const m = ISO.exec(text);
  if (m === null) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let t = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0–99 to 1900–1999; set the year explicitly.
  if (year < 100) {
    const d = new Date(t);
    d.setUTCFullYear(year);
    t = d.getTime();
  }
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const zh = Number(digits.slice(0, 2));
    const zm = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (zh > 23 || zm > 59) return undefined;
    t -= sign * (zh * 60 + zm) * 60000;
  }
  return t >= 0 && t <= MAX_EVENT_TIME ? t : undefined;
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function isLeap(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}

/** ISO 8601 UTC with milliseconds, the form picket writes. */
export function formatEventTime(ms: number): string {
  return new Date(ms).toISOString();
}
