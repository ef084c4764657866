/**
 * The tuning stage on engine alerts: exceptions (stage-bound), disabled rules, overrides,
 * suppression with its follow-up and restart, the circuit breaker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildAlert, type Alert } from '../../../src/alerts/alert.js';
import { REMOTE_SERVICES_RULE } from '../../../src/detectors/remoteServices.js';
import { RPC_TO_INTERNET_RULE } from '../../../src/detectors/rpcToInternet.js';
import type { EcsEvent } from '../../../src/ecs/event.js';
import type { JsonObject } from '../../../src/ecs/fields.js';
import { parseTuning, type Tuning } from '../../../src/tuning/tuningConfig.js';
import {
  circuitSummaryId,
  suppressionUpdateId,
  Tuner,
  type Decision,
  type Outcome,
  type TunedAlert,
} from '../../../src/tuning/tuner.js';
import { ecsEvent } from '../../support/events.js';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();

function tuning(yaml: string): Tuning {
  return parseTuning(yaml, { baseDir: '.' });
}

/** A D1 alert: one flow from `src` to `dst` at T0 + dt. */
function d1(src: string, dst: string, dt: number): Alert {
  const e = ecsEvent({
    '@timestamp': iso(T0 + dt),
    event: { category: ['network'], id: `flow-${src}-${dst}-${dt}` },
    network: { transport: 'tcp' },
    source: { ip: src, port: 50000 },
    destination: { ip: dst, port: 135 },
    host: { id: 'sensor-1' },
  });
  return buildAlert(
    {
      rule: RPC_TO_INTERNET_RULE,
      events: [e],
      entities: {
        source: e.doc.source as JsonObject,
        destination: e.doc.destination as JsonObject,
        host: e.doc.host as JsonObject,
      },
    },
    'rpc_to_internet',
  );
}

/** A D3 alert: a services.exe connection from `src`, then a child `exe` on host `host`. */
function d3(host: string, src: string, exe: string, dt: number): { alert: Alert; events: EcsEvent[] } {
  const conn = ecsEvent({
    '@timestamp': iso(T0 + dt),
    event: { category: ['network'] },
    host: { id: host, name: host, os: { type: 'windows' } },
    process: { name: 'services.exe', entity_id: `svc-${host}`, executable: 'C:\\Windows\\System32\\services.exe' },
    source: { ip: src, port: 50123 },
    destination: { ip: '10.0.0.9', port: 49700 },
  });
  const child = ecsEvent({
    '@timestamp': iso(T0 + dt + 100),
    event: { category: ['process'], type: ['start'] },
    host: { id: host, name: host, os: { type: 'windows' } },
    process: {
      name: exe.split('\\').pop(),
      executable: exe,
      parent: { name: 'services.exe', entity_id: `svc-${host}` },
    },
  });
  const alert = buildAlert(
    {
      rule: REMOTE_SERVICES_RULE,
      events: [conn, child],
      entities: {
        host: child.doc.host as JsonObject,
        process: child.doc.process as JsonObject,
        source: conn.doc.source as JsonObject,
      },
    },
    'remote_services',
    true,
  );
  return { alert, events: [conn, child] };
}

function ids(out: readonly TunedAlert[]): string[] {
  return out.map((o) => `${o.kind}:${o.id}`);
}

test('exceptions: a stage-bound exception stops exactly the alerts whose stage event matches; counted by name', () => {
  const counts = new Map<string, number>();
  const t = new Tuner(
    tuning(`
rules:
  remote_services:
    exceptions:
      - name: sccm
        stage: process
        when: { field: process.executable, matches: 'C:\\Windows\\CCM\\*' }
      - name: jump-host
        stage: connection
        when: { field: source.ip, in_cidr: 10.20.0.0/16 }
`),
    {
      onDecision: (rule, outcome, ex) =>
        counts.set(`${rule}/${outcome}/${ex ?? ''}`, (counts.get(`${rule}/${outcome}/${ex ?? ''}`) ?? 0) + 1),
    },
  );
  const sccm = d3('ws1', '10.1.1.1', 'c:\\windows\\ccm\\ccmexec.exe', 0);
  const jump = d3('ws2', '10.20.3.4', 'C:\\Windows\\cmd.exe', 10);
  const real = d3('ws3', '10.1.1.1', 'C:\\Windows\\cmd.exe', 20);
  assert.deepEqual(t.decide(sccm.alert, { events: sccm.events }), {
    outcome: 'excepted',
    ruleKey: 'remote_services',
    exception: 'sccm',
    publish: [],
  });
  assert.equal(t.decide(jump.alert, { events: jump.events }).exception, 'jump-host');
  const d = t.decide(real.alert, { events: real.events });
  assert.equal(d.outcome, 'published');
  assert.deepEqual(ids(d.publish), [`alert:${real.alert.id}`]);
  assert.equal(d.publish[0]!.doc, real.alert.doc, 'no override: the very document');
  assert.deepEqual(Object.fromEntries(counts), {
    'remote_services/excepted/sccm': 1,
    'remote_services/excepted/jump-host': 1,
    'remote_services/published/': 1,
  });
  // Without the events only the trigger (the process stage) is known: the connection-bound
  // exception cannot match then, the process-bound one still does.
  assert.equal(t.decide(jump.alert).outcome, 'published');
  assert.equal(t.decide(sccm.alert).exception, 'sccm');
});

