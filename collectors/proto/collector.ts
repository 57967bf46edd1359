import { PollError, type DeviceSnapshot } from '../../agent/snapshot.js';
import { asicIdentity } from '../asic-identity.js';
import { count, type Row } from '../cgminer/dialects/fields.js';
import type { Collector, CollectorOptions, Target } from '../contract.js';
import { httpGet, jsonObjectOf, jsonValueOf, type HttpReply } from '../http-get.js';
import { objectAt } from '../json-rows.js';
import { normalizeProto, PROTO_DIALECT, protoSystemIdentity, type ProtoReplies } from './normalize.js';

/** asic-rs reads the rig over plain HTTP on 80; Proto Fleet tries HTTPS on 443 first (see README). */
export const PROTO_PORT = 80;
const API = '/api/v1';
/** Behind the bearer token, read every poll. */
const AUTHED = {
  mining: 'mining',
  telemetry: 'telemetry?level=miner,hashboard,psu',
  cooling: 'cooling',
  pools: 'pools',
  errors: 'errors',
} as const satisfies Partial<Record<keyof ProtoReplies, string>>;
/** A JWT is a few hundred characters; anything that is no header-safe token of sane length is refused. */
const TOKEN = /^[\x21-\x7e]{1,4096}$/;
const DEFAULT_PASSWORD_CODE = 'DEFAULT_PASSWORD_ACTIVE';

/**
 * One Proto Rig over ProtoOS's REST API v1: `system`, `network` and `hardware` on the first poll,
 * without a login (`system` again after a reboot, `hardware` when telemetry names a board it does not
 * list); with the account the URL names (`proto://NAME@HOST`), `mining`, `telemetry`, `cooling`,
 * `pools` and `errors` every poll, behind the bearer token `POST /api/v1/auth/login` gives for its
 * password. Without an account `system` is read every poll instead. The token is kept between polls and renewed once when a read answers 401. Without an
 * account the rig is named but its rates, power, fans and temperatures are not read, and `error` says so.
 */
export function createProtoCollector(target: Target, options: CollectorOptions): Collector {
  const identity = asicIdentity(target, PROTO_PORT);
  const where = `${target.host}:${target.port}`;
  let token: string | undefined;
  let fixed: { system: Row; network: Row; hardware: Row } | undefined;
  let lastUptime: number | undefined;

  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const deadline = Date.now() + target.timeoutMs;
      const account = target.userinfo === undefined ? undefined : options.minerCredentials?.()?.[target.userinfo];
      if (target.userinfo !== undefined && !account) throw new PollError('other', `${where}: no miner_credentials entry named "${target.userinfo}"`);
      const request = (path: string, extra: { headers?: Record<string, string>; jsonBody?: unknown } = {}) =>
        httpGet({ host: target.host, port: target.port, path, timeoutMs: Math.max(1, deadline - Date.now()), signal, maxResponseBytes: options.maxResponseBytes, ...extra });
      const open = async (path: string): Promise<Row> => jsonObjectOf(refusal(await request(`${API}/${path}`), `${where}${API}/${path}`), `${where}${API}/${path}`);
      const authed = async (path: string, password: string): Promise<unknown> => {
        for (let attempt = 1; ; attempt++) {
          if (token === undefined) {
            const login = refusal(await request(`${API}/auth/login`, { jsonBody: { password } }), `${where}${API}/auth/login`);
            if (login.status !== 200) throw new PollError('api_error', `${where}: the account "${target.userinfo}" was refused (HTTP ${login.status})`);
            const got = jsonObjectOf(login, `${where}${API}/auth/login`)['access_token'];
            if (typeof got !== 'string' || !TOKEN.test(got)) throw new PollError('malformed', `${where}${API}/auth/login: no usable access_token in the reply`);
            token = got;
          }
          const reply = refusal(await request(`${API}/${path}`, { headers: { authorization: `Bearer ${token}` } }), `${where}${API}/${path}`);
          if (reply.status === 401 && attempt === 1) {
            token = undefined;
            continue;
          }
          // `mining` answers 204 until the rig has mining statistics.
          if (reply.status === 204) return undefined;
          return jsonValueOf(reply, `${where}${API}/${path}`);
        }
      };

      const replies: ProtoReplies = {};
      if (fixed === undefined) fixed = { system: await open('system'), network: await open('network'), hardware: await open('hardware') };
      else if (!account) fixed.system = await open('system');
      if (account) {
        for (const [key, path] of Object.entries(AUTHED) as [keyof typeof AUTHED, string][]) {
          const value = await authed(path, account.password);
          if (key === 'errors') replies.errors = value;
          else if (value !== undefined) replies[key] = objectOrThrow(value, `${where}${API}/${path}`);
        }
        // A reboot is when a firmware update takes effect, and boards are swapped hot.
        const uptime = count(objectAt(replies.mining, 'mining-status')?.['reboot_uptime_s']);
        if (uptime !== undefined && lastUptime !== undefined && uptime < lastUptime) fixed.system = await open('system');
        if (boardsMoved(fixed.hardware, replies.telemetry)) fixed.hardware = await open('hardware');
        lastUptime = uptime;
      }
      const snapshot = normalizeProto({ ...replies, ...fixed }, identity, new Date());
      if (!account) snapshot.error = [snapshot.error, 'no account (proto://NAME@HOST): hashrate, power, fans, temperatures and pools not read'].filter(Boolean).join('; ');
      return [snapshot];
    },
    placeholder: () => identity,
  };
}

