/**
 * Every detection picket knows, by key. A new detection is a file in this folder and a line here.
 */
import type { PicketConfig } from '../config.js';
import type { Detection, DetectionContext, DetectionSettings, StateLimits } from './detection.js';
import { RemoteServicesDetector } from './remoteServices.js';
import { RpcPairingDetector } from './rpcPairing.js';
import { RdpSpikeDetector } from './rdpSpike.js';
import { RpcToInternetDetector } from './rpcToInternet.js';

export interface DetectionFactory {
  readonly key: string;
  readonly create: (ctx: DetectionContext) => Detection;
}

export const DETECTIONS: readonly DetectionFactory[] = [
  { key: 'rpc_to_internet', create: () => new RpcToInternetDetector() },
  { key: 'rpc_pairing', create: (ctx) => new RpcPairingDetector(ctx) },
  { key: 'rdp_spike', create: (ctx) => new RdpSpikeDetector(ctx) },
  { key: 'remote_services', create: (ctx) => new RemoteServicesDetector(ctx) },
];

export const DETECTION_KEYS: readonly string[] = DETECTIONS.map((d) => d.key);

export interface DetectionOptions {
  readonly limits: StateLimits;
  readonly settings: DetectionSettings;
  /** Evictions of every detection, labelled with its key. */
  readonly onEviction?: (detection: string, reason: string, count: number) => void;
}

/** Bounds and settings used when the caller gives none (tests, replay without configuration). */
export const DEFAULT_DETECTION_OPTIONS: DetectionOptions = {
  limits: { maxKeys: 100_000, maxEntriesPerKey: 64 },
  settings: { mapperRetentionMs: 600_000, clockSkewToleranceMs: 0 },
};

/** The detection options of a configuration (`state.*` bounds, `detections.*` settings). */
export function detectionOptionsFrom(
  config: PicketConfig,
  extra: { trackChanges?: boolean; onEviction?: DetectionOptions['onEviction'] } = {},
): DetectionOptions {
  return {
    limits: { maxKeys: config.state.maxKeys, maxEntriesPerKey: config.state.maxEntriesPerKey },
    settings: {
      mapperRetentionMs: config.detections.rpcPairing.mapperRetentionMs,
      clockSkewToleranceMs: config.detections.remoteServices.clockSkewToleranceMs,
      rdpSpike: { ...config.detections.rdpSpike, trackChanges: extra.trackChanges ?? false },
    },
    ...(extra.onEviction !== undefined ? { onEviction: extra.onEviction } : {}),
  };
}

/** A fresh set of detections (each partition or replayed file gets its own state). */
export function createDetections(
  enabled: readonly string[] = DETECTION_KEYS,
  opts: DetectionOptions = DEFAULT_DETECTION_OPTIONS,
): Detection[] {
  return DETECTIONS.filter((d) => enabled.includes(d.key)).map((d) =>
    d.create({
      limits: opts.limits,
      settings: opts.settings,
      countEviction: (reason, count = 1) => opts.onEviction?.(d.key, reason, count),
    }),
  );
}
