import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../../src/config.js';
import { explainKafkaStartError, kafkaSecurityOptions } from '../../../src/consumers/kafkaSecurity.js';

const dir = mkdtempSync(join(tmpdir(), 'picket-kafka-security-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const CERT = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n';

test('no TLS and no SASL by default: the client options are untouched', () => {
  assert.deepEqual(kafkaSecurityOptions(loadConfig({ env: {} })), {});
});

test('TLS files are read into the connection options; SASL names as kafkajs wants them', () => {
  const c = loadConfig({
    env: {
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: file('ca.crt', CERT),
      KAFKA_SSL_CERT_FILE: file('tls.crt', CERT),
      KAFKA_SSL_KEY_FILE: file('tls.key', KEY),
      KAFKA_SSL_SERVERNAME: 'kafka.internal',
      KAFKA_SASL_MECHANISM: 'SCRAM-SHA-512',
      KAFKA_SASL_USERNAME: 'alice',
      KAFKA_SASL_PASSWORD: 'pw-1234',
    },
  });
  const o = kafkaSecurityOptions(c);
  assert.deepEqual(o.ssl, { rejectUnauthorized: true, ca: CERT, cert: CERT, key: KEY, servername: 'kafka.internal' });
  assert.deepEqual(o.sasl, { mechanism: 'scram-sha-512', username: 'alice', password: 'pw-1234' });
  assert.equal(kafkaSecurityOptions(loadConfig({ env: { KAFKA_SSL: 'true' } })).ssl !== undefined, true);
});

test('start-up failures are explained without the password', () => {
  const c = loadConfig({
    env: { KAFKA_SASL_MECHANISM: 'scram-sha-256', KAFKA_SASL_USERNAME: 'alice', KAFKA_SASL_PASSWORD: 'pw-1234' },
  });
  const sasl = Object.assign(new Error('SASL SCRAM SHA256 authentication failed: invalid credentials'), {
    name: 'KafkaJSSASLAuthenticationError',
  });
  const wrapped = Object.assign(new Error('retries exceeded'), { name: 'KafkaJSNumberOfRetriesExceeded', cause: sasl });
  const msg = explainKafkaStartError(wrapped, c);
  assert.equal(
    msg,
    'Kafka authentication failed for user "alice" (SCRAM-SHA-256): check kafka.sasl.* ' +
      '(KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)',
  );
  const tls = Object.assign(new Error('self-signed certificate'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });
  assert.match(explainKafkaStartError(tls, c) ?? '', /^Kafka TLS handshake failed \(SELF_SIGNED_CERT_IN_CHAIN\)/);
  assert.equal(explainKafkaStartError(new Error('ECONNREFUSED'), c), undefined);
});
