/**
 * Scale-out as a consumer group (issue 9), on a real broker: three `picket run` processes in one
 * group read a 6-partition input topic; the scale scenario (test/support/scaleScenario.ts: attacks
 * of all four kinds over background traffic, produced in time order round-robin over the
 * partitions, as an unkeyed Beats producer spreads them) flows at a steady rate while one instance
 * is SIGKILLed and started again and another is stopped with SIGTERM and started again. The alerts
 * on the output topic must be exactly the expected set, by `event.id`, none twice.
 *
 * The expected set depends on TOPOLOGY:
 *   routed  the single-process answer: `picket replay` of the same events. Routing re-keys the input
 *           by each detection's join key, so the group gives the alerts of one process.
 *   direct  each input partition is detected on its own (no routing): the answer of run's
 *           per-partition processing over each partition's share. Round-robin puts the events of
 *           every D2 pair, D3 sequence and D4 fan-in on several partitions, so `direct` misses all
 *           of those correlations (and its per-partition D4 models alert on other buckets); only
 *           D1 (stateless) is the same. The test checks that this is the whole difference.
 * Until the routing stage is merged only `direct` exists (PICKET_ROUTING_TOPOLOGY is not read yet),
 * so TOPOLOGY is `direct`; with routing, set it to `routed`: the test then fails on a `direct` build
 * (the split correlations are missing) and passes on a routed one.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestKafka, type TestKafka } from '../support/kafka.js';
import { directReference, replayReference } from '../support/scaleReference.js';
import {
  compareAlerts,
  formatComparison,
  runScale,
  sameAlerts,
  SCALE_RUN_ENV,
  type Topology,
} from '../support/scaleRun.js';
import { scaleScenario, splitAttacks } from '../support/scaleScenario.js';

/** The topology under test: the only line to change when routing is merged ('routed'). */
const TOPOLOGY = 'routed' as Topology;

const PARTITIONS = 6;
const INSTANCES = 3;
const D1 = 'RPC (Remote Procedure Call) to the Internet';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

test(`${INSTANCES} processes, ${PARTITIONS} partitions, a SIGKILL, a SIGTERM and restarts: the ${TOPOLOGY} answer exactly, none twice`, async () => {
  const scenario = scaleScenario({ seed: 9, events: 3000, attacksPerKind: 5, rdpDestinations: 2 });
  const single = await replayReference(scenario, SCALE_RUN_ENV);
  const direct = directReference(scenario, PARTITIONS, SCALE_RUN_ENV);
  const rules = new Set(single.map((a) => a.rule));
  assert.equal(rules.size, 4, `the single-process answer has alerts of all four rules: ${[...rules].join(', ')}`);

  // What `direct` loses, and why: every alert of the single-process answer that direct lacks is a
  // correlation whose events are on different partitions (never D1); the scenario has some.
  const split = splitAttacks(scenario, PARTITIONS);
  const directIds = new Set(direct.map((a) => a.id));
  const lost = single.filter((a) => !directIds.has(a.id));
  assert.ok(lost.length >= 10, `direct loses the split correlations (${lost.length} of ${single.length})`);
  assert.ok(
    lost.every((a) => a.rule !== D1),
    'D1 is stateless: direct loses none',
  );
  assert.ok(split.size >= lost.length - 2, `${split.size} attacks split over partitions`);

  const expected = TOPOLOGY === 'routed' ? single : direct;
  const result = await runScale({
    brokers: kafka.brokers,
    scenario,
    instances: INSTANCES,
    partitions: PARTITIONS,
    topology: TOPOLOGY,
    rate: 250,
    actions: [
      { at: 0.2, signal: 'SIGKILL', instance: 0, restartAfterMs: 500 },
      { at: 0.6, signal: 'SIGTERM', instance: 1, restartAfterMs: 500 },
    ],
    quietMs: 4000,
    timeoutMs: 40_000,
    log: (line) => process.stderr.write(`scaleOut: ${line}\n`),
  });
  assert.deepEqual(result.crashes, [], 'no process exited by itself');
  const sigterm = result.disruptions.find((d) => d.signal === 'SIGTERM');
  assert.equal(sigterm?.exitCode, 0, 'SIGTERM drains and exits 0');
  assert.equal(result.disruptions.filter((d) => d.signal === 'start').length, 2, 'both were started again');

  const c = compareAlerts(expected, result.alerts);
  const table = formatComparison(expected, result.alerts, c);
  assert.deepEqual(c.duplicated, [], `no alert published twice\n${table}`);
  assert.ok(sameAlerts(c), `the output equals the ${TOPOLOGY} answer by event.id\n${table}`);
});
