/**
 * Turns the lines of one input into events, for `picket replay --input <format>`: strict UTF-8,
 * blank and `{}` lines skipped, JSON documents normalized to ECS (src/ecs/normalize), and Zeek's
 * tab-separated logs (recognised by their `#separator` header) read with their header's fields.
 * Stateful per input (a TSV header applies to the lines after it): one decoder per file.
 */
import { eventFromDocument, type EcsEvent } from '../ecs/event.js';
import { isJsonObject } from '../ecs/fields.js';
import { normalize, type InputFormat } from '../ecs/normalize/index.js';
import { normalizeZeek } from '../ecs/normalize/zeek.js';
import { isZeekTsvHeader, ZeekTsvReader } from '../ecs/normalize/zeekTsv.js';

export type LineResult =
  | { readonly kind: 'skip' }
  | { readonly kind: 'event'; readonly event: EcsEvent }
  | { readonly kind: 'unreadable'; readonly reason: string };

const SKIP: LineResult = { kind: 'skip' };
const utf8 = new TextDecoder('utf-8', { fatal: true });

function isEmptyLine(bytes: Uint8Array): boolean {
  if (bytes.length > 8) return false;
  const text = Buffer.from(bytes).toString('latin1').trim();
  return text === '' || text === '{}';
}

export function createLineDecoder(format: InputFormat, file: string): (bytes: Uint8Array, line: number) => LineResult {
  let tsv: ZeekTsvReader | undefined;
  let first = true;
  return (bytes, line) => {
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return { kind: 'unreadable', reason: 'invalid_utf8' };
    }
    if (first && text.length > 0) {
      first = false;
      if ((format === 'auto' || format === 'zeek') && isZeekTsvHeader(text)) tsv = new ZeekTsvReader();
    }
    let doc: unknown;
    if (tsv !== undefined) {
      const r = tsv.read(text);
      if (r.kind === 'header') return SKIP;
      if (r.kind === 'invalid') return { kind: 'unreadable', reason: 'invalid_zeek_tsv' };
      const n = normalizeZeek(r.record, r.log);
      if (!n.ok) return { kind: 'unreadable', reason: n.reason };
      doc = n.doc;
    } else {
      if (isEmptyLine(bytes)) return SKIP;
      try {
        doc = JSON.parse(text);
      } catch {
        return { kind: 'unreadable', reason: 'invalid_json' };
      }
      if (isJsonObject(doc) && format !== 'ecs') {
        const n = normalize(doc, format);
        if (!n.ok) return { kind: 'unreadable', reason: n.reason };
        doc = n.doc;
      }
    }
    const res = eventFromDocument(doc, text, { kind: 'file', file, line }, line);
    return res.ok ? { kind: 'event', event: res.event } : { kind: 'unreadable', reason: res.reason };
  };
}
