import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configReference, loadConfig, redactedConfig, secretValues, SETTINGS } from '../../src/config.js';

const dir = mkdtempSync(join(tmpdir(), 'picket-config-test-'));
const yaml = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('defaults, then the YAML file, then the environment', () => {
  const d = loadConfig({ env: {} });
  assert.deepEqual(d.kafka.brokers, ['localhost:9092']);
  assert.equal(d.topics.output, 'picket-alerts');
  const file = yaml(
    'a.yaml',
    'kafka:\n  brokers: [k1:9092, k2:9092]\n  groupId: from-file\ntopics:\n  output: alerts-file\n',
  );
  const f = loadConfig({ file, env: {} });
  assert.deepEqual(f.kafka.brokers, ['k1:9092', 'k2:9092']);
  assert.equal(f.kafka.groupId, 'from-file');
  const e = loadConfig({
    file,
    env: {
      KAFKA_BROKERS: 'e1:9092, e2:9093',
      PICKET_GROUP_ID: 'from-env',
      PICKET_FROM_BEGINNING: 'true',
      PICKET_HTTP_PORT: '0',
    },
  });
  assert.deepEqual(e.kafka.brokers, ['e1:9092', 'e2:9093']);
  assert.equal(e.kafka.groupId, 'from-env');
  assert.equal(e.topics.output, 'alerts-file');
  assert.equal(e.consumer.fromBeginning, true);
  assert.equal(e.http.port, 0);
});

test('a bad value fails at start with the key, its source and the reason', () => {
  const cases: [Record<string, string>, RegExp][] = [
    [{ KAFKA_BROKERS: 'no-port' }, /kafka\.brokers \(environment KAFKA_BROKERS\): "no-port" is not a host:port/],
    [{ PICKET_HTTP_PORT: '70000' }, /http\.port \(environment PICKET_HTTP_PORT\): must be between 0 and 65535/],
    [{ PICKET_HTTP_PORT: 'abc' }, /http\.port .*must be an integer/],
    [{ PICKET_FROM_BEGINNING: 'maybe' }, /consumer\.fromBeginning .*must be true or false/],
    [{ PICKET_LOG_LEVEL: 'loud' }, /log\.level .*must be one of/],
    [{ PICKET_DETECTIONS: 'rpc_to_internet,nope' }, /detections\.enabled .*"nope" is not one of/],
    [{ PICKET_OUTPUT_TOPIC: 'bad topic' }, /topics\.output .*Kafka topic name/],
  ];
  for (const [env, pattern] of cases) {
    assert.throws(
      () => loadConfig({ env }),
      (err: unknown) => err instanceof ConfigError && pattern.test(err.message),
    );
  }
});

test('unknown keys in the file are refused (a typo must not fall back to a default)', () => {
  const file = yaml('typo.yaml', 'kafka:\n  broker: [k1:9092]\n');
  assert.throws(() => loadConfig({ file, env: {} }), /kafka\.broker \(file .*\): unknown setting/);
  const wrongType = yaml('type.yaml', 'topics:\n  output: 5\n');
  assert.throws(() => loadConfig({ file: wrongType, env: {} }), /topics\.output .*must be a non-empty string/);
  const notYaml = yaml('bad.yaml', 'kafka: [\n');
  assert.throws(() => loadConfig({ file: notYaml, env: {} }), /--config .*not valid YAML/);
  assert.throws(() => loadConfig({ file: join(dir, 'missing.yaml'), env: {} }), /--config .*cannot read/);
});

test('the reference lists every setting and its environment variables', () => {
  const ref = configReference();
  for (const s of SETTINGS) {
    assert.ok(ref.includes(`\`${s.path}\``), s.path);
    for (const e of s.env ?? []) assert.ok(ref.includes(e), e);
  }
});

