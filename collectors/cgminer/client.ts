import { Socket, type SocketConstructorOpts } from 'node:net';
import type { ErrorReason } from '../../agent/snapshot.js';
import { CgminerError } from './errors.js';
import { hostPort } from '../contract.js';
import { socketErrorReason } from '../net-errors.js';

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;

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
 * A socket and the request it serves. A CGMiner API serves one command per connection, so a poller
 * opens a connection per request; making a net.Socket for each (its stream states, emitter, options
 * copy) was a measurable share of a poll's CPU at farm scale (bench/README.md). A socket whose request was answered is kept once
 * closed and connected again for a later request, which Node supports after 'close'. Its listeners are
 * installed once and hand each event to whichever request holds it.
 */
interface Line {
  readonly socket: Socket;
  onRead: ((nread: number, buffer: Buffer) => boolean) | undefined;
  onEnd: (() => void) | undefined;
  onError: ((err: NodeJS.ErrnoException) => void) | undefined;
  /**
   * Set once its request got a reply: the connection opened and the request was written. A socket
   * closed before that may still hold Node's pending first write, which a later connect would send.
   */
  reusable: boolean;
}

/** Closed sockets ready to connect again: never more than were open at once, and at most 1,024. */
const IDLE_LINES: Line[] = [];
const MAX_IDLE_LINES = 1024;

function takeLine(): Line {
  const idle = IDLE_LINES.pop();
  if (idle) return idle;
  // net.Socket's constructor takes onread (net.connect hands it its options); @types/node lists it for connect only.
  const options = { onread: { buffer: READ_BUFFER, callback: (nread: number, buffer: Buffer) => line.onRead?.(nread, buffer) ?? false } };
  const line: Line = {
    socket: new Socket(options as SocketConstructorOpts),
    onRead: undefined,
    onEnd: undefined,
    onError: undefined,
    reusable: false,
  };
  line.socket.on('end', () => line.onEnd?.());
  line.socket.on('error', (err: NodeJS.ErrnoException) => line.onError?.(err));
  line.socket.on('close', () => {
    line.onRead = line.onEnd = line.onError = undefined;
    if (line.reusable && IDLE_LINES.length < MAX_IDLE_LINES) IDLE_LINES.push(line);
    line.reusable = false;
  });
  return line;
}

/**
 * Sends one request to a CGMiner-compatible API and resolves with the raw reply text (terminator
 * removed). The reply ends at a NUL byte (cgminer, bmminer), at EOF, or at a newline that closes a
 * complete JSON value (bOSminer sends a newline and may keep the socket open).
 */
