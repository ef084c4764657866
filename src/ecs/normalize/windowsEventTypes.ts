/**
 * The ECS classification of Windows event ids, as the Elastic `windows` (Sysmon) and `system`
 * (Security) ingest pipelines set it. Only ids seen in the shared datasets are listed, each
 * checked against their ECS conversion; an id not listed gets no category.
 */

export interface EventKind {
  readonly category: readonly string[];
  readonly type: readonly string[];
  readonly outcome?: string;
}

const PROCESS_CHANGE: EventKind = { category: ['process'], type: ['change'] };
const REGISTRY_CHANGE: EventKind = { category: ['configuration', 'registry'], type: ['change'] };
const FILE_CREATION: EventKind = { category: ['file'], type: ['creation'] };
const FILE_ACCESS: EventKind = { category: ['file'], type: ['access'] };
const FILE_DELETION: EventKind = { category: ['file'], type: ['deletion'] };
const PROCESS_ACCESS: EventKind = { category: ['process'], type: ['access'] };

export const SYSMON_EVENTS: Readonly<Record<string, EventKind>> = {
  1: { category: ['process'], type: ['start'] },
  2: { category: ['file'], type: ['change'] },
  3: { category: ['network'], type: ['connection', 'start', 'protocol'] },
  4: PROCESS_CHANGE,
  5: { category: ['process'], type: ['end'] },
  7: PROCESS_CHANGE,
  8: PROCESS_CHANGE,
  9: PROCESS_ACCESS,
  10: PROCESS_ACCESS,
  11: FILE_CREATION,
  12: REGISTRY_CHANGE,
  13: REGISTRY_CHANGE,
  14: REGISTRY_CHANGE,
  15: FILE_ACCESS,
  16: { category: ['configuration'], type: ['change'] },
  17: FILE_CREATION,
  18: FILE_ACCESS,
  22: { category: ['network'], type: ['connection', 'protocol', 'info'] },
  23: FILE_DELETION,
  24: PROCESS_CHANGE,
  26: FILE_DELETION,
};

const LOGON: EventKind = { category: ['authentication'], type: ['start'] };
const SHARE_ACCESS: EventKind = { category: ['network', 'file'], type: ['info', 'access'] };

export const SECURITY_EVENTS: Readonly<Record<string, EventKind>> = {
  4624: { ...LOGON, outcome: 'success' },
  4625: { ...LOGON, outcome: 'failure' },
  4634: { category: ['authentication'], type: ['end'] },
  4648: LOGON,
  4672: { category: ['iam'], type: ['admin'] },
  4688: { category: ['process'], type: ['start'] },
  4689: { category: ['process'], type: ['end'] },
  4697: { category: ['iam', 'configuration'], type: ['admin', 'change'] },
  4698: { category: ['iam', 'configuration'], type: ['creation', 'admin'] },
  4702: { category: ['iam', 'configuration'], type: ['change', 'admin'] },
  4768: LOGON,
  4769: LOGON,
  4776: LOGON,
  5140: SHARE_ACCESS,
  5145: SHARE_ACCESS,
};

/** `winlog.logon.type` for a 4624/4625 `LogonType`, as Winlogbeat's security module names it. */
export const LOGON_TYPES: Readonly<Record<string, string>> = {
  '2': 'Interactive',
  '3': 'Network',
  '4': 'Batch',
  '5': 'Service',
  '7': 'Unlock',
  '8': 'NetworkCleartext',
  '9': 'NewCredentials',
  '10': 'RemoteInteractive',
  '11': 'CachedInteractive',
  '12': 'CachedRemoteInteractive',
  '13': 'CachedUnlock',
};
