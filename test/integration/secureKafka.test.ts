/**
 * `picket run` against a broker that only speaks TLS (mutual) and SASL: SCRAM-SHA-512 with the
 * password in the environment, SCRAM-SHA-256 with it in a `*_FILE`, PLAIN with it inline in the
 * YAML file; a wrong password fails fast and says so; and no secret appears in anything picket
 * printed, served or published.
 *
 * It starts its own broker (the shared test broker is plaintext), with certificates made here by
 * openssl; skipped when openssl or java is missing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startLocalKafka, type LocalKafka } from '../../src/localkafka/localBroker.js';
import { makeTestCerts, opensslAvailable, type TestCerts } from '../support/certs.js';
import { createTopics, uniqueName } from '../support/kafka.js';
import {
  produce,
  startPicket,
  TopicCollector,
  type PicketProcess,
  type TestConnection,
} from '../support/picketProcess.js';

const RPC_TO_INTERNET_RULE = '32923416-763a-4531-bb35-f33b9232ecdb';

async function javaAvailable(): Promise<boolean> {
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
  try {
    await promisify(execFile)(java, ['-version'], { timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}

const missing = [!(await opensslAvailable()) && 'openssl', !(await javaAvailable()) && 'java'].filter(Boolean);
const skip = missing.length > 0 ? `secure Kafka test needs ${missing.join(' and ')} on PATH` : false;

// Random per run, so a match in the output can only be a leak.
const adminPassword = `admin-${randomBytes(12).toString('hex')}`;
const picketPassword = `picket-${randomBytes(12).toString('hex')}`;
const wrongPassword = `wrong-${randomBytes(12).toString('hex')}`;

let dir: string;
let certs: TestCerts;
let broker: LocalKafka | undefined;
let admin: TestConnection;
/** Everything picket printed, served on /metrics or published, across all the runs. */
const everything: string[] = [];

before(async () => {
  if (skip) return;
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'picket-secure-'));
  certs = await makeTestCerts(path.join(dir, 'pki'));
  broker = await startLocalKafka({
    log: (m) => process.stderr.write(`[localkafka] ${m}\n`),
    security: {
      certFile: certs.serverCertFile,
      keyFile: certs.serverKeyFile,
      caFile: certs.caFile,
      clientAuth: 'required',
      scramUsers: [
        { name: 'admin', password: adminPassword },
        { name: 'picket', password: picketPassword },
      ],
      plainUsers: [{ name: 'picket', password: picketPassword }],
    },
  });
  admin = {
    ssl: {
      ca: await fs.readFile(certs.caFile, 'utf8'),
      cert: await fs.readFile(certs.clientCertFile, 'utf8'),
      key: await fs.readFile(certs.clientKeyFile, 'utf8'),
    },
    sasl: { mechanism: 'scram-sha-512', username: 'admin', password: adminPassword },
  };
});

after(async () => {
  await broker?.stop();
  if (dir !== undefined) await fs.rm(dir, { recursive: true, force: true });
});

/** An RPC flow from a private host to an Internet address: D1 (rpc_to_internet) alerts on it. */
function rpcFlow(dst: string, i: number): string {
  return JSON.stringify({
    '@timestamp': new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
    event: { category: ['network'], id: `flow-${i}` },
    network: { transport: 'tcp' },
    host: { id: 'host-secure' },
    source: { ip: '10.0.0.5', port: 50000 + i },
    destination: { ip: dst, port: 135 },
  });
}

function tlsEnv(): Record<string, string> {
  return {
    KAFKA_BROKERS: broker!.brokers,
    KAFKA_SSL: 'true',
    KAFKA_SSL_CA_FILE: certs.caFile,
    KAFKA_SSL_CERT_FILE: certs.clientCertFile,
    KAFKA_SSL_KEY_FILE: certs.clientKeyFile,
  };
}

