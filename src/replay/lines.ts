/**
 * Lines of an NDJSON input: a plain or gzip file (recognised by its magic bytes, whatever its
 * name), or stdin for "-". Split on "\n" only; a trailing "\r" is not part of the line. Lines are
 * returned as bytes so that decoding can be strict (invalid UTF-8 makes a line unreadable).
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';

export interface Line {
  /** 1-based line number. */
  readonly number: number;
  readonly bytes: Buffer;
}

function isGzip(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(2);
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The input as a byte stream; `onBytes` reports bytes read from disk (for progress). */
export function openInput(file: string, onBytes?: (n: number) => void): Readable {
  if (file === '-') return process.stdin;
  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  if (onBytes !== undefined) raw.on('data', (chunk: Buffer | string) => onBytes(chunk.length));
  return isGzip(file) ? raw.pipe(createGunzip()) : raw;
}

export async function* readLines(input: Readable): AsyncGenerator<Line> {
  let carry: Buffer | undefined;
  let number = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    const buf = carry === undefined ? chunk : Buffer.concat([carry, chunk]);
    carry = undefined;
    let start = 0;
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl < 0) break;
      number++;
      yield { number, bytes: stripCr(buf.subarray(start, nl)) };
      start = nl + 1;
    }
    if (start < buf.length) carry = Buffer.from(buf.subarray(start));
  }
  if (carry !== undefined && carry.length > 0) {
    number++;
    yield { number, bytes: stripCr(carry) };
  }
}

function stripCr(b: Buffer): Buffer {
  return b.length > 0 && b[b.length - 1] === 0x0d ? b.subarray(0, b.length - 1) : b;
}
