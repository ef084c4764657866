// Kafka for integration tests. In order of preference:
//   1. KAFKA_BROKERS (comma-separated) — an existing broker, e.g. the one scripts/with-kafka.mjs
//      started for the whole run, or CI's own service.
//   2. Docker, via testcontainers and the apache/kafka image, when a Docker engine answers.
//   3. A local JVM broker from src/localkafka (jars from Maven Central, cached in .cache/kafka).
// PICKET_TEST_KAFKA=testcontainers (or =local) skips the detection and forces 2 (or 3).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig } from 'kafkajs';
import { startLocalKafka } from '../../src/localkafka/localBroker.js';

export interface TestKafka {
  brokers: string[];
  kind: 'env' | 'testcontainers' | 'local';
  stop(): Promise<void>;
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
}

const KAFKA_IMAGE = 'apache/kafka:4.1.1';
const CONTAINER_PORT = 9092;
const START_SCRIPT = '/tmp/picket-kafka-start.sh';
const WAITING_MESSAGE = 'picket: waiting for start script';

export async function startTestKafka(): Promise<TestKafka> {
  const fromEnv = process.env.KAFKA_BROKERS?.trim();
  if (fromEnv) {
    const brokers = fromEnv
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean);
    return { brokers, kind: 'env', stop: async () => {} };
  }
  const forced = process.env.PICKET_TEST_KAFKA;
  if (forced === 'testcontainers' || (forced !== 'local' && (await dockerAvailable()))) {
    return startContainerKafka();
  }
  return startLocalJvmKafka();
}

/** Creates topics (replication factor 1) and waits until every partition has a leader. */
export async function createTopics(
  brokers: string[],
  topics: TopicSpec[],
  connection: Pick<KafkaConfig, 'ssl' | 'sasl'> = {},
): Promise<void> {
  const admin = new Kafka({
    clientId: 'picket-test-admin',
    brokers,
    logLevel: logLevel.NOTHING,
    ...connection,
  }).admin();
  await admin.connect();
  try {
    await admin.createTopics({
      topics: topics.map(({ topic, numPartitions }) => ({ topic, numPartitions, replicationFactor: 1 })),
      waitForLeaders: true,
    });
  } finally {
    await admin.disconnect();
  }
}

/** A topic/group name no other test (or earlier run against the same broker) has used. */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  return `${safe}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------------

/** Quick and quiet: a socket (or DOCKER_HOST) plus `docker info` succeeding within 5 s. */
async function dockerAvailable(): Promise<boolean> {
  if (!process.env.DOCKER_HOST && !existsSync('/var/run/docker.sock')) return false;
  return new Promise((resolve) => {
    execFile('docker', ['info'], { timeout: 5000 }, (err) => resolve(!err));
  });
}

async function startLocalJvmKafka(): Promise<TestKafka> {
  const local = await startLocalKafka({ log: (msg) => process.stderr.write(`[localkafka] ${msg}\n`) });
  return { brokers: [local.brokers], kind: 'local', stop: () => local.stop() };
}

/**
 * The advertised listener must carry the host port Docker maps, which is only known after the
 * container starts. So the container first waits for a script, which we copy in once the port is
 * known; it exports KAFKA_ADVERTISED_LISTENERS and then runs the image's normal start command.
 * Overriding the command (not the entrypoint) keeps the image's own entrypoint in place.
 */
async function startContainerKafka(): Promise<TestKafka> {
  // Loaded lazily: it is a dev dependency and slow to import, and most runs never need it.
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer(KAFKA_IMAGE)
    .withExposedPorts(CONTAINER_PORT)
    .withEnvironment(containerEnv())
    .withCommand([
      'sh',
      '-c',
      `echo '${WAITING_MESSAGE}'; while [ ! -f ${START_SCRIPT} ]; do sleep 0.1; done; . ${START_SCRIPT}; exec /etc/kafka/docker/run`,
    ])
    .withWaitStrategy(Wait.forLogMessage(WAITING_MESSAGE))
    .withStartupTimeout(120_000)
    .start();
  try {
    const brokers = `${container.getHost()}:${container.getMappedPort(CONTAINER_PORT)}`;
    const script = `export KAFKA_ADVERTISED_LISTENERS=PLAINTEXT://${brokers},BROKER://localhost:9094\n`;
    await container.copyContentToContainer([{ content: script, target: START_SCRIPT, mode: 0o644 }]);
    await waitForBroker([brokers], 90_000);
    const stop = async (): Promise<void> => {
      await container.stop();
    };
    return { brokers: [brokers], kind: 'testcontainers', stop };
  } catch (err) {
    await container.stop().catch(() => {});
    throw err;
  }
}

/** Single-node KRaft, same settings as the local broker (see src/localkafka/localBroker.ts). */
function containerEnv(): Record<string, string> {
  return {
    CLUSTER_ID: randomBytes(16).toString('base64url'),
    KAFKA_NODE_ID: '1',
    KAFKA_PROCESS_ROLES: 'broker,controller',
    KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
    KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${CONTAINER_PORT},CONTROLLER://0.0.0.0:9093,BROKER://0.0.0.0:9094`,
    KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,BROKER:PLAINTEXT',
    KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
    KAFKA_INTER_BROKER_LISTENER_NAME: 'BROKER',
    KAFKA_NUM_PARTITIONS: '1',
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR: '1',
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
  };
}

async function waitForBroker(brokers: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } }).admin();
    try {
      await admin.connect();
      await admin.listTopics();
      return;
    } catch (err) {
      lastError = err;
    } finally {
      await admin.disconnect().catch(() => {});
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`Kafka container at ${brokers.join(',')} not ready after ${timeoutMs} ms: ${String(lastError)}`);
}
