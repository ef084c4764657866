/**
 * Documents that are already ECS pass through as they are: the same object, not a copy (the hot
 * path, and the engine never mutates an event's document).
 */
import type { JsonObject } from '../fields.js';
import type { NormalizeResult } from './result.js';

export function normalizeEcs(doc: JsonObject): NormalizeResult {
  return { ok: true, doc };
}
