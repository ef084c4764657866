/**
 * `picket replay`: each file on its own, its events sorted (sortEvents.ts), through a fresh engine.
 * The answer is the exact one for that data, whatever the line order.
 */
import { existsSync, statSync } from 'node:fs';
import type { Alert } from '../alerts/alert.js';
import type { EcsEvent } from '../ecs/event.js';
import { Tuner, type Decision, type TunedAlert } from '../tuning/tuner.js';
import { EMPTY_TUNING, type Tuning } from '../tuning/tuningConfig.js';
import { loadRdpSnapshot, saveRdpSnapshot } from '../detectors/rdp/snapshotFile.js';
import { RdpSpikeDetector } from '../detectors/rdpSpike.js';
import { createDetections, type DetectionOptions } from '../detectors/registry.js';
import { Engine } from '../engine.js';
import { openInput } from './lines.js';
import { sortedEvents, type ReadStats, type SortOptions } from './sortEvents.js';

export interface ReplayResult {
  readonly file: string;
  readonly stats: ReadStats;
  /** Published documents by rule name (follow-ups and summaries apart), in first-seen order. */
  readonly alertsByRule: Map<string, number>;
  readonly alerts: number;
}

export interface ReplayOptions extends SortOptions {
  detections?: readonly string[];
  /** Bounds and settings of the detections (from the configuration); defaults when absent. */
  detectionOptions?: DetectionOptions;
  /**
   * Called for every document to publish, in event-time order: the alerts that passed the tuning,
   * and its suppression follow-ups and circuit-breaker summaries. May return a promise (backpressure).
   */
  onAlert: (alert: TunedAlert) => void | Promise<void>;
  /** Exceptions, suppression and per-rule settings applied to the alerts (none: all published). */
  tuning?: Tuning;
  /** Every event, before the detections see it (`--explain --event`). */
  onEvent?: (event: EcsEvent) => void;
  /** Every alert the detections raised, with the tuning's decision on it (`--explain`). */
  onDecision?: (alert: Alert, decision: Decision) => void;
  /**
   * D4's learned models as a snapshot file: loaded before the file when it exists, saved after it
   * (replay keeps state in memory; this lets one replay start from what an earlier one learned).
   */
  rdpStateFile?: string;
  /** Called now and then with bytes read so far and the file size (0 when unknown). */
  onProgress?: (bytesRead: number, totalBytes: number, stats: ReadStats) => void;
}

export async function replayFile(file: string, opts: ReplayOptions): Promise<ReplayResult> {
  const detections = createDetections(opts.detections, opts.detectionOptions);
  const engine = new Engine(detections);
  const rdp = detections.find((d): d is RdpSpikeDetector => d instanceof RdpSpikeDetector);
  if (rdp !== undefined && opts.rdpStateFile !== undefined && existsSync(opts.rdpStateFile)) {
    rdp.restore(loadRdpSnapshot(opts.rdpStateFile));
  }
  const stats: ReadStats = { lines: 0, events: 0, skipped: 0, unreadable: new Map() };
  const total = file === '-' ? 0 : statSync(file).size;
  let read = 0;
  let lastReport = 0;
  const input = openInput(file, (n) => {
    read += n;
    const now = Date.now();
    if (opts.onProgress !== undefined && now - lastReport > 200) {
      lastReport = now;
      opts.onProgress(read, total, stats);
    }
  });
  const alertsByRule = new Map<string, number>();
  let alerts = 0;
  const tuner = new Tuner(opts.tuning ?? EMPTY_TUNING);
  const publish = async (outputs: readonly TunedAlert[]): Promise<void> => {
    for (const out of outputs) {
      alerts++;
      const name = String((out.doc.rule as { name?: unknown } | undefined)?.name ?? out.ruleId);
      const label = out.kind === 'alert' ? name : `${name} (${out.kind.replaceAll('_', ' ')})`;
      alertsByRule.set(label, (alertsByRule.get(label) ?? 0) + 1);
      await opts.onAlert(out);
    }
  };
  for await (const event of sortedEvents(input, file, stats, opts)) {
    opts.onEvent?.(event);
    for (const alert of engine.process(event)) {
      const decision = tuner.decide(alert, { events: alert.events, now: event.time });
      opts.onDecision?.(alert, decision);
      await publish(decision.publish);
    }
    await publish(tuner.advance(event.time));
  }
  // End of input: open suppression windows and breaker minutes publish what they counted.
  await publish(tuner.flush());
  if (rdp !== undefined && opts.rdpStateFile !== undefined) saveRdpSnapshot(opts.rdpStateFile, rdp.snapshot());
  return { file, stats, alertsByRule, alerts };
}

/** The stderr summary: counts, alerts by rule, unreadable lines with their numbers. */
export function formatSummary(r: ReplayResult, maxLines = 20): string {
  const out: string[] = [];
  const unreadable = [...r.stats.unreadable.values()].reduce((n, l) => n + l.length, 0);
  out.push(`picket replay ${r.file}`);
  out.push(
    `  lines ${r.stats.lines}, events ${r.stats.events}, skipped ${r.stats.skipped} (blank, {} or headers), unreadable ${unreadable}`,
  );
  out.push(`  alerts ${r.alerts}`);
  for (const [name, n] of r.alertsByRule) out.push(`    ${n}  ${name}`);
  for (const [reason, lines] of r.stats.unreadable) {
    const shown = lines.slice(0, maxLines).join(', ');
    const more = lines.length > maxLines ? ` … and ${lines.length - maxLines} more` : '';
    out.push(`  unreadable (${reason}): ${lines.length} — line${lines.length > 1 ? 's' : ''} ${shown}${more}`);
  }
  return out.join('\n');
}
