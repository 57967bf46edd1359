import { cgminerRequest } from './client.js';
import { dialectFor } from './dialects/index.js';
import { CgminerError } from './errors.js';
import { parseCgminerJson } from './repair.js';
import { toCgminerReply, type CgminerReply } from './reply.js';

export const BASE_COMMANDS = ['summary', 'stats', 'pools'] as const;

export interface PollOptions {
  host: string;
  port: number;
  /** Budget for the whole poll, fallback and extra commands included. */
  timeoutMs: number;
  signal?: AbortSignal;
  maxResponseBytes?: number;
}

/**
 * Reads a miner: `summary+stats+pools` in one request (one connection, one turn of cgminer's
 * single-threaded API); if the firmware rejects the join or answers without those sections, the
 * three commands one connection each, in turn. Then whatever extra commands the identified dialect
 * asks for. Transport failures and unparseable replies reject with a CgminerError.
 */
export async function pollCgminer(opts: PollOptions): Promise<CgminerReply> {
  const deadline = Date.now() + opts.timeoutMs;
  const ask = async (command: string): Promise<CgminerReply> => {
    const timeoutMs = deadline - Date.now();
    if (timeoutMs <= 0) throw new CgminerError('timeout', `${opts.host}:${opts.port}: no time left for "${command}" within ${opts.timeoutMs} ms`);
    const text = await cgminerRequest({ host: opts.host, port: opts.port, command, timeoutMs, signal: opts.signal, maxResponseBytes: opts.maxResponseBytes });
    try {
      return toCgminerReply(parseCgminerJson(text).value, command);
    } catch (err) {
      if (err instanceof CgminerError) throw new CgminerError(err.reason, `${opts.host}:${opts.port} "${command}": ${err.message}`);
      throw err;
    }
  };

  let reply: CgminerReply;
  let joined: CgminerReply | undefined;
  try {
    joined = await ask(BASE_COMMANDS.join('+'));
  } catch (err) {
    // A firmware that garbles the join may still answer single commands; anything else is final.
    if (!(err instanceof CgminerError && err.reason === 'malformed')) throw err;
  }
  if (joined && BASE_COMMANDS.every((c) => joined[c] !== undefined)) {
    reply = joined;
  } else {
    reply = {};
    for (const command of BASE_COMMANDS) Object.assign(reply, await ask(command));
  }

  for (const command of dialectFor(reply).extraCommands ?? []) {
    if (reply[command] === undefined) Object.assign(reply, await ask(command));
  }
  return reply;
}