test('an unbound exception holds when it holds on any event of the alert', () => {
  const t = new Tuner(
    tuning(`rules: { remote_services: { exceptions: [ { name: lab, when: { field: source.ip, is: 10.9.9.9 } } ] } }`),
  );
  const a = d3('ws1', '10.9.9.9', 'C:\\x.exe', 0);
  assert.equal(t.decide(a.alert, { events: a.events }).exception, 'lab');
  const b = d3('ws1', '10.9.9.8', 'C:\\x.exe', 5);
  assert.equal(t.decide(b.alert, { events: b.events }).outcome, 'published');
});

test('disabled rules are dropped and left out of enabledRules', () => {
  const tn = tuning('rules: { rpc_to_internet: { enabled: false } }');
  assert.ok(!tn.enabledRules.includes('rpc_to_internet'));
  const t = new Tuner(tn);
  assert.deepEqual(t.decide(d1('10.0.0.1', '8.8.8.8', 0)), {
    outcome: 'disabled',
    ruleKey: 'rpc_to_internet',
    publish: [],
  });
});

test('severity and risk-score overrides rewrite the published document, not the engine alert', () => {
  const t = new Tuner(tuning('rules: { rpc_to_internet: { severity: critical, riskScore: 90 } }'));
  const a = d1('10.0.0.1', '8.8.8.8', 0);
  const doc = t.decide(a).publish[0]!.doc as any;
  assert.deepEqual(
    [
      doc.event.severity,
      doc.event.risk_score,
      doc.event.risk_score_norm,
      doc.picket.severity,
      doc.picket.tuning.overrides,
    ],
    [99, 90, 90, 'critical', ['severity', 'risk_score']],
  );
  assert.equal(doc.picket.tuning.version, t.tuning.version);
  assert.equal(doc.event.id, a.id);
  assert.deepEqual(
    [(a.doc as any).event.severity, (a.doc as any).event.risk_score, (a.doc as any).picket.severity],
    [73, 73, 'high'],
  );
});

const SUPPRESS = `
rules:
  rpc_to_internet:
    severity: critical
    suppression: { by: [source.ip, destination.ip], windowMs: 60000 }
`;

/** The alerts of a suppression scenario, in time order. */
function suppressionAlerts(): Alert[] {
  return [
    d1('10.0.0.1', '8.8.8.8', 0), // opens window A
    d1('10.0.0.1', '8.8.4.4', 1000), // another key: published
    d1('10.0.0.1', '8.8.8.8', 5000), // suppressed in A
    d1('::ffff:10.0.0.1', '8.8.8.8', 20000), // same source as an address: suppressed in A
    d1('10.0.0.1', '8.8.8.8', 59999), // last one in A
    d1('10.0.0.1', '8.8.8.8', 60000), // A closed (follow-up), opens A'
    d1('10.0.0.1', '8.8.8.8', 61000), // suppressed in A'
  ];
}

function runAll(t: Tuner, alerts: readonly Alert[]): { outcomes: Outcome[]; out: TunedAlert[] } {
  const outcomes: Outcome[] = [];
  const out: TunedAlert[] = [];
  for (const a of alerts) {
    const d: Decision = t.decide(a);
    outcomes.push(d.outcome);
    out.push(...d.publish);
  }
  out.push(...t.flush());
  return { outcomes, out };
}

