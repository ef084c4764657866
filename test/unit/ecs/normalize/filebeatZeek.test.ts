/**
 * Filebeat's zeek module output as it stands on Kafka, before its ingest pipeline. The datasets hold
 * the Zeek lines the module's own tests read (connection-json.log, test-dce-rpc.log); this test puts
 * them through the module's Beat-side processors as reference/rules.md §D.3 quotes them, then checks
 * that picket maps the result exactly as it maps the record read straight from Zeek, and as the
 * module's expected output says.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonObject } from '../../../../src/ecs/fields.js';
import { normalizeFilebeatZeek } from '../../../../src/ecs/normalize/filebeatZeek.js';
import { detectShape, normalize } from '../../../../src/ecs/normalize/index.js';
import { normalizeZeek } from '../../../../src/ecs/normalize/zeek.js';
import { DATASETS_SKIP } from '../../../support/datasets.js';
import { deepFreeze } from '../../../support/frozen.js';
import { filebeatOnKafka, READ_TIME } from '../../../support/filebeatZeek.js';
import { rawLineText } from '../../../support/rawDatasets.js';

/** The same document with every nested key flattened (`"zeek.dce_rpc.ts": …`). */
function dotted(o: JsonObject, prefix = '', out: JsonObject = {}): JsonObject {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) dotted(v as JsonObject, `${prefix}${k}.`, out);
    else out[`${prefix}${k}`] = v;
  }
  return out;
}

function mapped(r: ReturnType<typeof normalizeZeek>): JsonObject {
  if (!r.ok) assert.fail(`${r.reason}: ${r.detail}`);
  return r.doc;
}

const CONNECTION = 'elastic-beats/x-pack/filebeat/module/zeek/connection/test/connection-json.log';
const DCE_RPC = 'elastic-integrations/packages/zeek/data_stream/dce_rpc/_dev/test/pipeline/test-dce-rpc.log';

test(
  'dce_rpc through Filebeat: event time from zeek.dce_rpc.ts, as the module expects',
  { skip: DATASETS_SKIP },
  async () => {
    const line = await rawLineText(DCE_RPC, 1);
    const fb = deepFreeze(filebeatOnKafka(line, 'dce_rpc'));
    assert.equal(detectShape(fb), 'filebeat_zeek');
    const doc = mapped(normalizeFilebeatZeek(fb));
    // test-dce-rpc.log-expected.json: the pipeline's output for this line.
    assert.equal(doc['@timestamp'], '2013-02-26T22:05:32.298Z');
    assert.deepEqual(doc.source, { ip: '172.16.133.6', port: 1728 });
    assert.deepEqual(doc.destination, { ip: '172.16.128.202', port: 445 });
    assert.deepEqual(doc.network, { transport: 'tcp', protocol: 'dce_rpc' });
    assert.deepEqual(doc.event, {
      id: 'CsNHVHa1lzFtvJzT8',
      kind: 'event',
      module: 'zeek',
      dataset: 'zeek.dce_rpc',
      category: ['network'],
      type: ['connection', 'protocol', 'info'],
      action: 'BrowserrQueryOtherDomains',
    });
    assert.deepEqual(doc.zeek, {
      session_id: 'CsNHVHa1lzFtvJzT8',
      dce_rpc: {
        endpoint: 'browser',
        operation: 'BrowserrQueryOtherDomains',
        named_pipe: '\\PIPE\\browser',
        rtt: 0.09211,
      },
    });
    assert.deepEqual(doc, mapped(normalizeZeek(JSON.parse(line) as JsonObject)), 'same as straight from Zeek');
  },
);

test(
  'every conn line of the module test through Filebeat maps as straight from Zeek',
  { skip: DATASETS_SKIP },
  async () => {
    for (const n of [1, 2, 3, 4]) {
      const line = await rawLineText(CONNECTION, n);
      const fb = deepFreeze(filebeatOnKafka(line, 'conn'));
      const direct = mapped(normalizeZeek(JSON.parse(line) as JsonObject));
      assert.deepEqual(mapped(normalizeFilebeatZeek(fb)), direct, `line ${n}, nested`);
      assert.deepEqual(mapped(normalizeFilebeatZeek(deepFreeze(dotted(fb)))), direct, `line ${n}, dotted`);
      const auto = normalize(fb, 'auto');
      assert.ok(auto.ok);
      assert.deepEqual(auto.doc, direct, `line ${n}, auto`);
      assert.ok((direct.event as JsonObject).start !== READ_TIME);
    }
  },
);

test('rdp through Filebeat (WRCCDC line with a cookie)', { skip: DATASETS_SKIP }, async () => {
  const line = await rawLineText('brimdata-zed-sample-data/zeek-json/rdp.json.gz', 256);
  const fb = deepFreeze(filebeatOnKafka(line, 'rdp'));
  const doc = mapped(normalize(fb, 'zeek'));
  assert.deepEqual(doc, mapped(normalizeZeek(JSON.parse(line) as JsonObject)));
  assert.equal(doc['@timestamp'], '2018-03-24T17:15:24.719Z');
});

test('an unusable zeek.<log>.ts keeps the read time, as the pipeline would', () => {
  const fb = deepFreeze({
    '@timestamp': READ_TIME,
    event: { module: 'zeek', dataset: 'zeek.dce_rpc' },
    source: { address: '10.0.0.1', port: 50000 },
    destination: { address: '10.0.0.2', port: 135 },
    zeek: { session_id: 'C1', dce_rpc: { ts: 'garbled', endpoint: 'epmapper', operation: 'ept_map' } },
  });
  const doc = mapped(normalizeFilebeatZeek(fb));
  assert.equal(doc['@timestamp'], READ_TIME);
  assert.equal((doc.event as JsonObject).dataset, 'zeek.dce_rpc');
});

test('a document without zeek.<log>.ts is not Filebeat zeek output', () => {
  const r = normalizeFilebeatZeek({ '@timestamp': READ_TIME, zeek: { session_id: 'C1', dce_rpc: { endpoint: 'x' } } });
  assert.equal(!r.ok && r.reason, 'unrecognized_shape');
});
