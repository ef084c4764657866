/**
 * Avro in the Confluent wire format: ECS events and alerts round-trip; an unknown schema id, a
 * corrupt payload and bytes that are not the wire format come back as their reasons; schemas come
 * from a directory or a Schema Registry (served here by node:http), compiled once and cached.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { alertToJson } from '../../../src/alerts/alert.js';
import {
  alertFromAvro,
  alertSchema,
  AvroDecoder,
  AvroRegistryError,
  encodeAlertAvro,
  readWireHeader,
  toWireFormat,
} from '../../../src/ecs/avro.js';
import { decodeEvent, eventFromDocument } from '../../../src/ecs/event.js';
import type { JsonObject } from '../../../src/ecs/fields.js';
import { normalize } from '../../../src/ecs/normalize/index.js';
import { createDetections } from '../../../src/detectors/registry.js';
import { Engine } from '../../../src/engine.js';

/** An ECS network event as a producer might describe it in Avro. */
const ECS_EVENT_SCHEMA = {
  type: 'record',
  name: 'NetworkEvent',
  namespace: 'example.ecs',
  fields: [
    { name: 'timestamp', type: 'string' },
    {
      name: 'event',
      type: {
        type: 'record',
        name: 'Event',
        fields: [
          { name: 'category', type: { type: 'array', items: 'string' } },
          { name: 'dataset', type: ['null', 'string'], default: null },
          { name: 'start', type: ['null', 'string'], default: null },
          { name: 'duration', type: ['null', 'long'], default: null },
        ],
      },
    },
    { name: 'network', type: { type: 'record', name: 'Network', fields: [{ name: 'transport', type: 'string' }] } },
    {
      name: 'source',
      type: {
        type: 'record',
        name: 'Endpoint',
        fields: [
          { name: 'ip', type: 'string' },
          { name: 'port', type: 'int' },
        ],
      },
    },
    { name: 'destination', type: 'Endpoint' },
    { name: 'labels', type: ['null', { type: 'map', values: 'string' }], default: null },
    { name: 'payload', type: ['null', 'bytes'], default: null },
    { name: 'extra', type: ['null', 'string', 'long'], default: null },
  ],
};

const ECS_DOC: JsonObject = {
  '@timestamp': '2023-11-24T12:16:57.923Z',
  event: { category: ['network'], dataset: 'zeek.connection', start: '2023-11-24T12:16:57.923Z', duration: 203716993 },
  network: { transport: 'tcp' },
  source: { ip: '192.168.1.9', port: 46100 },
  destination: { ip: '45.33.32.156', port: 135 },
};

function avroValue(doc: JsonObject): JsonObject {
  const { '@timestamp': timestamp, ...rest } = doc;
  return { timestamp, labels: null, payload: null, extra: null, ...rest };
}

function encode(schema: unknown, id: number, value: unknown): Buffer {
  return toWireFormat(id, avro.Type.forSchema(schema as avro.Schema).toBuffer(value));
}

test('wire format header', () => {
  const framed = toWireFormat(0x01020304, Buffer.from([9, 9]));
  assert.deepEqual([...framed], [0, 1, 2, 3, 4, 9, 9]);
  assert.deepEqual(readWireHeader(framed), { schemaId: 0x01020304 });
  assert.deepEqual(readWireHeader(toWireFormat(0xffffffff, Buffer.alloc(0))), { schemaId: 0xffffffff });
  assert.ok('detail' in readWireHeader(Buffer.from([1, 0, 0, 0, 1])));
  assert.ok('detail' in readWireHeader(Buffer.from([0, 0, 0])));
  assert.throws(() => toWireFormat(-1, Buffer.alloc(0)), RangeError);
});

test('an ECS event round-trips and reads as any ECS event', async () => {
  const decoder = new AvroDecoder({ schemaDir: '/nonexistent' });
  decoder.register(42, ECS_EVENT_SCHEMA);
  const bytes = encode(ECS_EVENT_SCHEMA, 42, avroValue(ECS_DOC));
  const r = await decoder.decode(bytes);
  assert.ok(r.ok, !r.ok ? r.detail : '');
  assert.equal(r.schemaId, 42);
  assert.deepEqual(r.doc, ECS_DOC, 'timestamp is @timestamp again; null fields are missing');
  assert.equal(Object.getPrototypeOf(r.doc), Object.prototype, 'a plain object, as JSON.parse gives');
  const n = normalize(r.doc, 'auto');
  assert.ok(n.ok && n.doc === r.doc, 'ECS passes through');
  const ev = eventFromDocument(n.doc, bytes, { kind: 'kafka', topic: 't', partition: 0, offset: '5' }, 5);
  assert.ok(ev.ok);
  // The same event as JSON triggers the same detection.
  const alerts = new Engine(createDetections()).process(ev.event);
  assert.deepEqual(
    alerts.map((a) => a.rule.id),
    ['32923416-763a-4531-bb35-f33b9232ecdb'],
  );
});

