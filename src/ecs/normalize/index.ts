/**
 * Normalizers: what really arrives on Kafka (raw Zeek JSON, Filebeat's Zeek module before its
 * ingest pipeline, raw Winlogbeat/Sysmon, NXLog's flat Windows JSON, Splunk exports) → the ECS
 * document picket's detections read, so that the same event gives the same alert whatever road it
 * took. Each normalizer is pure: it returns a new document and never mutates its input. ECS input
 * is returned as is.
 *
 * The input format is set per input (replay `--input`, a topic's setting); `auto` recognises each
 * document's shape (shape.ts). The caller parses the JSON and checks it is an object first
 * (event.ts reports `not_an_object`).
 */
import type { JsonObject } from '../fields.js';
import { normalizeEcs } from './ecs.js';
import { normalizeFilebeatZeek } from './filebeatZeek.js';
import { normalizeNxlog } from './nxlog.js';
import type { NormalizeResult } from './result.js';
import { detectShape, isMappedWindowsEvent, type Shape } from './shape.js';
import { isSplunkWrapped, unwrapSplunk } from './splunk.js';
import { normalizeWinlogbeat } from './winlogbeat.js';
import { looksLikeZeek, normalizeZeek } from './zeek.js';

export type { NormalizeReason, NormalizeResult } from './result.js';
export type { Shape } from './shape.js';
export { detectShape } from './shape.js';

export type InputFormat = 'auto' | 'ecs' | 'zeek' | 'winlogbeat' | 'nxlog';

export const INPUT_FORMATS: readonly InputFormat[] = ['auto', 'ecs', 'zeek', 'winlogbeat', 'nxlog'];

export function isInputFormat(v: unknown): v is InputFormat {
  return typeof v === 'string' && (INPUT_FORMATS as readonly string[]).includes(v);
}

export function normalize(doc: JsonObject, format: InputFormat): NormalizeResult {
  switch (format) {
    case 'auto':
      return normalizeShape(doc, detectShape(doc), true);
    case 'ecs':
      return normalizeEcs(doc);
    case 'zeek':
      return normalizeAsZeek(doc, true);
    case 'winlogbeat':
      return isMappedWindowsEvent(doc) ? normalizeEcs(doc) : normalizeWinlogbeat(doc);
    case 'nxlog':
      return normalizeNxlog(doc);
  }
}

function normalizeShape(doc: JsonObject, shape: Shape, unwrap: boolean): NormalizeResult {
  switch (shape) {
    case 'ecs':
      return normalizeEcs(doc);
    case 'zeek':
      return normalizeZeek(doc);
    case 'filebeat_zeek':
      return normalizeFilebeatZeek(doc);
    case 'winlogbeat':
      return normalizeWinlogbeat(doc);
    case 'nxlog':
      return normalizeNxlog(doc);
    case 'splunk': {
      if (!unwrap) break;
      const inner = unwrapSplunk(doc);
      return inner.ok ? normalizeShape(inner.doc, detectShape(inner.doc), false) : inner;
    }
    case 'unknown':
      break;
  }
  return { ok: false, reason: 'unrecognized_shape', detail: describe(doc) };
}

function normalizeAsZeek(doc: JsonObject, unwrap: boolean): NormalizeResult {
  if (looksLikeZeek(doc)) return normalizeZeek(doc);
  const shape = detectShape(doc);
  if (shape === 'filebeat_zeek') return normalizeFilebeatZeek(doc);
  if (unwrap && isSplunkWrapped(doc)) {
    const inner = unwrapSplunk(doc);
    return inner.ok ? normalizeAsZeek(inner.doc, false) : inner;
  }
  return { ok: false, reason: 'unrecognized_shape', detail: `not a Zeek record (${describe(doc)})` };
}

/** A short description of an unrecognised document for the dead letter: its first keys. */
function describe(doc: JsonObject): string {
  const keys = Object.keys(doc);
  const shown = keys
    .slice(0, 8)
    .map((k) => JSON.stringify(k.slice(0, 40)))
    .join(', ');
  return `no normalizer recognises a document with keys ${shown}${keys.length > 8 ? ', …' : ''}`;
}
