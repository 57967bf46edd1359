import type { DeviceSnapshot } from '../../../agent/snapshot.js';
import { CgminerError } from '../errors.js';
import { refusalOf, type CgminerReply } from '../reply.js';
import { antminerDialect } from './antminer/index.js';
import { avalonDialect } from './avalon/index.js';
import { braiinsDialect } from './braiins/index.js';
import { genericDialect } from './generic/index.js';
import { luxosDialect } from './luxos/index.js';
import { vnishDialect } from './vnish/index.js';
import { whatsminerDialect } from './whatsminer/index.js';
import type { CgminerDialect, NormalizeContext } from './types.js';

export type { CgminerDialect, NormalizeContext } from './types.js';

/**
 * Every dialect, one line each, most specific first; the generic reader last, since it claims every
 * reply. Adding one: a folder `<name>/` (index.ts, README.md, testdata/) and its line here.
 */
export const DIALECTS = [
  whatsminerDialect,
  avalonDialect,
  braiinsDialect,
  luxosDialect,
  // Forks that keep bmminer's layout, ahead of the stock reader that would otherwise claim them.
  vnishDialect,
  antminerDialect,
  genericDialect,
] as const satisfies readonly CgminerDialect[];

/** The names dialects write to a snapshot's `dialect`; the simulator keys its twins by them. */
export type DialectName = (typeof DIALECTS)[number]['name'];

export function dialectFor(reply: CgminerReply): CgminerDialect {
  return DIALECTS.find((d: CgminerDialect) => d.identify(reply)) ?? genericDialect;
}

export function dialectNamed(name: string | undefined): CgminerDialect | undefined {
  return name === undefined ? undefined : DIALECTS.find((d: CgminerDialect) => d.name === name);
}

/**
 * Turns a device's replies into one snapshot, read by the dialect the replies identify (or `dialect`,
 * when the poll that gathered them already identified it). Commands the device refused are left out
 * of what the dialect sees and named in `error`; when it refused all of them this throws CgminerError
 * `api_error` carrying the device's own message.
 */
export function normalizeReply(reply: CgminerReply, ctx: NormalizeContext, dialect?: CgminerDialect): DeviceSnapshot {
  // Most polls have nothing refused: then the reply is read as it is, with no copy.
  let usable: CgminerReply = reply;
  let refused: { command: string; said: string }[] = [];
  let answered = 0;
  for (const command in reply) {
    const response = reply[command];
    if (!response) continue;
    const status = refusalOf(response);
    if (status === undefined) {
      answered++;
      continue;
    }
    if (usable === reply) usable = { ...reply };
    delete usable[command];
    refused.push({ command, said: `"${status.message ?? 'no message'}" (STATUS ${status.code}${status.msgCode !== undefined ? `, code ${status.msgCode}` : ''})` });
  }
  if (answered === 0) {
    const where = `${ctx.target.host}:${ctx.target.port}`;
    if (refused.length === 0) throw new CgminerError('malformed', `${where}: the reply answers no command`);
    throw new CgminerError('api_error', `${where} answered ${refused.length === 1 ? refused[0]!.said : refused.map((r) => `${r.command}: ${r.said}`).join('; ')}`);
  }
  const reader = dialect ?? dialectFor(usable);
  const snapshot = reader.normalize(usable, ctx);
  const optional = reader.optionalCommands ?? [];
  refused = refused.filter((r) => !optional.includes(r.command));
  if (refused.length) {
    const note = `refused ${refused.map((r) => `${r.command}: ${r.said}`).join('; ')}`;
    snapshot.error = snapshot.error ? `${snapshot.error}; ${note}` : note;
  }
  return snapshot;
}
