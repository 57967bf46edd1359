/**
 * One HTTP request (a GET, or a POST with a JSON body for a login) to a miner's web API, as every web-API collector makes it: node:http on the target's
 * own host and port, the whole exchange within a deadline, the body capped in bytes, and never a
 * redirect followed (a miner that sends one elsewhere is reported, not trusted). Failures are
 * PollErrors with a bounded reason; nothing of the request's credentials goes into a message.
 */
import { request, type IncomingHttpHeaders } from 'node:http';
import { PollError } from '../agent/snapshot.js';
import { hostPort } from './contract.js';
import { abortReason, socketErrorReason, socketErrorText } from './net-errors.js';

export interface HttpGetOptions {
  host: string;
  port: number;
  path: string;
  timeoutMs: number;
  signal?: AbortSignal;
  maxResponseBytes: number;
  headers?: Readonly<Record<string, string>>;
  /** A POST with this JSON body instead of a GET. */
  jsonBody?: unknown;
}

export interface HttpReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export function httpGet(opts: HttpGetOptions): Promise<HttpReply> {
  const { host, port, path, timeoutMs, signal, maxResponseBytes } = opts;
  const where = `${hostPort(host, port)}${path}`;
  return new Promise<HttpReply>((resolve, reject) => {
    if (signal?.aborted) {
      reject(new PollError(abortReason(signal), `${where}: aborted`));
      return;
    }
    let settled = false;
    const finish = (err: PollError | undefined, reply?: HttpReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const body = opts.jsonBody === undefined ? undefined : JSON.stringify(opts.jsonBody);
    const headers: Record<string, string> = { accept: 'application/json', connection: 'close', ...opts.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host, port, path, method: body === undefined ? 'GET' : 'POST', headers, agent: false }, (res) => {
      const announced = Number(res.headers['content-length']);
      if (Number.isFinite(announced) && announced > maxResponseBytes) {
        finish(new PollError('too_large', `${where}: reply announces ${announced} bytes, over the ${maxResponseBytes}-byte limit`));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > maxResponseBytes) finish(new PollError('too_large', `${where}: reply exceeds the ${maxResponseBytes}-byte limit`));
        else chunks.push(chunk);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, received).toString('utf8') }));
      res.on('error', (err) => finish(new PollError(socketErrorReason(err), `${where}: ${socketErrorText(err)}`)));
    });
    req.on('error', (err) => finish(new PollError(socketErrorReason(err), `${where}: ${socketErrorText(err)}`)));
    req.end(body);
    const onAbort = () => finish(new PollError(abortReason(signal!), `${where}: aborted`));
    signal?.addEventListener('abort', onAbort);
    const timer = setTimeout(() => finish(new PollError('timeout', `${where}: no complete reply within ${timeoutMs} ms`)), timeoutMs);
  });
}

/** The JSON value of a 200 reply; a PollError saying what the reply was instead. */
export function jsonValueOf(reply: HttpReply, where: string): unknown {
  if (reply.status >= 300 && reply.status < 400) throw new PollError('api_error', `${where}: redirected (HTTP ${reply.status}); redirects are not followed`);
  if (reply.status !== 200) throw new PollError('api_error', `${where}: HTTP ${reply.status}`);
  try {
    return JSON.parse(reply.body);
  } catch {
    throw new PollError('malformed', `${where}: reply is not JSON`);
  }
}

/** A JSON object from a 200 reply; a PollError saying what the reply was instead. */
export function jsonObjectOf(reply: HttpReply, where: string): Record<string, unknown> {
  const parsed = jsonValueOf(reply, where);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new PollError('malformed', `${where}: reply is not a JSON object`);
  return parsed as Record<string, unknown>;
}