export function cgminerRequest(opts: CgminerRequestOptions): Promise<string> {
  const { host, port, timeoutMs, signal, command } = opts;
  const maxBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;

  return new Promise<string>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal, host, port, command));
      return;
    }
    // Copies of earlier reads; a reply that fits one read is decoded straight from READ_BUFFER.
    const chunks: Buffer[] = [];
    // Made at the first newline-ended read: most replies end in a NUL and are never scanned.
    let scanner: JsonCloseScanner | undefined;
    /** Chunks the scanner has seen; the rest are scanned at the next newline-ended read. */
    let scannedChunks = 0;
    let received = 0;
    let settled = false;

    const finish = (err: CgminerError | undefined, text?: string): false => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      line.reusable = err === undefined;
      socket.destroy();
      if (err) reject(err);
      else resolve(text!);
      return false;
    };

    const onRead = (nread: number, buffer: Buffer): boolean => {
      if (settled) return false;
      // Only the first nread bytes are this read's; the rest of the shared buffer is stale.
      const data = buffer.subarray(0, nread);
      const nul = data.indexOf(NUL);
      const usable = nul === -1 ? nread : nul;
      received += usable;
      if (received > maxBytes) {
        return finish(new CgminerError('too_large', `${hostPort(host, port)}: reply to "${command}" exceeds the ${maxBytes}-byte limit`));
      }
      if (usable < nread) return finish(undefined, replyText(chunks, data, usable, received));
      if (data[nread - 1] === NEWLINE) {
        // Firmware that ends with a newline rather than a NUL: complete once the JSON closes. Each byte is
        // scanned once, however many newline-ended pieces the reply comes in.
        scanner ??= new JsonCloseScanner();
        for (; scannedChunks < chunks.length; scannedChunks++) scanner.feed(chunks[scannedChunks]!);
        if (scanner.feed(data, usable)) return finish(undefined, replyText(chunks, data, usable, received));
        scannedChunks++;
      }
      chunks.push(Buffer.from(data));
      return true;
    };

    const line = takeLine();
    const socket = line.socket;
    line.onRead = onRead;
    line.onEnd = () => {
      if (received === 0) {
        // cgminer closes silently on clients outside its api-allow list.
        finish(new CgminerError('reset', `${hostPort(host, port)}: closed the connection without replying to "${command}" (is this host allowed by the miner's api-allow?)`));
      } else finish(undefined, joined(chunks, received));
    };
    line.onError = (err) => {
      const reason = socketErrorReason(err);
      finish(new CgminerError(reason, `${hostPort(host, port)}: ${describeSocketError(reason, err)} during "${command}"`));
    };
    socket.connect({ host, port });
    // Written straight away: net queues it until the connection opens. cgminer serves one client at a
    // time, so a client that connects and then waits stalls every other poller of that miner.
    socket.write(requestBytes(command, opts.parameter));

    const onAbort = () => finish(abortError(signal!, host, port, command));
    // finish() removes it, and a signal aborts once: without options, Node's EventTarget skips
    // validating and copying them, on every request.
    signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(
      () =>
        finish(new CgminerError('timeout', `${hostPort(host, port)}: no complete reply to "${command}" within ${timeoutMs} ms${received ? ` (${received} bytes received)` : ''}`)),
      timeoutMs,
    );
  });
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
    case 'refused':
      return 'connection refused (API disabled or miner rebooting?)';
    case 'unreachable':
      return `host unreachable (${err.code})`;
    case 'reset':
      return `connection reset (${err.code})`;
    case 'timeout':
      return `connect timed out (${err.code})`;
    default:
      return err.message;
  }
}

function abortError(signal: AbortSignal, host: string, port: number, command: string): CgminerError {
  const why = signal.reason as { name?: string; message?: string } | undefined;
  const isTimeout = why?.name === 'TimeoutError';
  return new CgminerError(isTimeout ? 'timeout' : 'other', `${hostPort(host, port)}: "${command}" aborted${why?.message ? `: ${why.message}` : ''}`);
}

/**
 * Whether the bytes so far are one complete JSON object or array followed only by whitespace: brackets
 * balance outside strings. Fed each read as it arrives and scanning only those bytes, so a reply sent in
 * many newline-ended pieces costs one pass over it, not one pass per piece. Cheaper than JSON.parse and
 * tolerant of the faults repair() fixes later. JSON's structural characters are ASCII, and no byte of a
 * multi-byte UTF-8 character is, so bytes are scanned as they come, split characters and all.
 */
export class JsonCloseScanner {
  #depth = 0;
  #inString = false;
  #escaped = false;
  #started = false;
  /** The value closed; whitespace may follow. */
  #closed = false;
  /** Something other than whitespace followed the closed value (firmware's `}{`): only NUL or EOF ends it. */
  #spoiled = false;
  /** Bytes scanned, for tests that check each is scanned once. */
  scanned = 0;

  /** Scans bytes[0, end) and says whether the reply is complete at its end. */
  feed(bytes: Uint8Array, end = bytes.length): boolean {
    this.scanned += end;
    for (let i = 0; i < end && !this.#spoiled; i++) {
      const c = bytes[i]!;
      if (this.#closed) {
        if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) this.#spoiled = true;
      } else if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (c === 0x5c) this.#escaped = true;
        else if (c === 0x22) this.#inString = false;
      } else if (c === 0x22) this.#inString = true;
      else if (c === 0x7b || c === 0x5b) {
        this.#depth++;
        this.#started = true;
      } else if (c === 0x7d || c === 0x5d) {
        this.#depth--;
        if (this.#depth === 0 && this.#started) this.#closed = true;
      }
    }
    return this.#closed && !this.#spoiled;
  }
}
