/**
 * A small tar reader for the `.tar.gz` archives in the shared datasets (a few MB each, read whole):
 * ustar headers, pax extended headers (`path=`, as macOS tar writes them) and GNU long names.
 * Only regular files are returned.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TarEntry {
  readonly name: string;
  readonly data: Buffer;
}

function field(block: Buffer, offset: number, length: number): string {
  const raw = block.subarray(offset, offset + length);
  const nul = raw.indexOf(0);
  return raw.toString('utf8', 0, nul < 0 ? raw.length : nul);
}

function octal(block: Buffer, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  return text.length === 0 ? 0 : parseInt(text, 8);
}

/** `path` from a pax extended header (`<length> path=<value>\n` records). */
function paxPath(data: Buffer): string | undefined {
  let p = 0;
  while (p < data.length) {
    const space = data.indexOf(0x20, p);
    if (space < 0) break;
    const length = Number(data.toString('ascii', p, space));
    if (!Number.isInteger(length) || length <= 0) break;
    const record = data.toString('utf8', space + 1, p + length - 1);
    const eq = record.indexOf('=');
    if (record.slice(0, eq) === 'path') return record.slice(eq + 1);
    p += length;
  }
  return undefined;
}

export function readTarGz(file: string): TarEntry[] {
  const tar = gunzipSync(readFileSync(file));
  const entries: TarEntry[] = [];
  let p = 0;
  let nextName: string | undefined;
  while (p + 512 <= tar.length) {
    const header = tar.subarray(p, p + 512);
    if (header.every((b) => b === 0)) break;
    const size = octal(header, 124, 12);
    const type = String.fromCharCode(header[156]!);
    const data = tar.subarray(p + 512, p + 512 + size);
    p += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      nextName = paxPath(data) ?? nextName;
    } else if (type === 'L') {
      nextName = field(data, 0, data.length);
    } else if (type === '0' || type === '\0') {
      const prefix = field(header, 345, 155);
      const name = nextName ?? (prefix.length > 0 ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
      entries.push({ name, data: Buffer.from(data) });
      nextName = undefined;
    } else {
      nextName = undefined;
    }
  }
  return entries;
}
