import { PollError, type DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import type { Row } from '../cgminer/dialects/fields.js';
import { hostPort, type Collector, type CollectorOptions, type Target } from '../contract.js';
import { httpGet, jsonObjectOf, jsonValueOf } from '../http-get.js';
import { normalizeBraiinsRest, type BraiinsRestReplies } from './normalize.js';

export const BRAIINS_REST_PORT = 80;
const API = '/api/v1';
const READS = {
  details: 'miner/details',
  stats: 'miner/stats',
  hashboards: 'miner/hw/hashboards',
  cooling: 'cooling/state',
  pools: 'pools',
  tuner: 'performance-tuner/state',
} as const satisfies Record<keyof BraiinsRestReplies, string>;

/**
 * One miner on Braiins OS 25.07+ over its public REST API: six GETs in turn within the target's
 * timeout, with the token `POST /api/v1/auth/login` gives for the account the URL names
 * (`braiins-rest://NAME@HOST`), sent back as the `Authorization` header (as asic-rs's client does).
 * The token is kept between polls and renewed once when a read answers 401.
 */
export function createBraiinsRestCollector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, BRAIINS_REST_PORT);
  const where = hostPort(target.host, target.port);
  let token: string | undefined;

  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      if (target.userinfo === undefined)
        throw new PollError('api_error', `${where}: Braiins OS asks for a login; name an account with braiins-rest://NAME@HOST and miner_credentials.NAME`);
      const account = options.minerCredentials?.()?.[target.userinfo];
      if (!account) throw new PollError('other', `${where}: no miner_credentials entry named "${target.userinfo}"`);
      const request = (path: string, extra: { headers?: Record<string, string>; jsonBody?: unknown } = {}) =>
        httpGet({ host: target.host, port: target.port, path, timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes: options.maxResponseBytes, ...extra });
      const read = async (path: string): Promise<unknown> => {
        for (let attempt = 1; ; attempt++) {
          if (token === undefined) {
            const login = await request(`${API}/auth/login`, { jsonBody: { username: account.user, password: account.password } });
            if (login.status !== 200) throw new PollError('api_error', `${where}: the account "${target.userinfo}" was refused (HTTP ${login.status})`);
            const got = jsonObjectOf(login, `${where}${API}/auth/login`)['token'];
            if (typeof got !== 'string' || got === '') throw new PollError('malformed', `${where}${API}/auth/login: no token in the reply`);
            token = got;
          }
          const reply = await request(`${API}/${path}`, { headers: { authorization: token } });
          if (reply.status === 401 && attempt === 1) {
            token = undefined;
            continue;
          }
          return jsonValueOf(reply, `${where}${API}/${path}`);
        }
      };
      const replies: BraiinsRestReplies = {};
      for (const [key, path] of Object.entries(READS) as [keyof BraiinsRestReplies, string][]) {
        const value = await read(path);
        if (key === 'pools') replies.pools = value;
        else replies[key] = objectOrThrow(value, `${where}${API}/${path}`);
      }
      return [normalizeBraiinsRest(replies, identity, new Date())];
    },
    placeholder: () => identity,
  };
}

function objectOrThrow(value: unknown, where: string): Row {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PollError('malformed', `${where}: reply is not a JSON object`);
  return value as Row;
}
