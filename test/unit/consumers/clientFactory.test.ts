/**
 * kafka.client: the setting, the factory, and what a user without librdkafka's native module is told.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig } from '../../../src/config.js';
import { createKafkaClient } from '../../../src/consumers/clientFactory.js';
import { LibrdkafkaUnavailableError, loadLibrdkafka } from '../../../src/consumers/librdkafka.js';
import { createLogger } from '../../../src/observability/logger.js';

const logger = createLogger('silent');

test('kafka.client: kafkajs by default, librdkafka from PICKET_KAFKA_CLIENT, anything else refused', () => {
  assert.equal(loadConfig({ env: {} }).kafka.client, 'kafkajs');
  assert.equal(loadConfig({ env: { PICKET_KAFKA_CLIENT: 'librdkafka' } }).kafka.client, 'librdkafka');
  assert.throws(
    () => loadConfig({ env: { PICKET_KAFKA_CLIENT: 'rdkafka' } }),
    (err: unknown) =>
      err instanceof ConfigError && err.key === 'kafka.client' && /one of kafkajs, librdkafka/.test(err.message),
  );
});

test('the factory builds the configured client (kafkajs connects nothing when built)', async () => {
  const client = await createKafkaClient(loadConfig({ env: {} }), logger);
  assert.equal(client.name, 'kafkajs');
});

test('librdkafka: built when its module loads, else a configuration error that says what to do', async () => {
  const config = loadConfig({ env: { PICKET_KAFKA_CLIENT: 'librdkafka' } });
  const loadable = await loadLibrdkafka().then(
    () => true,
    () => false,
  );
  if (loadable) {
    assert.equal((await createKafkaClient(config, logger)).name, 'librdkafka');
  } else {
    await assert.rejects(
      createKafkaClient(config, logger),
      (err: unknown) =>
        err instanceof ConfigError && err.key === 'kafka.client' && /CKJS_LINKING=dynamic/.test(err.message),
    );
  }
});

test('the message of a missing librdkafka names the package, the build and the way back to kafkajs', () => {
  const err = new LibrdkafkaUnavailableError("Cannot find package '@confluentinc/kafka-javascript'\nstack");
  assert.match(err.message, /^kafka\.client is "librdkafka" but @confluentinc\/kafka-javascript cannot be loaded/);
  assert.match(err.message, /Cannot find package/);
  assert.doesNotMatch(err.message, /stack/);
  assert.match(err.message, /libssl-dev and zlib1g-dev/);
  assert.match(err.message, /CKJS_LINKING=dynamic npm install @confluentinc\/kafka-javascript/);
  assert.match(err.message, /PICKET_KAFKA_CLIENT=kafkajs/);
});
