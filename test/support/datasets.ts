/**
 * The shared public datasets (../shared/datasets beside the repository, or PICKET_DATASETS).
 * A user's clone does not have them: tests that need them skip, saying why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (tests run from dist/test/...). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export const DATASETS_DIR = process.env.PICKET_DATASETS ?? resolve(REPO_ROOT, '..', 'shared', 'datasets');

export const datasetsAvailable = existsSync(join(DATASETS_DIR, 'README.md')) && existsSync(join(DATASETS_DIR, 'ecs'));

export const DATASETS_SKIP = datasetsAvailable
  ? false
  : `the shared datasets are not at ${DATASETS_DIR} (set PICKET_DATASETS to run these tests)`;

export interface EcsFileFacts {
  /** Path relative to ecs/. */
  readonly file: string;
  readonly lines: number;
  readonly events: number;
  readonly d1: number;
  readonly mapper: number;
  readonly endpoint: number;
  readonly svcIn: number;
  readonly svcChild: number;
}

/** The per-file table of the datasets README: what each detection-relevant count is. */
export function ecsFileTable(): EcsFileFacts[] {
  const text = readFileSync(join(DATASETS_DIR, 'README.md'), 'utf8');
  const rows: EcsFileFacts[] = [];
  const num = (s: string | undefined): number => Number((s ?? '').replace(/,/g, '').trim());
  for (const line of text.split('\n')) {
    const m = /^\| `([^`]+\.ndjson\.gz)` \|(.*)\|$/.exec(line);
    if (m === null) continue;
    const c = m[2]!.split('|');
    rows.push({
      file: m[1]!,
      lines: num(c[0]),
      events: num(c[1]),
      d1: num(c[3]),
      mapper: num(c[5]),
      endpoint: num(c[6]),
      svcIn: num(c[7]),
      svcChild: num(c[8]),
    });
  }
  return rows;
}
