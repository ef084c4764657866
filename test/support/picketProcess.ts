/**
 * Runs `bin/picket run` as a child process, as a user would, for integration tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer, type KafkaConfig } from 'kafkajs';
import { parseCommitMetadata } from '../../src/consumers/partitionProcessor.js';
import { REPO_ROOT } from './datasets.js';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PicketProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Everything it printed (stdout and stderr). */
  output(): string;
  readonly exited: Promise<number | null>;
  waitReady(timeoutMs?: number): Promise<void>;
  metrics(): Promise<string>;
}

/** Connection settings (TLS, SASL) for the test clients of a secured broker. */
export type TestConnection = Pick<KafkaConfig, 'ssl' | 'sasl'>;

export async function startPicket(env: Record<string, string>, args: string[] = []): Promise<PicketProcess> {
  const port = await freePort();
  const child = spawn(join(REPO_ROOT, 'bin', 'picket'), ['run', ...args], {
    env: { ...process.env, PICKET_HTTP_PORT: String(port), PICKET_HTTP_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  return {
    child,
    port,
    output: () => out,
    exited,
    async waitReady(timeoutMs = 60000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`picket exited with ${child.exitCode}:\n${out}`);
        try {
          const res = await fetch(`${base}/readyz`);
          if (res.status === 200) return;
        } catch {
          // not listening yet
        }
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(`picket not ready after ${timeoutMs} ms:\n${out}`);
    },
    async metrics() {
      return (await fetch(`${base}/metrics`)).text();
    },
  };
}

export interface CollectedRecord {
  readonly key: string | null;
  readonly value: string;
  readonly headers: Record<string, string>;
  readonly partition: number;
  readonly offset: string;
}

/** Reads a topic from the beginning into memory until stopped. */
export class TopicCollector {
  readonly records: CollectedRecord[] = [];
  private consumer: Consumer | undefined;

  constructor(
    private readonly brokers: string[],
    private readonly topic: string,
    private readonly connection: TestConnection = {},
  ) {}

  async start(): Promise<void> {
    const kafka = new Kafka({
      clientId: 'picket-test-collector',
      brokers: this.brokers,
      logLevel: logLevel.NOTHING,
      ...this.connection,
    });
    this.consumer = kafka.consumer({ groupId: `collector-${this.topic}-${Date.now()}` });
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: true });
    await this.consumer.run({
      eachMessage: async ({ message, partition }) => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v);
        this.records.push({
          key: message.key?.toString() ?? null,
          value: message.value?.toString() ?? '',
          headers,
          partition,
          offset: message.offset,
        });
      },
    });
  }

  async waitFor(predicate: (records: CollectedRecord[]) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.records)) {
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for ${what} on ${this.topic} (${this.records.length} records)`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

export async function produce(
  brokers: string[],
  topic: string,
  messages: { key?: string | null; value: string | Buffer; partition?: number }[],
  connection: TestConnection = {},
): Promise<void> {
  const kafka = new Kafka({ clientId: 'picket-test-producer', brokers, logLevel: logLevel.NOTHING, ...connection });
  const producer = kafka.producer();
  await producer.connect();
  try {
    for (let i = 0; i < messages.length; i += 500) {
      await producer.send({ topic, messages: messages.slice(i, i + 500).map((m) => ({ ...m, key: m.key ?? null })) });
    }
  } finally {
    await producer.disconnect();
  }
}

export async function committedOffsets(
  brokers: string[],
  groupId: string,
  topic: string,
): Promise<Map<number, string>> {
  const admin = new Kafka({ clientId: 'picket-test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const res = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map(res[0]!.partitions.map((p) => [p.partition, p.offset]));
  } finally {
    await admin.disconnect();
  }
}

/** The group's committed offset and metadata of one partition (undefined: nothing committed). */
export async function committedPosition(
  brokers: string[],
  groupId: string,
  topic: string,
  partition = 0,
): Promise<{ offset: string; metadata: string | null } | undefined> {
  const admin = new Kafka({ clientId: 'picket-test-admin', brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    const [r] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const p = r?.partitions.find((x) => x.partition === partition);
    return p === undefined || p.offset === '-1' ? undefined : { offset: p.offset, metadata: p.metadata };
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until picket has committed a partition with metadata saying records up to `offset` were
 * processed and their alerts published (the committed offset itself may stay lower: open state).
 */
export async function waitPublishedThrough(
  brokers: string[],
  groupId: string,
  topic: string,
  offset: number,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const meta = parseCommitMetadata((await committedPosition(brokers, groupId, topic))?.metadata);
    if (meta !== undefined && meta.publishedThrough >= offset) return;
    if (Date.now() > deadline) throw new Error(`offset ${offset} of ${topic} not committed in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
