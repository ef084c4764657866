// A real, single-node Apache Kafka broker (KRaft combined mode) run as a child JVM, for
// integration tests and the demo on machines without Docker.
//
// The broker jars come from Maven Central via `mvn dependency:copy-dependencies` and are cached
// under <repo>/.cache/kafka/<version>/, so only the first run needs the network. Needs `java`
// (17+, or $JAVA_HOME) and `mvn` on PATH. Written for Kafka 4.x (KRaft only, log4j2).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, openSync, rmSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';

export interface LocalKafkaOptions {
  /** Where downloaded jars are cached. Default: $PICKET_KAFKA_CACHE_DIR or <repo>/.cache/kafka. */
  cacheDir?: string;
  /** Apache Kafka version (Maven artifact org.apache.kafka:kafka_2.13). Default: '4.1.1'. */
  kafkaVersion?: string;
  /** Broker log (log4j2 WARN and above, plus JVM stdout/stderr). Default: inside the temp dir, deleted by stop(). */
  logFile?: string;
  /** num.partitions for auto-created topics and topics created without a count. Default: 1. */
  partitionsDefault?: number;
  /** auto.create.topics.enable. Default: true. */
  autoCreateTopics?: boolean;
  /** Extra or overriding server.properties entries, applied last. */
  extraServerProperties?: Record<string, string>;
  /** Extra JVM flags, after the defaults so they win (e.g. ['-XX:TieredStopAtLevel=4'] for benchmarks). */
  extraJvmArgs?: string[];
  /** How long to wait for the broker to answer admin requests. Default: 90 000 ms. */
  startupTimeoutMs?: number;
  /** Progress messages (download, start, stop). Default: silent. */
  log?: (msg: string) => void;
  /**
   * A secured client listener (SASL_SSL) instead of the PLAINTEXT one: `brokers` is then the
   * SASL_SSL address, and a PLAINTEXT listener stays on loopback for the broker itself (inter-broker
   * traffic, the readiness probe) as `plaintextBrokers`.
   */
  security?: LocalKafkaSecurity;
}

export interface LocalKafkaSecurity {
  /** PEM files: the broker certificate (chain) and its unencrypted PKCS#8 key, and the CA that signs clients. */
  certFile: string;
  keyFile: string;
  caFile: string;
  /** Client certificates: required (mutual TLS), requested, or none. Default: 'required'. */
  clientAuth?: 'required' | 'requested' | 'none';
  /** SCRAM users, written at format time (kafka-storage --add-scram). */
  scramUsers?: readonly { name: string; password: string }[];
  /** SASL/PLAIN users (JAAS). */
  plainUsers?: readonly { name: string; password: string }[];
}

export type PauseSignal = 'SIGTERM' | 'SIGKILL' | 'SIGSTOP';

export type KafkaArtifactOptions = Pick<LocalKafkaOptions, 'cacheDir' | 'kafkaVersion' | 'log'>;

export interface LocalKafka {
  /** Bootstrap address, "127.0.0.1:PORT" (the SASL_SSL listener when `security` is set). */
  brokers: string;
  /** The PLAINTEXT listener: the same as `brokers` unless `security` is set. */
  plaintextBrokers: string;
  /** Temp dir holding server.properties and the log dirs; removed by stop(). */
  dataDir: string;
  /** SIGTERM, then SIGKILL after 15 s; removes dataDir. Safe to call more than once. */
  stop(): Promise<void>;
  /**
   * Stops the broker process (SIGTERM with the same grace as stop(), or SIGKILL for a crash) but
   * keeps its data dir: resume() brings back the same cluster, topics, records and committed group
   * offsets. SIGSTOP freezes it instead (a hung broker: connections stay open, nothing answers).
   * For outage tests. Does nothing when already paused.
   */
  pause(opts?: { signal?: PauseSignal }): Promise<void>;
  /**
   * Starts a paused broker again with the same server.properties (same ports, cluster id and log
   * dirs) and resolves once it answers admin requests. Does nothing when it is running. Fails if
   * another process took one of its ports meanwhile (possible in principle: they were free).
   */
  resume(): Promise<void>;
}

