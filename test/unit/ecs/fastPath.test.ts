/**
 * The fast path's scanner (src/ecs/fastPath.ts): it answers an event time only for a message the
 * full path reads with that time and whose interest fails; anything else is PARSE. Every test runs
 * on both implementations of the byte pass: WebAssembly (the default) and JavaScript (the reference).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEvent } from '../../../src/ecs/event.js';
import { FastPath, PARSE, type FastPathScanner } from '../../../src/ecs/fastPath.js';
import { interestHolds, type Interest } from '../../../src/ecs/interest.js';

const INTEREST: Interest = [
  [{ field: 'destination.port', op: 'number_eq', value: 135 }],
  [
    { field: 'source.port', op: 'number_gte', value: 49152 },
    { field: 'destination.port', op: 'number_gte', value: 49152 },
  ],
  [{ field: 'event.code', op: 'keyword_eq', value: '4624' }],
  [{ field: 'process.parent.name', op: 'keyword_eq_ci', value: 'services.exe' }],
];
const LIMITS = { maxMessageBytes: 4096, maxDepth: 8 };
const T = '2024-05-01T10:00:00.123Z';
const TIME = Date.parse(T);

const bytes = (s: string | Uint8Array): Buffer => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));

for (const scanner of ['wasm', 'js'] as const satisfies readonly FastPathScanner[]) {
  test(`the ${scanner} scanner is the one running`, () => {
    assert.equal(FastPath.compile([INTEREST], LIMITS, 'ecs', scanner)!.scanner, scanner);
  });

  const fp = FastPath.compile([INTEREST], LIMITS, 'ecs', scanner)!;

  /** The scanner's answer, checked against the full path whenever it is not PARSE. */
  function scan(msg: string | Uint8Array): number {
    const b = bytes(msg);
    const t = fp.skippableTime(b);
    if (t !== PARSE) {
      const r = decodeEvent(b, { kind: 'file', file: 'x', line: 1 }, 1, 'ecs', LIMITS);
      assert.ok(r.ok, `skipped a message the full path refuses: ${b.toString()}`);
      assert.equal(t, r.event.time);
      assert.ok(!interestHolds(INTEREST, r.event.doc), `skipped an interesting message: ${b.toString()}`);
    }
    return t;
  }

  const skips = (msg: string | Uint8Array): void => assert.equal(scan(msg), TIME, bytes(msg).toString());
  const parses = (msg: string | Uint8Array): void => assert.equal(scan(msg), PARSE, bytes(msg).toString());

  test(`ordinary uninteresting events are skipped, whatever their layout (${scanner})`, () => {
    skips(`{"@timestamp":"${T}","destination":{"port":443},"source":{"port":50000}}`);
    skips(`{"@timestamp":"${T}","destination.port":443,"source.port":"50000"}`);
    skips(`{"source":{"port":50000},"destination.port":[80,443],"@timestamp":"${T}"}`);
    skips(` \t\r\n{ "@timestamp" :\n"${T}" , "a" : [ 1 , -2.5e-3 , true , false , null , { } , [ ] ] }\n `);
    skips(`{"@timestamp":"${T}","message":"caf\u00e9 \u6f22\u5b57 \ud83d\ude00","k\u00e9y":1}`);
    skips(`{"@timestamp":"${T}","message":"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\ud800"}`);
    skips(`{"@timestamp":"${T}","agent":{"n\\u0061me":"x"}}`); // an escaped key under a field no test names
    skips(`{"@timestamp":"${T}","event":{"code":"4625"},"process":{"parent":{"name":"svchost.exe"}}}`);
    skips(`{"@timestamp":"${T}","event.code":4625,"destination":{"port":"abc"}}`);
    skips(`{"@timestamp":"${T}","destination":{"port":{"number":135}}}`); // an object is not a port
    skips(`{"@timestamp":${TIME}}`);
    skips(`{"@timestamp":"${TIME}"}`);
    skips(`{"@timestamp":"${T}","source.port":50000}`); // one side of an alternative only
    skips(`{"@timestamp":"${T}","":{"destination":{"port":135}}}`); // "" never names a segment
    skips(`{"@timestamp":"${T}","destination.":{"port":135}}`);
  });

  test(`anything the full path refuses is parsed, so its dead letter keeps its reason (${scanner})`, () => {
    const ok = `{"@timestamp":"${T}"}`;
    for (const bad of [
      '',
      ' ',
      '{}',
      '[]',
      `[${ok}]`,
      '"x"',
      'null',
      `${ok}x`,
      `${ok}${ok}`,
      `{"@timestamp":"${T}",}`,
      `{"@timestamp":"${T}" "a":1}`,
      `{'@timestamp':"${T}"}`,
      `{"@timestamp":"${T}","a":01}`,
      `{"@timestamp":"${T}","a":1.}`,
      `{"@timestamp":"${T}","a":.5}`,
      `{"@timestamp":"${T}","a":1e}`,
      `{"@timestamp":"${T}","a":+1}`,
      `{"@timestamp":"${T}","a":tru}`,
      `{"@timestamp":"${T}","a":nul}`,
      `{"@timestamp":"${T}","a":NaN}`,
      `{"@timestamp":"${T}","a":"\\x"}`,
      `{"@timestamp":"${T}","a":"\\u12"}`,
      `{"@timestamp":"${T}","a":"tab\there"}`,
      `{"@timestamp":"${T}","a":"x}`,
      `{"@timestamp":"${T}","a":[1,]}`,
      `{"@timestamp":"${T}","a":{"b":1}`,
      `{"@timestamp":"${T}",\f"a":1}`,
      `\ufeff${ok}`, // a BOM: TextDecoder strips it, but the scanner does not reason about that
      '{"a":1}', // missing_timestamp
      '{"@timestamp":null}',
      '{"@timestamp":"yesterday"}', // invalid_timestamp
      '{"@timestamp":"2024-02-30T00:00:00Z"}',
      '{"@timestamp":-1}',
      '{"@timestamp":true}',
      `{"@timestamp":["${T}"]}`,
      `{"@timestamp":{"t":"${T}"}}`,
      `{"@timestamp":"${T}","@timestamp":"${T}"}`, // duplicated: JSON.parse keeps the last
      `{"\\u0040timestamp":"${T}"}`, // an escaped key that could name a field
      `{"@timestamp":"2024-05-01T10:00:00.123\\u005a"}`,
      `{"@timestamp":"${T}","a":${'['.repeat(8)}${']'.repeat(8)}}`, // deeper than maxDepth 8
      `{"@timestamp":"${T}","a":"${'x'.repeat(5000)}"}`, // too_large
    ]) {
      parses(bad);
    }
    // Invalid UTF-8: a lone continuation byte, an overlong form, a surrogate, beyond U+10FFFF, truncated.
    for (const seq of [[0x80], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]]) {
      parses(Buffer.concat([bytes(`{"@timestamp":"${T}","a":"`), Buffer.from(seq), bytes('"}')]));
    }
  });

  test(`interesting events are parsed, in every form a reader accepts (${scanner})`, () => {
    for (const doc of [
      `"destination":{"port":135}`,
      `"destination.port":135`,
      `"destination":{"port":"135"}`,
      `"destination":{"port":"0135"}`,
      `"destination":{"port":[80,135]}`,
      `"destination":[{"port":80},{"port":135}]`,
      `"destination":{"port":135.0}`,
      `"destination":{"port":1.35e2}`,
      `"destination":{"port":"1.35e2"}`,
      `"destination":{"port":"\\u0031\\u0033\\u0035"}`,
      `"destination":{"p\\u006frt":135}`, // an escaped key where a field may continue
      `"destination":{"port":135},"destination":{"port":80}`, // duplicate: over-approximated
      `"source":{"port":50000},"destination":{"port":"60000"}`,
      `"source.port":[1,50000],"destination":{"port":49152}`,
      `"event":{"code":"4624"}`,
      `"event":{"code":4624}`,
      `"event.code":["4625","4624"]`,
      `"process":{"parent":{"name":"SERVICES.EXE"}}`,
      `"process.parent":{"name":"Services.exe"}`,
      `"process":{"parent.name":"services.exe"}`,
      `"process":{"parent":{"name":"\\u017fervices.exe"}}`, // escaped: read conservatively
      `"process":{"parent":{"name":"\u212aervices.exe"}}`, // non-ASCII under a case-insensitive test
    ]) {
      parses(`{"@timestamp":"${T}",${doc}}`);
    }
  });

  test(`timestamps: the byte reader agrees with parseEventTime (${scanner})`, () => {
    for (const t of [
      '2024-05-01T10:00:00Z',
      '2024-05-01T10:00:00.1Z',
      '2024-05-01T10:00:00,123456789z',
      '2024-02-29T23:59:59.999Z',
      '2024-05-01 10:00:00Z',
      '2024-05-01T10:00:00+02:00',
      '2024-05-01T10:00',
      '2024-05-01T10:00:00',
      '1970-01-01T00:00:00.000Z',
    ]) {
      const b = bytes(`{"@timestamp":"${t}"}`);
      const r = decodeEvent(b, { kind: 'file', file: 'x', line: 1 }, 1);
      assert.ok(r.ok, t);
      assert.equal(fp.skippableTime(b), r.event.time, t);
    }
    for (const t of [
      '2023-02-29T00:00:00Z',
      '2024-13-01T00:00:00Z',
      '2024-05-01T24:00:00Z',
      '0099-01-01T00:00:00Z',
      '0100-01-01T00:00:00Z',
      '9999-12-31T23:59:59.999Z',
      '1969-12-31T23:59:59.999Z',
    ]) {
      const b = bytes(`{"@timestamp":"${t}"}`);
      const r = decodeEvent(b, { kind: 'file', file: 'x', line: 1 }, 1);
      assert.equal(fp.skippableTime(b), r.ok ? r.event.time : PARSE, t);
    }
  });

  test(`an alternative without tests, or a declaration the scanner cannot read exactly, means no fast path (${scanner})`, () => {
    assert.equal(FastPath.compile([[[]]], LIMITS), undefined);
    assert.equal(FastPath.compile([[[{ field: 'a', op: 'keyword_eq', value: 'é' }]]], LIMITS), undefined);
    assert.equal(FastPath.compile([[[{ field: '@timestamp', op: 'keyword_eq', value: 'x' }]]], LIMITS), undefined);
    const none = FastPath.compile([[]], LIMITS, 'ecs', scanner)!; // no event matters: every readable one is skipped
    assert.equal(none.skippableTime(bytes(`{"@timestamp":"${T}","destination.port":135}`)), TIME);
  });

  test(`auto format: only documents detectShape reads as ECS are skipped (${scanner})`, () => {
    const auto = FastPath.compile([INTEREST], LIMITS, 'auto', scanner)!;
    const time = (msg: string): number => auto.skippableTime(bytes(msg));
    assert.equal(time(`{"@timestamp":"${T}","event":{"kind":"event"},"agent":{"ts":1}}`), TIME);
    assert.equal(time(`{"event":{},"@timestamp":"${T}","host.name":"x"}`), TIME);
    assert.equal(time(`{"@timestamp":"${T}","winlog":{"event_id":1},"event":{"category":["process"]}}`), TIME);
    assert.equal(time(`{"@timestamp":"${T}","event":{"module":"sysmon"},"winlog":{"api":"x"}}`), TIME);
    assert.equal(time(`{"@timestamp":"${T}","zeek":{"conn":{"uid":"C1"},"ts":1},"event":{}}`), TIME);
    // Thousands of shape keys: more than the WebAssembly scanner reports (it hands the message over).
    const roomy = FastPath.compile([INTEREST], { ...LIMITS, maxMessageBytes: 1 << 20 }, 'auto', scanner)!;
    const many = `{"@timestamp":"${T}","event":{"module":"x"}${',"winlog":1'.repeat(5000)}}`;
    assert.equal(roomy.skippableTime(bytes(many)), TIME);
    assert.equal(roomy.skippableTime(bytes(many.replace('"module"', '"kind"'))), PARSE);
    for (const doc of [
      `{"@timestamp":"${T}"}`, // no event object: the slow shape detection decides
      `{"@timestamp":"${T}","event.kind":"event"}`,
      `{"@timestamp":"${T}","event":"x"}`,
      `{"@timestamp":"${T}","event":{},"event":{}}`,
      `{"@timestamp":"${T}","event":{},"ts":1}`,
      `{"@timestamp":"${T}","event":{},"EventID":4624}`,
      `{"@timestamp":"${T}","event":{},"event_data":{}}`,
      `{"@timestamp":"${T}","event":{},"result":{}}`,
      `{"@timestamp":"${T}","event":{},"winlog":{}}`, // raw Winlogbeat unless the event is mapped
      `{"@timestamp":"${T}","event":{"kind":"x"},"winlog":{"event_id":1}}`,
      `{"@timestamp":"${T}","event":{"c\\u0061tegory":"x"},"winlog":{"event_id":1}}`,
      `{"@timestamp":"${T}","event.category":"x","event":{},"winlog":{"event_id":1}}`,
      `{"@timestamp":"${T}","event":{},"zeek":{"conn":{"ts":1}}}`, // raw Filebeat zeek output
      `{"@timestamp":"${T}","zeek":{"conn":{"t\\u0073":1}},"event":{}}`,
      `{"@timestamp":"${T}","a":{"b":{"ts":1}},"zeek":{"conn":{}},"event":{}}`, // conservative
      `{"@timestamp":"${T}","event":{},"\\u0074s":1}`,
    ]) {
      assert.equal(time(doc), PARSE, doc);
    }
  });
}
