/**
 * The contract between the engine and a detection. A detection owns its conditions (compiled
 * once, when it is built) and its own state; the engine owns decoding, ordering and routing.
 * Nothing here knows about Kafka, files or the wall clock.
 */
import type { EcsEvent } from '../ecs/event.js';
import type { JsonObject } from '../ecs/fields.js';
import type { RuleMeta } from './rule.js';

/** What a detection reports; the engine turns it into an alert document (src/alerts). */
export interface Finding {
  readonly rule: RuleMeta;
  /** The events the alert is built from, in stage order. The last one triggered it. */
  readonly events: readonly EcsEvent[];
  /** ECS entity fields for the alert (host, source, destination, process, user, network). */
  readonly entities: JsonObject;
  /** Detection-specific facts, written under `picket.<Detection.key>`. */
  readonly details?: JsonObject;
  /** Distinguishes alerts built from the same events (for example a D4 bucket); part of the id. */
  readonly discriminator?: string;
}

export type Emit = (finding: Finding) => void;

export interface Detection {
  readonly rule: RuleMeta;
  /** A short stable key: `picket.<key>` holds its details, and configuration refers to it. */
  readonly key: string;
  /**
   * Called for every event, in the engine's order (event time, sequence, arrival) per partition.
   * Must return quickly for the events it does not care about: most events are those.
   */
  onEvent(event: EcsEvent, emit: Emit): void;
}
