/**
 * Which road a document took, told from a few distinguishing keys. Plain ECS is the common case:
 * a nested ECS document with `@timestamp` and `event` and none of the raw shapes' top-level keys
 * is recognised in a handful of own-property checks, without looking further.
 */
import { isJsonObject, type JsonObject } from '../fields.js';
import { own, ownObject, topObjects } from './build.js';
import { filebeatZeekLog } from './filebeatZeek.js';
import { isSplunkWrapped } from './splunk.js';
import { looksLikeZeek } from './zeek.js';

export type Shape = 'ecs' | 'zeek' | 'filebeat_zeek' | 'winlogbeat' | 'nxlog' | 'splunk' | 'unknown';

const hasOwn = Object.prototype.hasOwnProperty;

/** Top-level keys that only raw shapes have. */
const RAW_KEYS = ['ts', 'EventID', 'event_data', 'result'] as const;

/** Top-level ECS field sets: a document holding any of them is read as ECS. */
const ECS_TOPS = ['event', 'source', 'destination', 'host', 'process', 'network', 'ecs', 'data_stream'];

export function detectShape(doc: JsonObject): Shape {
  const event = hasOwn.call(doc, '@timestamp') ? own(doc, 'event') : undefined;
  if (isJsonObject(event)) {
    // Nested ECS, the common case: a few own-property checks. `zeek` and `winlog` are ECS field
    // sets too; only Filebeat's unprocessed `zeek.<log>.ts` or an unmapped Winlogbeat record
    // make them raw.
    let raw = false;
    for (const k of RAW_KEYS) {
      if (hasOwn.call(doc, k)) {
        raw = true;
        break;
      }
    }
    if (!raw) {
      const zeek = ownObject(doc, 'zeek');
      if (zeek !== undefined && filebeatZeekLog(zeek) !== undefined) return 'filebeat_zeek';
      const winlog = ownObject(doc, 'winlog');
      if (winlog !== undefined && isRawWinlogbeat(doc, winlog, event)) return 'winlogbeat';
      return 'ecs';
    }
  }
  return detectSlow(doc);
}

function detectSlow(doc: JsonObject): Shape {
  const top = topObjects(doc);
  const winlog = top('winlog');
  if (winlog !== undefined) {
    if (isRawWinlogbeat(doc, winlog, top('event'))) return 'winlogbeat';
  } else if (hasOwn.call(doc, 'computer_name') && (hasOwn.call(doc, 'event_id') || hasOwn.call(doc, 'event_data'))) {
    return 'winlogbeat'; // Winlogbeat 6: the record's parts at the top level, nothing mapped
  }
  if (hasOwn.call(doc, 'EventID') && (hasOwn.call(doc, 'Hostname') || hasOwn.call(doc, 'SourceName'))) return 'nxlog';
  if (looksLikeZeek(doc)) return 'zeek';
  const zeek = top('zeek');
  if (zeek !== undefined && filebeatZeekLog(zeek) !== undefined) return 'filebeat_zeek';
  if (isSplunkWrapped(doc)) return 'splunk';
  if (hasOwn.call(doc, '@timestamp')) return 'ecs';
  for (const k of ECS_TOPS) if (hasOwn.call(doc, k)) return 'ecs';
  for (const k in doc) if (hasOwn.call(doc, k) && ECS_TOPS.includes(k.split('.', 1)[0]!)) return 'ecs';
  return 'unknown';
}

/**
 * A `winlog` document that nothing has mapped yet. Winlogbeat marks its output (`winlog.api`, and
 * `@metadata.beat` on Kafka; the ECS conversions have neither). A document that a Winlogbeat 7
 * module or an ingest pipeline already mapped carries `event.module` or `event.category`, and its
 * `event_data` has lost the fields that were moved to ECS: re-mapping it would lose them.
 */
function isRawWinlogbeat(doc: JsonObject, winlog: JsonObject, event: JsonObject | undefined): boolean {
  if (own(winlog, 'event_id') === undefined && own(winlog, 'event_data') === undefined) return false;
  if (event !== undefined && isMappedEvent(event)) return false;
  if (own(winlog, 'api') !== undefined) return true;
  const meta = ownObject(doc, '@metadata');
  return meta !== undefined && own(meta, 'beat') === 'winlogbeat';
}

function isMappedEvent(event: JsonObject): boolean {
  return own(event, 'category') !== undefined || own(event, 'module') !== undefined;
}

/** True when a Windows document already carries the ECS mapping (the winlogbeat normalizer leaves it). */
export function isMappedWindowsEvent(doc: JsonObject): boolean {
  const event = topObjects(doc)('event');
  return event !== undefined && isMappedEvent(event);
}
