import { connect } from 'node:net';
import { PollError } from '../../agent/snapshot.js';
import { hostPort } from '../contract.js';
import { abortReason, socketErrorReason, socketErrorText } from '../net-errors.js';

export interface V3RequestOptions {
  host: string;
  port: number;
  cmd: string;
  param?: string;
  timeoutMs: number;
  signal?: AbortSignal;
  maxResponseBytes: number;
}

/** btminer 3.x's reply envelope: `code` 0 is success, `msg` the payload (or the error text). */
export interface V3Reply {
  code: number;
  when?: number;
  desc?: string;
  msg: unknown;
}

const HEADER_BYTES = 4;

/**
 * One request to the Whatsminer API v3 (TCP 4433): the JSON request behind its byte length as a
 * 32-bit little-endian word, and the reply framed the same way. Covers connect and the whole reply in `timeoutMs`; bounded by `maxResponseBytes`.
 */
export function v3Request(opts: V3RequestOptions): Promise<V3Reply> {
  const { host, port, cmd, timeoutMs, signal, maxResponseBytes } = opts;
  const where = hostPort(host, port);
  return new Promise<V3Reply>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new PollError(abortReason(signal), `${where}: "${cmd}" aborted`));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let expected: number | undefined;
    let settled = false;
    const socket = connect({ host, port });

    const finish = (err: PollError | undefined, reply?: V3Reply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const complete = (body: Buffer) => {
      const reply = parseV3Reply(body.toString('utf8'));
      if (typeof reply === 'string') finish(new PollError('malformed', `${where}: reply to "${cmd}" ${reply}`));
      else finish(undefined, reply);
    };

    socket.on('data', (data: Buffer) => {
      if (settled) return;
      chunks.push(data);
      received += data.length;
      if (expected === undefined && received >= HEADER_BYTES) {
        expected = Buffer.concat(chunks, received).readUInt32LE(0);
        if (expected > maxResponseBytes)
          return finish(new PollError('too_large', `${where}: reply to "${cmd}" announces ${expected} bytes, over the ${maxResponseBytes}-byte limit`));
      }
      if (received > maxResponseBytes + HEADER_BYTES) return finish(new PollError('too_large', `${where}: reply to "${cmd}" exceeds the ${maxResponseBytes}-byte limit`));
      if (expected !== undefined && received >= HEADER_BYTES + expected) complete(Buffer.concat(chunks, received).subarray(HEADER_BYTES, HEADER_BYTES + expected));
    });
    socket.on('end', () => {
      if (settled) return;
      finish(
        new PollError(
          received === 0 ? 'reset' : 'malformed',
          `${where}: connection closed ${received === 0 ? 'without a reply' : `after ${received} bytes of a framed reply`} to "${cmd}"`,
        ),
      );
    });
    socket.on('error', (err) => finish(new PollError(socketErrorReason(err), `${where}: ${socketErrorText(err)} during "${cmd}"`)));

    const body = Buffer.from(JSON.stringify(opts.param === undefined ? { cmd } : { cmd, param: opts.param }));
    const header = Buffer.allocUnsafe(HEADER_BYTES);
    header.writeUInt32LE(body.length, 0);
    socket.write(Buffer.concat([header, body]));

    const onAbort = () => finish(new PollError(abortReason(signal!), `${where}: "${cmd}" aborted`));
    signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => finish(new PollError('timeout', `${where}: no complete reply to "${cmd}" within ${timeoutMs} ms`)), timeoutMs);
  });
}

/** The envelope of a reply, or a short description of what is wrong with it. */
export function parseV3Reply(text: string): V3Reply | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return 'is not JSON';
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'is not a JSON object';
  const envelope = parsed as Record<string, unknown>;
  if (typeof envelope['code'] !== 'number') return 'has no numeric "code"';
  const reply: V3Reply = { code: envelope['code'], msg: envelope['msg'] };
  if (typeof envelope['when'] === 'number') reply.when = envelope['when'];
  if (typeof envelope['desc'] === 'string') reply.desc = envelope['desc'];
  return reply;
}