test('suppression: the first alert goes out at once, repeats are counted, the follow-up carries the count', () => {
  const alerts = suppressionAlerts();
  const t = new Tuner(tuning(SUPPRESS));
  const first = t.decide(alerts[0]!);
  assert.equal(first.outcome, 'published');
  assert.deepEqual(ids(first.publish), [`alert:${alerts[0]!.id}`], 'published immediately, not held');
  const rest = alerts.slice(1).map((a) => t.decide(a));
  assert.deepEqual(
    rest.map((d) => d.outcome),
    ['published', 'suppressed', 'suppressed', 'suppressed', 'published', 'suppressed'],
  );
  // The alert at T0+60s closes window A: its follow-up goes out before the new alert.
  const closing = rest[4]!;
  const followUpId = suppressionUpdateId(alerts[0]!.id);
  assert.deepEqual(ids(closing.publish), [`suppression_update:${followUpId}`, `alert:${alerts[5]!.id}`]);
  const f = closing.publish[0]!;
  const doc = f.doc as any;
  assert.equal(doc.picket.suppressed_count, 3);
  assert.deepEqual(doc.picket.suppression.first, iso(T0 + 5000));
  assert.deepEqual(doc.picket.suppression.last, iso(T0 + 59999));
  assert.equal(doc.picket.suppression.of, alerts[0]!.id);
  assert.equal(doc.picket.suppression.last_id, alerts[4]!.id);
  assert.deepEqual(doc.picket.suppression.terms, [
    { field: 'source.ip', value: '10.0.0.1' },
    { field: 'destination.ip', value: '8.8.8.8' },
  ]);
  assert.deepEqual(doc.picket.suppression.window, { start: iso(T0), end: iso(T0 + 60000), ms: 60000 });
  assert.equal(doc.event.id, followUpId);
  assert.equal(doc['@timestamp'], iso(T0 + 59999));
  assert.equal(doc.event.severity, 99, 'the follow-up is the first alert as published (overrides kept)');
  assert.deepEqual(
    [f.key, f.ruleKey, f.ruleId, f.time],
    [alerts[0]!.key, 'rpc_to_internet', RPC_TO_INTERNET_RULE.id, T0 + 59999],
  );
  // Window A' holds one suppressed alert: flush publishes its follow-up; the 8.8.4.4 window had none.
  assert.deepEqual(ids(t.flush()), [`suppression_update:${suppressionUpdateId(alerts[5]!.id)}`]);
  assert.equal(t.size, 0);
});

test('suppression windows close on event time passed by the caller (watermark)', () => {
  const t = new Tuner(tuning(SUPPRESS));
  const [a, , b] = suppressionAlerts();
  t.decide(a!);
  t.decide(b!);
  assert.deepEqual(t.advance(T0 + 59_999), [], 'still open');
  assert.deepEqual(ids(t.advance(T0 + 60_000)), [`suppression_update:${suppressionUpdateId(a!.id)}`]);
  assert.deepEqual(t.advance(T0 + 120_000), [], 'once');
});

test('missingFields: doNotSuppress publishes every alert missing a by field; suppress groups them', () => {
  const noDst = (dt: number) => {
    const a = d1('10.0.0.1', '8.8.8.8', dt);
    const doc = structuredClone(a.doc) as any;
    delete doc.destination;
    const trigger = { ...a.trigger, doc: { ...a.trigger.doc, destination: undefined } } as EcsEvent;
    return { ...a, doc, trigger };
  };
  const grouped = new Tuner(tuning(SUPPRESS));
  assert.deepEqual([grouped.decide(noDst(0)).outcome, grouped.decide(noDst(10)).outcome], ['published', 'suppressed']);
  const strict = new Tuner(
    tuning(SUPPRESS.replace('windowMs: 60000', 'windowMs: 60000, missingFields: doNotSuppress')),
  );
  assert.deepEqual([strict.decide(noDst(0)).outcome, strict.decide(noDst(10)).outcome], ['published', 'published']);
});

test('suppression state survives a restart mid-window: the same outputs as without one', () => {
  const alerts = suppressionAlerts();
  const whole = runAll(new Tuner(tuning(SUPPRESS)), alerts);
  for (let cut = 1; cut < alerts.length; cut++) {
    const before = new Tuner(tuning(SUPPRESS));
    const first = runAll(before, []); // nothing yet
    assert.deepEqual(first.out, []);
    const outcomes: Outcome[] = [];
    const out: TunedAlert[] = [];
    for (const a of alerts.slice(0, cut)) {
      const d = before.decide(a);
      outcomes.push(d.outcome);
      out.push(...d.publish);
    }
    // What a changelog topic would hold, through JSON text.
    const stored = JSON.parse(JSON.stringify(before.snapshot())) as Record<string, string>;
    const after = new Tuner(tuning(SUPPRESS));
    assert.deepEqual(after.restore(stored), { restored: Object.keys(stored).length, skipped: 0 });
    const rest = runAll(after, alerts.slice(cut));
    assert.deepEqual([...outcomes, ...rest.outcomes], whole.outcomes, `cut at ${cut}`);
    const strip = (o: TunedAlert) => [o.kind, o.id, o.key, o.time, JSON.stringify(o.doc)];
    assert.deepEqual([...out, ...rest.out].map(strip), whole.out.map(strip), `cut at ${cut}`);
  }
});