const DEFAULT_KAFKA_VERSION = '4.1.1';
// Kafka 4.1 depends on log4j2 2.24.3 (log4j-api/core) but ships the slf4j binding only in its
// tarball, not in the POM; without it slf4j falls back to a no-op logger and we lose the log.
const LOG4J_VERSION = '2.24.3';
const DEPENDENCY_PLUGIN = 'org.apache.maven.plugins:maven-dependency-plugin:3.8.1';
const READY_MARKER = 'READY';
const STALE_LOCK_MS = 30 * 60_000;
const STOP_GRACE_MS = 15_000;
const START_ATTEMPTS = 3;

// ---------------------------------------------------------------------------------------------
// Artifacts
// ---------------------------------------------------------------------------------------------

interface ArtifactPaths {
  versionDir: string;
  libsDir: string;
  log4jConfig: string;
  marker: string;
  lockDir: string;
}

function artifactPaths(opts: KafkaArtifactOptions): ArtifactPaths {
  const cacheDir = opts.cacheDir ?? process.env.PICKET_KAFKA_CACHE_DIR ?? path.join(repoRoot(), '.cache', 'kafka');
  const versionDir = path.join(path.resolve(cacheDir), opts.kafkaVersion ?? DEFAULT_KAFKA_VERSION);
  return {
    versionDir,
    libsDir: path.join(versionDir, 'libs'),
    log4jConfig: path.join(versionDir, 'log4j2.xml'),
    marker: path.join(versionDir, READY_MARKER),
    lockDir: path.join(versionDir, '.lock'),
  };
}

/** The nearest ancestor of this module holding a package.json (works from src/ and dist/src/). */
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}

/**
 * Downloads kafka_2.13:<version> and all runtime dependencies (plus a log4j2 slf4j binding) into
 * the cache, once, and returns the Java classpath. Later calls only check the READY marker.
 * Concurrent callers (other processes too) serialise on a lock dir; the jars are downloaded to a
 * temp dir and renamed into place, and READY is written last, so a crash never leaves a cache
 * that looks complete.
 */
export async function ensureKafkaArtifacts(opts: KafkaArtifactOptions = {}): Promise<string> {
  const paths = artifactPaths(opts);
  if (!existsSync(paths.marker)) {
    await fs.mkdir(paths.versionDir, { recursive: true });
    await withLock(paths.lockDir, async () => {
      // Another process may have finished while we waited for the lock.
      if (!existsSync(paths.marker)) await downloadArtifacts(paths, opts);
    });
  }
  return classpathOf(paths.libsDir);
}

async function classpathOf(libsDir: string): Promise<string> {
  const jars = (await fs.readdir(libsDir)).filter((f) => f.endsWith('.jar')).sort();
  return jars.map((j) => path.join(libsDir, j)).join(path.delimiter);
}

