import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { ServedMiner } from './types.js';

/** A login is a few dozen bytes; a twin reads no more, as a real miner's web server would not. */
const MAX_LOGIN_BYTES = 4096;

/** How a web-API twin answers JSON: a successful reply is cut short while the test has made the miner malformed. */
export function jsonReplier(res: ServerResponse, miner: ServedMiner, headers: OutgoingHttpHeaders = {}): (code: number, value: unknown) => void {
  return (code, value) => {
    let body = JSON.stringify(value);
    if (miner.malformed() && code === 200) body = body.slice(0, Math.floor(body.length * 0.6));
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
}

/** A login request's body; '' when it is over MAX_LOGIN_BYTES (the request is ended) or the request fails. */
export function readLoginBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_LOGIN_BYTES) {
        resolve('');
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(''));
  });
}
