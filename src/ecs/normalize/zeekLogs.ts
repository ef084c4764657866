/**
 * What picket knows of each Zeek log: the ECS classification the Filebeat `zeek` module gives it
 * (reference/rules.md §D.3; the datasets README, "How the ECS conversion maps the data"), the
 * log-specific fields kept under `zeek.<log>`, and the fields that betray a log when a record
 * does not name its log (Zeek's Kafka writer and `json-streaming-logs` name it in `_path`; the
 * APT29 recordings in `@stream`; a plain JSON log file names it only in its file name).
 */
import type { JsonObject } from '../fields.js';

export interface ZeekLogSpec {
  /** `event.dataset`: `zeek.<log>`, except conn which Filebeat calls `zeek.connection`. */
  readonly dataset: string;
  readonly category?: readonly string[];
  readonly type?: readonly string[];
  /** `network.transport`: fixed as the Filebeat module sets it, or `proto` (conn, dns). */
  readonly transport?: 'tcp' | 'proto';
  /** `network.protocol`: fixed, or `service` (conn). */
  readonly protocol?: string;
  /** Fields copied under `zeek.<name>` (the conversion keeps these and no others). */
  readonly keep: readonly string[];
  /** The field copied to `event.action`. */
  readonly action?: string;
  /** Fields whose presence identifies the log (any one suffices). */
  readonly markers: readonly string[];
}

const NETWORK = ['network'] as const;

export const ZEEK_LOGS: Readonly<Record<string, ZeekLogSpec>> = {
  conn: {
    dataset: 'zeek.connection',
    category: NETWORK,
    transport: 'proto',
    keep: ['history', 'missed_bytes'],
    markers: ['conn_state', 'history', 'orig_ip_bytes', 'resp_ip_bytes', 'orig_pkts', 'tunnel_parents'],
  },
  dce_rpc: {
    dataset: 'zeek.dce_rpc',
    category: NETWORK,
    type: ['connection', 'protocol', 'info'],
    transport: 'tcp',
    protocol: 'dce_rpc',
    keep: ['endpoint', 'operation', 'named_pipe', 'rtt'],
    action: 'operation',
    markers: ['endpoint', 'operation', 'named_pipe'],
  },
  rdp: {
    dataset: 'zeek.rdp',
    category: NETWORK,
    type: ['protocol', 'info'],
    transport: 'tcp',
    protocol: 'rdp',
    keep: ['cookie', 'result', 'security_protocol'],
    markers: ['cookie', 'security_protocol', 'keyboard_layout', 'client_build', 'requested_color_depth', 'cert_count'],
  },
  ntlm: {
    dataset: 'zeek.ntlm',
    category: ['authentication', 'network'],
    type: ['info', 'connection'],
    transport: 'tcp',
    protocol: 'ntlm',
    keep: ['success', 'server_nb_computer_name', 'server_dns_computer_name'],
    markers: ['server_nb_computer_name', 'server_dns_computer_name', 'server_tree_name', 'domainname'],
  },
  kerberos: {
    dataset: 'zeek.kerberos',
    category: NETWORK,
    type: ['connection', 'protocol', 'authentication'],
    transport: 'tcp',
    protocol: 'kerberos',
    keep: ['request_type', 'client', 'service', 'success', 'error_msg'],
    action: 'request_type',
    markers: ['request_type', 'till', 'forwardable', 'renewable', 'client_cert_subject', 'auth_ticket'],
  },
  smb_mapping: {
    dataset: 'zeek.smb_mapping',
    category: NETWORK,
    type: ['connection', 'protocol'],
    transport: 'tcp',
    protocol: 'smb',
    keep: ['path', 'share_type'],
    markers: ['share_type', 'native_file_system'],
  },
  dns: {
    dataset: 'zeek.dns',
    category: NETWORK,
    type: ['connection', 'protocol', 'info'],
    transport: 'proto',
    protocol: 'dns',
    keep: ['query', 'qtype_name', 'rcode_name'],
    markers: ['trans_id', 'qtype', 'qclass', 'rcode', 'answers'],
  },
  http: {
    dataset: 'zeek.http',
    category: ['network', 'web'],
    type: ['connection', 'protocol', 'info'],
    transport: 'tcp',
    protocol: 'http',
    keep: ['status_code'],
    markers: ['trans_depth', 'method', 'uri', 'status_code', 'user_agent'],
  },
  ssl: {
    dataset: 'zeek.ssl',
    category: NETWORK,
    type: ['connection', 'protocol'],
    transport: 'tcp',
    protocol: 'tls',
    keep: ['version', 'established'],
    markers: ['established', 'server_name', 'curve', 'resumed', 'cert_chain_fps', 'ssl_history'],
  },
  files: {
    dataset: 'zeek.files',
    category: ['file'],
    type: ['info'],
    keep: ['fuid', 'mime_type', 'source'],
    markers: ['fuid', 'tx_hosts', 'rx_hosts', 'seen_bytes', 'total_bytes'],
  },
  pe: {
    dataset: 'zeek.pe',
    category: ['file'],
    type: ['info'],
    keep: ['id', 'machine', 'os'],
    markers: ['machine', 'compile_ts', 'subsystem', 'is_exe', 'section_names'],
  },
  weird: { dataset: 'zeek.weird', keep: ['name'], markers: ['notice', 'peer', 'addl'] },
  x509: { dataset: 'zeek.x509', keep: ['fingerprint'], markers: ['fingerprint', 'certificate.version'] },
  analyzer: {
    dataset: 'zeek.analyzer',
    keep: ['analyzer_name', 'cause'],
    markers: ['analyzer_name', 'analyzer_kind', 'failure_reason'],
  },
  packet_filter: { dataset: 'zeek.packet_filter', keep: ['filter'], markers: ['filter', 'init'] },
};

const hasOwn = Object.prototype.hasOwnProperty;

/** Logs in the order their markers are tried: specific markers before generic ones. */
const INFERENCE_ORDER = [
  'conn',
  'dce_rpc',
  'rdp',
  'ntlm',
  'kerberos',
  'smb_mapping',
  'dns',
  'http',
  'ssl',
  'files',
  'pe',
  'x509',
  'analyzer',
  'packet_filter',
  'weird',
] as const;

/**
 * The log a record belongs to, from the fields present. Undefined when nothing betrays it (an
 * APT29 kerberos record holding only its connection id, for example).
 */
export function inferZeekLog(record: JsonObject): string | undefined {
  for (const name of INFERENCE_ORDER) {
    for (const m of ZEEK_LOGS[name]!.markers) if (hasOwn.call(record, m)) return name;
  }
  return undefined;
}

/** The spec of a named log, or a bare one (dataset only) for a log picket does not know. */
export function zeekLogSpec(name: string): ZeekLogSpec {
  if (hasOwn.call(ZEEK_LOGS, name)) return ZEEK_LOGS[name]!;
  return { dataset: `zeek.${name}`, keep: [], markers: [] };
}

/** Filebeat's `event.type` for a connection state (its connection pipeline's table). */
export const CONN_STATE_TYPES: Readonly<Record<string, readonly string[]>> = {
  S0: ['connection', 'start'],
  S1: ['connection', 'start'],
  SF: ['connection', 'start', 'end'],
  REJ: ['connection', 'start', 'denied'],
  S2: ['connection', 'info'],
  S3: ['connection', 'info'],
  RSTO: ['connection', 'info'],
  RSTR: ['connection', 'info'],
  RSTOS0: ['connection', 'info'],
  RSTRH: ['connection', 'info'],
  SH: ['connection', 'info'],
  SHR: ['connection', 'info'],
  OTH: ['connection', 'info'],
};
