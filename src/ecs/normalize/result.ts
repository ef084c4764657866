/** What a normalizer returns: a new ECS document, or why the input could not be read. */
import type { JsonObject } from '../fields.js';

/**
 * Why a document could not be normalized. Each is a label of the unreadable-events metric and the
 * reason a dead letter carries.
 */
export type NormalizeReason =
  /** No normalizer recognises the document's shape (or not the one the input is set to). */
  | 'unrecognized_shape'
  /** A Zeek record that names no log and whose fields match no log picket knows. */
  | 'unknown_zeek_log'
  /** The raw record's own time (Zeek `ts`, Sysmon `UtcTime`, …) is missing or unusable. */
  | 'invalid_event_time'
  /** A wrapper (Splunk's `result._raw`) whose inner record is not a JSON object. */
  | 'invalid_wrapped_record';

export type NormalizeResult =
  | { readonly ok: true; readonly doc: JsonObject }
  | { readonly ok: false; readonly reason: NormalizeReason; readonly detail: string };
