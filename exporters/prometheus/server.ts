import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { DeviceStoreView, Health } from '../../agent/contracts/part.js';
import type { Logger } from '../../agent/log.js';
import { LogLimiter } from '../../agent/log-limit.js';
import { redactSnapshot } from '../../agent/redact.js';
import type { DeviceKind, DeviceSnapshot } from '../../agent/snapshot.js';
import type { SitePlan } from '../../agent/economics/types.js';
import type { MetricsExposition } from './exposition.js';
import { SharedMetricsPage } from './shared-page.js';
import { TEXT_CONTENT_TYPE } from './text-format.js';
import type { WebSecurity } from './web-config.js';
import type { ClientAuthType } from '../../config/web-schema.js';

export interface HttpLimits {
  /** /metrics responses being rendered or sent at once; past it a scrape is answered 503 at once. */
  maxMetricsInFlight: number;
  /** A connection gets no further /metrics until its last one is sent (pipelined requests get 503). */
  maxMetricsPerSocket: number;
  /** A connection that neither sends nor takes a byte for this long is closed (a reader that stopped reading). */
  socketIdleMs: number;
  /** The request head must arrive within this. */
  headersTimeoutMs: number;
}

const DEFAULT_LIMITS: HttpLimits = { maxMetricsInFlight: 64, maxMetricsPerSocket: 1, socketIdleMs: 30_000, headersTimeoutMs: 10_000 };

export interface HttpServerOptions {
  host: string;
  port: number;
  store: DeviceStoreView;
  /** Renders /metrics; closed with the server. */
  exposition: MetricsExposition;
  logger?: Logger;
  health?: () => Health;
  /** The site plan /api/plan serves (economics' knownSitePlan); absent without economics. */
  sitePlan?: () => SitePlan | undefined;
  /** TLS and basic auth (agent.web_config_file); read at each connection and request, so a reload applies at once. */
  security?: () => WebSecurity;
  limits?: Partial<HttpLimits>;
}

export interface HttpServer {
  address: string;
  port: number;
  /** undefined for plain HTTP, else HTTPS with this client certificate policy (both fixed for the server's life). */
  clientAuth: ClientAuthType | undefined;
  /** New certificates for new connections (a rotated certificate, a reloaded web config). */
  updateSecurity(security: WebSecurity): void;
  /** Stops accepting, ends keep-alive and in-flight connections, resolves once the socket is closed. */
  close(): Promise<void>;
}

/** The landing page, as node_exporter has one: where a person who opens the address in a browser finds the endpoints. */
const LANDING_PAGE = Buffer.from(
  `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Potencia</title></head>
<body>
<h1>Potencia</h1>
<p>Farm agent: miners, GPUs and PDUs, their power, heat and economics.</p>
<ul>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="healthz">/healthz</a>: health</li>
<li><a href="api/devices">/api/devices</a>: every device's latest reading (JSON)</li>
<li><a href="api/plan">/api/plan</a>: the site plan under the power cap (JSON)</li>
</ul>
</body></html>
`,
  'utf8',
);

/** Paths anyone may read without credentials: a liveness probe cannot hold a password. */
const OPEN_PATHS = new Set(['/healthz']);

