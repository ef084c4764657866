/**
 * Avro in the Confluent wire format: a magic byte 0, the schema id (4 bytes, big-endian), then the
 * Avro binary encoding of one value. Schemas come from a directory of `<id>.avsc` files and/or a
 * Schema Registry (`GET /schemas/ids/<id>`); each is fetched and compiled once, then cached.
 *
 * A decoded value becomes a plain JSON document, as JSON.parse would give it: records and maps
 * are plain objects (keys set as own properties; avsc itself builds maps by assignment, so a map
 * key `__proto__` is dropped there, never applied to a prototype), null fields are missing,
 * bytes are base64 text, union branches are unwrapped. Avro names cannot start with `@`, so by
 * picket's convention a record field named `timestamp` is ECS `@timestamp` (schemas/alert.avsc
 * follows it).
 *
 * Errors about the message are values (`avro_*` reasons, for the dead-letter topic). A registry
 * that cannot be reached is not the message's fault: that throws AvroRegistryError, so the caller
 * retries instead of dead-lettering good data.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import avro from 'avsc';
import { isJsonObject, type JsonObject } from './fields.js';

export type AvroReason = 'avro_unknown_schema' | 'avro_corrupt' | 'avro_not_wire_format';

export type AvroDecodeResult =
  | { readonly ok: true; readonly doc: JsonObject; readonly schemaId: number }
  | { readonly ok: false; readonly reason: AvroReason; readonly detail: string };

export interface AvroDecoderOptions {
  /** A directory of `<id>.avsc` files. */
  readonly schemaDir?: string;
  /** A Schema Registry base URL (`http://user:password@host:8081` for basic auth). */
  readonly registryUrl?: string;
  /** How long an unknown schema id is remembered as unknown before it is looked up again. */
  readonly unknownSchemaTtlMs?: number;
  /** Timeout of one registry request. */
  readonly registryTimeoutMs?: number;
}

/** The registry could not answer (network error, 5xx, …): transient, retry later. */
export class AvroRegistryError extends Error {
  override readonly name = 'AvroRegistryError';
}

const MAGIC = 0;
const HEADER_BYTES = 5;

/** A compiled schema: decodes a value and turns it into a JSON document. */
interface Compiled {
  readonly type: avro.Type;
  readonly toJson: (value: unknown) => unknown;
}

type Lookup = { readonly compiled: Compiled } | { readonly unknown: string; readonly until: number };

/** The wire-format header: schema id, or why the bytes are not in the wire format. */
export function readWireHeader(bytes: Uint8Array): { schemaId: number } | { detail: string } {
  if (bytes.length < HEADER_BYTES) return { detail: `${bytes.length} bytes: shorter than the 5-byte header` };
  if (bytes[0] !== MAGIC) return { detail: `first byte ${bytes[0]}, not the magic byte 0` };
  const schemaId = ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0;
  return { schemaId };
}

/** Frames an Avro binary value in the wire format. */
export function toWireFormat(schemaId: number, avroBinary: Uint8Array): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > 0xffffffff) {
    throw new RangeError(`schema id ${schemaId} is not a 32-bit unsigned integer`);
  }
  const out = Buffer.allocUnsafe(HEADER_BYTES + avroBinary.length);
  out[0] = MAGIC;
  out.writeUInt32BE(schemaId, 1);
  out.set(avroBinary, HEADER_BYTES);
  return out;
}

