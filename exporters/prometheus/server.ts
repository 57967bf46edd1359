import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { constants as zlibConstants, gzip } from 'node:zlib';
import type { DeviceStoreView, Health } from '../../agent/contracts/part.js';
import type { Logger } from '../../agent/log.js';
import type { DeviceKind, DeviceSnapshot } from '../../agent/snapshot.js';
import type { MetricsExposition } from './exposition.js';
import { TEXT_CONTENT_TYPE } from './text-format.js';

const gzipAsync = promisify(gzip);

export interface HttpServerOptions {
  host: string;
  port: number;
  store: DeviceStoreView;
  /** Renders /metrics; closed with the server. */
  exposition: MetricsExposition;
  logger?: Logger;
  health?: () => Health;
}

export interface HttpServer {
  address: string;
  port: number;
  /** Stops accepting, ends keep-alive and in-flight connections, resolves once the socket is closed. */
  close(): Promise<void>;
}

const DEVICE_KIND_SET: Record<DeviceKind, true> = { asic: true, gpu: true, pdu: true, sensor: true, host: true };
const DEVICES_PATH = '/api/devices';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The exporter's HTTP side. Every route only reads the store: a scrape never waits on a device,
 * because polling runs on the scheduler's clock, not Prometheus's.
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<HttpServer> {
  const { exposition } = opts;
  const health = opts.health ?? (() => ({ ok: true }));

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void> = {
    '/metrics': async (req, res) => {
      const rendered = await exposition.render();
      let payload = rendered.bytes;
      const gzipped = acceptsGzip(req.headers['accept-encoding']);
      if (gzipped) {
        try {
          // Level 1: /metrics bodies are large and repetitive, so the fastest level already shrinks them manyfold (bench/README.md).
          payload = await gzipAsync(rendered.bytes, { level: zlibConstants.Z_BEST_SPEED });
        } finally {
          rendered.release();
        }
      } else {
        // The socket may still be reading the buffer after end(): reuse it only once the response is done.
        res.once('close', rendered.release);
      }
      res.writeHead(200, {
        'Content-Type': TEXT_CONTENT_TYPE,
        'Content-Length': payload.length,
        Vary: 'Accept-Encoding',
        ...(gzipped ? { 'Content-Encoding': 'gzip' } : {}),
      });
      res.end(payload);
    },
    '/healthz': (_req, res) => {
      let result: Health;
      try {
        result = health();
      } catch (err) {
        result = { ok: false, detail: { error: err instanceof Error ? err.message : String(err) } };
      }
      sendJson(res, result.ok ? 200 : 503, { ok: result.ok, ...result.detail });
    },
    [DEVICES_PATH]: (_req, res, url) => {
      sendJson(res, 200, filterDevices(opts.store, url.searchParams));
    },
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      opts.logger?.error({ err, url: req.url }, 'HTTP request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://potencia.invalid');
    const path = url.pathname;
    const route = routes[path] ?? (path.startsWith(`${DEVICES_PATH}/`) ? deviceRoute : undefined);
    if (route === undefined) return sendJson(res, 404, { error: `no route ${path}` });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `${req.method} not allowed; use GET` });
    }
    try {
      await route(req, res, url);
    } catch (err) {
      if (!(err instanceof HttpError)) throw err;
      sendJson(res, err.status, { error: err.message });
    }
  }

  function deviceRoute(_req: IncomingMessage, res: ServerResponse, url: URL): void {
    let id: string;
    try {
      // Ids like "asic/10.0.1.15" hold slashes: everything after the prefix is the id, encoded or not.
      id = decodeURIComponent(url.pathname.slice(DEVICES_PATH.length + 1));
    } catch {
      throw new HttpError(400, 'device id is not valid percent-encoding');
    }
    const snapshot = opts.store.get(id);
    if (snapshot === undefined) throw new HttpError(404, `no device "${id}"`);
    sendJson(res, 200, snapshot);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: opts.host, port: opts.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => opts.logger?.error({ err }, 'HTTP server error'));
  const bound = server.address() as AddressInfo;
  opts.logger?.info({ address: bound.address, port: bound.port }, 'serving /metrics');

  let closing: Promise<void> | undefined;
  return {
    address: bound.address,
    port: bound.port,
    close() {
      exposition.close();
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // Keep-alive sockets (Prometheus holds one open) would otherwise keep close() waiting for their timeout.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function filterDevices(store: DeviceStoreView, params: URLSearchParams): DeviceSnapshot[] {
  const kind = params.get('kind');
  if (kind !== null && !Object.hasOwn(DEVICE_KIND_SET, kind)) {
    throw new HttpError(400, `kind must be one of ${Object.keys(DEVICE_KIND_SET).join(', ')}; got "${kind}"`);
  }
  const upParam = params.get('up');
  if (upParam !== null && upParam !== 'true' && upParam !== 'false') {
    throw new HttpError(400, `up must be true or false; got "${upParam}"`);
  }
  const up = upParam === null ? undefined : upParam === 'true';
  const devices: DeviceSnapshot[] = [];
  for (const snapshot of store.values()) {
    if (kind !== null && snapshot.kind !== kind) continue;
    if (up !== undefined && snapshot.up !== up) continue;
    devices.push(snapshot);
  }
  return devices;
}

/** True when Accept-Encoding lists gzip (or *) without q=0. */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(',') : header;
  for (const part of value.split(',')) {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    if (coding !== 'gzip' && coding !== '*') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = Buffer.from(JSON.stringify(value), 'utf8');
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
}
