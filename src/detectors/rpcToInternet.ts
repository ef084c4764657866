/**
 * D1 · RPC (Remote Procedure Call) to the Internet — Elastic rule 32923416-…, ported as
 * detections.md specifies: stateless, one alert per matching document.
 */
import { datasetIs, type EcsEvent } from '../ecs/event.js';
import { field } from '../ecs/fields.js';
import { CidrSet, ips } from '../ecs/ip.js';
import { pickSubtrees } from '../ecs/nest.js';
import { keywordEquals, keywordIn, numberEquals } from '../ecs/values.js';
import type { Interest } from '../ecs/interest.js';
import type { Detection, Emit } from './detection.js';
import type { RuleMeta } from './rule.js';

export const RPC_TO_INTERNET_RULE: RuleMeta = {
  id: '32923416-763a-4531-bb35-f33b9232ecdb',
  name: 'RPC (Remote Procedure Call) to the Internet',
  description:
    'A private source opened an RPC connection (TCP port 135, or a Zeek DCE-RPC record) to an address ' +
    'outside the private and reserved ranges. RPC should almost never cross to the Internet: it is a common ' +
    'initial-access and backdoor vector.',
  severity: 'high',
  riskScore: 73,
  version: '111',
  author: ['Elastic', 'picket'],
  license: 'Elastic License v2',
  references: [
    'https://github.com/elastic/detection-rules/blob/main/rules/network/initial_access_rpc_remote_procedure_call_to_the_internet.toml',
    'https://www.iana.org/assignments/iana-ipv4-special-registry/iana-ipv4-special-registry.xhtml',
  ],
  threat: [
    {
      tactic: { id: 'TA0001', name: 'Initial Access' },
      techniques: [{ id: 'T1190', name: 'Exploit Public-Facing Application' }],
    },
    {
      tactic: { id: 'TA0008', name: 'Lateral Movement' },
      techniques: [
        {
          id: 'T1021',
          name: 'Remote Services',
          subtechniques: [{ id: 'T1021.003', name: 'Distributed Component Object Model' }],
        },
      ],
    },
  ],
};

/** `source.ip` must be in one of these (RFC 1918). */
export const PRIVATE_SOURCE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] as const;

/** `destination.ip` must be in none of these; the rule's list, verbatim. */
export const NON_INTERNET_DESTINATION_RANGES = [
  '10.0.0.0/8',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.0.0.0/29',
  '192.0.0.8/32',
  '192.0.0.9/32',
  '192.0.0.10/32',
  '192.0.0.170/32',
  '192.0.0.171/32',
  '192.0.2.0/24',
  '192.31.196.0/24',
  '192.52.193.0/24',
  '192.168.0.0/16',
  '192.88.99.0/24',
  '224.0.0.0/4',
  '100.64.0.0/10',
  '192.175.48.0/24',
  '198.18.0.0/15',
  '198.51.100.0/24',
  '203.0.113.0/24',
  '240.0.0.0/4',
  '::1',
  'fe80::/10',
  'ff00::/8',
] as const;

const NETWORK_CATEGORIES: ReadonlySet<string> = new Set(['network', 'network_traffic']);
const EVENT_CATEGORY = field('event.category');
const NETWORK_TRANSPORT = field('network.transport');
const DESTINATION_PORT = field('destination.port');
const SOURCE_IP = field('source.ip');
const DESTINATION_IP = field('destination.ip');
const ENTITY_FIELDS = ['host', 'source', 'destination', 'network', 'process', 'user'] as const;
const TCP = { field: 'network.transport', op: 'keyword_eq', value: 'tcp' } as const;

export class RpcToInternetDetector implements Detection {
  readonly rule = RPC_TO_INTERNET_RULE;
  readonly key = 'rpc_to_internet';
  private readonly privateSources = new CidrSet(PRIVATE_SOURCE_RANGES);
  private readonly nonInternet = new CidrSet(NON_INTERNET_DESTINATION_RANGES);
  /** matches() needs tcp, and port 135 or a Zeek DCE-RPC record. */
  readonly interest: Interest = [
    [TCP, { field: 'destination.port', op: 'number_eq', value: 135 }],
    [TCP, { field: 'event.dataset', op: 'keyword_eq', value: 'zeek.dce_rpc' }],
    [TCP, { field: 'data_stream.dataset', op: 'keyword_eq', value: 'zeek.dce_rpc' }],
  ];

  /** The rule's query, clause by clause; cheapest and most selective checks first. */
  matches(doc: EcsEvent['doc']): boolean {
    if (!keywordEquals(doc, NETWORK_TRANSPORT, 'tcp')) return false;
    if (!(numberEquals(doc, DESTINATION_PORT, 135) || datasetIs(doc, 'zeek.dce_rpc'))) return false;
    if (!(datasetIs(doc, 'network_traffic.flow') || keywordIn(doc, EVENT_CATEGORY, NETWORK_CATEGORIES))) {
      return false;
    }
    if (!ips(doc, SOURCE_IP).some((ip) => this.privateSources.contains(ip))) return false;
    // Lucene negation: a missing (or unparsable) destination.ip passes.
    return !ips(doc, DESTINATION_IP).some((ip) => this.nonInternet.contains(ip));
  }

  onEvent(event: EcsEvent, emit: Emit): void {
    if (!this.matches(event.doc)) return;
    emit({ rule: this.rule, events: [event], entities: pickSubtrees(event.doc, ENTITY_FIELDS) });
  }
}
