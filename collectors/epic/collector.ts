import type { DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import type { Row } from '../cgminer/dialects/fields.js';
import { hostPort, type Collector, type CollectorOptions, type Target } from '../contract.js';
import { httpGet, jsonObjectOf } from '../http-get.js';
import { normalizeEpic } from './normalize.js';

/** ePIC's firmware serves its HTTP API where stock firmware has the CGMiner socket. */
export const EPIC_PORT = 4028;

/**
 * One miner on ePIC PowerPlay / UMC firmware: `GET /summary` every poll; `/capabilities` (model,
 * default hashrate) and `/network` (MAC) once, as they change only with the hardware. Reads need no
 * login.
 */
export function createEpicCollector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, EPIC_PORT);
  let fixed: { capabilities: Row; network: Row } | undefined;
  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      const get = async (path: string): Promise<Row> =>
        jsonObjectOf(
          await httpGet({ host: target.host, port: target.port, path, timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes: options.maxResponseBytes }),
          `${hostPort(target.host, target.port)}${path}`,
        );
      const summary = await get('/summary');
      fixed ??= { capabilities: await get('/capabilities'), network: await get('/network') };
      return [normalizeEpic({ summary, ...fixed }, identity, new Date())];
    },
    placeholder: () => identity,
  };
}
