import { connect } from 'node:net';
import type { ErrorReason } from '../../agent/snapshot.js';
import { CgminerError } from './errors.js';

export { CgminerError } from './errors.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

export interface CgminerRequestOptions {
  host: string;
  port: number;
  /** One command, or several joined with `+` (cgminer's multi-command). */
  command: string;
  parameter?: string;
  /** Covers connect and the whole reply. */
  timeoutMs: number;
  signal?: AbortSignal;
  maxResponseBytes?: number;
}

const NUL = 0;
const NEWLINE = 0x0a;

const REASON_BY_CODE: Record<string, ErrorReason> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENOTFOUND: 'unreachable',
  EAI_AGAIN: 'unreachable',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  ETIMEDOUT: 'timeout',
};

/**
 * Sends one request to a CGMiner-compatible API and resolves with the raw reply text (terminator
 * removed). The reply ends at a NUL byte (cgminer, bmminer), at EOF, or at a newline that closes a
 * complete JSON value (bOSminer sends a newline and may keep the socket open).
 */
export function cgminerRequest(opts: CgminerRequestOptions): Promise<string> {
  const { host, port, timeoutMs, signal } = opts;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const where = `${host}:${port}`;
  const request = opts.parameter === undefined
    ? JSON.stringify({ command: opts.command })
    : JSON.stringify({ command: opts.command, parameter: opts.parameter });

  return new Promise<string>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal, where, opts.command));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let settled = false;

    const socket = connect({ host, port });
    // Written straight away: net queues it until the connection opens. cgminer serves one client at a
    // time, so a client that connects and then waits stalls every other poller of that miner.
    socket.write(request);

    const finish = (err: CgminerError | undefined, text?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(text!);
    };
    const onAbort = () => finish(abortError(signal!, where, opts.command));
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => finish(new CgminerError('timeout', `${where}: no complete reply to "${opts.command}" within ${timeoutMs} ms${received ? ` (${received} bytes received)` : ''}`)),
      timeoutMs,
    );

    socket.on('data', (chunk: Buffer) => {
      const nul = chunk.indexOf(NUL);
      const usable = nul === -1 ? chunk : chunk.subarray(0, nul);
      received += usable.length;
      if (received > maxBytes) {
        finish(new CgminerError('too_large', `${where}: reply to "${opts.command}" exceeds the ${maxBytes}-byte limit`));
        return;
      }
      chunks.push(usable);
      if (nul !== -1) finish(undefined, joined(chunks, received));
      else if (chunk[chunk.length - 1] === NEWLINE) {
        const text = joined(chunks, received);
        if (closesJsonValue(text)) finish(undefined, text);
      }
    });
    socket.on('end', () => {
      if (received === 0) {
        // cgminer closes silently on clients outside its api-allow list.
        finish(new CgminerError('reset', `${where}: closed the connection without replying to "${opts.command}" (is this host allowed by the miner's api-allow?)`));
      } else finish(undefined, joined(chunks, received));
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      const reason = REASON_BY_CODE[err.code ?? ''] ?? 'other';
      finish(new CgminerError(reason, `${where}: ${describeSocketError(reason, err)} during "${opts.command}"`));
    });
  });
}

function joined(chunks: Buffer[], length: number): string {
  return (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, length)).toString('utf8');
}

function describeSocketError(reason: ErrorReason, err: NodeJS.ErrnoException): string {
  switch (reason) {
    case 'refused': return 'connection refused (API disabled or miner rebooting?)';
    case 'unreachable': return `host unreachable (${err.code})`;
    case 'reset': return `connection reset (${err.code})`;
    case 'timeout': return `connect timed out (${err.code})`;
    default: return err.message;
  }
}

function abortError(signal: AbortSignal, where: string, command: string): CgminerError {
  const why = signal.reason as { name?: string; message?: string } | undefined;
  const isTimeout = why?.name === 'TimeoutError';
  return new CgminerError(isTimeout ? 'timeout' : 'other', `${where}: "${command}" aborted${why?.message ? `: ${why.message}` : ''}`);
}

/**
 * True when `text` is one complete JSON object or array followed only by whitespace: brackets balance
 * outside strings. Cheaper than JSON.parse and tolerant of the faults repair() fixes later.
 */
export function closesJsonValue(text: string): boolean {
  let depth = 0;
  let inString = false;
  let started = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped char
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) { depth++; started = true; }
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return /^\s*$/.test(text.slice(i + 1));
    }
  }
  return started && depth === 0;
}
