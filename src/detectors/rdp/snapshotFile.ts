/**
 * D4's state as a file, for replay: `picket replay` keeps models in memory; saving them after one
 * run and loading them before the next lets a replay of this week's files start from what last
 * week's taught (and lets a test stop and resume a detector). The file holds the same entries as
 * the changelog topic (key = destination, value = its state), written atomically.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';

export const SNAPSHOT_FORMAT = 'picket-rdp-spike-snapshot';
export const SNAPSHOT_VERSION = 1;

interface SnapshotFile {
  readonly format: string;
  readonly version: number;
  readonly entries: readonly (readonly [string, string])[];
}

/** Writes `entries` (from RdpSpikeDetector.snapshot()) to `path`, replacing it atomically. */
export function saveRdpSnapshot(path: string, entries: ReadonlyMap<string, string>): void {
  const file: SnapshotFile = { format: SNAPSHOT_FORMAT, version: SNAPSHOT_VERSION, entries: [...entries] };
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(file));
  renameSync(tmp, path);
}

/** Reads entries written by saveRdpSnapshot, for RdpSpikeDetector.restore(). */
export function loadRdpSnapshot(path: string): Map<string, string> {
  const file = JSON.parse(readFileSync(path, 'utf8')) as Partial<SnapshotFile>;
  if (file.format !== SNAPSHOT_FORMAT) throw new Error(`${path} is not a D4 snapshot`);
  if (file.version !== SNAPSHOT_VERSION)
    throw new Error(`${path}: unsupported snapshot version ${String(file.version)}`);
  const out = new Map<string, string>();
  for (const entry of file.entries ?? []) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'string') {
      throw new Error(`${path}: malformed snapshot entry`);
    }
    out.set(entry[0], entry[1]);
  }
  return out;
}
