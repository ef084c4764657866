/**
 * The raw files of the shared datasets (`raw/`), each paired with its ECS conversion (`ecs/`) as
 * the datasets README describes ("Sources and raw files"): the ECS path is the raw path with an
 * archive's name (`.zip`, `.tar.gz`, `.gz`) turned into a folder or dropped, and `.ndjson.gz`
 * appended. Archives are opened here (zip.ts, tar.ts), so a test reads every raw log as lines.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { openInput, readLines, type Line } from '../../src/replay/lines.js';
import { DATASETS_DIR } from './datasets.js';
import { readTarGz } from './tar.js';
import { listZipEntries, openZipEntry } from './zip.js';

export interface RawLog {
  /** The raw file, relative to raw/ (the archive, for a file inside one). */
  readonly raw: string;
  /** The file inside the archive, if any. */
  readonly member: string | undefined;
  /** Its ECS conversion, relative to ecs/ (whether or not it exists). */
  readonly ecs: string;
  /** A display name: `raw` or `raw!member`. */
  readonly name: string;
  /** The raw log's bytes, decompressed. */
  open(): Readable;
}

export const RAW_DIR = join(DATASETS_DIR, 'raw');
export const ECS_DIR = join(DATASETS_DIR, 'ecs');

/** Files in raw/ that are documentation, licences or reference outputs, never converted. */
function isDocumentation(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return (
    base === 'README.md' ||
    base.startsWith('LICENSE') ||
    base.endsWith('-LICENSE.txt') ||
    base.endsWith('.yaml') ||
    base.endsWith('-expected.json')
  );
}

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else out.push(p);
  }
}

/** The logs of one raw file (relative to raw/): itself, or the files inside an archive. */
export function logsOfRawFile(raw: string): RawLog[] {
  const abs = join(RAW_DIR, raw);
  if (raw.endsWith('.zip')) {
    const folder = raw.slice(0, -'.zip'.length);
    return listZipEntries(abs)
      .filter((entry) => !entry.name.endsWith('/'))
      .map((entry) => ({
        raw,
        member: entry.name,
        ecs: `${folder}/${entry.name}.ndjson.gz`,
        name: `${raw}!${entry.name}`,
        open: () => openZipEntry(abs, entry),
      }));
  }
  if (raw.endsWith('.tar.gz')) {
    const folder = raw.slice(0, -'.tar.gz'.length);
    return readTarGz(abs).map((entry) => ({
      raw,
      member: entry.name,
      ecs: `${folder}/${entry.name.slice(entry.name.lastIndexOf('/') + 1)}.ndjson.gz`,
      name: `${raw}!${entry.name}`,
      open: () => Readable.from([entry.data]),
    }));
  }
  const plain = raw.endsWith('.gz') ? raw.slice(0, -'.gz'.length) : raw;
  return [{ raw, member: undefined, ecs: `${plain}.ndjson.gz`, name: raw, open: () => openInput(abs) }];
}

/** Every raw log file (archives opened), documentation excluded. */
export function rawLogs(): RawLog[] {
  const files: string[] = [];
  walk(RAW_DIR, files);
  const logs: RawLog[] = [];
  for (const abs of files) {
    const raw = relative(RAW_DIR, abs).split('\\').join('/');
    if (!isDocumentation(raw)) logs.push(...logsOfRawFile(raw));
  }
  return logs;
}

/** The raw logs that have an ECS conversion. */
export function convertedRawLogs(): RawLog[] {
  return rawLogs().filter((l) => existsSync(join(ECS_DIR, l.ecs)));
}

/** The lines of a raw log (1-based numbers; a trailing `\r` is not part of a line). */
export function rawLines(log: RawLog): AsyncGenerator<Line> {
  return readLines(log.open());
}

/** The lines of an ECS conversion. */
export function ecsLines(ecs: string): AsyncGenerator<Line> {
  return readLines(openInput(join(ECS_DIR, ecs)));
}

/** Line `n` (1-based) of a raw log, as text. */
export async function rawLineText(raw: string, n: number, member?: string): Promise<string> {
  const log = logsOfRawFile(raw).find((l) => member === undefined || l.member === member);
  if (log === undefined) throw new Error(`no raw log ${raw}${member === undefined ? '' : `!${member}`}`);
  return lineText(rawLines(log), n, log.name);
}

/** Line `n` of an ECS conversion, as text. */
export function ecsLineText(ecs: string, n: number): Promise<string> {
  return lineText(ecsLines(ecs), n, ecs);
}

async function lineText(lines: AsyncGenerator<Line>, n: number, name: string): Promise<string> {
  for await (const line of lines) {
    if (line.number === n) {
      await lines.return(undefined);
      return line.bytes.toString('utf8');
    }
  }
  throw new Error(`${name} has no line ${n}`);
}