test('maps, bytes and multi-branch unions become JSON; no key reaches a prototype', async () => {
  const schema = {
    type: 'record',
    name: 'Odd',
    fields: [
      { name: 'timestamp', type: 'long' },
      { name: 'labels', type: { type: 'map', values: 'string' } },
      { name: 'payload', type: ['null', 'bytes'] },
      { name: 'extra', type: ['null', 'string', 'long'] },
      {
        name: 'either',
        type: [
          { type: 'record', name: 'A', fields: [{ name: 'a', type: 'int' }] },
          { type: 'record', name: 'B', fields: [{ name: 'b', type: 'int' }] },
        ],
      },
    ],
  };
  const decoder = new AvroDecoder({ schemaDir: '/nonexistent' });
  decoder.register(1, schema);
  // Encoded with every union wrapped (avsc needs that for the ambiguous record union).
  const type = avro.Type.forSchema(schema as avro.Schema, { wrapUnions: true });
  const labels: Record<string, string> = { team: 'soc', constructor: 'y' };
  Object.defineProperty(labels, '__proto__', { value: 'x', enumerable: true });
  const value = {
    timestamp: 1700000000000,
    labels,
    payload: { bytes: Buffer.from('hi') },
    extra: { long: 7 },
    either: { B: { b: 2 } },
  };
  const r = await decoder.decode(toWireFormat(1, type.toBuffer(value)));
  assert.ok(r.ok, !r.ok ? r.detail : '');
  assert.equal(r.doc['@timestamp'], 1700000000000, 'epoch milliseconds, which picket reads as event time');
  assert.equal(r.doc.payload, 'aGk=');
  assert.equal(r.doc.extra, 7);
  assert.deepEqual(r.doc.either, { b: 2 });
  const l = r.doc.labels as JsonObject;
  // avsc builds maps by assignment, so a `__proto__` key is lost there; it never reaches a
  // prototype of ours.
  assert.equal(Object.prototype.hasOwnProperty.call(l, '__proto__'), false);
  assert.equal(Object.getPrototypeOf(l), Object.prototype);
  assert.equal(l.constructor, 'y');
  assert.equal(l.team, 'soc');
  assert.equal(({} as JsonObject).x, undefined);
});

test('a raw Zeek record in Avro (underscored id names) reads through the Zeek normalizer', async () => {
  const schema = {
    type: 'record',
    name: 'DceRpc',
    fields: [
      { name: '_path', type: 'string' },
      { name: 'ts', type: 'double' },
      { name: 'uid', type: 'string' },
      { name: 'id_orig_h', type: 'string' },
      { name: 'id_orig_p', type: 'int' },
      { name: 'id_resp_h', type: 'string' },
      { name: 'id_resp_p', type: 'int' },
      { name: 'endpoint', type: ['null', 'string'] },
      { name: 'operation', type: ['null', 'string'] },
    ],
  };
  const record = {
    _path: 'dce_rpc',
    ts: 1588206048.592985,
    uid: 'CAGQDqsQlWvA6qoV5',
    id_orig_h: '10.0.1.6',
    id_orig_p: 56953,
    id_resp_h: '10.0.0.4',
    id_resp_p: 135,
    endpoint: 'epmapper',
    operation: 'ept_map',
  };
  const decoder = new AvroDecoder({ schemaDir: '/nonexistent' });
  decoder.register(3, schema);
  const r = await decoder.decode(encode(schema, 3, record));
  assert.ok(r.ok);
  const n = normalize(r.doc, 'auto');
  assert.ok(n.ok);
  assert.equal(n.doc['@timestamp'], '2020-04-30T00:20:48.592Z');
  assert.deepEqual(n.doc.destination, { ip: '10.0.0.4', port: 135 });
});

function alertDocument(): JsonObject {
  const ev = decodeEvent(JSON.stringify(ECS_DOC), { kind: 'kafka', topic: 'zeek', partition: 2, offset: '1234' }, 1234);
  assert.ok(ev.ok);
  const [alert] = new Engine(createDetections()).process(ev.event);
  assert.ok(alert !== undefined);
  return JSON.parse(alertToJson(alert, Date.UTC(2024, 4, 1))) as JsonObject;
}

