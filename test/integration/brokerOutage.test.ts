/**
 * Issue 10, item 6: the broker stops for 30 s in the middle of a stream and starts again (same
 * ports, same data). picket reports not-ready while it is gone, does not exit, becomes ready again
 * once it is back, and publishes exactly the alerts of an uninterrupted run: a stateless alert
 * (D1) on each side of the outage, and a pair (D2) and a sequence (D3) whose first event was read
 * before the outage and whose second arrives after it.
 *
 * It starts a broker of its own (not the shared KAFKA_BROKERS one, which other tests use).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { decodeEvent } from '../../src/ecs/event.js';
import { createDetections } from '../../src/detectors/registry.js';
import { Engine } from '../../src/engine.js';
import { startLocalKafka, type LocalKafka, type PauseSignal } from '../../src/localkafka/localBroker.js';
import { endpointFlow, filler, mapperFlow, serviceChild, servicesConnection } from '../support/scenario.js';
import { createTopics, uniqueName } from '../support/kafka.js';
import {
  waitPublishedThrough,
  produce,
  startPicket,
  TopicCollector,
  type PicketProcess,
} from '../support/picketProcess.js';

// The 30 s; PICKET_TEST_OUTAGE_MS tries longer outages by hand (the client's restarts).
const OUTAGE_MS = Number(process.env.PICKET_TEST_OUTAGE_MS ?? 30_000);
// How the broker goes: killed (a crash; the default), SIGTERM (a clean stop) or SIGSTOP (it hangs).
const OUTAGE_SIGNAL = (process.env.PICKET_TEST_OUTAGE_SIGNAL ?? 'SIGKILL') as PauseSignal;
const DETECTIONS = ['rpc_to_internet', 'rpc_pairing', 'remote_services'];
const D1 = '32923416-763a-4531-bb35-f33b9232ecdb';
const D2 = 'CAR-2014-05-001';
const D3 = 'aa9a274d-6b53-424d-ac5e-cb8ca4251650';

let broker: LocalKafka;
before(async () => {
  broker = await startLocalKafka({ log: (msg) => process.stderr.write(`[localkafka] ${msg}\n`) });
});
after(async () => {
  await broker?.stop();
});

const iso = (ms: number): string => new Date(ms).toISOString();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** D1: TCP/135 from a private source to a public destination. */
function rpcToInternet(t: number, id: string, n: number): object {
  return {
    '@timestamp': iso(t),
    event: { id, category: ['network'], dataset: 'zeek.connection' },
    network: { transport: 'tcp' },
    host: { id: `ws-${n}` },
    source: { ip: `10.2.0.${n}`, port: 51000 + n },
    destination: { ip: `93.184.216.${n}`, port: 135 },
  };
}

const HOST = { id: 'ws-outage-1', name: 'ws-outage-1.corp.example', os: { type: 'windows' } };

/** The alerts an uninterrupted stream gives: the engine over every event in order, then flushed. */
function expectedAlerts(docs: readonly object[]): Map<string, string> {
  const engine = new Engine(createDetections(DETECTIONS), { latenessMs: 2000 });
  const out = new Map<string, string>();
  docs.forEach((d, i) => {
    const r = decodeEvent(JSON.stringify(d), { kind: 'file', file: 'outage', line: i + 1 }, i);
    assert.ok(r.ok);
    for (const a of engine.push(r.event)) out.set(a.id, a.rule.id);
  });
  for (const a of engine.flush()) out.set(a.id, a.rule.id);
  return out;
}

async function readyz(p: PicketProcess): Promise<number | undefined> {
  try {
    return (await fetch(`http://127.0.0.1:${p.port}/readyz`, { signal: AbortSignal.timeout(2000) })).status;
  } catch {
    return undefined;
  }
}