const DEVICE_KIND_SET: Record<DeviceKind, true> = { asic: true, gpu: true, pdu: true, sensor: true, host: true };
const DEVICES_PATH = '/api/devices';
const PLAN_PATH = '/api/plan';

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
  const limits: HttpLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const security: () => WebSecurity = opts.security ?? (() => ({}));
  const page = new SharedMetricsPage(exposition, opts.store);
  let metricsInFlight = 0;
  const metricsPerSocket = new WeakMap<Socket, number>();

  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void> = {
    '/': (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': LANDING_PAGE.length });
      res.end(LANDING_PAGE);
    },
    '/metrics': async (req, res) => {
      const socket = req.socket;
      const onSocket = metricsPerSocket.get(socket) ?? 0;
      if (metricsInFlight >= limits.maxMetricsInFlight || onSocket >= limits.maxMetricsPerSocket) {
        res.setHeader('Retry-After', '1');
        return sendJson(res, 503, { error: 'too many /metrics requests in flight; try again' });
      }
      // Counted from now until the response is sent or its connection dies: a queued response holds its page.
      metricsInFlight++;
      metricsPerSocket.set(socket, onSocket + 1);
      let lease: Awaited<ReturnType<SharedMetricsPage['acquire']>> | undefined;
      res.once('close', () => {
        metricsInFlight--;
        metricsPerSocket.set(socket, (metricsPerSocket.get(socket) ?? 1) - 1);
        // The socket may still be reading the buffer after end(): reuse it only once the response is done.
        lease?.release();
      });
      const gzipped = acceptsGzip(req.headers['accept-encoding']);
      lease = await page.acquire(gzipped ? 'gzip' : 'identity');
      if (res.destroyed) return lease.release();
      const payload = lease.body;
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
      sendJson(res, 200, filterDevices(opts.store, url.searchParams).map(redactSnapshot));
    },
    // The other agents of a split site read it here (agent/cluster.ts); a 404 tells them there is none yet.
    [PLAN_PATH]: (_req, res) => {
      if (!opts.sitePlan) throw new HttpError(404, 'no site plan: the config has no economics section');
      const plan = opts.sitePlan();
      if (plan === undefined) throw new HttpError(404, 'no site plan yet');
      sendJson(res, 200, plan);
    },
  };

  // A client decides how often a request fails: its log lines are rate-limited.
  const requestErrors = opts.logger && new LogLimiter(opts.logger);
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    void handle(req, res).catch((err: unknown) => {
      requestErrors?.error(`request:${errorKind(err)}`, { err, url: req.url?.slice(0, 200) }, 'HTTP request failed');
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  };
  const initialTls = security().tls;
  let server: Server;
  if (initialTls) {
    const clientAuth = initialTls.clientAuth;
    const https = createHttpsServer(
      {
        ...initialTls.context,
        requestCert: clientAuth !== 'NoClientCert',
        // Node can only refuse unverified certificates at the handshake; the looser policies are checked below.
        rejectUnauthorized: clientAuth === 'RequireAndVerifyClientCert',
      },
      onRequest,
    );
    if (clientAuth === 'RequireAnyClientCert' || clientAuth === 'VerifyClientCertIfGiven') {
      https.on('secureConnection', (socket: TLSSocket) => {
        const presented = Object.keys(socket.getPeerCertificate()).length > 0;
        if (clientAuth === 'RequireAnyClientCert' ? !presented : presented && !socket.authorized) socket.destroy();
      });
    }
    server = https;
  } else {
    server = createHttpServer(onRequest);
  }
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.headersTimeoutMs * 3;
  // A client that pipelines requests and never reads their responses stops making progress: close it.
  server.setTimeout(limits.socketIdleMs);

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://potencia.invalid');
    const path = url.pathname;
    const route = routes[path] ?? (path.startsWith(`${DEVICES_PATH}/`) ? deviceRoute : undefined);
    if (!OPEN_PATHS.has(path)) {
      const auth = security().auth;
      const verdict = auth === undefined ? 'ok' : await auth.check(req.headers.authorization);
      if (verdict === 'busy') {
        res.setHeader('Retry-After', '1');
        return sendJson(res, 503, { error: 'too many logins being checked; try again' });
      }
      if (verdict === 'denied') {
        res.setHeader('WWW-Authenticate', 'Basic realm="potencia", charset="UTF-8"');
        return sendJson(res, 401, { error: 'unauthorized' });
      }
    }
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
    sendJson(res, 200, redactSnapshot(snapshot));
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
  opts.logger?.info({ address: bound.address, port: bound.port, tls: initialTls !== undefined, basic_auth: security().auth !== undefined }, 'serving /metrics');

  let closing: Promise<void> | undefined;
  return {
    address: bound.address,
    port: bound.port,
    clientAuth: initialTls?.clientAuth,
    updateSecurity(next) {
      if (initialTls && next.tls) (server as ReturnType<typeof createHttpsServer>).setSecureContext(next.tls.context);
    },
    close() {
      exposition.close();
      requestErrors?.stop();
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

/** A bounded key for rate-limiting a request error: its type and code, never its message. */
function errorKind(err: unknown): string {
  return err instanceof Error ? `${err.name}:${(err as NodeJS.ErrnoException).code ?? ''}` : 'unknown';
}
