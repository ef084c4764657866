/**
 * Zeek TSV logs read into the records Zeek's JSON writer writes: the WRCCDC `dce_rpc` log exists in
 * both formats in the shared datasets, so the two must give the same ECS record by record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../../src/ecs/fields.js';
import { normalizeZeek } from '../../../../src/ecs/normalize/zeek.js';
import { isZeekTsvHeader, ZeekTsvReader } from '../../../../src/ecs/normalize/zeekTsv.js';
import { DATASETS_SKIP } from '../../../support/datasets.js';
import { logsOfRawFile, rawLines } from '../../../support/rawDatasets.js';

const HEADER = [
  '#separator \\x09',
  '#set_separator\t,',
  '#empty_field\t(empty)',
  '#unset_field\t-',
  '#path\tconn',
  '#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\tlocal_orig\ttunnel_parents\tlabel',
  '#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tbool\tset[string]\tstring',
];

function reader(): ZeekTsvReader {
  const r = new ZeekTsvReader();
  for (const h of HEADER) assert.deepEqual(r.read(h), { kind: 'header' });
  return r;
}

test('typed columns: time, port, interval, bool, sets, unset and empty fields', () => {
  const r = reader();
  const line = r.read(
    '1655071198.444458\tCHLX\t147.32.81.167\t62771\t40.74.108.123\t443\ttcp\t-\t1.135424\tT\ta,b\t(empty)',
  );
  assert.deepEqual(line, {
    kind: 'record',
    log: 'conn',
    record: {
      ts: 1655071198.444458,
      uid: 'CHLX',
      'id.orig_h': '147.32.81.167',
      'id.orig_p': 62771,
      'id.resp_h': '40.74.108.123',
      'id.resp_p': 443,
      proto: 'tcp',
      duration: 1.135424,
      local_orig: true,
      tunnel_parents: ['a', 'b'],
      label: '',
    },
  });
  const empty = r.read('1.5\tC2\t10.0.0.1\t1\t10.0.0.2\t2\tudp\tdns\t-\tF\t(empty)\t-');
  assert.equal(empty.kind, 'record');
  assert.deepEqual(empty.kind === 'record' && empty.record.tunnel_parents, []);
  assert.equal(empty.kind === 'record' && empty.record.local_orig, false);
});

test('escaped bytes are unescaped as the JSON writer would write them', () => {
  const r = new ZeekTsvReader();
  r.read('#separator \\x09');
  r.read('#fields\tts\tname');
  r.read('#types\ttime\tstring');
  const line = r.read('1.0\ta\\x09b\\xc3\\xa9');
  assert.deepEqual(line.kind === 'record' && line.record.name, 'a\tbé');
  const pipe = r.read('1.0\t\\\\pipe\\\\ntsvcs');
  assert.deepEqual(pipe.kind === 'record' && pipe.record.name, '\\pipe\\ntsvcs');
});

test('records before the header, or with the wrong column count, are invalid', () => {
  assert.equal(new ZeekTsvReader().read('1.0\tC1').kind, 'invalid');
  assert.equal(reader().read('1.0\tC1').kind, 'invalid');
  assert.ok(isZeekTsvHeader('#separator \\x09'));
  assert.ok(!isZeekTsvHeader('{"ts":1}'));
});

test('a header field named __proto__ is an own property of the record', () => {
  const r = new ZeekTsvReader();
  r.read('#separator \\x09');
  r.read('#fields\tts\t__proto__');
  r.read('#types\ttime\tstring');
  const line = r.read('1.0\tx');
  assert.ok(line.kind === 'record');
  assert.equal(Object.getPrototypeOf(line.record), Object.prototype);
  assert.ok(Object.prototype.hasOwnProperty.call(line.record, '__proto__'));
});

async function ecsOfEveryRecord(raw: string): Promise<JsonObject[]> {
  const [log] = logsOfRawFile(raw);
  const tsv = new ZeekTsvReader();
  const out: JsonObject[] = [];
  for await (const line of rawLines(log!)) {
    const text = line.bytes.toString('utf8');
    let record: JsonObject | undefined;
    let hint: string | undefined;
    if (text.startsWith('{')) {
      record = JSON.parse(text) as JsonObject;
    } else {
      const r = tsv.read(text);
      assert.notEqual(r.kind, 'invalid', `${raw}:${line.number}`);
      if (r.kind === 'record') [record, hint] = [r.record, r.log];
    }
    if (record === undefined) continue;
    const n = normalizeZeek(record, hint);
    assert.ok(n.ok, `${raw}:${line.number}`);
    out.push(n.doc);
  }
  return out;
}

test('WRCCDC dce_rpc: the TSV log and the JSON log give the same ECS', { skip: DATASETS_SKIP }, async () => {
  const tsv = await ecsOfEveryRecord('brimdata-zed-sample-data/zeek-default/dce_rpc.log.gz');
  const json = await ecsOfEveryRecord('brimdata-zed-sample-data/zeek-json/dce_rpc.json.gz');
  assert.equal(tsv.length, 78);
  assert.equal(json.length, 78);
  for (let i = 0; i < tsv.length; i++) {
    // The TSV writer rounds rtt to microseconds; everything else is the same record.
    const a = structuredClone(tsv[i]!);
    const b = structuredClone(json[i]!);
    delete ((a.zeek as JsonObject).dce_rpc as JsonObject).rtt;
    delete ((b.zeek as JsonObject).dce_rpc as JsonObject).rtt;
    assert.deepEqual(a, b, `record ${i + 1}`);
  }
});
