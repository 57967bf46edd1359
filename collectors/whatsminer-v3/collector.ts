import { PollError, type DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import { hostPort, type Collector, type CollectorOptions, type Target } from '../contract.js';
import { v3Request, type V3Reply } from './client.js';
import { normalizeV3 } from './normalize.js';
import type { Row } from '../cgminer/dialects/fields.js';

export const WHATSMINER_V3_PORT = 4433;
const STATUS_PARTS = ['summary', 'pools', 'edevs'] as const;
/** All of them in one request, parameters joined with `+`; firmware that refuses the join is asked one by one, as asic-rs asks. */
const JOINED_STATUS_PARAM = STATUS_PARTS.join('+');

/**
 * One Whatsminer on API v3: `get.device.info` and `get.miner.status`, one connection each, in turn
 * (the miner's API is a small embedded server), all within the target's timeout. Reads need no token.
 * The status parts go in one request until the miner answers it with an error or without one of
 * them; from then on each part is asked on its own.
 */
export function createWhatsminerV3Collector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, WHATSMINER_V3_PORT);
  let joins = true;
  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      const ask = async (cmd: string, param?: string): Promise<Row> => {
        const request = { host: target.host, port: target.port, cmd, timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes: options.maxResponseBytes };
        return payloadOf(await v3Request(param === undefined ? request : { ...request, param }), hostPort(target.host, target.port), cmd);
      };
      const info = await ask('get.device.info');
      let status: Row | undefined;
      if (joins) {
        status = await ask('get.miner.status', JOINED_STATUS_PARAM).catch((err: unknown) => {
          if (err instanceof PollError && err.reason === 'api_error') return undefined;
          throw err;
        });
        if (!status || !STATUS_PARTS.every((part) => part in status!)) {
          joins = false;
          status = undefined;
        }
      }
      if (!status) {
        status = {};
        for (const part of STATUS_PARTS) Object.assign(status, await ask('get.miner.status', part));
      }
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
