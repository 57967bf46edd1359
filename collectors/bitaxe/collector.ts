import type { DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import { hostPort, type Collector, type CollectorOptions, type Target } from '../contract.js';
import { httpGet, jsonObjectOf } from '../http-get.js';
import { normalizeBitaxe } from './normalize.js';

export const BITAXE_PORT = 80;
const INFO_PATH = '/api/system/info';

/** One Bitaxe / NerdAxe: a single GET of ESP-Miner's `/api/system/info`, which needs no login. */
export function createBitaxeCollector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, BITAXE_PORT);
  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const reply = await httpGet({ host: target.host, port: target.port, path: INFO_PATH, timeoutMs: target.timeoutMs, signal, maxResponseBytes: options.maxResponseBytes });
      return [normalizeBitaxe(jsonObjectOf(reply, `${hostPort(target.host, target.port)}${INFO_PATH}`), identity, new Date())];
    },
    placeholder: () => identity,
  };
}