export class AvroDecoder {
  private readonly resolved = new Map<number, Lookup>();
  private readonly pending = new Map<number, Promise<Lookup>>();
  private readonly unknownTtlMs: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: AvroDecoderOptions) {
    if (opts.schemaDir === undefined && opts.registryUrl === undefined) {
      throw new Error('AvroDecoder needs a schema directory or a Schema Registry URL');
    }
    this.unknownTtlMs = opts.unknownSchemaTtlMs ?? 30_000;
    this.timeoutMs = opts.registryTimeoutMs ?? 10_000;
  }

  /** Registers a schema under an id (tests, or a schema picket ships). */
  register(schemaId: number, schema: unknown): void {
    this.resolved.set(schemaId, { compiled: compile(schema) });
  }

  /**
   * Decodes without waiting, when the message's schema is already compiled (the hot path);
   * undefined when the schema must be fetched first (then call decode()).
   */
  decodeCached(bytes: Uint8Array): AvroDecodeResult | undefined {
    const header = readWireHeader(bytes);
    if ('detail' in header) return { ok: false, reason: 'avro_not_wire_format', detail: header.detail };
    const lookup = this.resolved.get(header.schemaId);
    if (lookup === undefined || ('until' in lookup && lookup.until <= Date.now())) return undefined;
    return decodeWith(lookup, header.schemaId, bytes);
  }

  async decode(bytes: Uint8Array): Promise<AvroDecodeResult> {
    const cached = this.decodeCached(bytes);
    if (cached !== undefined) return cached;
    const header = readWireHeader(bytes) as { schemaId: number };
    return decodeWith(await this.lookup(header.schemaId), header.schemaId, bytes);
  }

  private lookup(schemaId: number): Promise<Lookup> {
    let p = this.pending.get(schemaId);
    if (p === undefined) {
      p = this.load(schemaId).then(
        (lookup) => {
          this.resolved.set(schemaId, lookup);
          this.pending.delete(schemaId);
          return lookup;
        },
        (err: unknown) => {
          this.pending.delete(schemaId); // not cached: the next message retries
          throw err;
        },
      );
      this.pending.set(schemaId, p);
    }
    return p;
  }

  private async load(schemaId: number): Promise<Lookup> {
    let text: string | undefined;
    const misses: string[] = [];
    if (this.opts.schemaDir !== undefined) {
      const file = join(this.opts.schemaDir, `${schemaId}.avsc`);
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        misses.push(`no ${file}`);
      }
    }
    if (text === undefined && this.opts.registryUrl !== undefined) {
      text = await this.fetchFromRegistry(schemaId);
      if (text === undefined) misses.push(`the registry does not know id ${schemaId}`);
    }
    if (text === undefined) return this.unknown(`schema ${schemaId}: ${misses.join('; ')}`);
    try {
      return { compiled: compile(JSON.parse(text) as unknown) };
    } catch (err) {
      return this.unknown(`schema ${schemaId} is not a valid Avro schema: ${(err as Error).message.slice(0, 200)}`);
    }
  }

  private unknown(detail: string): Lookup {
    return { unknown: detail, until: Date.now() + this.unknownTtlMs };
  }

  /** The schema text, undefined when the registry says the id is unknown (404). */
  private async fetchFromRegistry(schemaId: number): Promise<string | undefined> {
    const url = new URL(`schemas/ids/${schemaId}`, this.opts.registryUrl!.replace(/\/?$/, '/'));
    const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
    if (url.username !== '') {
      const user = decodeURIComponent(url.username);
      const password = decodeURIComponent(url.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
      url.username = '';
      url.password = '';
    }
    let res: Response;
    try {
      res = await fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
    } catch (err) {
      throw new AvroRegistryError(`schema registry ${url.origin}: ${(err as Error).message}`);
    }
    if (res.status === 404) return undefined;
    if (!res.ok) throw new AvroRegistryError(`schema registry ${url.origin}: HTTP ${res.status} for id ${schemaId}`);
    const body = (await res.json()) as unknown;
    if (!isJsonObject(body) || typeof body.schema !== 'string') {
      throw new AvroRegistryError(`schema registry ${url.origin}: no schema text for id ${schemaId}`);
    }
    if (body.schemaType !== undefined && body.schemaType !== 'AVRO') {
      return JSON.stringify({ notAvro: body.schemaType }); // compiles to an error: unknown
    }
    return body.schema;
  }
}

