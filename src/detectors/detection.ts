/**
 * The contract between the engine and a detection. A detection owns its conditions (compiled
 * once, when it is built) and its own state; the engine owns decoding, ordering and routing.
 * Nothing here knows about Kafka, files or the wall clock.
 */
import type { EcsEvent } from '../ecs/event.js';
import type { JsonObject } from '../ecs/fields.js';
import type { Interest } from '../ecs/interest.js';
import type { RdpSpikeOptions } from './rdpSpike.js';
import type { RuleMeta } from './rule.js';

/** What a detection reports; the engine turns it into an alert document (src/alerts). */
export interface Finding {
  readonly rule: RuleMeta;
  /** The events the alert is built from, in stage order. */
  readonly events: readonly EcsEvent[];
  /**
   * The event whose processing completed the alert (its time is the alert's @timestamp); one of
   * `events`. When absent, the last of them.
   */
  readonly trigger?: EcsEvent;
  /** ECS entity fields for the alert (host, source, destination, process, user, network). */
  readonly entities: JsonObject;
  /** Detection-specific facts, written under `picket.<Detection.key>`. */
  readonly details?: JsonObject;
  /** Distinguishes alerts built from the same events (for example a D4 bucket); part of the id. */
  readonly discriminator?: string;
}

export type Emit = (finding: Finding) => void;

/** Bounds on a detection's state, per partition (from configuration). */
export interface StateLimits {
  /** Distinct join keys held at once; past it the least recently used key is evicted. */
  readonly maxKeys: number;
  /** Entries held per key; past it the oldest entry of that key is evicted. */
  readonly maxEntriesPerKey: number;
}

/** Detection-specific settings (configuration `detections.*`). */
export interface DetectionSettings {
  /** D2: how long mapper flows are kept, event time. */
  readonly mapperRetentionMs: number;
  /** D3: how far a child may precede its connection (0 = EQL exactly). */
  readonly clockSkewToleranceMs: number;
  /** D4: bucket span, threshold and the like (defaults in rdpSpike.ts). */
  readonly rdpSpike?: RdpSpikeOptions;
}

/** What the engine gives a detection when it is built. */
export interface DetectionContext {
  readonly limits: StateLimits;
  readonly settings: DetectionSettings;
  /**
   * Counts state dropped before it expired, by reason (`max_keys`, `max_entries_per_key`, …), for
   * the evictions metric. Expiry by event time is not an eviction.
   */
  readonly countEviction: (reason: string, count?: number) => void;
}

export interface Detection {
  readonly rule: RuleMeta;
  /** A short stable key: `picket.<key>` holds its details, and configuration refers to it. */
  readonly key: string;
  /**
   * Whether the result depends on the order of events (the detection keeps state). Ordered
   * detections see events in event-time order, through the engine's reorder buffer; stateless ones
   * see each event as soon as it arrives. When absent: ordered if it has onWatermark.
   */
  readonly ordered?: boolean;
  /**
   * For ordered detections: could this event change the detection's state or alerts? Events that
   * no ordered detection wants are not buffered at all, which keeps the reorder buffer small. A
   * cheap, allocation-free prefilter; when absent, every event is wanted.
   */
  wants?(event: EcsEvent): boolean;
  /**
   * The join key of this detection's state for the event (events with different keys never meet
   * in its state), or undefined when the event cannot change its state or alerts (not wanted, or
   * its join key is missing). A detection that has one is *keyed*: the routing stage
   * (src/routing/) sends it, through an internal topic keyed by this value, exactly the events
   * with a key, so every event a correlation needs reaches the one instance that owns the key.
   */
  routeKey?(event: EcsEvent): string | undefined;
  /**
   * How a keyed detection's key relates to the input's keying: `host` when the key is derived
   * from host.id (an input keyed by host.id already brings the key's events together: the
   * `direct` topology), else `other`.
   */
  readonly keyedBy?: 'host' | 'other';
  /**
   * The events that could matter to this detection, declared as field tests (src/ecs/interest.ts):
   * a necessary condition of `wants()` for an ordered detection, of `onEvent` doing anything for a
   * stateless one. The stream path skips, without parsing them, the events that no enabled
   * detection's interest allows (src/ecs/fastPath.ts). When absent, every event may matter and
   * nothing is skipped.
   */
  readonly interest?: Interest;
  /**
   * Called for every event, in the engine's order (event time, sequence, arrival) per partition,
   * except late events (older than the watermark), which come when they arrive and are matched
   * against whatever state remains. Must return quickly for the events it does not care about:
   * most events are those.
   */
  onEvent(event: EcsEvent, emit: Emit): void;
  /**
   * Event time has advanced: every event still to come (except late ones) has time >= watermark.
   * Release the state that no such event can need. Never emits.
   */
  onWatermark?(watermark: number): void;
  /**
   * Arrival (Kafka offset, or line) of the oldest event still held in state, or undefined when
   * none is held. The committed offset never passes it, so a restart rebuilds the state.
   */
  oldestHeldArrival?(): number | undefined;
  /** Entries held in state, for the state-size metric. */
  stateSize?(): number;
  /**
   * Durable state (a detection that learns over longer than the input is kept, D4): what changed
   * since the last call, as values by state key (null: deleted). `run` writes them to a compacted
   * changelog (src/state/changelog.ts) before committing the input offsets they cover.
   */
  drainChanges?(): Map<string, string | null>;
  /** Replaces the state with the latest value of each key read back from the changelog. */
  restore?(entries: Iterable<readonly [string, string | null]>): void;
}

/** A detection whose state `run` keeps in a changelog topic. */
export type DurableDetection = Detection & Required<Pick<Detection, 'drainChanges' | 'restore'>>;

export function isDurable(d: Detection): d is DurableDetection {
  return typeof d.drainChanges === 'function' && typeof d.restore === 'function';
}

/**
 * The interests of a set of detections, for the fast path; undefined when some event could matter
 * to one of them whatever it holds: a detection that declares no interest, or an ordered one
 * without `wants()` (the engine buffers every event for it, so every event changes its commit point).
 */
export function interestsOf(detections: readonly Detection[]): Interest[] | undefined {
  const out: Interest[] = [];
  for (const d of detections) {
    const ordered = d.ordered ?? d.onWatermark !== undefined;
    if (d.interest === undefined || (ordered && d.wants === undefined)) return undefined;
    out.push(d.interest);
  }
  return out;
}