test('an alert round-trips through schemas/alert.avsc', async () => {
  const doc = alertDocument();
  const dir = mkdtempSync(join(tmpdir(), 'picket-avro-'));
  try {
    writeFileSync(join(dir, '7.avsc'), JSON.stringify(alertSchema()));
    const decoder = new AvroDecoder({ schemaDir: dir });
    const bytes = encodeAlertAvro(doc, 7);
    assert.deepEqual(readWireHeader(bytes), { schemaId: 7 });
    const r = await decoder.decode(bytes);
    assert.ok(r.ok, !r.ok ? r.detail : '');
    assert.equal(typeof r.doc.entities_json, 'string', 'entities travel as JSON text');
    assert.deepEqual(alertFromAvro(r.doc), doc);
    // Without event.created (the document before it is written) too.
    const { created: _created, ...event } = doc.event as JsonObject;
    const bare = { ...doc, event };
    const r2 = await decoder.decode(encodeAlertAvro(bare, 7));
    assert.ok(r2.ok);
    assert.deepEqual(alertFromAvro(r2.doc), bare);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('unknown schema id, corrupt payload, not the wire format: reasons', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'picket-avro-'));
  try {
    writeFileSync(join(dir, '5.avsc'), JSON.stringify(ECS_EVENT_SCHEMA));
    writeFileSync(join(dir, '6.avsc'), '{"type": "record", "name": "Broken"');
    const decoder = new AvroDecoder({ schemaDir: dir });
    const good = encode(ECS_EVENT_SCHEMA, 5, avroValue(ECS_DOC));
    assert.ok((await decoder.decode(good)).ok);

    const unknown = await decoder.decode(toWireFormat(99, good.subarray(5)));
    assert.equal(!unknown.ok && unknown.reason, 'avro_unknown_schema');
    assert.match(!unknown.ok ? unknown.detail : '', /99/);
    const invalid = await decoder.decode(toWireFormat(6, good.subarray(5)));
    assert.equal(!invalid.ok && invalid.reason, 'avro_unknown_schema', 'a schema that does not compile');

    const truncated = await decoder.decode(good.subarray(0, good.length - 3));
    assert.equal(!truncated.ok && truncated.reason, 'avro_corrupt');
    const trailing = await decoder.decode(Buffer.concat([good, Buffer.from([1, 2])]));
    assert.equal(!trailing.ok && trailing.reason, 'avro_corrupt');
    const garbage = await decoder.decode(toWireFormat(5, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
    assert.equal(!garbage.ok && garbage.reason, 'avro_corrupt');

    for (const bytes of [Buffer.from('{"@timestamp":1}'), Buffer.from([0, 0]), Buffer.alloc(0)]) {
      const r = await decoder.decode(bytes);
      assert.equal(!r.ok && r.reason, 'avro_not_wire_format');
    }
    assert.throws(() => new AvroDecoder({}), /schema directory or a Schema Registry/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

interface Registry {
  readonly url: string;
  readonly requests: string[];
  status: number;
  close(): Promise<void>;
}

async function registry(schemas: Record<number, unknown>): Promise<Registry> {
  const requests: string[] = [];
  const state = { status: 200 };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests.push(`${req.url} ${req.headers.authorization ?? '-'}`);
    const m = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '');
    if (state.status !== 200) {
      res.writeHead(state.status).end();
      return;
    }
    const schema = m === null ? undefined : schemas[Number(m[1])];
    if (schema === undefined) {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end('{"error_code":40403,"message":"Schema not found"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(JSON.stringify({ schema: JSON.stringify(schema) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://picket:s%40cret@127.0.0.1:${port}`,
    requests,
    get status() {
      return state.status;
    },
    set status(s: number) {
      state.status = s;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

test('Schema Registry: fetched once, cached, basic auth, 404 unknown, outages thrown', async () => {
  const reg = await registry({ 1: ECS_EVENT_SCHEMA, 2: alertSchema() });
  try {
    const decoder = new AvroDecoder({ registryUrl: reg.url, unknownSchemaTtlMs: 60_000 });
    const bytes = encode(ECS_EVENT_SCHEMA, 1, avroValue(ECS_DOC));
    assert.equal(decoder.decodeCached(bytes), undefined, 'not fetched yet');
    const results = await Promise.all([decoder.decode(bytes), decoder.decode(bytes), decoder.decode(bytes)]);
    for (const r of results) assert.ok(r.ok && r.doc['@timestamp'] === ECS_DOC['@timestamp']);
    assert.deepEqual(reg.requests, [`/schemas/ids/1 Basic ${Buffer.from('picket:s@cret').toString('base64')}`]);
    const cached = decoder.decodeCached(bytes);
    assert.ok(cached?.ok, 'decoded without waiting once compiled');

    const alert = alertDocument();
    const a = await decoder.decode(encodeAlertAvro(alert, 2));
    assert.ok(a.ok);
    assert.deepEqual(alertFromAvro(a.doc), alert);

    const unknown = toWireFormat(77, bytes.subarray(5));
    const u1 = await decoder.decode(unknown);
    const u2 = await decoder.decode(unknown);
    assert.equal(!u1.ok && u1.reason, 'avro_unknown_schema');
    assert.equal(!u2.ok && u2.reason, 'avro_unknown_schema');
    assert.equal(reg.requests.filter((r) => r.startsWith('/schemas/ids/77')).length, 1, 'an unknown id is remembered');

    // An outage is not the message's fault: thrown, not cached, retried on the next message.
    reg.status = 503;
    const later = toWireFormat(3, bytes.subarray(5));
    await assert.rejects(decoder.decode(later), AvroRegistryError);
    reg.status = 200;
    const r3 = await decoder.decode(later);
    assert.equal(!r3.ok && r3.reason, 'avro_unknown_schema', 'id 3 does not exist, now that the registry answers');
  } finally {
    await reg.close();
  }
});

test('an unreachable registry throws AvroRegistryError', async () => {
  const reg = await registry({});
  await reg.close();
  const decoder = new AvroDecoder({ registryUrl: reg.url, registryTimeoutMs: 2000 });
  await assert.rejects(decoder.decode(toWireFormat(1, Buffer.from([0]))), AvroRegistryError);
});
