/**
 * Raw Winlogbeat output as it reaches Kafka: the record's parts under `winlog.*` (Winlogbeat 7 and
 * 8; since 8.0 the Sysmon/Security mapping runs in Elasticsearch ingest pipelines, so nothing is
 * mapped yet) or at the top level (Winlogbeat 6: `event_id`, `computer_name`, `source_name`,
 * `log_name`, `record_number`, `event_data`). windowsEvent.ts does the mapping.
 *
 * `@timestamp` is the record time Winlogbeat wrote; for Sysmon events the normalizer replaces it
 * with `UtcTime`, as the pipeline does. `host.name` is the Beat's own host (the event collector
 * when events are forwarded), so the host comes from `computer_name` instead.
 */
import type { JsonObject } from '../fields.js';
import { integer, own, ownObject, text, topObjects } from './build.js';
import type { NormalizeResult } from './result.js';
import { windowsEventToEcs, type WindowsRecord } from './windowsEvent.js';

/** The record's parts, from whichever Winlogbeat layout the document has. */
export function winlogbeatRecord(doc: JsonObject): WindowsRecord | undefined {
  const top = topObjects(doc);
  const winlog = top('winlog');
  if (winlog !== undefined && (own(winlog, 'event_id') !== undefined || own(winlog, 'event_data') !== undefined)) {
    return {
      eventId: integer(own(winlog, 'event_id')) ?? integer(own(top('event') ?? {}, 'code')),
      provider: text(own(winlog, 'provider_name')),
      channel: text(own(winlog, 'channel')),
      computer: text(own(winlog, 'computer_name')),
      recordId: integer(own(winlog, 'record_id')),
      data: ownObject(winlog, 'event_data') ?? {},
      recordTime: own(doc, '@timestamp'),
    };
  }
  if (own(doc, 'event_id') !== undefined && own(doc, 'computer_name') !== undefined) {
    return {
      eventId: integer(own(doc, 'event_id')),
      provider: text(own(doc, 'source_name')),
      channel: text(own(doc, 'log_name')),
      computer: text(own(doc, 'computer_name')),
      recordId: integer(own(doc, 'record_number')),
      data: top('event_data') ?? {},
      recordTime: own(doc, '@timestamp'),
    };
  }
  return undefined;
}

export function normalizeWinlogbeat(doc: JsonObject): NormalizeResult {
  const rec = winlogbeatRecord(doc);
  if (rec === undefined) {
    return { ok: false, reason: 'unrecognized_shape', detail: 'no winlog.event_id or event_id: not Winlogbeat output' };
  }
  return windowsEventToEcs(rec);
}