async function downloadArtifacts(paths: ArtifactPaths, opts: KafkaArtifactOptions): Promise<void> {
  const version = path.basename(paths.versionDir);
  const log = opts.log ?? (() => {});
  const tmp = path.join(paths.versionDir, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const started = Date.now();
  log(`downloading Apache Kafka ${version} jars from Maven Central into ${paths.versionDir}`);
  await removeLeftoverTempDirs(paths.versionDir);
  try {
    await fs.mkdir(tmp, { recursive: true });
    await fs.writeFile(path.join(tmp, 'pom.xml'), kafkaPom(version));
    await run('mvn (dependency:copy-dependencies)', 'mvn', [
      '-B',
      '-q',
      '-f',
      path.join(tmp, 'pom.xml'),
      `${DEPENDENCY_PLUGIN}:copy-dependencies`,
      '-DincludeScope=runtime',
      `-DoutputDirectory=${path.join(tmp, 'libs')}`,
    ]);
    // Only possible if our lock was wrongly judged stale: someone else finished; keep theirs.
    if (existsSync(paths.marker)) return;
    // Leftovers from a run that crashed between the rename and READY: not trusted, replaced.
    await fs.rm(paths.libsDir, { recursive: true, force: true });
    await fs.rename(path.join(tmp, 'libs'), paths.libsDir);
    await writeAtomically(paths.log4jConfig, LOG4J2_XML);
    await writeAtomically(paths.marker, `${JSON.stringify({ version, at: new Date().toISOString() })}\n`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
  log(`Kafka ${version} jars ready after ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Temp dirs of downloads that were killed; only the lock holder creates them, so safe to delete. */
async function removeLeftoverTempDirs(versionDir: string): Promise<void> {
  for (const name of await fs.readdir(versionDir)) {
    if (name.startsWith('.tmp-')) await fs.rm(path.join(versionDir, name), { recursive: true, force: true });
  }
}

function kafkaPom(version: string): string {
  const dep = (g: string, a: string, v: string): string =>
    `    <dependency><groupId>${g}</groupId><artifactId>${a}</artifactId><version>${v}</version></dependency>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>picket.localkafka</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>${version}</version>
  <packaging>pom</packaging>
  <dependencies>
${dep('org.apache.kafka', 'kafka_2.13', version)}
${dep('org.apache.logging.log4j', 'log4j-slf4j-impl', LOG4J_VERSION)}
  </dependencies>
</project>
`;
}

// WARN and above to the file named by -Dpicket.kafka.logFile (set per broker at start-up), so one
// cached config serves every broker. Nothing goes to the console.
const LOG4J2_XML = `<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <File name="file" fileName="\${sys:picket.kafka.logFile}" append="true">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
    </File>
  </Appenders>
  <Loggers>
    <Root level="WARN"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
`;

async function writeAtomically(file: string, content: string): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  await fs.writeFile(tmp, content);
  await fs.rename(tmp, file);
}

/** mkdir is atomic, so the lock dir is a cross-process mutex; a dead owner's lock is broken. */
async function withLock(lockDir: string, fn: () => Promise<void>): Promise<void> {
  while (!(await tryMkdir(lockDir))) {
    if (await isStaleLock(lockDir)) {
      // Rename first so two waiters breaking the same stale lock don't delete each other's.
      const grave = `${lockDir}.stale-${randomBytes(4).toString('hex')}`;
      await fs.rename(lockDir, grave).catch(() => {});
      await fs.rm(grave, { recursive: true, force: true });
      continue;
    }
    await sleep(250);
  }
  try {
    await fs.writeFile(path.join(lockDir, 'owner'), `${process.pid}\n`);
    await fn();
  } finally {
    await fs.rm(lockDir, { recursive: true, force: true });
  }
}

async function tryMkdir(dir: string): Promise<boolean> {
  try {
    await fs.mkdir(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** Stale: its owner process is gone, or it is older than any sane download (pid reuse). */
async function isStaleLock(lockDir: string): Promise<boolean> {
  let age: number;
  try {
    age = Date.now() - (await fs.stat(lockDir)).mtimeMs;
  } catch {
    return false; // just released: the next mkdir will tell
  }
  if (age > STALE_LOCK_MS) return true;
  const owner = await fs.readFile(path.join(lockDir, 'owner'), 'utf8').catch(() => undefined);
  if (owner === undefined) return age > 60_000; // owner died between mkdir and writing its pid
  const pid = Number(owner.trim());
  return Number.isInteger(pid) && pid > 0 && !isAlive(pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// Broker
// ---------------------------------------------------------------------------------------------

/**
 * Starts a fresh single-node KRaft broker on free loopback ports with its own temp data dir and
 * resolves once it answers admin requests. Every start formats new storage with a new cluster id,
 * so nothing carries over between runs (pause() and resume() keep them within one run).
 */
export async function startLocalKafka(opts: LocalKafkaOptions = {}): Promise<LocalKafka> {
  const classpath = await ensureKafkaArtifacts(opts);
  const log4jConfig = artifactPaths(opts).log4jConfig;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(opts, classpath, log4jConfig);
    } catch (err) {
      // Free ports are picked by binding port 0 and closing it, so another process can grab one
      // before the JVM binds it. That is the only failure worth retrying.
      if (!(err instanceof PortInUseError) || attempt >= START_ATTEMPTS) throw err;
      opts.log?.(`Kafka port was taken, retrying (${attempt}/${START_ATTEMPTS})`);
    }
  }
}

class PortInUseError extends Error {}

async function startOnce(opts: LocalKafkaOptions, classpath: string, log4jConfig: string): Promise<LocalKafka> {
  const started = Date.now();
  const workDir = await fs.mkdtemp(path.join(os.tmpdir(), 'picket-kafka-'));
  const logFile = path.resolve(opts.logFile ?? path.join(workDir, 'broker.log'));
  let child: ChildProcess | undefined;
  try {
    const [port, controllerPort, securePort] = await freePorts(opts.security ? 3 : 2);
    const propsFile = path.join(workDir, 'server.properties');
    let props = serverProperties(opts, workDir, port!, controllerPort!);
    if (opts.security) props += await secureProperties(opts.security, port!, controllerPort!, securePort!);
    await fs.writeFile(propsFile, props, { mode: 0o600 });
    await fs.mkdir(path.dirname(logFile), { recursive: true });
    await fs.writeFile(logFile, '');
    const jvm = [...jvmArgs(classpath, log4jConfig, logFile), ...(opts.extraJvmArgs ?? [])];

    await formatStorage(jvm, propsFile, scramArgs(opts.security));
    child = spawnBroker(jvm, propsFile, logFile, workDir);
    const plaintextBrokers = `127.0.0.1:${port}`;
    const brokers = opts.security ? `127.0.0.1:${securePort}` : plaintextBrokers;
    await waitUntilReady(plaintextBrokers, child, logFile, opts.startupTimeoutMs ?? 90_000, opts.logFile !== undefined);
    opts.log?.(`Kafka broker ready at ${brokers} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return new RunningBroker({ brokers, plaintextBrokers, workDir, jvm, propsFile, logFile, opts }, child);
  } catch (err) {
    if (child) await killAndWait(child);
    await fs.rm(workDir, { recursive: true, force: true });
    throw err;
  }
}

function serverProperties(opts: LocalKafkaOptions, workDir: string, port: number, controllerPort: number): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': path.join(workDir, 'data'),
    'num.partitions': String(opts.partitionsDefault ?? 1),
    'auto.create.topics.enable': String(opts.autoCreateTopics ?? true),
    // One node: every internal topic must settle for a single replica.
    'default.replication.factor': '1',
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Fewer internal partitions and no join delay make the first consumer group start in
    // well under a second instead of several.
    'offsets.topic.num.partitions': '1',
    'transaction.state.log.num.partitions': '1',
    'group.initial.rebalance.delay.ms': '0',
    ...opts.extraServerProperties,
  };
  return (
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n'
  );
}

/**
 * A SASL_SSL listener beside the PLAINTEXT one (which stays for inter-broker traffic). PEM stores
 * need no keytool: the truststore is a PEM file; the keystore is given inline because Kafka wants a
 * key password for a PEM keystore file but not for an inline, unencrypted key.
 */
async function secureProperties(
  sec: LocalKafkaSecurity,
  port: number,
  controllerPort: number,
  securePort: number,
): Promise<string> {
  const oneLine = (pem: string): string => pem.trim().split(/\r?\n/).join(' \\\n  ');
  const chain = await fs.readFile(sec.certFile, 'utf8');
  const key = await fs.readFile(sec.keyFile, 'utf8');
  const jaas = (module: string, users: readonly { name: string; password: string }[] = []): string =>
    `${module} required${users.map((u) => ` user_${u.name}="${u.password}"`).join('')};`;
  const l = 'listener.name.sasl_ssl';
  const props: Record<string, string> = {
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort},SASL_SSL://127.0.0.1:${securePort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port},SASL_SSL://127.0.0.1:${securePort}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
    [`${l}.scram-sha-512.sasl.jaas.config`]: jaas('org.apache.kafka.common.security.scram.ScramLoginModule'),
    [`${l}.scram-sha-256.sasl.jaas.config`]: jaas('org.apache.kafka.common.security.scram.ScramLoginModule'),
    [`${l}.plain.sasl.jaas.config`]: jaas('org.apache.kafka.common.security.plain.PlainLoginModule', sec.plainUsers),
    [`${l}.ssl.keystore.type`]: 'PEM',
    [`${l}.ssl.keystore.certificate.chain`]: oneLine(chain),
    [`${l}.ssl.keystore.key`]: oneLine(key),
    [`${l}.ssl.truststore.type`]: 'PEM',
    [`${l}.ssl.truststore.location`]: sec.caFile,
    [`${l}.ssl.client.auth`]: sec.clientAuth ?? 'required',
  };
  return (
    Object.entries(props)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') + '\n'
  );
}