test('input formats: a default and per-topic overrides, validated', () => {
  const c = loadConfig({ env: { PICKET_TOPIC_INPUT_FORMATS: 'zeek-conn=zeek, sysmon=winlogbeat' } });
  assert.equal(c.input.format, 'auto');
  assert.deepEqual(c.input.topicFormats, { 'zeek-conn': 'zeek', sysmon: 'winlogbeat' });
  assert.throws(
    () => loadConfig({ env: { PICKET_TOPIC_INPUT_FORMATS: 'x=xml' } }),
    /input\.topicFormats .*must map to one of/,
  );
  assert.throws(() => loadConfig({ env: { PICKET_INPUT_FORMAT: 'csv' } }), /input\.format .*must be one of/);
});

// ---------------------------------------------------------------------------------------------
// Secure Kafka: TLS and SASL settings, secrets inline or from files, never printed.

const PEM_CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const PEM_KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';
const SECRET = 'hunter2-very-secret';

/** loadConfig's error, asserting it is a ConfigError; its message must never hold the secret. */
function configError(opts: Parameters<typeof loadConfig>[0]): ConfigError {
  try {
    loadConfig(opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.ok(!err.message.includes(SECRET), `the secret is in: ${err.message}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test("the Helm chart's environment variables configure TLS and SASL", () => {
  const ca = yaml('ca.crt', PEM_CERT);
  const cert = yaml('tls.crt', PEM_CERT);
  const key = yaml('tls.key', PEM_KEY);
  const c = loadConfig({
    env: {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: ca,
      KAFKA_SSL_CERT_FILE: cert,
      KAFKA_SSL_KEY_FILE: key,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: SECRET,
    },
  });
  assert.deepEqual(c.kafka.ssl, {
    enabled: true,
    caFile: ca,
    certFile: cert,
    keyFile: key,
    keyPassword: '',
    keyPasswordFile: '',
    rejectUnauthorized: true,
    servername: '',
  });
  assert.deepEqual(c.kafka.sasl, { mechanism: 'scram-sha-512', username: 'alice', password: SECRET, passwordFile: '' });
  const d = loadConfig({ env: {} });
  assert.equal(d.kafka.ssl.enabled, false);
  assert.equal(d.kafka.sasl.mechanism, 'none');
  // Upper case as Kafka writes it, and the PICKET_ aliases.
  const u = loadConfig({
    env: {
      PICKET_KAFKA_SASL_MECHANISM: 'SCRAM-SHA-256',
      PICKET_KAFKA_SASL_USERNAME: 'a',
      PICKET_KAFKA_SASL_PASSWORD: 'p',
    },
  });
  assert.equal(u.kafka.sasl.mechanism, 'scram-sha-256');
});

test('a password from a *_FILE path (one trailing newline dropped) or inline in the YAML file', () => {
  const pw = yaml('password', `${SECRET}\n`);
  const env = { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'alice' };
  assert.equal(loadConfig({ env: { ...env, KAFKA_SASL_PASSWORD_FILE: pw } }).kafka.sasl.password, SECRET);
  const file = yaml(
    'sasl.yaml',
    `kafka:\n  sasl:\n    mechanism: scram-sha-512\n    username: bob\n    password: "${SECRET}"\n`,
  );
  const c = loadConfig({ file, env: {} });
  assert.equal(c.kafka.sasl.password, SECRET);
  assert.equal(c.kafka.sasl.username, 'bob');
  const kp = yaml('keypass', SECRET);
  const k = loadConfig({
    env: {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CERT_FILE: yaml('c.crt', PEM_CERT),
      KAFKA_SSL_KEY_FILE: yaml('c.key', PEM_KEY),
      KAFKA_SSL_KEY_PASSWORD_FILE: kp,
    },
  });
  assert.equal(k.kafka.ssl.keyPassword, SECRET);
});

test('TLS and SASL combinations are validated, naming the key and never the secret', () => {
  const cert = yaml('v.crt', PEM_CERT);
  const key = yaml('v.key', PEM_KEY);
  const cases: [Record<string, string>, RegExp][] = [
    [
      { KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: SECRET },
      /kafka\.sasl\.username \(not set\): is required with kafka\.sasl\.mechanism scram-sha-512 \(environment KAFKA_SASL_MECHANISM\)/,
    ],
    [{ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'a' }, /kafka\.sasl\.password \(not set\): is required/],
    [
      { KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD: SECRET },
      /kafka\.sasl\.username .*kafka\.sasl\.mechanism is none/,
    ],
    [{ KAFKA_SASL_PASSWORD: SECRET }, /kafka\.sasl\.password .*kafka\.sasl\.mechanism is none/],
    [
      { KAFKA_SASL_MECHANISM: 'gssapi' },
      /kafka\.sasl\.mechanism .*must be one of none, plain, scram-sha-256, scram-sha-512/,
    ],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert }, /kafka\.ssl\.keyFile .*required with kafka\.ssl\.certFile/],
    [{ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: key }, /kafka\.ssl\.certFile .*required with kafka\.ssl\.keyFile/],
    [{ KAFKA_SSL_CA_FILE: cert }, /kafka\.ssl\.caFile .*kafka\.ssl\.enabled is false/],
    [
      { KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.crt') },
      /kafka\.ssl\.caFile \(environment KAFKA_SSL_CA_FILE\): cannot read .*missing\.crt \(ENOENT\)/,
    ],
    [
      { KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: yaml('not-pem.crt', SECRET) },
      /kafka\.ssl\.caFile .*holds no PEM certificate/,
    ],
    [
      { KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: cert, KAFKA_SSL_KEY_FILE: cert },
      /kafka\.ssl\.keyFile .*holds no PEM private key/,
    ],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD_FILE: join(dir, 'nope') },
      /kafka\.sasl\.passwordFile \(environment KAFKA_SASL_PASSWORD_FILE\): cannot read .*nope \(ENOENT\)/,
    ],
    [
      { KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'a', KAFKA_SASL_PASSWORD_FILE: yaml('empty', '\n') },
      /kafka\.sasl\.passwordFile .*is empty/,
    ],
    [
      {
        KAFKA_SASL_MECHANISM: 'plain',
        KAFKA_SASL_USERNAME: 'a',
        KAFKA_SASL_PASSWORD: SECRET,
        KAFKA_SASL_PASSWORD_FILE: yaml('pw2', SECRET),
      },
      /kafka\.sasl\.passwordFile .*set either kafka\.sasl\.password or kafka\.sasl\.passwordFile/,
    ],
  ];
  for (const [env, pattern] of cases) {
    const err = configError({ env });
    assert.match(err.message, pattern);
  }
  // A secret of the wrong type in the YAML file: the message says so without quoting it.
  const file = yaml('bad-secret.yaml', `kafka:\n  sasl:\n    password: [${SECRET}]\n`);
  assert.match(configError({ file, env: {} }).message, /kafka\.sasl\.password .*\(got <redacted>\)/);
});

test('`picket config` shows secrets as <redacted>; secretValues lists them for the log scrubber', () => {
  const c = loadConfig({
    env: {
      KAFKA_SASL_MECHANISM: 'scram-sha-256',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: SECRET,
      PICKET_SCHEMA_REGISTRY_URL: 'http://reg:registry-pass-1@registry:8081',
    },
  });
  const shown = JSON.stringify(redactedConfig(c));
  assert.ok(!shown.includes(SECRET) && !shown.includes('registry-pass-1'), shown);
  assert.equal(redactedConfig(c).kafka.sasl.password, '<redacted>');
  assert.equal(redactedConfig(c).kafka.sasl.username, 'alice');
  assert.equal(redactedConfig(c).kafka.ssl.keyPassword, '', 'an unset secret shows as unset');
  assert.equal(c.kafka.sasl.password, SECRET, 'the configuration itself is not changed');
  assert.deepEqual(secretValues(c).sort(), [SECRET, 'registry-pass-1'].sort());
  assert.ok(SETTINGS.filter((s) => s.secret === true).every((s) => s.path.endsWith('assword')));
});