function decodeWith(lookup: Lookup, schemaId: number, bytes: Uint8Array): AvroDecodeResult {
  if ('unknown' in lookup) return { ok: false, reason: 'avro_unknown_schema', detail: lookup.unknown };
  const body = Buffer.from(bytes.buffer, bytes.byteOffset + HEADER_BYTES, bytes.length - HEADER_BYTES);
  let value: unknown;
  try {
    // fromBuffer also rejects trailing bytes: a value must use the whole message.
    value = lookup.compiled.type.fromBuffer(body);
  } catch (err) {
    return { ok: false, reason: 'avro_corrupt', detail: `schema ${schemaId}: ${(err as Error).message.slice(0, 200)}` };
  }
  const doc = lookup.compiled.toJson(value);
  if (!isJsonObject(doc)) {
    return { ok: false, reason: 'avro_corrupt', detail: `schema ${schemaId} does not describe a record` };
  }
  return { ok: true, doc, schemaId };
}

/** The parts of avsc's Type that the JSON conversion walks (its typings do not list them). */
interface TypeShape {
  readonly typeName: string;
  readonly branchName?: string;
  readonly fields?: readonly { readonly name: string; readonly type: TypeShape }[];
  readonly itemsType?: TypeShape;
  readonly valuesType?: TypeShape;
  readonly types?: readonly TypeShape[];
  readonly underlyingType?: TypeShape;
  isValid(v: unknown): boolean;
}

function compile(schema: unknown): Compiled {
  const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: 'auto' });
  const shape = type as unknown as TypeShape;
  return { type, toJson: (v) => toJson(v, shape) };
}