/** `--add-scram` arguments: each user gets both SCRAM mechanisms. */
function scramArgs(sec: LocalKafkaSecurity | undefined): string[] {
  const out: string[] = [];
  for (const u of sec?.scramUsers ?? []) {
    for (const m of ['SCRAM-SHA-256', 'SCRAM-SHA-512']) {
      out.push('--add-scram', `${m}=[name="${u.name}",password="${u.password}"]`);
    }
  }
  return out;
}

/** Binds all ports at once so they are distinct, then releases them for the broker. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const srv = net.createServer();
          srv.once('error', reject);
          srv.listen(0, '127.0.0.1', () => resolve(srv));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

function jvmArgs(classpath: string, log4jConfig: string, logFile: string): string[] {
  return [
    '-Xms256m',
    '-Xmx512m',
    // A test broker is short-lived and small: the serial collector and C1-only JIT start
    // noticeably faster than G1 + C2, which matter more here than peak throughput.
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${log4jConfig}`,
    `-Dpicket.kafka.logFile=${logFile}`,
    '-cp',
    classpath,
  ];
}

function javaBin(): string {
  return process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/**
 * What `kafka-storage.sh format -t <id> -c server.properties` does. The cluster id is a random
 * 16-byte UUID in Kafka's base64url form, generated here to save a JVM start for `random-uuid`.
 * (`--standalone` is for dynamic quorums; we configure static controller.quorum.voters.)
 */
