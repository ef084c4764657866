/**
 * A record exported from Splunk (`{"preview":…, "result":{"_raw":"<the original line>", …}}`).
 * The Elastic zeek integration reads such lines by parsing `result._raw`, and so does picket: the
 * original record inside is normalized as if it had arrived alone.
 */
import { isJsonObject, type JsonObject } from '../fields.js';
import { own, ownObject } from './build.js';
import type { NormalizeResult } from './result.js';

export function isSplunkWrapped(doc: JsonObject): boolean {
  const result = ownObject(doc, 'result');
  return result !== undefined && typeof own(result, '_raw') === 'string';
}

/** The wrapped record, parsed; a failure when `_raw` is not a JSON object. */
export function unwrapSplunk(doc: JsonObject): NormalizeResult {
  const raw = own(ownObject(doc, 'result') ?? {}, '_raw');
  if (typeof raw !== 'string') {
    return { ok: false, reason: 'unrecognized_shape', detail: 'no result._raw: not a Splunk export' };
  }
  let inner: unknown;
  try {
    inner = JSON.parse(raw);
  } catch (err) {
    return {
      ok: false,
      reason: 'invalid_wrapped_record',
      detail: `result._raw: ${(err as Error).message.slice(0, 160)}`,
    };
  }
  if (!isJsonObject(inner)) {
    return { ok: false, reason: 'invalid_wrapped_record', detail: 'result._raw is not a JSON object' };
  }
  return { ok: true, doc: inner };
}