test('drainChanges gives a compacted changelog: upserts, then tombstones for closed windows', () => {
  const t = new Tuner(tuning(SUPPRESS));
  const [a, , b] = suppressionAlerts();
  t.decide(a!);
  const c1 = t.drainChanges();
  assert.equal(c1.size, 1);
  const [key, value] = [...c1][0]!;
  assert.match(key, /^suppression\/rpc_to_internet\//);
  assert.equal(JSON.parse(value!).count, 0);
  t.decide(b!);
  assert.equal(JSON.parse(t.drainChanges().get(key)!).count, 1);
  t.advance(T0 + 60_000);
  assert.deepEqual([...t.drainChanges()], [[key, null]]);
  // A tombstone restores as a deletion; a corrupt entry is skipped, not fatal.
  const u = new Tuner(tuning(SUPPRESS));
  assert.deepEqual(
    u.restore([
      [key, value],
      ['suppression/x', '{not json'],
      ['other/x', '{"type":"suppression"}'],
    ]),
    { restored: 1, skipped: 2 },
  );
  u.restore([[key, null]]);
  assert.equal(u.size, 0);
});

test('circuit breaker: at most N per rule and minute of event time; one summary per minute counts the rest', () => {
  const t = new Tuner(tuning('rules: { rpc_to_internet: { maxAlertsPerMinute: 2 } }'));
  const inMinute0 = [0, 1, 2, 3, 4].map((i) => d1('10.0.0.1', `8.8.8.${i}`, i * 1000));
  const decisions = inMinute0.map((a) => t.decide(a));
  assert.deepEqual(
    decisions.map((d) => d.outcome),
    ['published', 'published', 'circuit_broken', 'circuit_broken', 'circuit_broken'],
  );
  // A D3 alert is another rule: not capped by D1's limit.
  const other = d3('ws1', '10.0.0.5', 'C:\\x.exe', 4500);
  assert.equal(t.decide(other.alert, { events: other.events }).outcome, 'published');
  const next = t.decide(d1('10.0.0.1', '8.8.8.9', 60_000));
  assert.equal(next.outcome, 'published', 'a new minute');
  const minute = Math.floor(T0 / 60_000) * 60_000;
  assert.deepEqual(ids(next.publish), [
    `circuit_breaker_summary:${circuitSummaryId(RPC_TO_INTERNET_RULE.id, minute)}`,
    `alert:${next.publish[1]!.id}`,
  ]);
  const s = next.publish[0]!.doc as any;
  assert.deepEqual(
    [s.picket.circuit_breaker.limit, s.picket.circuit_breaker.published, s.picket.circuit_breaker.dropped],
    [2, 2, 3],
  );
  assert.deepEqual(s.picket.circuit_breaker.first_dropped, { id: inMinute0[2]!.id, time: iso(T0 + 2000) });
  assert.deepEqual(s.picket.circuit_breaker.last_dropped, { id: inMinute0[4]!.id, time: iso(T0 + 4000) });
  assert.equal(s.rule.id, RPC_TO_INTERNET_RULE.id);
  assert.equal(s.event.kind, 'alert');
  assert.match(s.message, /3 alerts over the limit of 2 per minute not published/);
  assert.deepEqual(t.flush(), [], 'the second minute stayed under its cap: no summary');
});

test('setTuning swaps at once; open windows keep their end', () => {
  const t = new Tuner(tuning(SUPPRESS));
  const [a, , b] = suppressionAlerts();
  t.decide(a!);
  t.setTuning(
    tuning('rules: { rpc_to_internet: { exceptions: [ { name: all, when: { field: source.ip, exists: true } } ] } }'),
  );
  assert.equal(t.decide(b!).exception, 'all');
  assert.deepEqual(t.advance(T0 + 60_000), [], 'the window closes with nothing suppressed: no follow-up');
});
