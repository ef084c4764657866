/**
 * Equivalence on real data (issue 6): for every raw file of the shared datasets that has an ECS
 * conversion, replaying the raw file with input `auto` gives the same alerts (same rules, same
 * line numbers) as replaying its conversion. The replay is the one `picket replay --input` will do
 * (test/support/normalizedReplay.ts): parse, normalize, order, detect.
 *
 * Beyond the alerts, each normalized raw document is compared field by field with its conversion
 * (line N of one is line N of the other), so a mapping difference that no alert happens to show is
 * caught too. The few accepted differences are listed with their reasons.
 *
 * Files whose shape cannot be replayed line by line are listed as exceptions, with the reason; the
 * test checks that each still is one, so the table cannot go stale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { JsonObject } from '../../../../src/ecs/fields.js';
import { DATASETS_SKIP } from '../../../support/datasets.js';
import { replayNormalized, type ReplayOutcome } from '../../../support/normalizedReplay.js';
import { convertedRawLogs, ECS_DIR, ecsLines, rawLines, type RawLog } from '../../../support/rawDatasets.js';

const PRETTY_ARRAY =
  'a pretty-printed JSON array (a Beats golden file): each line is a fragment of a document, and ' +
  'replay reads one document per line. The documents are Winlogbeat 7 output, already ECS; the ' +
  'conversion only updated them to the current module output';

/** Raw files that cannot be replayed line by line, and why. Keys are RawLog names. */
const EXCEPTIONS: Readonly<Record<string, string>> = {
  'elastic-beats/x-pack/winlogbeat/module/sysmon/test/testdata/sysmon-9.01.evtx.golden.json': PRETTY_ARRAY,
  'elastic-beats/x-pack/winlogbeat/module/security/test/testdata/security-windows2012r2-logon.evtx.golden.json':
    PRETTY_ARRAY,
  'elastic-beats/x-pack/filebeat/input/netflow/testdata/golden/Netflow-9-macaddress.golden.json':
    'a pretty-printed JSON object holding an `events` array (Filebeat golden file): lines are fragments of ' +
    'one document; the NetFlow records inside are already ECS',
  'elastic-beats/x-pack/filebeat/module/panw/panos/test/traffic.log':
    'PAN-OS TRAFFIC syslog lines, not JSON: parsing them is Filebeat panw module work, and picket reads ' +
    "JSON. The conversion is Filebeat's own output for each line (traffic.log-expected.json)",
  'elastic-integrations/packages/network_traffic/data_stream/flow/sample_event.json':
    'one pretty-printed ECS document over many lines (an Elastic integration sample): no line is a document',
  'elastic-integrations/packages/zeek/data_stream/connection/sample_event.json':
    'one pretty-printed ECS document over many lines (an Elastic integration sample): no line is a document',
};

const ZERO_GUID = '{00000000-0000-0000-0000-000000000000}';

/**
 * Fields where a normalized raw document may differ from its conversion, and when. Everything
 * else must be equal.
 */
const ACCEPTED: Readonly<Record<string, { why: string; ok: (raw: unknown, ecs: unknown) => boolean }>> = {
  'event.id': {
    why: 'the conversion replaces event.id with a trace id (`otrf:<file>:<line>`); Zeek records keep their uid there, as Filebeat does',
    ok: () => true,
  },
  'host.ip': {
    why: "the conversion adds the lab computers' addresses from its own knowledge of the lab, not from the record",
    ok: (raw) => raw === undefined,
  },
  'process.entity_id': {
    why: 'the conversion keeps the all-zero ProcessGuid; picket drops it as the Elastic pipelines do, so that unrelated processes never join on it (D3)',
    ok: (raw, ecs) => raw === undefined && ecs === JSON.stringify(ZERO_GUID),
  },
  'zeek.dce_rpc.named_pipe': {
    why: "the conversion keeps Zeek TSV's escaped backslashes (`\\\\pipe\\\\ntsvcs`); picket unescapes them, so a TSV log reads as its JSON twin (`\\pipe\\ntsvcs`)",
    ok: (raw, ecs) =>
      typeof raw === 'string' && ecs === JSON.stringify((JSON.parse(raw) as string).replace(/\\/g, '\\\\')),
  },
  'labels.stratosphere_detailedlabel': {
    why: "the conversion keeps Zeek TSV's `(empty)` marker literally; picket reads it as the empty string it stands for",
    ok: (raw, ecs) => raw === undefined && ecs === JSON.stringify('(empty)'),
  },
};