/**
 * A Proto rig named by its `/api/v1/system`, which needs no login: what `potencia scan` and discovery
 * keep of a host whose port 80 answers it.
 */
export async function identifyProto(
  host: string,
  port: number,
  options: { timeoutMs: number; signal: AbortSignal; maxResponseBytes: number },
): Promise<{ vendor?: string; model?: string; firmware?: string; dialect: string }> {
  const path = `${API}/system`;
  const reply = await httpGet({ host, port, path, ...options });
  const named = protoSystemIdentity(jsonObjectOf(reply, `${host}:${port}${path}`));
  if (!named) throw new PollError('malformed', `${host}:${port}${path}: not a Proto rig's system info`);
  return { ...named, dialect: PROTO_DIALECT };
}

/**
 * A 403 said as the rig means it: ProtoOS refuses its API while the factory password is still set
 * (`DEFAULT_PASSWORD_ACTIVE`, as Proto Fleet's client reads it). Nothing of the reply's text is quoted.
 */
function refusal(reply: HttpReply, where: string): HttpReply {
  if (reply.status !== 403) return reply;
  let code: unknown;
  try {
    code = (JSON.parse(reply.body) as { error?: { code?: unknown } } | null)?.error?.code;
  } catch {}
  if (code === DEFAULT_PASSWORD_CODE || reply.body.includes(DEFAULT_PASSWORD_CODE))
    throw new PollError('api_error', `${where}: the rig still has its factory password; set one on the rig first`);
  throw new PollError('api_error', `${where}: HTTP 403`);
}

/** Whether telemetry reports a board serial the hardware list lacks (a board swapped since it was read). */
function boardsMoved(hardware: Row, telemetry: Row | undefined): boolean {
  const listed = objectAt(hardware, 'hardware-info')?.['hashboards-info'];
  const known = new Set(Array.isArray(listed) ? listed.map((b) => (b as Row | null)?.['hb_sn']) : []);
  const boards = telemetry?.['hashboards'];
  return Array.isArray(boards) && boards.some((b) => typeof (b as Row | null)?.['serial_number'] === 'string' && !known.has((b as Row)['serial_number']));
}

function objectOrThrow(value: unknown, where: string): Row {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PollError('malformed', `${where}: reply is not a JSON object`);
  return value as Row;
}
