/**
 * Zeek's default log format (TSV with `#separator`, `#fields`, `#types` headers) read line by line
 * into the records Zeek's JSON writer would have written, so that zeek.ts maps both alike. It is
 * stateful, unlike the normalizers: a record line means nothing without the header above it.
 * Replaying a `conn.log` needs this; Kafka carries Zeek JSON.
 */
import type { JsonObject } from '../fields.js';
import { setOwn } from './build.js';

export type ZeekTsvLine =
  | { readonly kind: 'header' }
  | { readonly kind: 'record'; readonly record: JsonObject; readonly log: string | undefined }
  | { readonly kind: 'invalid'; readonly detail: string };

const HEADER: ZeekTsvLine = { kind: 'header' };

/** True when a file's first line opens a Zeek TSV log. */
export function isZeekTsvHeader(line: string): boolean {
  return line.startsWith('#separator ');
}

export class ZeekTsvReader {
  private separator = '\t';
  private setSeparator = ',';
  private emptyField = '(empty)';
  private unsetField = '-';
  private path: string | undefined;
  private fields: string[] | undefined;
  private types: string[] = [];

  /** Reads one line (without its line end). Blank lines count as headers: nothing to map. */
  read(line: string): ZeekTsvLine {
    if (line.length === 0) return HEADER;
    if (line.startsWith('#')) {
      this.header(line);
      return HEADER;
    }
    if (this.fields === undefined) return { kind: 'invalid', detail: 'Zeek TSV record before its #fields header' };
    const values = line.split(this.separator);
    if (values.length !== this.fields.length) {
      return {
        kind: 'invalid',
        detail: `Zeek TSV record has ${values.length} columns, #fields names ${this.fields.length}`,
      };
    }
    const record: JsonObject = {};
    for (let i = 0; i < values.length; i++) {
      const v = this.convert(values[i]!, this.types[i] ?? 'string');
      if (v !== undefined) setOwn(record, this.fields[i]!, v);
    }
    return { kind: 'record', record, log: this.path };
  }

  private header(line: string): void {
    if (line.startsWith('#separator ')) {
      this.separator = unescape(line.slice('#separator '.length));
      return;
    }
    const parts = line.split(this.separator);
    const key = parts[0]!;
    const rest = parts.slice(1);
    switch (key) {
      case '#set_separator':
        this.setSeparator = unescape(rest[0] ?? ',');
        break;
      case '#empty_field':
        this.emptyField = unescape(rest[0] ?? '(empty)');
        break;
      case '#unset_field':
        this.unsetField = unescape(rest[0] ?? '-');
        break;
      case '#path':
        this.path = rest[0];
        break;
      case '#fields':
        this.fields = rest;
        break;
      case '#types':
        this.types = rest;
        break;
    }
  }

  private convert(raw: string, type: string): unknown {
    if (raw === this.unsetField) return undefined;
    const container = /^(?:set|vector)\[(.+)\]$/.exec(type);
    if (container !== null) {
      if (raw === this.emptyField) return [];
      return raw.split(this.setSeparator).map((el) => scalar(el, container[1]!));
    }
    if (raw === this.emptyField) return '';
    return scalar(raw, type);
  }
}

function scalar(raw: string, type: string): unknown {
  switch (type) {
    case 'time':
    case 'interval':
    case 'double': {
      const n = Number(raw);
      return Number.isFinite(n) ? n : raw;
    }
    case 'count':
    case 'int':
    case 'port': {
      const n = Number(raw);
      return Number.isSafeInteger(n) ? n : raw;
    }
    case 'bool':
      return raw === 'T' ? true : raw === 'F' ? false : raw;
    default:
      return unescape(raw);
  }
}

/**
 * Zeek's ASCII writer escapes a backslash as `\\` and separators and non-printable bytes as `\xHH`;
 * the JSON writer writes the characters themselves (`\pipe\ntsvcs` is `\\pipe\\ntsvcs` in TSV).
 */
function unescape(s: string): string {
  if (!s.includes('\\')) return s;
  const chunks: Buffer[] = [];
  let last = 0;
  const re = /\\(?:\\|x([0-9a-fA-F]{2}))/g;
  for (let m = re.exec(s); m !== null; m = re.exec(s)) {
    const byte = m[1] === undefined ? 0x5c : parseInt(m[1], 16);
    chunks.push(Buffer.from(s.slice(last, m.index), 'utf8'), Buffer.from([byte]));
    last = m.index + m[0].length;
  }
  chunks.push(Buffer.from(s.slice(last), 'utf8'));
  return Buffer.concat(chunks).toString('utf8');
}
