/**
 * Builds the Kafka client `kafka.client` names. librdkafka's adapter (and its native module) is
 * imported only when it is the one configured.
 */
import { ConfigError, type PicketConfig } from '../config.js';
import type { Logger } from '../observability/logger.js';
import type { KafkaClient } from './client.js';
import { createKafkajsClient, type KafkajsOptions } from './kafkajs.js';

export interface ClientFactoryOptions {
  /** Overrides kafka.clientId (the demo names itself). */
  clientId?: string;
  /** kafkajs only: TLS and SASL as kafkajs takes them. */
  kafkajs?: Pick<KafkajsOptions, 'ssl' | 'sasl'>;
  /** librdkafka only: extra librdkafka properties (security.protocol, ssl.*, sasl.*). */
  librdkafka?: Readonly<Record<string, string | number | boolean>>;
}

export async function createKafkaClient(
  config: PicketConfig,
  logger: Logger,
  opts: ClientFactoryOptions = {},
): Promise<KafkaClient> {
  const common = {
    brokers: config.kafka.brokers,
    clientId: opts.clientId ?? config.kafka.clientId,
    connectionTimeoutMs: config.kafka.connectionTimeoutMs,
    logger,
  };
  switch (config.kafka.client) {
    case 'kafkajs':
      return createKafkajsClient({ ...common, ...(opts.kafkajs ?? {}) });
    case 'librdkafka': {
      const { createLibrdkafkaClient, LibrdkafkaUnavailableError } = await import('./librdkafka.js');
      try {
        return await createLibrdkafkaClient({
          ...common,
          ...(opts.librdkafka !== undefined ? { properties: opts.librdkafka } : {}),
        });
      } catch (err) {
        // Not installed or not built: a configuration problem, reported as one (exit 2, no stack).
        if (err instanceof LibrdkafkaUnavailableError) throw new ConfigError('kafka.client', 'librdkafka', err.reason);
        throw err;
      }
    }
  }
}
