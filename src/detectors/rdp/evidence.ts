/**
 * What counts as an RDP connection for D4 (detections.md, D4), and its two ends:
 *
 * - network: a network event (`event.category` network or network_traffic, or a connection-record
 *   dataset) with `network.transport == "tcp"` and `destination.port == 3389`; source =
 *   `source.ip`, destination = `destination.ip`. Zeek's `rdp` protocol log counts: each record is one
 *   RDP connection, and a repeated (source, destination) pair counts once anyway.
 * - logon: Windows Security `event.code == "4624"` with logon type 10 (`winlog.event_data.LogonType`
 *   "10" or 10, or Winlogbeat's `winlog.logon.type` "RemoteInteractive"); source = `source.ip`, else
 *   `winlog.event_data.IpAddress`; destination = the first `host.ip`.
 * - defend: an Elastic Defend process event (`event.category` process) with
 *   `process.Ext.session_info.logon_type == "RemoteInteractive"`; source =
 *   `process.Ext.session_info.client_address`, destination = the first `host.ip`. This is the event
 *   Elastic's transform turns into RDP sessions (reference/rules.md §B.3).
 *
 * Keyword conditions hold when any element of an array matches; "first" means the first parsable
 * address (an unparsable value is missing). Elastic's transform takes `doc['host.ip'][0]`, the
 * smallest address in Elasticsearch's sorted doc values; picket takes the first as written, as
 * detections.md says. Elastic counts a session once, in the bucket of its first process event;
 * picket counts each (source, destination) once per bucket, whichever event shows it, so a session
 * that spans two buckets counts in both.
 */
import type { JsonObject } from '../../ecs/fields.js';
import type { Interest } from '../../ecs/interest.js';
import { toKeyword, toNumber } from '../../ecs/values.js';
import { canonicalAddress, isAddress } from './address.js';
import { FastField, NOT_FOUND } from './fieldReader.js';

export type RdpEvidenceKind = 'network' | 'logon' | 'defend';

export interface RdpEvidence {
  readonly kind: RdpEvidenceKind;
  /** Canonical address text (address.ts). */
  readonly source: string;
  readonly destination: string;
}

export const RDP_PORT = 3389;

const DESTINATION_PORT = new FastField('destination.port');
const NETWORK_TRANSPORT = new FastField('network.transport');
const EVENT_CATEGORY = new FastField('event.category');
const EVENT_DATASET = new FastField('event.dataset');
const DATA_STREAM_DATASET = new FastField('data_stream.dataset');
const EVENT_CODE = new FastField('event.code');
const LOGON_TYPE_DATA = new FastField('winlog.event_data.LogonType');
const LOGON_TYPE = new FastField('winlog.logon.type');
const DEFEND_LOGON_TYPE = new FastField('process.Ext.session_info.logon_type');
const DEFEND_CLIENT = new FastField('process.Ext.session_info.client_address');
const SOURCE_IP = new FastField('source.ip');
const DESTINATION_IP = new FastField('destination.ip');
const IP_ADDRESS = new FastField('winlog.event_data.IpAddress');
const HOST_IP = new FastField('host.ip');

const isRdpPort = (v: unknown): boolean => toNumber(v) === RDP_PORT;
const isTcp = (v: unknown): boolean => toKeyword(v) === 'tcp';
const isNetworkCategory = (v: unknown): boolean => {
  const k = toKeyword(v);
  return k === 'network' || k === 'network_traffic';
};
const isConnectionDataset = (v: unknown): boolean => {
  const k = toKeyword(v);
  return k === 'network_traffic.flow' || k === 'zeek.connection';
};
const isProcessCategory = (v: unknown): boolean => toKeyword(v) === 'process';
const isLogonCode = (v: unknown): boolean => toKeyword(v) === '4624';
const isRemoteInteractiveType = (v: unknown): boolean => toKeyword(v) === '10';
const isRemoteInteractive = (v: unknown): boolean => toKeyword(v) === 'RemoteInteractive';

/** mayBeRdpEvidence as field tests (Detection.interest): exactly its three alternatives. */
export const RDP_EVIDENCE_INTEREST: Interest = [
  [{ field: 'destination.port', op: 'number_eq', value: RDP_PORT }],
  [{ field: 'event.code', op: 'keyword_eq', value: '4624' }],
  [{ field: 'process.Ext.session_info.logon_type', op: 'keyword_eq', value: 'RemoteInteractive' }],
];

/**
 * Cheap, allocation-free prefilter: could this document be RDP evidence? True for every document
 * `extractRdpEvidence` accepts; false for nearly every other one (one to three field probes).
 */
export function mayBeRdpEvidence(doc: JsonObject): boolean {
  return (
    DESTINATION_PORT.some(doc, isRdpPort) ||
    EVENT_CODE.some(doc, isLogonCode) ||
    DEFEND_LOGON_TYPE.some(doc, isRemoteInteractive)
  );
}

function firstAddress(doc: JsonObject, f: FastField): string | undefined {
  const v = f.find(doc, isAddress);
  return v === NOT_FOUND ? undefined : canonicalAddress(v);
}

function networkEvidence(doc: JsonObject): RdpEvidence | undefined {
  if (!DESTINATION_PORT.some(doc, isRdpPort) || !NETWORK_TRANSPORT.some(doc, isTcp)) return undefined;
  const isNetwork =
    EVENT_CATEGORY.some(doc, isNetworkCategory) ||
    EVENT_DATASET.some(doc, isConnectionDataset) ||
    DATA_STREAM_DATASET.some(doc, isConnectionDataset);
  if (!isNetwork) return undefined;
  const source = firstAddress(doc, SOURCE_IP);
  const destination = firstAddress(doc, DESTINATION_IP);
  if (source === undefined || destination === undefined) return undefined;
  return { kind: 'network', source, destination };
}

function logonEvidence(doc: JsonObject): RdpEvidence | undefined {
  if (!EVENT_CODE.some(doc, isLogonCode)) return undefined;
  if (!LOGON_TYPE_DATA.some(doc, isRemoteInteractiveType) && !LOGON_TYPE.some(doc, isRemoteInteractive))
    return undefined;
  const source = firstAddress(doc, SOURCE_IP) ?? firstAddress(doc, IP_ADDRESS);
  const destination = firstAddress(doc, HOST_IP);
  if (source === undefined || destination === undefined) return undefined;
  return { kind: 'logon', source, destination };
}

function defendEvidence(doc: JsonObject): RdpEvidence | undefined {
  if (!DEFEND_LOGON_TYPE.some(doc, isRemoteInteractive) || !EVENT_CATEGORY.some(doc, isProcessCategory))
    return undefined;
  const source = firstAddress(doc, DEFEND_CLIENT);
  const destination = firstAddress(doc, HOST_IP);
  if (source === undefined || destination === undefined) return undefined;
  return { kind: 'defend', source, destination };
}

/** The RDP connection this document shows, or undefined when it shows none. */
export function extractRdpEvidence(doc: JsonObject): RdpEvidence | undefined {
  return networkEvidence(doc) ?? logonEvidence(doc) ?? defendEvidence(doc);
}
