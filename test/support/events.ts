/** Builds engine input from plain documents, as a replayed file would. */
import { decodeEvent, type EcsEvent } from '../../src/ecs/event.js';

let nextLine = 1;

export function ecsEvent(doc: Record<string, unknown>, line = nextLine++, file = 'test.ndjson'): EcsEvent {
  const res = decodeEvent(JSON.stringify(doc), { kind: 'file', file, line }, line);
  if (!res.ok) throw new Error(`test event is unreadable: ${res.reason} ${res.detail}`);
  return res.event;
}
