import { PollError, type DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import type { Collector, CollectorOptions, Target } from '../contract.js';
import { v3Request, type V3Reply } from './client.js';
import { normalizeV3 } from './normalize.js';
import type { Row } from '../cgminer/dialects/fields.js';

export const WHATSMINER_V3_PORT = 4433;
/** What one status request asks for: btminer 3.x joins parameters with `+`. */
export const STATUS_PARAM = 'summary+pools+edevs';

/**
 * One Whatsminer on API v3: `get.device.info` and `get.miner.status`, one connection each, in turn
 * (the miner's API is a small embedded server), both within the target's timeout. Reads need no token.
 */
export function createWhatsminerV3Collector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, WHATSMINER_V3_PORT);
  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      const ask = async (cmd: string, param?: string): Promise<Row> => {
        const request = { host: target.host, port: target.port, cmd, timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes: options.maxResponseBytes };
        return payloadOf(await v3Request(param === undefined ? request : { ...request, param }), `${target.host}:${target.port}`, cmd);
      };
      const info = await ask('get.device.info');
      const status = await ask('get.miner.status', STATUS_PARAM);
      return [normalizeV3({ info, status }, identity, new Date())];
    },
    placeholder: () => identity,
  };
}

/** Longest piece of a device's error text quoted into ours. */
const MAX_QUOTED_CHARS = 120;

function payloadOf(reply: V3Reply, where: string, cmd: string): Row {
  if (reply.code !== 0) {
    const said = typeof reply.msg === 'string' ? `: ${reply.msg.slice(0, MAX_QUOTED_CHARS)}` : '';
    throw new PollError('api_error', `${where}: "${cmd}" answered code ${reply.code}${said}`);
  }
  if (typeof reply.msg !== 'object' || reply.msg === null || Array.isArray(reply.msg)) throw new PollError('malformed', `${where}: "${cmd}" answered without a "msg" object`);
  return reply.msg as Row;
}
