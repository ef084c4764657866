// The Kafka clients the integration tests run on. librdkafka's is an optional dependency with a
// native build: where it cannot be loaded its tests are skipped, saying why.
import { KAFKA_CLIENTS, type KafkaClientKind } from '../../src/config.js';
import { loadLibrdkafka } from '../../src/consumers/librdkafka.js';

export { KAFKA_CLIENTS };

let librdkafkaMissing: string | false | undefined;

/** False when `client` can be used here, else why its tests are skipped (for node:test's `skip`). */
export async function skipUnlessLoadable(client: KafkaClientKind): Promise<string | false> {
  if (client !== 'librdkafka') return false;
  if (librdkafkaMissing === undefined) {
    try {
      await loadLibrdkafka();
      librdkafkaMissing = false;
    } catch (err) {
      librdkafkaMissing = `librdkafka client not loadable here: ${(err as Error).message.slice(0, 200)}`;
      process.stderr.write(`[tests] ${librdkafkaMissing}\n`);
    }
  }
  return librdkafkaMissing;
}
