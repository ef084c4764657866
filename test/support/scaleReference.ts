/**
 * What the scale test compares the output topic with (no Kafka):
 *
 * - `replayReference`: the single-process answer, `picket replay` on a file of the same events (the
 *   same code as the command: replayFile with the detection settings of the configuration). Replay
 *   sorts by event time; the stream is produced in time order, so `run` on one partition gives the
 *   same alerts.
 * - `directReference`: what the `direct` topology (every input partition on its own, no routing)
 *   gives: run's per-partition processing (PartitionProcessor) over each partition's share of the
 *   round-robin stream, flushed at the end as the idle timeout does.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latenessFor, loadConfig, type PicketConfig } from '../../src/config.js';
import { PartitionProcessor } from '../../src/consumers/partitionProcessor.js';
import { createDetections, detectionOptionsFrom } from '../../src/detectors/registry.js';
import { replayFile } from '../../src/replay/replay.js';
import { partitionOf, SCALE_DETECTION_ENV, type ScaleScenario } from './scaleScenario.js';

/** One alert, as the comparison sees it. */
export interface AlertRef {
  readonly id: string;
  readonly rule: string;
  /** @timestamp: event time it fired. */
  readonly time: string;
}

function scenarioConfig(env: Record<string, string> = {}): PicketConfig {
  return loadConfig({ env: { ...SCALE_DETECTION_ENV, ...env } });
}

export async function replayReference(scenario: ScaleScenario, env: Record<string, string> = {}): Promise<AlertRef[]> {
  const config = scenarioConfig(env);
  const dir = mkdtempSync(join(tmpdir(), 'picket-scale-'));
  const file = join(dir, 'events.ndjson');
  try {
    writeFileSync(file, scenario.events.map((e) => e.json).join('\n') + '\n');
    const out: AlertRef[] = [];
    await replayFile(file, {
      detections: config.detections.enabled,
      detectionOptions: detectionOptionsFrom(config),
      onAlert: (a) => {
        const rule = (a.doc.rule as { name?: string } | undefined)?.name ?? a.ruleId;
        out.push({ id: a.id, rule, time: new Date(a.time).toISOString() });
      },
    });
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function directReference(
  scenario: ScaleScenario,
  partitions: number,
  env: Record<string, string> = {},
  topic = 'scale-input',
): AlertRef[] {
  const config = scenarioConfig(env);
  const processors = Array.from(
    { length: partitions },
    (_, p) =>
      new PartitionProcessor(topic, p, {
        detections: createDetections(config.detections.enabled, detectionOptionsFrom(config)),
        deadLetterTopic: 'dlq',
        latenessMs: latenessFor(config, topic),
        maxAheadMs: config.ordering.maxAheadMs,
      }),
  );
  const offsets = new Array<number>(partitions).fill(0);
  const out: AlertRef[] = [];
  const collect = (alerts: readonly { id: string; rule: { name: string }; time: number }[]): void => {
    for (const a of alerts) out.push({ id: a.id, rule: a.rule.name, time: new Date(a.time).toISOString() });
  };
  const now = Date.now();
  scenario.events.forEach((e, i) => {
    const p = partitionOf(i, partitions);
    const record = {
      topic,
      partition: p,
      offset: String(offsets[p]!++),
      key: null,
      value: Buffer.from(e.json),
      timestamp: String(now),
      headers: {},
    };
    collect(processors[p]!.process(record, now).alerts);
  });
  for (const p of processors) collect(p.advanceIdle(1e13).alerts);
  return out;
}
