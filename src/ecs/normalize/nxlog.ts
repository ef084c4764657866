/**
 * NXLog's flat Windows event JSON (`im_msvistalog` with `to_json()`): NXLog's own fields
 * (`EventID`, `SourceName`, `Channel`, `Hostname`, `RecordNumber`, `EventTime`) side by side with
 * the event's own (`Image`, `ParentImage`, `SourceIp`, `UtcTime`, `ProcessGuid`, …) in one object.
 * windowsEvent.ts does the mapping.
 *
 * Record time: `@timestamp` when a Logstash stage added one (in the 2020 OTRF recordings it is when
 * Logstash received the record, 2–3 s late: datasets README quirk 5), else `TimeCreated`. NXLog's
 * `EventTime` is local time without a zone, so it is used only when it carries one. Sysmon events
 * take `UtcTime` anyway. NXLog drops Sysmon's `ProcessId` (it collides with its own field, quirk
 * 6), so some Sysmon events have no `process.pid`.
 */
import type { JsonObject } from '../fields.js';
import { integer, own, text } from './build.js';
import type { NormalizeResult } from './result.js';
import { windowsEventToEcs } from './windowsEvent.js';

const ZONED = /(?:Z|[+-]\d{2}:?\d{2})$/;

function recordTime(doc: JsonObject): unknown {
  const ts = own(doc, '@timestamp') ?? own(doc, 'TimeCreated');
  if (ts !== undefined) return ts;
  const eventTime = own(doc, 'EventTime');
  return typeof eventTime === 'string' && ZONED.test(eventTime) ? eventTime : undefined;
}

export function normalizeNxlog(doc: JsonObject): NormalizeResult {
  const eventId = integer(own(doc, 'EventID'));
  if (eventId === undefined) {
    return { ok: false, reason: 'unrecognized_shape', detail: 'no numeric EventID: not NXLog Windows event JSON' };
  }
  return windowsEventToEcs({
    eventId,
    provider: text(own(doc, 'SourceName')) ?? text(own(doc, 'ProviderName')),
    channel: text(own(doc, 'Channel')),
    computer: text(own(doc, 'Hostname')),
    recordId: integer(own(doc, 'RecordNumber')),
    data: doc,
    recordTime: recordTime(doc),
  });
}
