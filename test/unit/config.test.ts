import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configReference, loadConfig, SETTINGS } from '../../src/config.js';

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