function flatten(o: JsonObject, prefix: string, out: Map<string, string>): Map<string, string> {
  for (const [k, v] of Object.entries(o)) {
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) flatten(v as JsonObject, `${prefix}${k}.`, out);
    else out.set(`${prefix}${k}`, JSON.stringify(v));
  }
  return out;
}

/** Field differences between the two replays' documents, as `path: count (e.g. line N)`. */
function documentDifferences(raw: ReplayOutcome, ecs: ReplayOutcome): string[] {
  const diffs = new Map<string, { n: number; line: number; raw?: string; ecs?: string }>();
  const note = (path: string, line: number, a?: string, b?: string): void => {
    const d = diffs.get(path) ?? { n: 0, line, raw: a, ecs: b };
    d.n++;
    diffs.set(path, d);
  };
  for (const [line, ecsDoc] of ecs.docs!) {
    const rawDoc = raw.docs!.get(line);
    if (rawDoc === undefined) {
      note('(no raw event on this line)', line);
      continue;
    }
    const a = flatten(rawDoc, '', new Map());
    const b = flatten(ecsDoc, '', new Map());
    for (const path of new Set([...a.keys(), ...b.keys()])) {
      const va = a.get(path);
      const vb = b.get(path);
      if (va === vb) continue;
      const accepted = ACCEPTED[path];
      if (accepted !== undefined && accepted.ok(va, vb)) continue;
      note(path, line, va, vb);
    }
  }
  for (const line of raw.docs!.keys()) if (!ecs.docs!.has(line)) note('(no ECS event on this line)', line);
  return [...diffs].map(([p, d]) => `${p}: ${d.n} (e.g. line ${d.line}: raw ${d.raw} ≠ ECS ${d.ecs})`);
}

function countEcsFiles(dir: string): number {
  let n = 0;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    n += statSync(p).isDirectory() ? countEcsFiles(p) : name.endsWith('.ndjson.gz') ? 1 : 0;
  }
  return n;
}

test('every ECS conversion has its raw file, and every exception is still one', { skip: DATASETS_SKIP }, () => {
  const logs = convertedRawLogs();
  assert.equal(logs.length, countEcsFiles(ECS_DIR), 'one raw log per ECS file');
  const names = new Set(logs.map((l) => l.name));
  for (const name of Object.keys(EXCEPTIONS)) assert.ok(names.has(name), `exception ${name} is a converted raw file`);
});

test(
  'raw input (auto) and its ECS conversion give the same alerts, file by file',
  { skip: DATASETS_SKIP },
  async (t) => {
    const summary: string[] = [];
    let equivalent = 0;
    let alerts = 0;
    for (const log of convertedRawLogs()) {
      const exception = EXCEPTIONS[log.name];
      await t.test(log.name, async () => {
        const raw = await replayNormalized(rawLines(log), log.name, 'auto', exception === undefined);
        const ecs = await replayNormalized(ecsLines(log.ecs), log.ecs, 'auto', exception === undefined);
        assert.equal(ecs.passedThrough, ecs.events, 'auto passes every ECS document through unchanged');
        assert.deepEqual([...ecs.unreadable.keys()], [], 'the ECS conversion reads without error');
        if (exception !== undefined) {
          // Still an exception: no line of the raw file is a document picket can read.
          assert.equal(raw.events, 0, `${log.name} is listed as an exception but ${raw.events} lines read`);
          summary.push(`exception  ${log.name}: ${exception}`);
          return;
        }
        assertEquivalent(log, raw, ecs);
        equivalent++;
        alerts += raw.alerts.length;
        summary.push(`equivalent ${log.name}: ${raw.events} events, ${raw.alerts.length} alerts`);
      });
    }
    t.diagnostic(`${equivalent} equivalent files (${alerts} alerts), ${Object.keys(EXCEPTIONS).length} exceptions`);
    for (const line of summary) t.diagnostic(line);
    assert.ok(equivalent >= 70, `expected most raw files to be equivalent, got ${equivalent}`);
  },
);

function assertEquivalent(log: RawLog, raw: ReplayOutcome, ecs: ReplayOutcome): void {
  assert.deepEqual(Object.fromEntries(raw.unreadable), {}, 'every raw record reads');
  assert.equal(raw.lines, ecs.lines, 'line counts');
  assert.equal(raw.events, ecs.events, 'event counts');
  assert.deepEqual(raw.alerts, ecs.alerts, `${log.name}: alerts (rule @ lines)`);
  assert.deepEqual(documentDifferences(raw, ecs), [], `${log.name}: documents field by field`);
}

test('the accepted field differences are documented', () => {
  for (const [path, a] of Object.entries(ACCEPTED)) assert.ok(a.why.length > 20, path);
});
