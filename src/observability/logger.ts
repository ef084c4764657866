/**
 * JSON logs (pino) on stderr: stdout stays free for data (replay writes alerts there).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths that may hold secrets; redacted wherever they appear in a log line. */
export const REDACTED_PATHS = [
  'password',
  '*.password',
  '*.*.password',
  'sasl.password',
  'kafka.sasl.password',
  'ssl.key',
  '*.ssl.key',
  'kafka.ssl.key',
];

export function createLogger(level: string, name = 'picket'): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    pino.destination({ fd: 2, sync: false }),
  );
}
