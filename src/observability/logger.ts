/**
 * JSON logs (pino) on stderr: stdout stays free for data (replay writes alerts there).
 * Secrets are kept out twice: redact paths for the fields that hold them, and a scrubber that
 * replaces any known secret value wherever it appears in a line (a kafkajs message, an error).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACTED = '[redacted]';

/** Paths that may hold secrets; redacted wherever they appear in a log line. */
export const REDACTED_PATHS = [
  'password',
  'passphrase',
  '*.password',
  '*.passphrase',
  '*.*.password',
  '*.*.passphrase',
  'sasl.password',
  'kafka.sasl.password',
  'config.kafka.sasl.password',
  'keyPassword',
  '*.keyPassword',
  'ssl.keyPassword',
  'kafka.ssl.keyPassword',
  'config.kafka.ssl.keyPassword',
  'ssl.key',
  '*.ssl.key',
  'kafka.ssl.key',
  'ssl.passphrase',
  'authorization',
  '*.authorization',
  'headers.authorization',
];

/** Scrubbed only from this length on: replacing a 1–3 character string everywhere would wreck the JSON. */
const MIN_SCRUBBED_LENGTH = 4;

export interface LoggerOptions {
  /** Values that must never be printed (passwords); replaced by [redacted] in every line. */
  secrets?: readonly string[];
}

/** Replaces every occurrence of a secret (as written raw or inside a JSON string) by [redacted]. */
export function secretScrubber(secrets: readonly string[]): (text: string) => string {
  const forms = new Set<string>();
  for (const s of secrets) {
    if (s.length < MIN_SCRUBBED_LENGTH) continue;
    forms.add(s);
    forms.add(JSON.stringify(s).slice(1, -1));
  }
  // Longest first, so a secret containing another is replaced whole.
  const list = [...forms].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const f of list) if (out.includes(f)) out = out.split(f).join(REDACTED);
    return out;
  };
}

export function createLogger(level: string, name = 'picket', opts: LoggerOptions = {}): Logger {
  const scrub = secretScrubber(opts.secrets ?? []);
  return pino(
    {
      name,
      level,
      redact: { paths: REDACTED_PATHS, censor: REDACTED },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      ...(opts.secrets !== undefined && opts.secrets.length > 0 ? { hooks: { streamWrite: scrub } } : {}),
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
