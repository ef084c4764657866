/**
 * Dead letters: a record that cannot be read is published, bytes unchanged, to the dead-letter
 * topic with its reason and origin in headers, so that nothing is lost and it can be replayed
 * once fixed. Its original headers are kept.
 */
import type { InputRecord, OutputRecord } from './client.js';

export const DEAD_LETTER_HEADERS = {
  reason: 'picket.error.reason',
  detail: 'picket.error.detail',
  topic: 'picket.source.topic',
  partition: 'picket.source.partition',
  offset: 'picket.source.offset',
  timestamp: 'picket.source.timestamp',
} as const;

export function deadLetterRecord(
  record: InputRecord,
  deadLetterTopic: string,
  reason: string,
  detail: string,
): OutputRecord {
  const headers: Record<string, string | Buffer> = {};
  // Header names come from the producer: a `__proto__` header must be copied, not set the prototype.
  for (const [k, v] of Object.entries(record.headers)) {
    if (v !== undefined)
      Object.defineProperty(headers, k, { value: v, enumerable: true, writable: true, configurable: true });
  }
  headers[DEAD_LETTER_HEADERS.reason] = reason;
  headers[DEAD_LETTER_HEADERS.detail] = detail;
  headers[DEAD_LETTER_HEADERS.topic] = record.topic;
  headers[DEAD_LETTER_HEADERS.partition] = String(record.partition);
  headers[DEAD_LETTER_HEADERS.offset] = record.offset;
  headers[DEAD_LETTER_HEADERS.timestamp] = record.timestamp;
  return { topic: deadLetterTopic, key: record.key, value: record.value ?? Buffer.alloc(0), headers };
}
