import { createCipheriv } from 'node:crypto';
import { PollError, type DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import type { Row } from '../cgminer/dialects/fields.js';
import type { Collector, CollectorOptions, Target } from '../contract.js';
import { httpGet, jsonObjectOf, jsonValueOf, type HttpReply } from '../http-get.js';
import { devRows, normalizeGoldshell, type GoldshellReplies } from './normalize.js';

export const GOLDSHELL_PORT = 80;
export const GOLDSHELL_STATUS_PATH = '/mcb/status';
const DEVS_PATH = '/mcb/cgminer?cgminercmd=devs';
const SETTING_PATH = '/mcb/setting';
const POOLS_PATH = '/mcb/pools';
const LOGIN_PATH = '/user/login';
/**
 * The web UI's cipher for the login's password: AES-128-CBC, a key of sixteen "!", a zero IV, zero
 * padding (crProductGuy/goldshell-box-tools-productguy docs/firmware-api.md; pyasic's hard-coded
 * cipher of the factory password is what this makes of "123456789").
 */
const CIPHER_KEY = Buffer.alloc(16, '!');
const MAX_PASSWORD_BYTES = 256;

/**
 * One Goldshell miner over its web UI's API on port 80. `/mcb/status` (model, firmware) answers
 * without a login; `/mcb/cgminer?cgminercmd=devs` (boards, hashrate, fans, temperatures, shares),
 * `/mcb/pools` and `/mcb/setting` (the MAC, read once) want a JWT from `/user/login`, got with the
 * account the URL names (`goldshell://NAME@HOST`) and kept between polls. Without an account they
 * are asked without one (firmware 2.0 answers), and a refusal is reported, not retried with the
 * factory password. Requests go one at a time: a burst crashes the firmware's web service.
 */
export function createGoldshellCollector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, GOLDSHELL_PORT);
  const where = `${target.host}:${target.port}`;
  let token: string | undefined;
  let setting: Row | undefined;

  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      const request = (path: string, headers?: Record<string, string>): Promise<HttpReply> =>
        httpGet({
          host: target.host,
          port: target.port,
          path,
          timeoutMs: Math.max(1, deadline - Date.now()),
          signal,
          maxResponseBytes: options.maxResponseBytes,
          ...(headers && { headers }),
        });
      const account = target.userinfo === undefined ? undefined : options.minerCredentials?.()?.[target.userinfo];
      if (target.userinfo !== undefined && !account) throw new PollError('other', `${where}: no miner_credentials entry named "${target.userinfo}"`);

      /** A guarded endpoint's reply: with the account's token (renewed once when refused), or without one; undefined when refused without an account. */
      const guarded = async (path: string): Promise<HttpReply | undefined> => {
        if (!account) {
          const reply = await request(path);
          return reply.status === 401 || reply.status === 403 ? undefined : reply;
        }
        for (let attempt = 1; ; attempt++) {
          token ??= await login(account, request, where, target.userinfo!);
          const reply = await request(path, { authorization: `Bearer ${token}` });
          // The firmware refuses about one request in 200 while it reloads its key: renew once before believing it.
          if ((reply.status === 401 || reply.status === 403) && attempt === 1) {
            token = undefined;
            continue;
          }
          if (reply.status === 401 || reply.status === 403)
            throw new PollError('api_error', `${where}${path}: the account "${target.userinfo}" was refused (HTTP ${reply.status})`);
          return reply;
        }
      };

      const replies: GoldshellReplies = { status: jsonObjectOf(await request(GOLDSHELL_STATUS_PATH), `${where}${GOLDSHELL_STATUS_PATH}`) };
      if (typeof replies.status!['model'] !== 'string') throw new PollError('malformed', `${where}${GOLDSHELL_STATUS_PATH}: no model in the reply`);
      const notes: string[] = [];
      const devs = await guarded(DEVS_PATH);
      if (devs === undefined) {
        notes.push('no web API account (goldshell://NAME@HOST): hashrate, boards, fans, temperatures and pools not read');
      } else if (devs.status >= 500) {
        // The SC-BOX answers its devs with a 500 (docs/firmware-api.md upstream): the miner is up, its boards unread.
        notes.push(`${DEVS_PATH} answered HTTP ${devs.status}: hashrate, boards, fans and temperatures not read`);
      } else {
        replies.devs = jsonObjectOf(devs, `${where}${DEVS_PATH}`);
        if (devRows(replies.devs).length === 0) throw new PollError('malformed', `${where}${DEVS_PATH}: no board rows in the reply`);
        const pools = await guarded(POOLS_PATH);
        if (pools !== undefined && pools.status === 200) replies.pools = jsonValueOf(pools, `${where}${POOLS_PATH}`);
        if (setting === undefined) {
          const reply = await guarded(SETTING_PATH);
          if (reply !== undefined && reply.status === 200) setting = jsonObjectOf(reply, `${where}${SETTING_PATH}`);
        }
        if (setting !== undefined) replies.setting = setting;
      }
      const snapshot = normalizeGoldshell(replies, identity, new Date());
      if (notes.length) snapshot.error = [snapshot.error, ...notes].filter(Boolean).join('; ');
      return [snapshot];
    },
    placeholder: () => identity,
  };
}

type Request = (path: string) => Promise<HttpReply>;

/**
 * A JWT for the account: the web UI's enciphered password first, then the plain one older firmware
 * takes (pyasic tries both). The login's URL carries the password, so no message quotes it.
 */
async function login(account: { user: string; password: string }, request: Request, where: string, name: string): Promise<string> {
  if (Buffer.byteLength(account.password) > MAX_PASSWORD_BYTES) throw new PollError('other', `${where}: the password of "${name}" is over ${MAX_PASSWORD_BYTES} bytes`);
  const user = encodeURIComponent(account.user);
  let status = 0;
  for (const [password, cipher] of [
    [encipher(account.password), 'true'],
    [encodeURIComponent(account.password), 'false'],
  ] as const) {
    let reply: HttpReply;
    try {
      reply = await request(`${LOGIN_PATH}?username=${user}&password=${password}&cipher=${cipher}`);
    } catch (err) {
      if (err instanceof PollError) throw new PollError(err.reason, `${where}${LOGIN_PATH}: ${err.message.slice(err.message.indexOf(': ') + 2)}`);
      throw err;
    }
    status = reply.status;
    const got = reply.status === 200 ? tokenOf(reply.body) : undefined;
    if (got !== undefined) return got;
  }
  throw new PollError('api_error', `${where}${LOGIN_PATH}: the account "${name}" was refused (HTTP ${status})`);
}

function tokenOf(body: string): string | undefined {
  try {
    const value = (JSON.parse(body) as Record<string, unknown> | null)?.['JWT Token'];
    // A JWT is three base64url parts; anything else in a header would be the miner's to choose.
    return typeof value === 'string' && /^[\w-]+\.[\w-]+\.[\w-]*$/.test(value) && value.length <= 4096 ? value : undefined;
  } catch {
    return undefined;
  }
}

/** The password as the web UI sends it with `cipher=true`, in hex. */
export function encipher(password: string): string {
  const text = Buffer.from(password, 'utf8');
  const padded = Buffer.alloc(Math.max(16, Math.ceil(text.length / 16) * 16));
  text.copy(padded);
  const cipher = createCipheriv('aes-128-cbc', CIPHER_KEY, Buffer.alloc(16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(padded), cipher.final()]).toString('hex');
}
