import { PollError, type DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import type { Row } from '../cgminer/dialects/fields.js';
import { hostPort, type Collector, type CollectorOptions, type Target } from '../contract.js';
import { httpGet, jsonObjectOf, type HttpReply } from '../http-get.js';
import { digestAuthorization, parseDigestChallenge, type DigestChallenge } from './digest.js';
import { normalizeAntminerWeb, type AntminerWebReplies } from './normalize.js';

export const ANTMINER_WEB_PORT = 80;

const PATHS = {
  systemInfo: '/cgi-bin/get_system_info.cgi',
  stats: '/cgi-bin/stats.cgi',
  summary: '/cgi-bin/summary.cgi',
  pools: '/cgi-bin/pools.cgi',
} as const satisfies Record<keyof AntminerWebReplies, string>;

/**
 * One Antminer's stock web API: four CGI reads in turn within the target's timeout, each answering
 * the digest challenge with the account the URL names (`antminer-web://NAME@HOST`, NAME a key of
 * `miner_credentials`). The server's nonce is kept between polls, so a poll costs one request per
 * page unless the nonce went stale.
 */
export function createAntminerWebCollector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, ANTMINER_WEB_PORT);
  const where = hostPort(target.host, target.port);
  let challenge: DigestChallenge | undefined;
  let nonceCount = 0;

  const account = (): { user: string; password: string } | undefined => {
    if (target.userinfo === undefined) return undefined;
    const found = options.minerCredentials?.()?.[target.userinfo];
    if (!found) throw new PollError('other', `${where}: no miner_credentials entry named "${target.userinfo}"`);
    return found;
  };

  const get = async (path: string, deadline: number, signal: AbortSignal): Promise<Row> => {
    const creds = account();
    const ask = (headers?: Record<string, string>): Promise<HttpReply> => {
      const request = { host: target.host, port: target.port, path, timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes: options.maxResponseBytes };
      return httpGet(headers ? { ...request, headers } : request);
    };
    const authorized = () => ({ authorization: digestAuthorization(challenge!, creds!.user, creds!.password, path, ++nonceCount) });
    let reply = await ask(creds && challenge ? authorized() : undefined);
    if (reply.status === 401) {
      const offered = parseDigestChallenge(headerText(reply.headers['www-authenticate']));
      if (!offered) throw new PollError('api_error', `${where}${path}: HTTP 401 without a Digest MD5 challenge`);
      if (!creds) {
        // A found miner gets its account from discovery.accounts, a configured one from its URL: name both ways.
        throw new PollError(
          'api_error',
          `${where}: asks for a login; name a miner_credentials account in the target URL (antminer-web://NAME@HOST) or, for found miners, in discovery.accounts.antminer-web`,
        );
      }
      challenge = offered;
      nonceCount = 0;
      reply = await ask(authorized());
      if (reply.status === 401) throw new PollError('api_error', `${where}: the account "${target.userinfo}" was refused (HTTP 401)`);
    }
    return jsonObjectOf(reply, `${where}${path}`);
  };

  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      const replies: AntminerWebReplies = {};
      for (const [key, path] of Object.entries(PATHS) as [keyof AntminerWebReplies, string][]) replies[key] = await get(path, deadline, signal);
      return [normalizeAntminerWeb(replies, identity, new Date())];
    },
    placeholder: () => identity,
  };
}

function headerText(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.find((v) => /^\s*digest\s/i.test(v)) : value;
}
