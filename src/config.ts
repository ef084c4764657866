/**
 * One validated configuration: defaults, then an optional YAML file (`--config`), then environment
 * variables. Every setting is declared once in SETTINGS (path, env variable, type, default, doc);
 * validation, the README's reference table and `picket config` all come from that table.
 * A bad value fails at start with the key, where it came from, and what is wrong.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { DETECTION_KEYS } from './detectors/registry.js';
import { INPUT_FORMATS, type InputFormat } from './ecs/normalize/index.js';

export interface PicketConfig {
  kafka: {
    brokers: string[];
    clientId: string;
    groupId: string;
    connectionTimeoutMs: number;
    ssl: KafkaSslConfig;
    sasl: KafkaSaslConfig;
    client: KafkaClientKind;
  };
  topics: { input: string[]; output: string; deadLetter: string };
  input: {
    format: InputFormat;
    topicFormats: Record<string, InputFormat>;
    avroTopics: string[];
    maxMessageBytes: number;
  };
  avro: { schemaDir: string; registryUrl: string; alertSchemaId: number };
  consumer: {
    fromBeginning: boolean;
    sessionTimeoutMs: number;
    maxBytesPerPartition: number;
    commitIntervalMs: number;
  };
  producer: { acks: number; compression: 'none' | 'gzip' };
  http: { host: string; port: number };
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent' };
  shutdown: { graceMs: number };
  ordering: { latenessMs: number; topicLatenessMs: Record<string, number>; idleTimeoutMs: number; maxAheadMs: number };
  state: {
    maxKeys: number;
    maxEntriesPerKey: number;
    changelog: { enabled: boolean; topicPrefix: string; partitions: number };
  };
  routing: { topology: RoutingTopology; stage: RoutingStage; partitions: number };
  alerts: { dedupeWindowMs: number };
  tuning: { file: string };
  detections: {
    enabled: string[];
    rpcPairing: { mapperRetentionMs: number };
    remoteServices: { clockSkewToleranceMs: number };
    rdpSpike: { bucketSpanMs: number; scoreThreshold: number; sketchThreshold: number; maxNewSources: number };
  };
}

export interface KafkaSslConfig {
  enabled: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Resolved at load: from kafka.ssl.keyPassword or the file kafka.ssl.keyPasswordFile. */
  keyPassword: string;
  keyPasswordFile: string;
  rejectUnauthorized: boolean;
  servername: string;
}

