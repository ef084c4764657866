/**
 * The tuning file with `picket run` on a real broker: an exception removes its alerts, suppression
 * counts survive a restart (its windows are kept in the tuning changelog), and a bad file sent by
 * SIGHUP is refused while the tuning in force stays.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTopics, startTestKafka, uniqueName, type TestKafka } from '../support/kafka.js';
import { rpcToInternet } from '../support/scenario.js';
import {
  waitPublishedThrough,
  produce,
  startPicket,
  TopicCollector,
  type PicketProcess,
} from '../support/picketProcess.js';

let kafka: TestKafka;
before(async () => {
  kafka = await startTestKafka();
});
after(async () => {
  await kafka?.stop();
});

const T0 = Date.parse('2024-03-04T10:00:00.000Z');

/** D1: RPC from a private source to the Internet. */
function rpcOut(id: string, t: number, source: string): string {
  return JSON.stringify(rpcToInternet(id, t, source, 'ws-tuning'));
}

/** Moves event time on (nothing detects it). */
function tick(id: string, t: number): string {
  return JSON.stringify({
    '@timestamp': new Date(t).toISOString(),
    event: { id, category: ['process'] },
    host: { id: 'x' },
  });
}

const TUNING = `
rules:
  rpc_to_internet:
    exceptions:
      - name: backup-gateway
        when: { field: source.ip, is: 10.9.9.9 }
    suppression: { by: [source.ip], windowMs: 60000 }
`;

async function metric(p: PicketProcess, pattern: RegExp): Promise<string | undefined> {
  return (await p.metrics()).split('\n').find((l) => pattern.test(l));
}

test('exceptions, suppression across a restart, and a refused reload', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'picket-tuning-'));
  const tuningFile = join(dir, 'tuning.yaml');
  writeFileSync(tuningFile, TUNING);
  const input = uniqueName('tuning-in');
  const output = uniqueName('tuning-alerts');
  const groupId = uniqueName('picket-tuning');
  await createTopics(kafka.brokers, [
    { topic: input, numPartitions: 1 },
    { topic: output, numPartitions: 1 },
  ]);
  const env = {
    KAFKA_BROKERS: kafka.brokers.join(','),
    PICKET_INPUT_TOPICS: input,
    PICKET_OUTPUT_TOPIC: output,
    PICKET_DEAD_LETTER_TOPIC: uniqueName('tuning-dlq'),
    PICKET_GROUP_ID: groupId,
    PICKET_FROM_BEGINNING: 'true',
    PICKET_LATENESS_MS: '1000',
    PICKET_SESSION_TIMEOUT_MS: '6000',
    PICKET_IDLE_TIMEOUT_MS: '1000',
    PICKET_TUNING_FILE: tuningFile,
  };
  const alerts = new TopicCollector(kafka.brokers, output);
  await alerts.start();
  const processes: PicketProcess[] = [];
  try {
    const first = await startPicket(env);
    processes.push(first);
    await first.waitReady();
    // The first alert of 10.1.1.1 goes out at once; the exception stops 10.9.9.9's.
    await produce(kafka.brokers, input, [
      { value: rpcOut('a1', T0, '10.1.1.1') },
      { value: rpcOut('x1', T0 + 1000, '10.9.9.9') },
      { value: rpcOut('a2', T0 + 2000, '10.1.1.1') },
    ]);
    await alerts.waitFor((r) => r.length >= 1, 30_000, 'the first alert');
    // Committed with the metadata saying the three were processed (the offset itself stays at the
    // first port-135 flow, which the endpoint-mapper pairing holds).
    await waitPublishedThrough(kafka.brokers, groupId, input, 2, 20_000);
    assert.match((await metric(first, /^picket_alert_exceptions_total\{/)) ?? '', /exception="backup-gateway"} 1$/);
    assert.match((await metric(first, /^picket_alerts_tuned_total\{.*outcome="suppressed"/)) ?? '', / 1$/);
    first.child.kill('SIGKILL');
    await first.exited;

    // After the restart: two more within the window, then event time passes its end.
    const second = await startPicket(env);
    processes.push(second);
    await second.waitReady();
    await produce(kafka.brokers, input, [
      { value: rpcOut('a3', T0 + 30_000, '10.1.1.1') },
      { value: tick('t1', T0 + 70_000) },
    ]);
    await alerts
      .waitFor((r) => r.length >= 2, 30_000, 'the suppression follow-up')
      .catch((err: Error) => {
        throw new Error(`${err.message}\n${second.output().slice(-6000)}`);
      });

    // A bad file sent by SIGHUP is refused; the tuning in force stays.
    const version = await metric(second, /^picket_tuning_info\{/);
    writeFileSync(tuningFile, 'rules: { rpc_to_internet: { exceptions: [ { name: broken } ] } }\n');
    second.child.kill('SIGHUP');
    // Counted once per attempt: the SIGHUP, and the file watcher too when it sees the write first.
    const refusals = async (): Promise<number> =>
      Number((await metric(second, /^picket_tuning_reloads_total\{result="refused"\}/))?.split(' ').pop() ?? 0);
    const until = Date.now() + 10_000;
    while ((await refusals()) < 1) {
      assert.ok(Date.now() < until, 'the refusal is counted');
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await metric(second, /^picket_tuning_info\{/), version, 'the version in force is unchanged');
    assert.match(second.output(), /tuning file refused/);
    await produce(kafka.brokers, input, [{ value: rpcOut('x2', T0 + 80_000, '10.9.9.9') }]);
    await new Promise((r) => setTimeout(r, 3000)); // an alert for x2 (or a duplicate) would show now

    const docs = alerts.records.map((r) => JSON.parse(r.value) as Record<string, any>);
    assert.equal(docs.length, 2, 'the first alert and one follow-up, nothing else');
    assert.deepEqual(
      docs[0]!.picket.events.map((e: any) => e.event.id),
      ['a1'],
    );
    assert.equal(docs[0]!.picket.suppressed_count, undefined);
    assert.equal(docs[1]!.picket.suppressed_count, 2, 'a2 before the restart and a3 after it');
    assert.equal(docs[1]!.picket.suppression.last, new Date(T0 + 30_000).toISOString());
    assert.notEqual(docs[1]!.event.id, docs[0]!.event.id);
  } finally {
    for (const p of processes) p.child.kill('SIGKILL');
    await alerts.stop();
  }
});
