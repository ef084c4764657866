/**
 * TLS and SASL options for the Kafka client, from the validated configuration. Certificate files
 * are read here, at start; a missing or unreadable one is a ConfigError naming its key and path,
 * never its content.
 */
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import { readPemFile, type PicketConfig } from '../config.js';

export interface KafkaSecurityOptions {
  ssl?: ConnectionOptions | boolean;
  sasl?: SASLOptions;
}

export function kafkaSecurityOptions(config: PicketConfig): KafkaSecurityOptions {
  const { ssl, sasl } = config.kafka;
  const out: KafkaSecurityOptions = {};
  if (ssl.enabled) {
    const tls: ConnectionOptions = { rejectUnauthorized: ssl.rejectUnauthorized };
    if (ssl.caFile !== '') tls.ca = readPem(ssl.caFile, 'kafka.ssl.caFile', 'CERTIFICATE');
    if (ssl.certFile !== '') tls.cert = readPem(ssl.certFile, 'kafka.ssl.certFile', 'CERTIFICATE');
    if (ssl.keyFile !== '') tls.key = readPem(ssl.keyFile, 'kafka.ssl.keyFile', 'PRIVATE KEY');
    if (ssl.keyPassword !== '') tls.passphrase = ssl.keyPassword;
    if (ssl.servername !== '') tls.servername = ssl.servername;
    out.ssl = tls;
  }
  if (sasl.mechanism !== 'none') {
    out.sasl = { mechanism: sasl.mechanism, username: sasl.username, password: sasl.password };
  }
  return out;
}

/** The same settings as librdkafka properties (kafka.client librdkafka). */
export function librdkafkaSecurity(config: PicketConfig): Record<string, string | boolean> {
  const { ssl, sasl } = config.kafka;
  const props: Record<string, string | boolean> = {};
  const saslOn = sasl.mechanism !== 'none';
  if (!ssl.enabled && !saslOn) return props;
  props['security.protocol'] = ssl.enabled ? (saslOn ? 'sasl_ssl' : 'ssl') : 'sasl_plaintext';
  if (ssl.enabled) {
    if (ssl.caFile !== '') props['ssl.ca.location'] = ssl.caFile;
    if (ssl.certFile !== '') props['ssl.certificate.location'] = ssl.certFile;
    if (ssl.keyFile !== '') props['ssl.key.location'] = ssl.keyFile;
    if (ssl.keyPassword !== '') props['ssl.key.password'] = ssl.keyPassword;
    props['enable.ssl.certificate.verification'] = ssl.rejectUnauthorized;
    if (!ssl.rejectUnauthorized) props['ssl.endpoint.identification.algorithm'] = 'none';
  }
  if (saslOn) {
    props['sasl.mechanisms'] = saslMechanismName(sasl.mechanism);
    props['sasl.username'] = sasl.username;
    props['sasl.password'] = sasl.password;
  }
  return props;
}

/** How the mechanism is usually written (SCRAM-SHA-512), for messages. */
export function saslMechanismName(mechanism: string): string {
  return mechanism.toUpperCase();
}

/** Checked at load (config.ts); read again here, so a file removed since then still fails clearly. */
function readPem(file: string, key: string, label: string): string {
  return readPemFile(file, key, label, 'configuration');
}

/** Walks an error and its causes (kafkajs wraps errors in retry errors). */
function* errorChain(err: unknown): Generator<Error> {
  const seen = new Set<unknown>();
  let e: unknown = err;
  while (e instanceof Error && !seen.has(e)) {
    seen.add(e);
    yield e;
    const next =
      (e as { cause?: unknown; originalError?: unknown }).cause ?? (e as { originalError?: unknown }).originalError;
    e = next;
  }
}

/**
 * A start-up failure explained for the operator, when it is one we recognise: SASL rejected, or a
 * TLS handshake that failed. Never includes a secret: it is built from the configuration's
 * non-secret fields and the error's name and code only.
 */
export function explainKafkaStartError(err: unknown, config: PicketConfig): string | undefined {
  const { sasl } = config.kafka;
  for (const e of errorChain(err)) {
    if (e.name === 'KafkaJSSASLAuthenticationError' || /SASL .*authentication failed/i.test(e.message)) {
      return (
        `Kafka authentication failed for user "${sasl.username}" (${saslMechanismName(sasl.mechanism)}): ` +
        'check kafka.sasl.* (KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE)'
      );
    }
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /CERT|SSL|TLS|SELF_SIGNED|ERR_TLS/.test(code)) {
      return `Kafka TLS handshake failed (${code}): check kafka.ssl.* (KAFKA_SSL_CA_FILE, KAFKA_SSL_CERT_FILE, KAFKA_SSL_KEY_FILE)`;
    }
  }
  return undefined;
}
