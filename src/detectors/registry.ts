/**
 * Every detection picket knows, by key. A new detection is a file in this folder and a line here.
 */
import type { Detection, DetectionContext } from './detection.js';
import { RpcToInternetDetector } from './rpcToInternet.js';

export interface DetectionFactory {
  readonly key: string;
  readonly create: (ctx: DetectionContext) => Detection;
}

export const DETECTIONS: readonly DetectionFactory[] = [
  { key: 'rpc_to_internet', create: () => new RpcToInternetDetector() },
];

export const DETECTION_KEYS: readonly string[] = DETECTIONS.map((d) => d.key);

/** Bounds used when the caller gives none (tests, replay without configuration). */
export const DEFAULT_DETECTION_CONTEXT: DetectionContext = {
  limits: { maxKeys: 100_000, maxEntriesPerKey: 64 },
  countEviction: () => undefined,
};

/** A fresh set of detections (each partition or replayed file gets its own state). */
export function createDetections(
  enabled: readonly string[] = DETECTION_KEYS,
  ctx: DetectionContext = DEFAULT_DETECTION_CONTEXT,
): Detection[] {
  return DETECTIONS.filter((d) => enabled.includes(d.key)).map((d) => d.create(ctx));
}