/** Runs picket until it has published the alert for a fresh input topic, then stops it with SIGTERM. */
async function alertRoundTrip(
  name: string,
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ picket: PicketProcess; alerts: string[] }> {
  const input = uniqueName(`${name}-in`);
  const output = uniqueName(`${name}-alerts`);
  const dlq = uniqueName(`${name}-dlq`);
  await createTopics(
    [broker!.brokers],
    [input, output, dlq].map((topic) => ({ topic, numPartitions: 1 })),
    admin,
  );
  const picket = await startPicket(
    {
      PICKET_INPUT_TOPICS: input,
      PICKET_OUTPUT_TOPIC: output,
      PICKET_DEAD_LETTER_TOPIC: dlq,
      PICKET_GROUP_ID: uniqueName(`picket-${name}`),
      PICKET_FROM_BEGINNING: 'true',
      PICKET_DETECTIONS: 'rpc_to_internet',
      PICKET_LOG_LEVEL: 'debug', // kafkajs' own lines too: the most there is to leak
      ...env,
    },
    args,
  );
  const collector = new TopicCollector([broker!.brokers], output, admin);
  try {
    await picket.waitReady(30_000);
    await collector.start();
    await produce(
      [broker!.brokers],
      input,
      [rpcFlow('10.9.9.9', 1), rpcFlow('8.8.8.8', 2), rpcFlow('192.168.1.1', 3)].map((value) => ({
        key: 'host-secure',
        value,
      })),
      admin,
    );
    await collector.waitFor((r) => r.length >= 1, 20_000, 'the D1 alert');
    const metrics = await picket.metrics();
    everything.push(metrics);
    assert.match(metrics, /picket_/, 'metrics are served');
  } finally {
    // Both wait out a fetch in flight (up to 5 s) when they leave: in parallel, not one after the other.
    picket.child.kill('SIGTERM');
    const [, code] = await Promise.all([collector.stop(), picket.exited]);
    everything.push(picket.output());
    assert.equal(code, 0, `picket stops cleanly on SIGTERM:\n${picket.output()}`);
  }
  const alerts = collector.records.map((r) => r.value);
  everything.push(...alerts, ...collector.records.map((r) => JSON.stringify(r.headers)));
  assert.equal(alerts.length, 1, 'one alert: only the flow to 8.8.8.8 goes to the Internet');
  const alert = JSON.parse(alerts[0]!) as { rule: { id: string }; destination: { ip: string } };
  assert.equal(alert.rule.id, RPC_TO_INTERNET_RULE);
  assert.equal(alert.destination.ip, '8.8.8.8');
  return { picket, alerts };
}

test('TLS (mutual) + SCRAM-SHA-512, password from KAFKA_SASL_PASSWORD: the alert arrives', { skip }, async () => {
  await alertRoundTrip('scram512', {
    ...tlsEnv(),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'picket',
    KAFKA_SASL_PASSWORD: picketPassword,
  });
});

test('TLS + SCRAM-SHA-256, password from KAFKA_SASL_PASSWORD_FILE: the alert arrives', { skip }, async () => {
  const file = path.join(dir, 'sasl-password');
  await fs.writeFile(file, `${picketPassword}\n`, { mode: 0o600 }); // as `echo` or a mounted Secret writes it
  await alertRoundTrip('scram256', {
    ...tlsEnv(),
    PICKET_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
    KAFKA_SASL_USERNAME: 'picket',
    KAFKA_SASL_PASSWORD_FILE: file,
  });
});

test('TLS + PLAIN, everything in the YAML file with the password inline: the alert arrives', { skip }, async () => {
  const file = path.join(dir, 'picket.yaml');
  await fs.writeFile(
    file,
    [
      'kafka:',
      '  ssl:',
      '    enabled: true',
      `    caFile: ${certs.caFile}`,
      `    certFile: ${certs.clientCertFile}`,
      `    keyFile: ${certs.clientKeyFile}`,
      '  sasl:',
      '    mechanism: plain',
      '    username: picket',
      `    password: "${picketPassword}"`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  // The environment wins over the file, so only the brokers come from it (the test run may set KAFKA_BROKERS).
  await alertRoundTrip('plain', { KAFKA_BROKERS: broker!.brokers }, ['--config', file]);
});

test('a wrong password fails fast, with a clear message and no password in it', { skip }, async () => {
  const started = Date.now();
  const picket = await startPicket({
    ...tlsEnv(),
    KAFKA_SASL_MECHANISM: 'scram-sha-512',
    KAFKA_SASL_USERNAME: 'picket',
    KAFKA_SASL_PASSWORD: wrongPassword,
    PICKET_INPUT_TOPICS: uniqueName('wrong-in'),
    PICKET_GROUP_ID: uniqueName('picket-wrong'),
    PICKET_LOG_LEVEL: 'debug',
  });
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    picket.exited,
    new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), 15_000))),
  ]);
  clearTimeout(timer);
  if (code === 'timeout') picket.child.kill('SIGKILL');
  const out = picket.output();
  everything.push(out);
  assert.notEqual(code, 'timeout', `picket must exit within 15 s of a rejected password:\n${out}`);
  assert.equal(code, 1, out);
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 15_000, `exited after ${elapsed} ms`);
  assert.match(out, /picket: Kafka authentication failed for user "picket" \(SCRAM-SHA-512\): check kafka\.sasl\./);
  assert.ok(!out.includes(wrongPassword) && !out.includes(picketPassword), 'no password in the output');
});

test('no secret in anything picket printed, served on /metrics or published', { skip }, async () => {
  assert.ok(everything.length >= 4, 'the runs above left output to search');
  const all = everything.join('\n');
  assert.ok(all.includes('"picket is consuming"') || all.includes('picket is consuming'), 'the logs are there');
  const keyBody = (await fs.readFile(certs.clientKeyFile, 'utf8')).split('\n')[5]!;
  for (const [what, secret] of [
    ['picket password', picketPassword],
    ['wrong password', wrongPassword],
    ['admin password', adminPassword],
    ['client private key', keyBody],
  ] as const) {
    assert.ok(secret.length >= 16);
    assert.ok(!all.includes(secret), `the ${what} leaked`);
  }
});
