/**
 * One input partition's processing, without Kafka: records in, alerts and dead letters out, and the
 * offset that may be committed once those are acknowledged.
 */
import type { Alert } from '../alerts/alert.js';
import { decodeEvent } from '../ecs/event.js';
import type { Detection } from '../detectors/detection.js';
import { Engine } from '../engine.js';
import type { InputRecord, OutputRecord } from './client.js';
import { deadLetterRecord } from './deadLetter.js';

export interface RecordOutcome {
  readonly alerts: readonly Alert[];
  readonly deadLetter?: { readonly record: OutputRecord; readonly reason: string };
}

export class PartitionProcessor {
  private readonly engine: Engine;

  constructor(
    readonly topic: string,
    readonly partition: number,
    detections: readonly Detection[],
    private readonly deadLetterTopic: string,
  ) {
    this.engine = new Engine(detections);
  }

  process(record: InputRecord): RecordOutcome {
    const origin = { kind: 'kafka', topic: record.topic, partition: record.partition, offset: record.offset } as const;
    const res = decodeEvent(record.value ?? new Uint8Array(0), origin, Number(record.offset));
    if (!res.ok) {
      return {
        alerts: [],
        deadLetter: {
          reason: res.reason,
          record: deadLetterRecord(record, this.deadLetterTopic, res.reason, res.detail),
        },
      };
    }
    return { alerts: this.engine.process(res.event) };
  }

  /**
   * The offset to commit after the records up to `lastProcessed` were handled and their outputs
   * acknowledged. Every detection so far completes its alerts on the event that triggers them, so
   * nothing before it is still needed.
   */
  commitOffsetAfter(lastProcessed: string): string {
    return (BigInt(lastProcessed) + 1n).toString();
  }
}