async function readyGauge(p: PicketProcess): Promise<number | undefined> {
  try {
    const m = /^picket_ready (\S+)$/m.exec(await p.metrics());
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

test(
  `a ${OUTAGE_MS / 1000} s broker outage: not ready meanwhile, no exit, ready again, the same alerts once each`,
  { timeout: 210_000 + OUTAGE_MS },
  async () => {
    const brokers = [broker.brokers];
    const input = uniqueName('outage-in');
    const output = uniqueName('outage-alerts');
    const dlq = uniqueName('outage-dlq');
    const groupId = uniqueName('picket-outage');
    await createTopics(brokers, [
      { topic: input, numPartitions: 1 },
      { topic: output, numPartitions: 1 },
      { topic: dlq, numPartitions: 1 },
    ]);

    const t0 = Date.now() - 120_000;
    const before = [
      rpcToInternet(t0, 'a1', 1),
      mapperFlow(t0 + 100),
      servicesConnection(t0 + 200, HOST),
      rpcToInternet(t0 + 300, 'a2', 2),
      filler(t0 + 400, 1),
    ];
    // What the sources wrote during the outage and could only deliver after it: the second halves
    // (500 ms after their first halves in event time), another D1 attack, and event time moving on.
    const afterwards = [
      serviceChild(t0 + 500, HOST),
      endpointFlow(t0 + 600),
      rpcToInternet(t0 + 700, 'a3', 3),
      filler(t0 + 9000, 2),
    ];
    const expected = expectedAlerts([...before, ...afterwards]);
    assert.deepEqual(
      [...expected.values()].sort(),
      [D1, D1, D1, D2, D3].sort(),
      'the uninterrupted run: three D1 alerts, a D2 pair and a D3 sequence',
    );

    const alerts = new TopicCollector(brokers, output);
    const picket = await startPicket({
      KAFKA_BROKERS: broker.brokers,
      PICKET_INPUT_TOPICS: input,
      PICKET_OUTPUT_TOPIC: output,
      PICKET_DEAD_LETTER_TOPIC: dlq,
      PICKET_GROUP_ID: groupId,
      PICKET_FROM_BEGINNING: 'true',
      PICKET_DETECTIONS: DETECTIONS.join(','),
      PICKET_LATENESS_MS: '2000',
      PICKET_SESSION_TIMEOUT_MS: '6000',
      PICKET_IDLE_TIMEOUT_MS: '1000',
      PICKET_LOG_LEVEL: 'info',
    });
    try {
      await picket.waitReady();
      await produce(
        brokers,
        input,
        before.map((e) => ({ value: JSON.stringify(e) })),
      );
      await waitPublishedThrough(brokers, groupId, input, before.length - 1);
      await sleep(2500); // idle: the first halves go from the reorder buffer into the detections' state

      // The collector reads what was published before the outage, then is stopped with the broker
      // (it would log connection errors meanwhile) and started again afterwards.
      await alerts.start();
      await alerts.waitFor((r) => r.length >= 2, 30_000, 'the two D1 alerts before the outage');
      await alerts.stop();

      // The outage.
      const down = Date.now();
      await broker.pause({ signal: OUTAGE_SIGNAL });
      let notReadyAt: number | undefined;
      let gaugeWhileDown: number | undefined;
      while (Date.now() - down < OUTAGE_MS) {
        assert.equal(picket.child.exitCode, null, `picket exited during the outage:\n${picket.output()}`);
        const status = await readyz(picket);
        if (status !== 200 && notReadyAt === undefined) {
          notReadyAt = Date.now();
          gaugeWhileDown = await readyGauge(picket);
        }
        await sleep(500);
      }
      assert.ok(
        notReadyAt !== undefined,
        `/readyz stayed 200 through a ${OUTAGE_MS / 1000} s outage:\n${picket.output().slice(-4000)}`,
      );
      assert.equal(gaugeWhileDown, 0, 'picket_ready is 0 while /readyz is not 200');
      assert.notEqual(await readyz(picket), 200, 'still not ready at the end of the outage');

      const up = Date.now();
      await broker.resume();
      const resumed = Date.now();
      await picket.waitReady(120_000);
      const readyAgain = Date.now();
      assert.equal(picket.child.exitCode, null, 'picket did not exit');
      assert.equal(await readyGauge(picket), 1, 'picket_ready is 1 again');
      process.stderr.write(
        `[outage] not ready ${((notReadyAt - down) / 1000).toFixed(1)} s after the broker went down; ` +
          `broker back after ${((resumed - up) / 1000).toFixed(1)} s of start-up; ` +
          `picket ready ${((readyAgain - resumed) / 1000).toFixed(1)} s after that\n`,
      );

      await produce(
        brokers,
        input,
        afterwards.map((e) => ({ value: JSON.stringify(e) })),
      );
      const collector = new TopicCollector(brokers, output);
      await collector.start();
      try {
        await collector.waitFor((r) => r.length >= expected.size, 60_000, `${expected.size} alerts`);
        await sleep(3000); // a duplicate would show up now
        const docs = collector.records.map((r) => JSON.parse(r.value));
        const ids = docs.map((d) => d.event.id as string);
        assert.equal(new Set(ids).size, ids.length, `no alert twice: ${ids.join(', ')}`);
        assert.deepEqual(new Set(ids), new Set(expected.keys()), 'the alerts of the uninterrupted run');
        const byRule = (rule: string) => docs.find((d) => d.rule.id === rule);
        assert.deepEqual(
          byRule(D2).picket.events.map((e: { event: { id: string } }) => e.event.id),
          ['m1', 'e1'],
        );
        assert.deepEqual(
          byRule(D3).picket.events.map((e: { event: { id: string } }) => e.event.id),
          ['s1', 'c1'],
        );
      } finally {
        await collector.stop();
      }
      assert.equal(picket.child.exitCode, null, 'picket is still running');
    } finally {
      // PICKET_TEST_OUTAGE_LOG=<file> keeps picket's log, to see what the client did.
      if (process.env.PICKET_TEST_OUTAGE_LOG) writeFileSync(process.env.PICKET_TEST_OUTAGE_LOG, picket.output());
      picket.child.kill('SIGKILL');
      await picket.exited;
      await alerts.stop().catch(() => undefined);
    }
  },
);