function setOwn(obj: JsonObject, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** An Avro value as JSON, guided by its type. Null is returned as undefined (a missing field). */
function toJson(v: unknown, t: TypeShape): unknown {
  if (v === null || v === undefined) return undefined;
  switch (t.typeName) {
    case 'record':
    case 'error': {
      const out: JsonObject = {};
      const rec = v as Record<string, unknown>;
      for (const f of t.fields!) {
        const x = toJson(rec[f.name], f.type);
        if (x !== undefined) setOwn(out, f.name === 'timestamp' ? '@timestamp' : f.name, x);
      }
      return out;
    }
    case 'array':
      return (v as unknown[]).map((e) => toJson(e, t.itemsType!) ?? null);
    case 'map': {
      const out: JsonObject = {};
      const m = v as Record<string, unknown>;
      for (const k of Object.keys(m)) {
        const x = toJson(m[k], t.valuesType!);
        if (x !== undefined) setOwn(out, k, x);
      }
      return out;
    }
    case 'union:wrapped': {
      const w = v as Record<string, unknown>;
      const branch = Object.keys(w)[0]!;
      const bt = t.types!.find((b) => b.branchName === branch);
      return bt === undefined ? undefined : toJson(w[branch], bt);
    }
    case 'union:unwrapped': {
      const bt = t.types!.find((b) => b.typeName !== 'null' && b.isValid(v));
      return bt === undefined ? undefined : toJson(v, bt);
    }
    case 'bytes':
    case 'fixed':
      return Buffer.from(v as Uint8Array).toString('base64');
    default:
      if (t.underlyingType !== undefined) return toJson(v, t.underlyingType);
      return v; // string, enum, boolean, int, long, float, double
  }
}

/** Where the alert schema ships: `schemas/alert.avsc` at the repository root (beside `dist/`). */
export const ALERT_SCHEMA_URL = new URL('../../../schemas/alert.avsc', import.meta.url);

let alertType: avro.Type | undefined;

/** The alert schema, parsed (to register it with a Schema Registry, for example). */
export function alertSchema(): JsonObject {
  return JSON.parse(readFileSync(ALERT_SCHEMA_URL, 'utf8')) as JsonObject;
}

/** Top-level fields of the alert document that the schema holds as records; the rest are entities. */
const ALERT_FIXED = new Set([
  '@timestamp',
  'message',
  'event',
  'rule',
  'threat',
  'related',
  'picket',
  'observer',
  'ecs',
  'tags',
]);
const PICKET_FIXED = new Set(['severity', 'events', 'rule']);

function orNull(v: unknown): unknown {
  return v === undefined ? null : v;
}

/**
 * An alert document (src/alerts/alert.ts, with or without `event.created`) in the wire format with
 * schemas/alert.avsc under `schemaId`. The entity objects and the detection's details, whose shape
 * varies, travel as JSON text (alertFromAvro() puts them back).
 */
export function encodeAlertAvro(alertDoc: JsonObject, schemaId: number): Buffer {
  alertType ??= avro.Type.forSchema(alertSchema() as avro.Schema, { wrapUnions: 'auto' });
  const event = alertDoc.event as JsonObject;
  const rule = alertDoc.rule as JsonObject;
  const threat = alertDoc.threat as JsonObject;
  const technique = threat.technique as JsonObject;
  const picket = alertDoc.picket as JsonObject;
  const related = alertDoc.related as JsonObject | undefined;
  const entities: JsonObject = {};
  for (const k of Object.keys(alertDoc)) if (!ALERT_FIXED.has(k)) setOwn(entities, k, alertDoc[k]);
  const detailKeys = Object.keys(picket).filter((k) => !PICKET_FIXED.has(k));
  if (detailKeys.length > 1) throw new Error(`alert has several detail objects: ${detailKeys.join(', ')}`);
  const detection = detailKeys[0];
  const value = {
    timestamp: alertDoc['@timestamp'],
    message: alertDoc.message,
    event: { ...event, created: orNull(event.created) },
    rule: {
      ...rule,
      description: orNull(rule.description),
      reference: orNull(rule.reference),
      version: orNull(rule.version),
      author: rule.author ?? [],
      license: orNull(rule.license),
    },
    threat: { ...threat, technique: { ...technique, subtechnique: orNull(technique.subtechnique) } },
    related:
      related === undefined
        ? null
        : { ip: orNull(related.ip), hosts: orNull(related.hosts), user: orNull(related.user) },
    picket: {
      severity: picket.severity,
      events: (picket.events as JsonObject[]).map((e) => ({
        timestamp: e['@timestamp'],
        event: orNull(e.event),
        topic: orNull(e.topic),
        partition: orNull(e.partition),
        offset: orNull(e.offset),
        file: orNull(e.file),
        line: orNull(e.line),
      })),
      rule: picket.rule,
      detection: orNull(detection),
      details_json: detection === undefined ? null : JSON.stringify(picket[detection]),
    },
    entities_json: JSON.stringify(entities),
    observer: alertDoc.observer,
    ecs: alertDoc.ecs,
    tags: alertDoc.tags ?? [],
  };
  return toWireFormat(schemaId, alertType.toBuffer(value));
}

/** The alert document again, from a decoded schemas/alert.avsc value (JSON text expanded). */
export function alertFromAvro(decoded: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(decoded)) {
    if (k !== 'entities_json') setOwn(out, k, decoded[k]);
  }
  if (typeof decoded.entities_json === 'string') {
    const entities = JSON.parse(decoded.entities_json) as unknown;
    if (isJsonObject(entities)) for (const k of Object.keys(entities)) setOwn(out, k, entities[k]);
  }
  const picket = decoded.picket;
  if (isJsonObject(picket)) {
    const p: JsonObject = {};
    for (const k of Object.keys(picket)) if (k !== 'detection' && k !== 'details_json') setOwn(p, k, picket[k]);
    if (typeof picket.detection === 'string' && typeof picket.details_json === 'string') {
      setOwn(p, picket.detection, JSON.parse(picket.details_json) as unknown);
    }
    out.picket = p;
  }
  return out;
}
