/**
 * The routing stage (issue 9): which detection runs where, and the records that carry a keyed
 * detection's events to the instance that owns their key.
 *
 * Kafka spreads a topic's partitions over the members of a consumer group, and state lives with a
 * partition. Beats partitions its output at random unless told otherwise, so the events one
 * correlation needs (a D2 mapper and endpoint flow, a D3 connection and child, a D4 destination's
 * sources) arrive on different input partitions, read by different instances. As Kafka Streams
 * does with repartition topics, the router stage (reading the input topics) produces each event a
 * keyed detection can use onto that detection's internal topic, keyed by the detection's join key
 * (Detection.routeKey); the detector stage reads those topics, so one partition of them holds
 * every event of a key, in the order the router read them.
 *
 * Stateless detections (rpc_to_internet), and ordered detections without a join key, run in the
 * router stage on the input partitions. With the `direct` topology the input is trusted to be
 * keyed by host.id, so host-keyed detections (remote_services) also run there, without the hop.
 */
import type { RoutingTopology } from '../config.js';
import type { Detection } from '../detectors/detection.js';
import type { EcsEvent } from '../ecs/event.js';
import type { OutputRecord } from '../consumers/client.js';
import { encodeRoutedEvent } from './routedEvent.js';

/** Internal topic of a routed detection: `<application id>-<detection>-repartition` (Kafka Streams' form). */
export function repartitionTopic(applicationId: string, detectionKey: string): string {
  return `${applicationId}-${detectionKey}-repartition`;
}

/** Consumer group of the detector stage (the router stage uses the application id itself). */
export function detectorGroupId(applicationId: string): string {
  return `${applicationId}-detector`;
}

export interface RoutedDetection {
  readonly key: string;
  readonly topic: string;
}

export interface TopologyPlan {
  /** Detections run on the input partitions (router stage). */
  readonly inputDetections: readonly string[];
  /** Detections run on their repartition topic (detector stage), each alone on its topic. */
  readonly routed: readonly RoutedDetection[];
}

/** Whether a detection needs its events re-keyed under the topology. */
export function isRouted(d: Detection, topology: RoutingTopology): boolean {
  if (typeof d.routeKey !== 'function') return false;
  return topology === 'routed' || d.keyedBy !== 'host';
}

/** Splits the enabled detections (instances, to inspect) between the two stages. */
export function planTopology(
  detections: readonly Detection[],
  topology: RoutingTopology,
  applicationId: string,
): TopologyPlan {
  const inputDetections: string[] = [];
  const routed: RoutedDetection[] = [];
  for (const d of detections) {
    if (isRouted(d, topology)) routed.push({ key: d.key, topic: repartitionTopic(applicationId, d.key) });
    else inputDetections.push(d.key);
  }
  return { inputDetections, routed };
}

/** Builds the repartition records of one input partition's events. */
export class Router {
  private readonly routes: readonly { readonly detection: Detection; readonly topic: string }[];

  /**
   * `routes`: an instance of each routed detection, used only for `routeKey()` (and its interest,
   * for the fast path; it is never fed events), with its repartition topic.
   */
  constructor(routes: readonly { readonly detection: Detection; readonly topic: string }[]) {
    for (const r of routes) {
      if (typeof r.detection.routeKey !== 'function') throw new Error(`${r.detection.key} has no join key to route by`);
    }
    this.routes = routes;
  }

  get size(): number {
    return this.routes.length;
  }

  /** The routed detections (their wants() and interests decide what the router stage may skip). */
  get detections(): readonly Detection[] {
    return this.routes.map((r) => r.detection);
  }

  /**
   * The records that carry `event` to the detections that can use it, keyed by their join keys:
   * none for most events. `counts` gets the detection key of each record.
   */
  route(event: EcsEvent, counts?: (detection: string) => void): readonly OutputRecord[] {
    let out: OutputRecord[] | undefined;
    let value: string | undefined;
    for (const { detection, topic } of this.routes) {
      // routeKey() is undefined for an event the detection does not want: no wants() call first.
      const key = detection.routeKey!(event);
      if (key === undefined) continue;
      value ??= encodeRoutedEvent(event);
      (out ??= []).push({ topic, key, value });
      counts?.(detection.key);
    }
    return out ?? NONE;
  }
}

const NONE: readonly OutputRecord[] = Object.freeze([]);