export const SASL_MECHANISMS = ['none', 'plain', 'scram-sha-256', 'scram-sha-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

export interface KafkaSaslConfig {
  mechanism: SaslMechanism;
  username: string;
  /** Resolved at load: from kafka.sasl.password or the file kafka.sasl.passwordFile. */
  password: string;
  passwordFile: string;
}

/**
 * How keyed detections get their events (src/routing/): `routed` re-keys them through internal
 * repartition topics by join key; `direct` trusts that the input is keyed by host.id and runs the
 * host-keyed detections on the input partitions (the others are still routed).
 */
export const ROUTING_TOPOLOGIES = ['routed', 'direct'] as const;
export type RoutingTopology = (typeof ROUTING_TOPOLOGIES)[number];
/** Which stages this process runs: both (default), or one of them for separate deployments. */
export const ROUTING_STAGES = ['all', 'router', 'detector'] as const;
export type RoutingStage = (typeof ROUTING_STAGES)[number];

/** The Kafka client libraries picket can run on (src/consumers/clientFactory.ts). */
export const KAFKA_CLIENTS = ['kafkajs', 'librdkafka'] as const;
export type KafkaClientKind = (typeof KAFKA_CLIENTS)[number];

type Kind =
  | { type: 'string'; pattern?: RegExp; hint?: string; allowEmpty?: boolean }
  | { type: 'int'; min: number; max: number }
  | { type: 'bool' }
  | { type: 'enum'; values: readonly string[]; ignoreCase?: boolean }
  | { type: 'list'; item?: RegExp; hint?: string; values?: readonly string[]; nonEmpty: boolean }
  | { type: 'intMap'; key: RegExp; keyHint: string; min: number; max: number }
  | { type: 'enumMap'; key: RegExp; keyHint: string; values: readonly string[] };

export interface Setting {
  readonly path: string;
  readonly env?: readonly string[];
  readonly kind: Kind;
  readonly default: unknown;
  readonly doc: string;
  /** A secret: never printed (`picket config`, errors, logs). */
  readonly secret?: boolean;
}

const HOST_PORT = /^[^\s:,]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/;
const TOPIC = /^[a-zA-Z0-9._-]{1,249}$/;

export const SETTINGS: readonly Setting[] = [
  {
    path: 'kafka.brokers',
    env: ['KAFKA_BROKERS', 'PICKET_KAFKA_BROKERS'],
    kind: { type: 'list', item: HOST_PORT, hint: 'host:port', nonEmpty: true },
    default: ['localhost:9092'],
    doc: 'Bootstrap brokers (comma-separated in the environment).',
  },
  {
    path: 'kafka.clientId',
    env: ['PICKET_KAFKA_CLIENT_ID'],
    kind: { type: 'string', pattern: /^[\w.-]{1,128}$/, hint: 'letters, digits, ".", "_", "-"' },
    default: 'picket',
    doc: 'Kafka client id (broker logs and quotas).',
  },
  {
    path: 'kafka.groupId',
    env: ['PICKET_GROUP_ID'],
    kind: { type: 'string', pattern: /^[\w.-]{1,249}$/, hint: 'letters, digits, ".", "_", "-"' },
    default: 'picket',
    doc: 'Consumer group id. Instances with the same group share the input partitions.',
  },
  {
    path: 'kafka.connectionTimeoutMs',
    env: ['PICKET_KAFKA_CONNECTION_TIMEOUT_MS'],
    kind: { type: 'int', min: 100, max: 600000 },
    default: 10000,
    doc: 'Time to wait for a broker connection before failing.',
  },
  {
    path: 'kafka.ssl.enabled',
    env: ['KAFKA_SSL', 'PICKET_KAFKA_SSL'],
    kind: { type: 'bool' },
    default: false,
    doc: 'Connect to the brokers over TLS. The system CAs are trusted unless kafka.ssl.caFile is given.',
  },
  {
    path: 'kafka.ssl.caFile',
    env: ['KAFKA_SSL_CA_FILE', 'PICKET_KAFKA_SSL_CA_FILE'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'A PEM file of the CA certificates to trust instead of the system CAs.',
  },
  {
    path: 'kafka.ssl.certFile',
    env: ['KAFKA_SSL_CERT_FILE', 'PICKET_KAFKA_SSL_CERT_FILE'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'A PEM client certificate (chain) for mutual TLS; needs kafka.ssl.keyFile.',
  },
  {
    path: 'kafka.ssl.keyFile',
    env: ['KAFKA_SSL_KEY_FILE', 'PICKET_KAFKA_SSL_KEY_FILE'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'The PEM private key of kafka.ssl.certFile.',
  },
  {
    path: 'kafka.ssl.keyPassword',
    env: ['KAFKA_SSL_KEY_PASSWORD', 'PICKET_KAFKA_SSL_KEY_PASSWORD'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    secret: true,
    doc: 'Passphrase of an encrypted kafka.ssl.keyFile (secret: never printed).',
  },
  {
    path: 'kafka.ssl.keyPasswordFile',
    env: ['KAFKA_SSL_KEY_PASSWORD_FILE', 'PICKET_KAFKA_SSL_KEY_PASSWORD_FILE'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'A file holding kafka.ssl.keyPassword (read at start; one trailing newline is ignored).',
  },
  {
    path: 'kafka.ssl.rejectUnauthorized',
    env: ['KAFKA_SSL_REJECT_UNAUTHORIZED', 'PICKET_KAFKA_SSL_REJECT_UNAUTHORIZED'],
    kind: { type: 'bool' },
    default: true,
    doc: 'Verify the broker certificate and host name. Turn off only to try things out.',
  },
  {
    path: 'kafka.ssl.servername',
    env: ['KAFKA_SSL_SERVERNAME', 'PICKET_KAFKA_SSL_SERVERNAME'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'TLS server name (SNI) sent to every broker, when it differs from the broker host names.',
  },
  {
    path: 'kafka.sasl.mechanism',
    env: ['KAFKA_SASL_MECHANISM', 'PICKET_KAFKA_SASL_MECHANISM'],
    kind: { type: 'enum', values: SASL_MECHANISMS, ignoreCase: true },
    default: 'none',
    doc: 'SASL authentication: none, plain (only over TLS), scram-sha-256 or scram-sha-512.',
  },
  {
    path: 'kafka.sasl.username',
    env: ['KAFKA_SASL_USERNAME', 'PICKET_KAFKA_SASL_USERNAME'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'SASL user name; required with a mechanism.',
  },
  {
    path: 'kafka.sasl.password',
    env: ['KAFKA_SASL_PASSWORD', 'PICKET_KAFKA_SASL_PASSWORD'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    secret: true,
    doc: 'SASL password (secret: never printed); or kafka.sasl.passwordFile.',
  },
  {
    path: 'kafka.sasl.passwordFile',
    env: ['KAFKA_SASL_PASSWORD_FILE', 'PICKET_KAFKA_SASL_PASSWORD_FILE'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'A file holding the SASL password (read at start; one trailing newline is ignored), e.g. a mounted Secret.',
  },
  {
    path: 'kafka.client',
    env: ['PICKET_KAFKA_CLIENT'],
    kind: { type: 'enum', values: KAFKA_CLIENTS },
    default: 'kafkajs',
    doc:
      'Kafka client library: kafkajs (pure JavaScript) or librdkafka (the optional dependency ' +
      '@confluentinc/kafka-javascript, built natively at install; see "Kafka client" above).',
  },
  {
    path: 'topics.input',
    env: ['PICKET_INPUT_TOPICS'],
    kind: { type: 'list', item: TOPIC, hint: 'Kafka topic name', nonEmpty: true },
    default: ['ecs-events'],
    doc: 'Input topics carrying ECS events as JSON, one event per record.',
  },
  {
    path: 'topics.output',
    env: ['PICKET_OUTPUT_TOPIC'],
    kind: { type: 'string', pattern: TOPIC, hint: 'Kafka topic name' },
    default: 'picket-alerts',
    doc: 'Topic the alerts are published to (key: the alert host.id, else its id).',
  },
  {
    path: 'topics.deadLetter',
    env: ['PICKET_DEAD_LETTER_TOPIC'],
    kind: { type: 'string', pattern: TOPIC, hint: 'Kafka topic name' },
    default: 'picket-dead-letter',
    doc: 'Topic for records that cannot be read, with the reason and origin in headers.',
  },
  {
    path: 'input.format',
    env: ['PICKET_INPUT_FORMAT'],
    kind: { type: 'enum', values: INPUT_FORMATS },
    default: 'auto',
    doc:
      'Shape of the input records: auto (recognised per record), ecs, zeek (Zeek JSON, or Filebeat zeek ' +
      'module output before its pipeline), winlogbeat (raw winlog.event_data), nxlog (flat Windows JSON).',
  },
  {
    path: 'input.topicFormats',
    env: ['PICKET_TOPIC_INPUT_FORMATS'],
    kind: { type: 'enumMap', key: TOPIC, keyHint: 'Kafka topic name', values: INPUT_FORMATS },
    default: {},
    doc: 'Input format per topic, overriding input.format (environment: "topic=format,topic=format").',
  },
  {
    path: 'input.avroTopics',
    env: ['PICKET_AVRO_TOPICS'],
    kind: { type: 'list', item: TOPIC, hint: 'Kafka topic name', nonEmpty: false },
    default: [],
    doc:
      'Input topics whose records are Avro in the Confluent wire format (magic byte, schema id); the decoded ' +
      'record is then read with the topic input format. Schemas from avro.schemaDir and/or avro.registryUrl.',
  },
  {
    path: 'input.maxMessageBytes',
    env: ['PICKET_MAX_MESSAGE_BYTES'],
    kind: { type: 'int', min: 1024, max: 104857600 },
    default: 1048576,
    doc: 'Larger records are dead-lettered unread (reason too_large); Kafka’s own default record limit is 1 MiB.',
  },
  {
    path: 'avro.schemaDir',
    env: ['PICKET_AVRO_SCHEMA_DIR'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'A directory of Avro schemas named by id (`<id>.avsc`).',
  },
  {
    path: 'avro.registryUrl',
    env: ['PICKET_SCHEMA_REGISTRY_URL'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc: 'A Schema Registry base URL (`http://user:password@host:8081` for basic auth).',
  },
  {
    path: 'avro.alertSchemaId',
    env: ['PICKET_AVRO_ALERT_SCHEMA_ID'],
    kind: { type: 'int', min: 0, max: 2147483647 },
    default: 0,
    doc: 'When not 0, alerts are written as Avro (schemas/alert.avsc) in the wire format under this schema id.',
  },
  {
    path: 'consumer.fromBeginning',
    env: ['PICKET_FROM_BEGINNING'],
    kind: { type: 'bool' },
    default: false,
    doc: 'Where a new consumer group starts: the earliest offset (true) or new records only (false).',
  },
  {
    path: 'consumer.sessionTimeoutMs',
    env: ['PICKET_SESSION_TIMEOUT_MS'],
    kind: { type: 'int', min: 6000, max: 300000 },
    default: 30000,
    doc: 'Consumer group session timeout.',
  },
  {
    path: 'consumer.maxBytesPerPartition',
    env: ['PICKET_MAX_BYTES_PER_PARTITION'],
    kind: { type: 'int', min: 1024, max: 104857600 },
    default: 1048576,
    doc: 'Largest fetch per partition and request.',
  },
  {
    path: 'consumer.commitIntervalMs',
    env: ['PICKET_COMMIT_INTERVAL_MS'],
    kind: { type: 'int', min: 0, max: 60000 },
    default: 1000,
    doc:
      'Batches that publish nothing are committed together, at most this long apart (0: every batch). A batch ' +
      'that publishes alerts or dead letters is always committed at once.',
  },
  {
    path: 'producer.acks',
    env: ['PICKET_PRODUCER_ACKS'],
    kind: { type: 'int', min: -1, max: 1 },
    default: -1,
    doc: 'Acknowledgements an alert needs before its input offset is committed: -1 all in-sync replicas, 1 leader.',
  },
  {
    path: 'producer.compression',
    env: ['PICKET_PRODUCER_COMPRESSION'],
    kind: { type: 'enum', values: ['none', 'gzip'] },
    default: 'none',
    doc: 'Compression of alert and dead-letter records.',
  },
  {
    path: 'http.host',
    env: ['PICKET_HTTP_HOST'],
    kind: { type: 'string' },
    default: '0.0.0.0',
    doc: 'Address of the HTTP server (/metrics, /healthz, /readyz).',
  },
  {
    path: 'http.port',
    env: ['PICKET_HTTP_PORT', 'PICKET_METRICS_PORT'],
    kind: { type: 'int', min: 0, max: 65535 },
    default: 9464,
    doc: 'Port of the HTTP server; 0 picks a free port.',
  },
  {
    path: 'log.level',
    env: ['PICKET_LOG_LEVEL', 'LOG_LEVEL'],
    kind: { type: 'enum', values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] },
    default: 'info',
    doc: 'Log level of the JSON logs (on stderr).',
  },
  {
    path: 'shutdown.graceMs',
    env: ['PICKET_SHUTDOWN_GRACE_MS'],
    kind: { type: 'int', min: 1000, max: 600000 },
    default: 25000,
    doc: 'On SIGTERM: time to finish the batch, flush, commit and leave the group before exiting.',
  },
  {
    path: 'ordering.latenessMs',
    env: ['PICKET_LATENESS_MS'],
    kind: { type: 'int', min: 0, max: 3600000 },
    default: 15000,
    doc:
      'Allowed lateness of event time on an input topic: events are put in event-time order within it, and ' +
      'alerts of the correlating detections wait about this long. 15 s covers Sysmon and Elastic Defend ' +
      '(seconds) and Packetbeat (a flow report every 10 s).',
  },
  {
    path: 'ordering.topicLatenessMs',
    env: ['PICKET_TOPIC_LATENESS_MS'],
    kind: { type: 'intMap', key: TOPIC, keyHint: 'Kafka topic name', min: 0, max: 3600000 },
    default: {},
    doc:
      'Lateness per input topic, overriding ordering.latenessMs (environment: "topic=ms,topic=ms"). For Zeek ' +
      'conn logs, which are written when a connection ends, 60000 or more; late RPC endpoint flows still ' +
      'pair within detections.rpcPairing.mapperRetentionMs.',
  },
  {
    path: 'ordering.idleTimeoutMs',
    env: ['PICKET_IDLE_TIMEOUT_MS'],
    kind: { type: 'int', min: 100, max: 3600000 },
    default: 5000,
    doc:
      'Wall time without records after which a partition counts as idle: its event time then moves on with ' +
      'the wall clock, so its last events are not held back.',
  },
  {
    path: 'ordering.maxAheadMs',
    env: ['PICKET_MAX_AHEAD_MS'],
    kind: { type: 'int', min: 0, max: 31536000000 },
    default: 300000,
    doc:
      'How far event time may run ahead of the wall clock (0: no bound). An event further ahead is suspect: counted ' +
      '(picket_future_events_total) and seen by the stateless detection only, so it cannot advance the watermark ' +
      'and flush everyone else’s windows. Default 5 min, Kerberos’ clock-skew tolerance.',
  },
  {
    path: 'state.maxKeys',
    env: ['PICKET_STATE_MAX_KEYS'],
    kind: { type: 'int', min: 1, max: 100000000 },
    default: 100000,
    doc: 'Join keys each correlating detection holds per partition; past it the least recently used key is evicted (counted).',
  },
  {
    path: 'state.maxEntriesPerKey',
    env: ['PICKET_STATE_MAX_ENTRIES_PER_KEY'],
    kind: { type: 'int', min: 1, max: 1000000 },
    default: 64,
    doc: 'Entries held per join key; past it the oldest entry of the key is evicted (counted).',
  },
  {
    path: 'state.changelog.enabled',
    env: ['PICKET_STATE_CHANGELOG'],
    kind: { type: 'bool' },
    default: true,
    doc:
      'Keep learned state (the RDP spike models) in compacted changelog topics and restore it when a partition ' +
      'is assigned. false: that state lives in memory only and a restart re-learns it.',
  },
  {
    path: 'state.changelog.topicPrefix',
    env: ['PICKET_STATE_CHANGELOG_PREFIX'],
    kind: { type: 'string', pattern: /^[a-zA-Z0-9._-]{0,200}$/, hint: 'Kafka topic name characters', allowEmpty: true },
    default: '',
    doc: 'Changelog topics are named `<prefix>-<detection>-changelog`; empty: the prefix is kafka.groupId.',
  },
  {
    path: 'state.changelog.partitions',
    env: ['PICKET_STATE_CHANGELOG_PARTITIONS'],
    kind: { type: 'int', min: 0, max: 10000 },
    default: 0,
    doc:
      'Partitions of a changelog topic picket creates (0: as many as the input topic with the most). Never add ' +
      'partitions to an existing changelog: its keys would move.',
  },
  {
    path: 'routing.topology',
    env: ['PICKET_ROUTING_TOPOLOGY'],
    kind: { type: 'enum', values: ROUTING_TOPOLOGIES },
    default: 'routed',
    doc:
      'routed: the router stage re-keys what each keyed detection needs onto internal topics ' +
      '`<kafka.groupId>-<detection>-repartition` by its join key, so any input partitioning (Beats: random) gives ' +
      'the alerts of one process. direct: the input is keyed by host.id, and the host-keyed detection ' +
      '(remote_services) runs on the input partitions without the hop; the others are still routed.',
  },
  {
    path: 'routing.stage',
    env: ['PICKET_ROUTING_STAGE'],
    kind: { type: 'enum', values: ROUTING_STAGES },
    default: 'all',
    doc:
      'Stages this process runs: all; router (reads the input topics, runs rpc_to_internet, routes; consumer ' +
      'group kafka.groupId); detector (reads the repartition topics, runs the keyed detections; group ' +
      '`<kafka.groupId>-detector`). Run router and detector as separate deployments to scale them apart.',
  },
  {
    path: 'routing.partitions',
    env: ['PICKET_ROUTING_PARTITIONS'],
    kind: { type: 'int', min: 0, max: 10000 },
    default: 0,
    doc:
      'Partitions of a repartition topic picket creates (0: as many as the input topic with the most). The most ' +
      'detector instances that share the work. Never add partitions to an existing one: its keys would move.',
  },
  {
    path: 'alerts.dedupeWindowMs',
    env: ['PICKET_ALERTS_DEDUPE_WINDOW_MS'],
    kind: { type: 'int', min: 0, max: 86400000 },
    default: 600000,
    doc:
      'An alert whose event.id was published in this window (remembered as published; read back from the output ' +
      'topic whenever partitions are assigned) is not published again: the published-position check that makes ' +
      'alerts exactly-once across crashes and rebalances. 0: off.',
  },
  {
    path: 'tuning.file',
    env: ['PICKET_TUNING_FILE'],
    kind: { type: 'string', allowEmpty: true },
    default: '',
    doc:
      'Exceptions, value lists, alert suppression and per-rule settings (YAML; docs/tuning.md). Reloaded when it ' +
      'or a list file changes, or on SIGHUP; a bad file is refused and the tuning in force stays.',
  },
  {
    path: 'detections.enabled',
    env: ['PICKET_DETECTIONS'],
    kind: { type: 'list', values: DETECTION_KEYS, nonEmpty: true },
    default: [...DETECTION_KEYS],
    doc: `Detections to run: ${DETECTION_KEYS.join(', ')}.`,
  },
  {
    path: 'detections.rpcPairing.mapperRetentionMs',
    env: ['PICKET_MAPPER_RETENTION_MS'],
    kind: { type: 'int', min: 2000, max: 86400000 },
    default: 600000,
    doc: 'How long (event time) port-135 mapper flows are kept, so that an endpoint flow reported late still pairs.',
  },
  {
    path: 'detections.remoteServices.clockSkewToleranceMs',
    env: ['PICKET_CLOCK_SKEW_TOLERANCE_MS'],
    kind: { type: 'int', min: 0, max: 60000 },
    default: 0,
    doc:
      'Lets the services.exe child be logged up to this many ms before its connection (real Sysmon data shows ' +
      '15 ms). 0 is EQL exactly.',
  },
  {
    path: 'detections.rdpSpike.bucketSpanMs',
    env: ['PICKET_RDP_BUCKET_SPAN_MS'],
    kind: { type: 'int', min: 60000, max: 604800000 },
    default: 21600000,
    doc: 'Bucket of the RDP spike detection (distinct sources per destination and bucket); Elastic’s job uses 6 h.',
  },
  {
    path: 'detections.rdpSpike.scoreThreshold',
    env: ['PICKET_RDP_SCORE_THRESHOLD'],
    kind: { type: 'int', min: 1, max: 100 },
    default: 70,
    doc: 'Anomaly score (0–100, normalised per destination as Elastic does) at which an RDP spike alerts.',
  },
  {
    path: 'detections.rdpSpike.sketchThreshold',
    env: ['PICKET_RDP_SKETCH_THRESHOLD'],
    kind: { type: 'int', min: 16, max: 1000000 },
    default: 256,
    doc: 'Distinct sources per destination and bucket counted exactly; past it a HyperLogLog sketch (4 KiB).',
  },
  {
    path: 'detections.rdpSpike.maxNewSources',
    env: ['PICKET_RDP_MAX_NEW_SOURCES'],
    kind: { type: 'int', min: 0, max: 1000 },
    default: 10,
    doc: 'New sources listed in an RDP spike alert.',
  },
];

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    readonly source: string,
    reason: string,
  ) {
    super(`configuration: ${key} (${source}): ${reason}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** YAML file path (`--config`). */
  file?: string;
  env?: NodeJS.ProcessEnv;
  /** Values set by the command line or by `demo`, applied last. */
  overrides?: Record<string, unknown>;
}

export function loadConfig(opts: LoadOptions = {}): PicketConfig {
  const env = opts.env ?? process.env;
  const fileValues = opts.file === undefined ? {} : readYaml(opts.file);
  const out: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  for (const s of SETTINGS) {
    let value = s.default;
    let source = 'default';
    const fromFile = lookup(fileValues, s.path);
    if (fromFile !== undefined) {
      value = fromFile;
      source = `file ${opts.file}`;
    }
    for (const name of s.env ?? []) {
      const v = env[name];
      if (v !== undefined && v !== '') {
        value = fromEnvText(s.kind, v);
        source = `environment ${name}`;
        break;
      }
    }
    if (opts.overrides !== undefined && s.path in opts.overrides) {
      value = opts.overrides[s.path];
      source = 'command line';
    }
    assign(out, s.path, validate(s, value, source));
    sources.set(s.path, source);
  }
  const config = out as unknown as PicketConfig;
  resolveKafkaSecurity(config, (path) => sources.get(path) ?? 'default');
  return config;
}

/**
 * Cross-setting checks of TLS and SASL, and the `*File` secrets read into their settings.
 * Messages name keys and files, never a secret's value or a file's content.
 */
function resolveKafkaSecurity(config: PicketConfig, sourceOf: (path: string) => string): void {
  const { ssl, sasl } = config.kafka;
  const fail = (key: string, reason: string): never => {
    throw new ConfigError(key, sourceOf(key), reason);
  };
  ssl.keyPassword = secretFrom(ssl.keyPassword, ssl.keyPasswordFile, 'kafka.ssl.keyPassword', sourceOf);
  sasl.password = secretFrom(sasl.password, sasl.passwordFile, 'kafka.sasl.password', sourceOf);

  for (const key of ['caFile', 'certFile', 'keyFile'] as const) {
    if (ssl[key] !== '' && !ssl.enabled) {
      fail(`kafka.ssl.${key}`, 'is set but kafka.ssl.enabled is false (KAFKA_SSL=true turns TLS on)');
    }
  }
  if (ssl.certFile !== '' && ssl.keyFile === '') fail('kafka.ssl.keyFile', 'is required with kafka.ssl.certFile');
  if (ssl.keyFile !== '' && ssl.certFile === '') fail('kafka.ssl.certFile', 'is required with kafka.ssl.keyFile');
  if (ssl.keyPassword !== '' && ssl.keyFile === '') {
    fail('kafka.ssl.keyPassword', 'is set but there is no kafka.ssl.keyFile');
  }
  checkPemFile(ssl.caFile, 'kafka.ssl.caFile', 'CERTIFICATE', sourceOf);
  checkPemFile(ssl.certFile, 'kafka.ssl.certFile', 'CERTIFICATE', sourceOf);
  checkPemFile(ssl.keyFile, 'kafka.ssl.keyFile', 'PRIVATE KEY', sourceOf);

  if (sasl.mechanism === 'none') {
    if (sasl.username !== '' || sasl.password !== '') {
      const key = sasl.username !== '' ? 'kafka.sasl.username' : 'kafka.sasl.password';
      fail(key, `is set but kafka.sasl.mechanism is none (one of ${SASL_MECHANISMS.slice(1).join(', ')})`);
    }
    return;
  }
  const required = `is required with kafka.sasl.mechanism ${sasl.mechanism} (${sourceOf('kafka.sasl.mechanism')})`;
  if (sasl.username === '') throw new ConfigError('kafka.sasl.username', 'not set', required);
  if (sasl.password === '') {
    throw new ConfigError('kafka.sasl.password', 'not set', `${required}; or set kafka.sasl.passwordFile`);
  }
}

/** A PEM file must be readable and hold the expected block; the message names the path, never the content. */
export function readPemFile(file: string, key: string, label: string, source: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(key, source, `cannot read ${file} (${code})`);
  }
  // "PRIVATE KEY" also matches "RSA PRIVATE KEY", "EC PRIVATE KEY" and "ENCRYPTED PRIVATE KEY".
  if (!new RegExp(`-----BEGIN [A-Z ]*${label}-----`).test(text)) {
    throw new ConfigError(key, source, `${file} holds no PEM ${label.toLowerCase()}`);
  }
  return text;
}

function checkPemFile(file: string, key: string, label: string, sourceOf: (path: string) => string): void {
  if (file !== '') readPemFile(file, key, label, sourceOf(key));
}

/** A secret given inline or as a file path (not both); a file is read now, its last newline dropped. */
function secretFrom(inline: string, file: string, key: string, sourceOf: (path: string) => string): string {
  if (file === '') return inline;
  const fileKey = `${key}File`;
  if (inline !== '') {
    throw new ConfigError(fileKey, sourceOf(fileKey), `set either ${key} or ${fileKey}, not both`);
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new ConfigError(fileKey, sourceOf(fileKey), `cannot read ${file} (${code})`);
  }
  const value = text.replace(/\r?\n$/, '');
  if (value === '') throw new ConfigError(fileKey, sourceOf(fileKey), `${file} is empty`);
  return value;
}

/** The secrets of a configuration (non-empty), for scrubbing them from anything printed. */
export function secretValues(config: PicketConfig): string[] {
  const out = [config.kafka.sasl.password, config.kafka.ssl.keyPassword];
  const registryPassword = urlPassword(config.avro.registryUrl);
  if (registryPassword !== undefined) out.push(registryPassword);
  return out.filter((s) => s !== '');
}

function urlPassword(url: string): string | undefined {
  if (url === '') return undefined;
  try {
    const p = new URL(url).password;
    return p === '' ? undefined : decodeURIComponent(p);
  } catch {
    return undefined;
  }
}

/** The configuration as `picket config` prints it: secrets replaced by "<redacted>". */
export function redactedConfig(config: PicketConfig): PicketConfig {
  const copy = structuredClone(config) as unknown as Record<string, unknown>;
  for (const s of SETTINGS) {
    if (s.secret !== true) continue;
    if (lookup(copy, s.path) !== '') assign(copy, s.path, REDACTED);
  }
  const out = copy as unknown as PicketConfig;
  if (urlPassword(out.avro.registryUrl) !== undefined) {
    const u = new URL(out.avro.registryUrl);
    u.password = 'redacted';
    out.avro.registryUrl = u.toString();
  }
  return out;
}

export const REDACTED = '<redacted>';

function readYaml(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('--config', file, `cannot read: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError('--config', file, `not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError('--config', file, 'must be a YAML mapping');
  }
  rejectUnknownKeys(doc as Record<string, unknown>, '', file);
  return doc as Record<string, unknown>;
}

/** A typo in a key must not silently fall back to a default. */
function rejectUnknownKeys(node: Record<string, unknown>, prefix: string, file: string): void {
  for (const [k, v] of Object.entries(node)) {
    const path = prefix === '' ? k : `${prefix}.${k}`;
    const exact = SETTINGS.some((s) => s.path === path);
    const parent = SETTINGS.some((s) => s.path.startsWith(`${path}.`));
    if (exact) continue;
    if (parent && v !== null && typeof v === 'object' && !Array.isArray(v)) {
      rejectUnknownKeys(v as Record<string, unknown>, path, file);
      continue;
    }
    const known = SETTINGS.map((s) => s.path).filter((p) => p.startsWith(prefix));
    throw new ConfigError(path, `file ${file}`, `unknown setting; known: ${known.join(', ')}`);
  }
}

function lookup(obj: Record<string, unknown>, path: string): unknown {
  let node: unknown = obj;
  for (const part of path.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return node;
}

function assign(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = obj;
  for (const part of parts.slice(0, -1)) {
    node[part] ??= {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts[parts.length - 1]!] = value;
}

function fromEnvText(kind: Kind, text: string): unknown {
  switch (kind.type) {
    case 'list':
      return text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0);
    case 'intMap':
    case 'enumMap': {
      const out: Record<string, unknown> = {};
      for (const pair of text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0)) {
        const eq = pair.lastIndexOf('=');
        if (eq <= 0) return text;
        const v = pair.slice(eq + 1).trim();
        out[pair.slice(0, eq).trim()] = kind.type === 'intMap' && /^-?\d+$/.test(v) ? Number(v) : v;
      }
      return out;
    }
    case 'int':
      return /^-?\d+$/.test(text.trim()) ? Number(text.trim()) : text;
    case 'bool':
      return /^(true|1|yes)$/i.test(text) ? true : /^(false|0|no)$/i.test(text) ? false : text;
    default:
      return text;
  }
}

function validate(s: Setting, value: unknown, source: string): unknown {
  const fail = (reason: string): never => {
    const got = s.secret === true ? REDACTED : JSON.stringify(value);
    throw new ConfigError(s.path, source, `${reason} (got ${got})`);
  };
  const k = s.kind;
  switch (k.type) {
    case 'string':
      if (typeof value === 'string' && value.length === 0 && k.allowEmpty === true) return value;
      if (typeof value !== 'string' || value.length === 0) return fail('must be a non-empty string');
      if (k.pattern !== undefined && !k.pattern.test(value)) return fail(`must be ${k.hint ?? k.pattern}`);
      return value;
    case 'int':
      if (typeof value !== 'number' || !Number.isInteger(value)) return fail('must be an integer');
      if (value < k.min || value > k.max) return fail(`must be between ${k.min} and ${k.max}`);
      return value;
    case 'bool':
      if (typeof value !== 'boolean') return fail('must be true or false');
      return value;
    case 'enum': {
      const v = typeof value === 'string' && k.ignoreCase === true ? value.toLowerCase() : value;
      if (typeof v !== 'string' || !k.values.includes(v)) return fail(`must be one of ${k.values.join(', ')}`);
      return v;
    }
    case 'list': {
      const list = typeof value === 'string' ? [value] : value;
      if (!Array.isArray(list)) return fail('must be a list');
      if (k.nonEmpty && list.length === 0) return fail('must not be empty');
      for (const item of list) {
        if (typeof item !== 'string') return fail('must be a list of strings');
        if (k.item !== undefined && !k.item.test(item)) return fail(`"${item}" is not a ${k.hint ?? 'valid item'}`);
        if (k.values !== undefined && !k.values.includes(item)) {
          return fail(`"${item}" is not one of ${k.values.join(', ')}`);
        }
      }
      return [...new Set(list as string[])];
    }
    case 'intMap': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return fail(`must be a mapping of ${k.keyHint} to an integer`);
      }
      const out: Record<string, number> = {};
      for (const [key, v] of Object.entries(value)) {
        if (!k.key.test(key)) return fail(`"${key}" is not a ${k.keyHint}`);
        if (typeof v !== 'number' || !Number.isInteger(v) || v < k.min || v > k.max) {
          return fail(`"${key}" must map to an integer between ${k.min} and ${k.max}`);
        }
        out[key] = v;
      }
      return out;
    }
    case 'enumMap': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        return fail(`must be a mapping of ${k.keyHint} to one of ${k.values.join(', ')}`);
      }
      const out: Record<string, string> = {};
      for (const [key, v] of Object.entries(value)) {
        if (!k.key.test(key)) return fail(`"${key}" is not a ${k.keyHint}`);
        if (typeof v !== 'string' || !k.values.includes(v)) {
          return fail(`"${key}" must map to one of ${k.values.join(', ')}`);
        }
        out[key] = v;
      }
      return out;
    }
  }
}

/** The input format that applies to one input topic. */
export function inputFormatFor(config: PicketConfig, topic: string): InputFormat {
  return config.input.topicFormats[topic] ?? config.input.format;
}

/** The lateness that applies to one input topic. */
export function latenessFor(config: PicketConfig, topic: string): number {
  return config.ordering.topicLatenessMs[topic] ?? config.ordering.latenessMs;
}

/** The configuration reference as a Markdown table (README, `picket config --reference`). */
export function configReference(): string {
  const rows = SETTINGS.map((s) => {
    const env = (s.env ?? []).map((e) => `\`${e}\``).join(', ');
    return `| \`${s.path}\` | ${env} | \`${JSON.stringify(s.default)}\` | ${s.doc} |`;
  });
  return ['| key | environment | default | meaning |', '|---|---|---|---|', ...rows].join('\n');
}
