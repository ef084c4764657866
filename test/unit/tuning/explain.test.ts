/** `replay --explain` text: which conditions held on an event, and what stopped an alert. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAlert } from '../../../src/alerts/alert.js';
import { REMOTE_SERVICES_RULE } from '../../../src/detectors/remoteServices.js';
import type { JsonObject } from '../../../src/ecs/fields.js';
import { explainAlert, explainEvent } from '../../../src/tuning/explain.js';
import { Tuner } from '../../../src/tuning/tuner.js';
import { parseTuning } from '../../../src/tuning/tuningConfig.js';
import { ecsEvent } from '../../support/events.js';

const TUNING = parseTuning(
  `
rules:
  rpc_pairing: { enabled: false }
  remote_services:
    exceptions:
      - name: sccm
        stage: process
        when:
          all:
            - { field: process.executable, matches: 'C:\\Windows\\CCM\\*' }
            - { not: { field: user.name, is: attacker } }
      - name: lab-sources
        stage: connection
        when: { field: source.ip, in_cidr: 10.99.0.0/16 }
`,
  { baseDir: '.' },
);

const conn = ecsEvent(
  {
    '@timestamp': '2024-05-01T10:00:00.000Z',
    event: { category: ['network'], id: 'conn-1' },
    host: { id: 'ws1' },
    process: { name: 'services.exe', entity_id: 'p1' },
    source: { ip: '10.1.2.3' },
  },
  7,
  'sysmon.ndjson',
);
const child = ecsEvent(
  {
    '@timestamp': '2024-05-01T10:00:00.300Z',
    event: { category: ['process'], id: 'child-1' },
    host: { id: 'ws1' },
    process: { executable: 'C:\\Windows\\CCM\\CcmExec.exe', parent: { entity_id: 'p1' } },
  },
  9,
  'sysmon.ndjson',
);

test('explainEvent: each exception of each enabled rule, every condition with its values', () => {
  const x = explainEvent(TUNING, child);
  const sccm = x.exceptions.find((e) => e.exception === 'sccm')!;
  const lab = x.exceptions.find((e) => e.exception === 'lab-sources')!;
  assert.equal(sccm.matched, true);
  assert.equal(lab.matched, false);
  const text = x.lines.join('\n');
  assert.match(text, /^event child-1 \(sysmon\.ndjson:9\) — tuning [0-9a-f]{12}$/m);
  assert.match(text, /exception sccm \[stage process\]: MATCHES {2}@ rules\.remote_services\.exceptions\[0\]/);
  assert.match(
    text,
    /\[x\] process\.executable matches "C:\\\\Windows\\\\CCM\\\\\*" \(case-insensitive\) \(value "C:\\\\Windows\\\\CCM\\\\CcmExec\.exe"\) {2}@ rules\.remote_services\.exceptions\[0\]\.when\.all\[0\]/,
  );
  assert.match(text, /\[ \] user\.name is "attacker" \(field missing\)/);
  assert.match(text, /exception lab-sources \[stage connection\]: no match/);
  assert.match(text, /\[ \] source\.ip in CIDR 10\.99\.0\.0\/16 \(field missing\)/);
  assert.match(text, /disabled rules \(not run\): rpc_pairing/);
  assert.doesNotMatch(text, /rule rpc_pairing/);
});

test('explainAlert: the events by stage, the exceptions on them, and the decision', () => {
  const alert = buildAlert(
    { rule: REMOTE_SERVICES_RULE, events: [conn, child], entities: { host: child.doc.host as JsonObject } },
    'remote_services',
  );
  const d = new Tuner(TUNING).decide(alert, { events: [conn, child] });
  assert.equal(d.exception, 'sccm');
  const text = explainAlert(TUNING, alert, [conn, child], d).lines.join('\n');
  assert.match(text, /^ {2}connection: conn-1 \(sysmon\.ndjson:7\)$/m);
  assert.match(text, /^ {2}process: child-1 \(sysmon\.ndjson:9\)$/m);
  assert.match(text, /=> not published: stopped by exception sccm$/m);
  const published = new Tuner(parseTuning('', { baseDir: '.' })).decide(alert);
  assert.match(explainAlert(TUNING, alert, undefined, published).lines.join('\n'), /=> published$/m);
});
