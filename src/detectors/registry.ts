/**
 * Every detection picket knows, by key. A new detection is a file in this folder and a line here.
 */
import type { Detection } from './detection.js';
import { RpcToInternetDetector } from './rpcToInternet.js';

export interface DetectionFactory {
  readonly key: string;
  readonly create: () => Detection;
}

export const DETECTIONS: readonly DetectionFactory[] = [
  { key: 'rpc_to_internet', create: () => new RpcToInternetDetector() },
];

export const DETECTION_KEYS: readonly string[] = DETECTIONS.map((d) => d.key);

/** A fresh set of detections (each partition or replayed file gets its own state). */
export function createDetections(enabled: readonly string[] = DETECTION_KEYS): Detection[] {
  return DETECTIONS.filter((d) => enabled.includes(d.key)).map((d) => d.create());
}
