/**
 * The per-partition pipeline: events in, alerts out. Pure: no Kafka, no files, no wall clock.
 * `replay` and `run` are thin shells around it, so every detection is tested and benchmarked
 * without a broker.
 *
 * The engine hands each event to every detection in the order it is given. `replay` sorts its input
 * first; `run` orders each partition by event time before calling process() (src/state).
 */
import { buildAlert, type Alert } from './alerts/alert.js';
import type { Detection, Finding } from './detectors/detection.js';
import type { EcsEvent } from './ecs/event.js';

export class Engine {
  private readonly pending: Alert[] = [];
  private readonly emitters: ((finding: Finding) => void)[];

  constructor(readonly detections: readonly Detection[]) {
    this.emitters = detections.map((d) => (finding: Finding) => {
      this.pending.push(buildAlert(finding, d.key));
    });
  }

  /** Runs every detection on one event; returns the alerts it completed (often none). */
  process(event: EcsEvent): readonly Alert[] {
    for (let i = 0; i < this.detections.length; i++) {
      this.detections[i]!.onEvent(event, this.emitters[i]!);
    }
    if (this.pending.length === 0) return NO_ALERTS;
    return this.pending.splice(0);
  }
}

const NO_ALERTS: readonly Alert[] = Object.freeze([]);
