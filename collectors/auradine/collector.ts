import { PollError, type DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import { cgminerRequest } from '../cgminer/client.js';
import type { Row } from '../cgminer/dialects/fields.js';
import { statusOf } from '../cgminer/reply.js';
import { parseCgminerJson } from '../cgminer/repair.js';
import { hostPort, type Collector, type CollectorOptions, type Target } from '../contract.js';
import { httpGet, jsonValueOf } from '../http-get.js';
import { normalizeAuradine, type AuradineReplies } from './normalize.js';

export const AURADINE_WEB_PORT = 8080;
/** The CGMiner-like socket beside the web API, which serves summary, devs and pools; `rpc_port` moves it. */
const AURADINE_RPC_PORT = 4028;
const RPC_COMMANDS = ['summary', 'devs', 'pools'] as const;
const WEB_COMMANDS = ['ipreport', 'psu', 'fan', 'temperature', 'mode'] as const;
const MAX_QUOTED_CHARS = 120;

/**
 * One Auradine Teraflux: `summary`, `devs` and `pools` over its CGMiner-like socket (4028), and its
 * own sections (`ipreport`, `psu`, `fan`, `temperature`, `mode`) from the web API on the target's
 * port (8080), behind a token got with the account the URL names (`auradine://NAME@HOST`). Without an
 * account the web API is not asked, and the device says what that leaves out. All in turn, within
 * the target's timeout; the token is kept between polls and renewed when refused.
 */
export function createAuradineCollector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, AURADINE_WEB_PORT);
  const where = hostPort(target.host, target.port);
  let token: string | undefined;
  const rpcPort = target.params?.['rpc_port'] === undefined ? AURADINE_RPC_PORT : Number(target.params['rpc_port']);

  const rpc = async (command: string, deadline: number, signal: AbortSignal): Promise<Row> => {
    const text = await cgminerRequest({
      host: target.host,
      port: rpcPort,
      command,
      timeoutMs: Math.max(1, deadline - Date.now()),
      signal,
      maxResponseBytes: options.maxResponseBytes,
    });
    return checked(parseCgminerJson(text).value, `${hostPort(target.host, rpcPort)} "${command}"`);
  };

  const web = async (command: string, deadline: number, signal: AbortSignal, account: { user: string; password: string }): Promise<Row> => {
    const request = (path: string, extra: { headers?: Record<string, string>; jsonBody?: unknown }) =>
      httpGet({ host: target.host, port: target.port, path, timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes: options.maxResponseBytes, ...extra });
    for (let attempt = 1; ; attempt++) {
      if (token === undefined) {
        const login = await request('/token', { jsonBody: { command: 'token', user: account.user, password: account.password } });
        if (login.status !== 200) throw new PollError('api_error', `${where}: the account "${target.userinfo}" was refused (HTTP ${login.status})`);
        const body = checked(jsonValueOf(login, `${where}/token`), `${where}/token`);
        const got = (body['Token'] as { Token?: unknown }[] | undefined)?.[0]?.Token;
        if (typeof got !== 'string' || got === '') throw new PollError('malformed', `${where}/token: no token in the reply`);
        token = got;
      }
      const reply = await request(`/${command}`, { headers: { Token: token } });
      const refused =
        reply.status === 401 || (reply.status === 200 && /token|session|expired|unauthori[sz]ed/i.test(statusOf(objectOf(parsedOrUndefined(reply.body)))?.message ?? ''));
      if (refused && attempt === 1) {
        token = undefined;
        continue;
      }
      if (reply.status !== 200) throw new PollError('api_error', `${where}/${command}: HTTP ${reply.status}`);
      return checked(jsonValueOf(reply, `${where}/${command}`), `${where}/${command}`);
    }
  };

  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      const replies: AuradineReplies = {};
      for (const command of RPC_COMMANDS) replies[command] = await rpc(command, deadline, signal);
      const account = target.userinfo === undefined ? undefined : options.minerCredentials?.()?.[target.userinfo];
      if (target.userinfo !== undefined && !account) throw new PollError('other', `${where}: no miner_credentials entry named "${target.userinfo}"`);
      if (account) for (const command of WEB_COMMANDS) replies[command] = await web(command, deadline, signal, account);
      const snapshot = normalizeAuradine(replies, identity, new Date());
      if (!account) snapshot.error = [snapshot.error, 'no web API account (auradine://NAME@HOST): power, fans, temperatures and identity not read'].filter(Boolean).join('; ');
      return [snapshot];
    },
    placeholder: () => identity,
  };
}

function objectOf(value: unknown): Row | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Row) : undefined;
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** A CGMiner-shaped reply with a success STATUS, as a row; a PollError quoting its message otherwise. */
function checked(value: unknown, where: string): Row {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PollError('malformed', `${where}: reply is not a JSON object`);
  const row = value as Row;
  const status = statusOf(row);
  if (status && !status.ok) throw new PollError('api_error', `${where}: ${status.code} ${(status.message ?? '').slice(0, MAX_QUOTED_CHARS)}`);
  return row;
}
