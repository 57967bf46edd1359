/**
 * Socket and abort failures as the bounded reasons a device is reported down with, for the collectors
 * that open their own TCP or HTTP connections (Whatsminer API v3, the vendors' web APIs).
 */
import type { ErrorReason } from '../agent/snapshot.js';

const REASON_BY_CODE: Readonly<Record<string, ErrorReason>> = {
  ECONNREFUSED: 'refused',
  EHOSTUNREACH: 'unreachable',
  ENETUNREACH: 'unreachable',
  EHOSTDOWN: 'unreachable',
  ENOTFOUND: 'unreachable',
  EAI_AGAIN: 'unreachable',
  ECONNRESET: 'reset',
  EPIPE: 'reset',
  ECONNABORTED: 'reset',
  UND_ERR_SOCKET: 'reset',
  ETIMEDOUT: 'timeout',
};

/** The reason for a socket error, by its code; `other` for one that is not a network fault. */
export function socketErrorReason(err: unknown): ErrorReason {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (typeof code === 'string' && REASON_BY_CODE[code]) || 'other';
}

/** A short sentence for a socket error: its code where it has one (never a stack or a request). */
export function socketErrorText(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code === 'string') return socketErrorReason(err) === 'refused' ? 'connection refused' : `${e.code}`;
  return typeof e?.message === 'string' ? e.message.slice(0, 200) : 'connection failed';
}

/** Why an aborted signal fired: `timeout` for AbortSignal.timeout's TimeoutError, else `other`. */
export function abortReason(signal: AbortSignal): ErrorReason {
  return (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError' ? 'timeout' : 'other';
}
