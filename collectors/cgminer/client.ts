import { connect, type Socket } from 'node:net';
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
 * Every socket reads into this one buffer (onread): a read is handed over and copied out before the
 * next can start, and it spares each reply the Readable stream's per-chunk Buffer and 'data' event.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Request bytes by command: the same few commands are sent on every poll of every miner. */
const REQUEST_BYTES = new Map<string, Buffer>();
const REQUEST_BYTES_LIMIT = 256;

function requestBytes(command: string, parameter: string | undefined): Buffer {
  if (parameter !== undefined) return Buffer.from(JSON.stringify({ command, parameter }));
  let bytes = REQUEST_BYTES.get(command);
  if (bytes === undefined) {
    bytes = Buffer.from(JSON.stringify({ command }));
    if (REQUEST_BYTES.size < REQUEST_BYTES_LIMIT) REQUEST_BYTES.set(command, bytes);
  }
  return bytes;
}

/**
 * Sends one request to a CGMiner-compatible API and resolves with the raw reply text (terminator
 * removed). The reply ends at a NUL byte (cgminer, bmminer), at EOF, or at a newline that closes a
 * complete JSON value (bOSminer sends a newline and may keep the socket open).
 */
export function cgminerRequest(opts: CgminerRequestOptions): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    if (opts.signal?.aborted) reject(abortError(opts.signal, opts.host, opts.port, opts.command));
    else new PendingRequest(opts, resolve, reject);
  });
}

const REQUEST = Symbol('cgminer request');
type RequestSocket = Socket & { [REQUEST]?: PendingRequest };

/**
 * One request in flight. Its socket, timer and abort signal call back into it through listeners
 * shared by all requests (the socket carries the request; the timer passes it; the request is the
 * abort listener itself), so a request costs one object and one read callback rather than a closure
 * per event: thousands are in flight during a sweep, and each lives long enough to reach the old heap.
 */
class PendingRequest {
  readonly #opts: CgminerRequestOptions;
  readonly #maxBytes: number;
  readonly #resolve: (text: string) => void;
  readonly #reject: (err: CgminerError) => void;
  readonly #socket: RequestSocket;
  readonly #timer: NodeJS.Timeout;
  /** Copies of earlier reads; a reply that fits one read is decoded straight from READ_BUFFER. */
  #chunks: Buffer[] | undefined;
  #received = 0;
  #settled = false;

  constructor(opts: CgminerRequestOptions, resolve: (text: string) => void, reject: (err: CgminerError) => void) {
    this.#opts = opts;
    this.#maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#resolve = resolve;
    this.#reject = reject;
    const socket: RequestSocket = connect({ host: opts.host, port: opts.port, onread: { buffer: READ_BUFFER, callback: (nread, buffer) => this.#onRead(nread, buffer as Buffer) } });
    socket[REQUEST] = this;
    this.#socket = socket;
    // Written straight away: net queues it until the connection opens. cgminer serves one client at a
    // time, so a client that connects and then waits stalls every other poller of that miner.
    socket.write(requestBytes(opts.command, opts.parameter));
    opts.signal?.addEventListener('abort', this, { once: true });
    this.#timer = setTimeout(onRequestTimeout, opts.timeoutMs, this);
    socket.on('end', onSocketEnd);
    socket.on('error', onSocketError);
  }

  /** The abort signal's listener (EventTarget calls handleEvent on listener objects). */
  handleEvent(): void {
    const { signal, host, port, command } = this.#opts;
    this.finish(abortError(signal!, host, port, command));
  }

  timedOut(): void {
    const { host, port, command, timeoutMs } = this.#opts;
    const received = this.#received;
    this.finish(new CgminerError('timeout', `${host}:${port}: no complete reply to "${command}" within ${timeoutMs} ms${received ? ` (${received} bytes received)` : ''}`));
  }

  ended(): void {
    const { host, port, command } = this.#opts;
    if (this.#received === 0) {
      // cgminer closes silently on clients outside its api-allow list.
      this.finish(new CgminerError('reset', `${host}:${port}: closed the connection without replying to "${command}" (is this host allowed by the miner's api-allow?)`));
    } else this.finish(undefined, joined(this.#chunks ?? [], this.#received));
  }

  failed(err: NodeJS.ErrnoException): void {
    const { host, port, command } = this.#opts;
    const reason = REASON_BY_CODE[err.code ?? ''] ?? 'other';
    this.finish(new CgminerError(reason, `${host}:${port}: ${describeSocketError(reason, err)} during "${command}"`));
  }

  finish(err: CgminerError | undefined, text?: string): false {
    if (this.#settled) return false;
    this.#settled = true;
    clearTimeout(this.#timer);
    this.#opts.signal?.removeEventListener('abort', this);
    this.#socket.destroy();
    if (err) this.#reject(err);
    else this.#resolve(text!);
    return false;
  }

  #onRead(nread: number, buffer: Buffer): boolean {
    if (this.#settled) return false;
    // Only the first nread bytes are this read's; the rest of the shared buffer is stale.
    const data = buffer.subarray(0, nread);
    const nul = data.indexOf(NUL);
    const usable = nul === -1 ? nread : nul;
    this.#received += usable;
    if (this.#received > this.#maxBytes) {
      const { host, port, command } = this.#opts;
      return this.finish(new CgminerError('too_large', `${host}:${port}: reply to "${command}" exceeds the ${this.#maxBytes}-byte limit`));
    }
    if (usable === nread && data[nread - 1] !== NEWLINE) {
      (this.#chunks ??= []).push(Buffer.from(data));
      return true;
    }
    const text = replyText(this.#chunks ?? [], data, usable, this.#received);
    if (usable < nread || closesJsonValue(text)) return this.finish(undefined, text);
    (this.#chunks ??= []).push(Buffer.from(data));
    return true;
  }
}

function onRequestTimeout(request: PendingRequest): void {
  request.timedOut();
}

// Socket listeners: EventEmitter calls them with the socket as `this`.
function onSocketEnd(this: RequestSocket): void {
  this[REQUEST]?.ended();
}

function onSocketError(this: RequestSocket, err: NodeJS.ErrnoException): void {
  this[REQUEST]?.failed(err);
}

/** The reply so far: the copied earlier reads, then the first `usable` bytes of the current one. */
function replyText(chunks: Buffer[], current: Buffer, usable: number, length: number): string {
  if (chunks.length === 0) return current.toString('utf8', 0, usable);
  return Buffer.concat([...chunks, current.subarray(0, usable)], length).toString('utf8');
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

function abortError(signal: AbortSignal, host: string, port: number, command: string): CgminerError {
  const why = signal.reason as { name?: string; message?: string } | undefined;
  const isTimeout = why?.name === 'TimeoutError';
  return new CgminerError(isTimeout ? 'timeout' : 'other', `${host}:${port}: "${command}" aborted${why?.message ? `: ${why.message}` : ''}`);
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