async function formatStorage(jvm: string[], propsFile: string, extraArgs: string[] = []): Promise<void> {
  // An id starting with "-" would be read as an option by the tool's argument parser.
  let clusterId = randomBytes(16).toString('base64url');
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url');
  await run('kafka-storage format', javaBin(), [
    ...jvm,
    'kafka.tools.StorageTool',
    'format',
    '-t',
    clusterId,
    '-c',
    propsFile,
    ...extraArgs,
  ]);
}

function spawnBroker(jvm: string[], propsFile: string, logFile: string, workDir: string): ChildProcess {
  // The JVM's own stdout/stderr (crash messages, anything printed before log4j is up) go to the
  // same file; both writers use O_APPEND so lines don't clobber each other.
  const out = openSync(logFile, 'a');
  try {
    const child = spawn(javaBin(), [...jvm, 'kafka.Kafka', propsFile], { stdio: ['ignore', out, out] });
    // If this Node process exits without calling stop(), don't leave an orphan broker (or its
    // temp dir) behind. Only synchronous work is possible in an 'exit' handler, hence best effort.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
      try {
        rmSync(workDir, { recursive: true, force: true });
      } catch {
        // the dying JVM may still be writing; leave it to the OS temp cleaner
      }
    };
    process.on('exit', killOnExit);
    child.once('exit', () => process.off('exit', killOnExit));
    return child;
  } finally {
    closeSync(out);
  }
}

async function waitUntilReady(
  brokers: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs: number,
  logIsKept: boolean,
): Promise<void> {
  // The default log lives in the temp dir, which is deleted on failure: quote it, don't point to it.
  const logName = logIsKept ? logFile : 'broker log';
  let waiting = true;
  const exited = exitPromise(child).then(async ({ code, signal }) => {
    if (!waiting) return false;
    const tail = await logTail(logFile);
    const msg = `Kafka broker exited during start-up (code ${code}, signal ${signal}); end of ${logName}:\n${tail}`;
    throw /BindException|Address already in use/.test(tail) ? new PortInUseError(msg) : new Error(msg);
  });
  exited.catch(() => {}); // observed via Promise.race below; avoid an unhandled rejection
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (await Promise.race([probe(brokers), exited])) return;
      await Promise.race([sleep(250), exited]);
    }
  } finally {
    waiting = false;
  }
  throw new Error(`Kafka broker not ready after ${timeoutMs} ms; end of ${logName}:\n${await logTail(logFile)}`);
}

/**
 * True once the broker is registered (unfenced), answers metadata requests and has a group
 * coordinator. Asking for a coordinator creates __consumer_offsets now, so the first consumer
 * group of a test neither waits for it nor logs "group coordinator is not available".
 */
async function probe(brokers: string): Promise<boolean> {
  const admin = new Kafka({
    clientId: 'picket-localkafka-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1000,
    requestTimeout: 2000,
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    await admin.listTopics();
    await admin.describeGroups(['picket-localkafka-probe']);
    return cluster.brokers.length > 0;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

interface BrokerSetup {
  brokers: string;
  /** The loopback PLAINTEXT listener (the readiness probe); `brokers` when no security is set. */
  plaintextBrokers: string;
  workDir: string;
  jvm: string[];
  propsFile: string;
  logFile: string;
  opts: LocalKafkaOptions;
}

/** A started broker: stop() for good, or pause() and resume() on the same ports and data. */
class RunningBroker implements LocalKafka {
  readonly brokers: string;
  readonly plaintextBrokers: string;
  readonly dataDir: string;
  /** undefined while paused (stopped); frozen while paused with SIGSTOP. */
  private child: ChildProcess | undefined;
  private frozen = false;
  private stopping: Promise<void> | undefined;
  /** pause() and resume() run one at a time, in call order. */
  private transition: Promise<void> = Promise.resolve();

  constructor(
    private readonly setup: BrokerSetup,
    child: ChildProcess,
  ) {
    this.brokers = setup.brokers;
    this.plaintextBrokers = setup.plaintextBrokers;
    this.dataDir = setup.workDir;
    this.child = child;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.transition.catch(() => undefined);
      this.thaw();
      if (this.child) await terminate(this.child, 'SIGTERM', this.setup.opts.log);
      this.child = undefined;
      await fs.rm(this.setup.workDir, { recursive: true, force: true });
      this.setup.opts.log?.('Kafka broker stopped');
    })();
    return this.stopping;
  }

  pause(opts: { signal?: PauseSignal } = {}): Promise<void> {
    return this.serialise(async () => {
      if (this.child === undefined || this.frozen) return;
      const signal = opts.signal ?? 'SIGTERM';
      if (signal === 'SIGSTOP') {
        this.child.kill('SIGSTOP');
        this.frozen = true;
        this.setup.opts.log?.(`Kafka broker at ${this.brokers} frozen (SIGSTOP)`);
        return;
      }
      await terminate(this.child, signal, this.setup.opts.log);
      this.child = undefined;
      this.setup.opts.log?.(`Kafka broker at ${this.brokers} paused (data kept in ${this.setup.workDir})`);
    });
  }

  resume(): Promise<void> {
    return this.serialise(async () => {
      const { jvm, propsFile, logFile, workDir, opts } = this.setup;
      const started = Date.now();
      if (this.child !== undefined && this.frozen) {
        this.thaw();
        await waitUntilReady(
          this.plaintextBrokers,
          this.child,
          logFile,
          opts.startupTimeoutMs ?? 90_000,
          opts.logFile !== undefined,
        );
        opts.log?.(`Kafka broker at ${this.brokers} thawed after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return;
      }
      if (this.child !== undefined) return;
      const child = spawnBroker(jvm, propsFile, logFile, workDir);
      try {
        await waitUntilReady(
          this.plaintextBrokers,
          child,
          logFile,
          opts.startupTimeoutMs ?? 90_000,
          opts.logFile !== undefined,
        );
      } catch (err) {
        await killAndWait(child);
        throw err;
      }
      this.child = child;
      opts.log?.(`Kafka broker at ${this.brokers} resumed after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
  }

  /** A frozen JVM would not act on SIGTERM, nor answer again: SIGCONT first. */
  private thaw(): void {
    if (this.frozen && this.child && isRunning(this.child)) this.child.kill('SIGCONT');
    this.frozen = false;
  }

  private serialise(work: () => Promise<void>): Promise<void> {
    if (this.stopping) return Promise.reject(new Error('the Kafka broker was stopped'));
    const next = this.transition.catch(() => undefined).then(work);
    this.transition = next;
    return next;
  }
}

/** SIGTERM (then SIGKILL after STOP_GRACE_MS), or SIGKILL at once; resolves when it has exited. */
async function terminate(
  child: ChildProcess,
  signal: 'SIGTERM' | 'SIGKILL',
  log?: (msg: string) => void,
): Promise<void> {
  if (!isRunning(child)) return;
  if (signal === 'SIGKILL') return killAndWait(child);
  child.kill('SIGTERM');
  if (!(await exitsWithin(child, STOP_GRACE_MS))) {
    log?.('Kafka broker ignored SIGTERM for 15 s, killing it');
    await killAndWait(child);
  }
}

function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

async function killAndWait(child: ChildProcess): Promise<void> {
  const exited = exitPromise(child);
  if (isRunning(child)) child.kill('SIGKILL');
  await exited;
}

/** Resolves true when the child exits within ms, false otherwise; never holds the event loop open longer. */
async function exitsWithin(child: ChildProcess, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([exitPromise(child).then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function exitPromise(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (!isRunning(child)) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

async function logTail(file: string, lines = 40): Promise<string> {
  try {
    return (await fs.readFile(file, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Runs a command to completion, keeping its output for the error message if it fails. */
function run(what: string, cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-20_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', (err) =>
      reject(new Error(`${what}: cannot run ${cmd} (installed and on PATH?): ${err.message}`)),
    );
    child.once('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${what} failed (exit ${code}):\n${output.trimEnd()}`));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
