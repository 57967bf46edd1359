import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DeviceStore } from '../agent/state.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { PollStats } from '../agent/poll-stats.js';
import { MetricsExposition } from '../exporters/prometheus/exposition.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { startHttpServer, type HttpServer } from '../exporters/prometheus/server.js';
import { antminer, downWhatsminer } from './fixtures/prometheus/snapshots.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  socket: Socket;
}

function get(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; agent?: Agent } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent }, (res) => {
      const chunks: Buffer[] = [];
      const socket = res.socket;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks), socket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends `count` GET /metrics on one connection before reading anything, then reads every response. */
async function pipeline(port: number, count: number): Promise<{ status: number; body: string }[]> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`${'GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n'.repeat(count - 1)}GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  socket.destroy();
  let rest = Buffer.concat(chunks).toString('latin1');
  const replies: { status: number; body: string }[] = [];
  while (rest.length > 0) {
    const head = rest.slice(0, rest.indexOf('\r\n\r\n'));
    const length = Number(/content-length: (\d+)/i.exec(head)![1]);
    const start = head.length + 4;
    replies.push({ status: Number(head.split(' ')[1]), body: rest.slice(start, start + length) });
    rest = rest.slice(start + length);
  }
  return replies;
}

const json = (r: Reply): unknown => JSON.parse(r.body.toString('utf8'));
const ids = (r: Reply) => (json(r) as DeviceSnapshot[]).map((s) => s.id);

const gpu: DeviceSnapshot = {
  id: 'GPU-6b1e9f1c',
  kind: 'gpu',
  target: 'nvidia://node1',
  labels: { site: 'dal1' },
  up: true,
  observed_at: '2025-01-01T12:00:01.000Z',
  power_w: 287.4,
  power_source: 'gpu_counter',
  temperatures_c: { gpu: 64 },
  fans_rpm: [],
};

describe('startHttpServer', () => {
  let store: DeviceStore;
  let metrics: AgentMetrics;
  let polls: PollStats;
  let server: HttpServer;
  let healthy = true;

  beforeEach(async () => {
    store = new DeviceStore();
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    store.upsert(gpu);
    // No process metrics: they move between two scrapes, and these tests compare bodies.
    polls = new PollStats();
    metrics = new AgentMetrics({ polls, reloads: { succeeded: 0, failed: 0, lastSuccessAtMs: undefined } }, { version: '9.9.9-test', processMetrics: false });
    healthy = true;
    server = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      store,
      exposition: new MetricsExposition({ store, metrics, polls }),
      health: () => ({ ok: healthy, detail: { devices: store.size } }),
    });
  });

  afterEach(async () => {
    await server.close();
  });

  it('listens on the port the OS picked', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.address).toBe('127.0.0.1');
  });

  it('serves device families and agent metrics in one text exposition', async () => {
    polls.observePoll('cgminer', 0.042);
    polls.observePoll('cgminer', 5, 'timeout');
    const r = await get(server.port, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.headers['content-encoding']).toBeUndefined();
    const text = r.body.toString('utf8');
    expect(Number(r.headers['content-length'])).toBe(r.body.length);
    expect(text).toContain('potencia_device_up{device="asic/10.0.1.15",rack="r12",room="",site="dal1"} 1\n');
    expect(text).toContain('potencia_device_power_watts{device="GPU-6b1e9f1c",rack="",room="",site="dal1",source="gpu_counter"} 287.4\n');
    expect(text).toContain('potencia_build_info{version="9.9.9-test"} 1');
    expect(text).toContain('potencia_devices{kind="asic",up="true"} 1');
    expect(text).toContain('potencia_devices{kind="asic",up="false"} 1');
    expect(text).toContain('potencia_devices{kind="gpu",up="true"} 1');
    expect(text).toContain('potencia_collector_errors_total{collector="cgminer",reason="timeout"} 1');
    expect(text).toContain('potencia_collector_polls_total{collector="cgminer",result="ok"} 1');
  });

  it('gzips when the scraper accepts it, and the decoded body is the plain one', async () => {
    const plain = await get(server.port, '/metrics');
    const zipped = await get(server.port, '/metrics', { headers: { 'Accept-Encoding': 'deflate, gzip;q=0.8' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers.vary).toBe('Accept-Encoding');
    expect(gunzipSync(zipped.body).toString('utf8')).toBe(plain.body.toString('utf8'));

    const refused = await get(server.port, '/metrics', { headers: { 'Accept-Encoding': 'gzip;q=0, identity' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it('answers HEAD with the headers and no body', async () => {
    const r = await get(server.port, '/metrics', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(Number(r.headers['content-length'])).toBeGreaterThan(1000);
    expect(r.body.length).toBe(0);
  });

  it('serves overlapping scrapes from separate buffers', async () => {
    const replies = await Promise.all([1, 2, 3, 4].map(() => get(server.port, '/metrics')));
    const first = replies[0]!.body.toString('utf8');
    for (const r of replies) expect(r.body.toString('utf8')).toBe(first);
  });

  it('reflects the store at each scrape: a device removed between scrapes is gone', async () => {
    expect((await get(server.port, '/metrics')).body.toString()).toContain('GPU-6b1e9f1c');
    store.remove('GPU-6b1e9f1c');
    const text = (await get(server.port, '/metrics')).body.toString();
    expect(text).not.toContain('GPU-6b1e9f1c');
    expect(text).not.toContain('potencia_devices{kind="gpu"');
  });

  it('reports health as JSON, 503 when unhealthy', async () => {
    const ok = await get(server.port, '/healthz');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^application\/json/);
    expect(json(ok)).toEqual({ ok: true, devices: 3 });
    healthy = false;
    const bad = await get(server.port, '/healthz');
    expect(bad.status).toBe(503);
    expect(json(bad)).toEqual({ ok: false, devices: 3 });
  });

  it('lists devices as snapshots, filtered by kind and up', async () => {
    const all = await get(server.port, '/api/devices');
    expect(all.status).toBe(200);
    expect(json(all)).toEqual([antminer(), downWhatsminer(), gpu]);
    expect(ids(await get(server.port, '/api/devices?kind=asic'))).toEqual(['asic/10.0.1.15', 'asic/10.0.2.7']);
    expect(ids(await get(server.port, '/api/devices?kind=gpu'))).toEqual(['GPU-6b1e9f1c']);
    expect(ids(await get(server.port, '/api/devices?up=false'))).toEqual(['asic/10.0.2.7']);
    expect(ids(await get(server.port, '/api/devices?kind=asic&up=true'))).toEqual(['asic/10.0.1.15']);
    expect(ids(await get(server.port, '/api/devices?kind=pdu'))).toEqual([]);
  });

  it('rejects filters it does not understand with a 400 that says why', async () => {
    const badUp = await get(server.port, '/api/devices?up=maybe');
    expect(badUp.status).toBe(400);
    expect(json(badUp)).toEqual({ error: 'up must be true or false; got "maybe"' });
    const badKind = await get(server.port, '/api/devices?kind=toaster');
    expect(badKind.status).toBe(400);
    expect((json(badKind) as { error: string }).error).toMatch(/kind must be one of asic, gpu/);
  });

  it('serves one device by id, its slash encoded or not, and 404 for an unknown one', async () => {
    const encoded = await get(server.port, `/api/devices/${encodeURIComponent('asic/10.0.2.7')}`);
    expect(encoded.status).toBe(200);
    expect(json(encoded)).toEqual(downWhatsminer());
    const raw = await get(server.port, '/api/devices/asic/10.0.1.15');
    expect((json(raw) as DeviceSnapshot).id).toBe('asic/10.0.1.15');
    const unknown = await get(server.port, '/api/devices/asic%2F10.9.9.9');
    expect(unknown.status).toBe(404);
    expect(json(unknown)).toEqual({ error: 'no device "asic/10.9.9.9"' });
  });

  it('serves a small landing page at / linking the endpoints, as node_exporter does', async () => {
    const r = await get(server.port, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    const html = r.body.toString('utf8');
    for (const path of ['metrics', 'healthz', 'api/devices']) expect(html).toContain(`<a href="${path}">/${path}</a>`);
    expect(r.body.length).toBeLessThan(1024);
  });

  it('keeps pool passwords and credentials in errors out of /api', async () => {
    store.upsert({
      ...antminer(),
      id: 'asic/10.0.1.99',
      pools: [{ url: 'stratum+tcp://acct.worker1:hunter2@pool.example.com:3333', user: 'acct.worker1', status: 'Alive' }],
    });
    store.upsert({ ...gpu, id: 'GPU-secret', up: false, error_reason: 'exec', error: 'ssh: Authorization: Bearer eyJhbGciOi.abc password=hunter3 exit 255' });
    const bodies = [
      (await get(server.port, '/api/devices')).body.toString('utf8'),
      (await get(server.port, '/api/devices/asic/10.0.1.99')).body.toString('utf8'),
      (await get(server.port, '/api/devices/GPU-secret')).body.toString('utf8'),
    ];
    for (const body of bodies) expect(body).not.toMatch(/hunter|eyJhbGciOi/);
    expect(bodies[1]).toContain('stratum+tcp://acct.worker1:<secret>@pool.example.com:3333');
    expect(JSON.parse(bodies[2]!).error).toBe('ssh: Authorization: <secret> password=<secret> exit 255');
    // The store keeps what the device said; only what leaves the agent is redacted.
    expect(store.get('asic/10.0.1.99')!.pools![0]!.url).toContain('hunter2');
  });

  it("keeps an SNMP target's community out of /metrics, and two communities on one host apart", async () => {
    polls.targetPolled('snmp://pr1vate@10.0.9.2', true);
    polls.targetPolled('snmp://0ther@10.0.9.2', false);
    polls.targetPolled('cgminer://10.0.1.15:4028', true);
    const text = (await get(server.port, '/metrics')).body.toString('utf8');
    expect(text).not.toMatch(/pr1vate|0ther/);
    expect(text).toContain('potencia_target_poll_success{target="snmp://<secret>@10.0.9.2"} 1');
    expect(text).toContain('potencia_target_poll_success{target="snmp://<secret>@10.0.9.2#2"} 0');
    expect(text).toContain('potencia_target_poll_success{target="cgminer://10.0.1.15:4028"} 1');
    store.upsert({ ...gpu, id: 'pdu/10.0.9.2', kind: 'pdu', target: 'snmp://pr1vate@10.0.9.2' });
    expect((await get(server.port, '/api/devices/pdu/10.0.9.2')).body.toString('utf8')).not.toContain('pr1vate');
  });

  it('answers 404 for unknown paths and 405 for methods other than GET and HEAD', async () => {
    expect((await get(server.port, '/metricsx')).status).toBe(404);
    const post = await get(server.port, '/metrics', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    expect((await get(server.port, '/api/devices/x', { method: 'DELETE' })).status).toBe(405);
  });

  it('closes keep-alive connections on close() instead of waiting for them to idle out', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const r = await get(server.port, '/healthz', { agent });
      const socketClosed = new Promise<void>((resolve) => r.socket.once('close', () => resolve()));
      expect(r.socket.destroyed).toBe(false);
      await server.close();
      await socketClosed;
      await expect(get(server.port, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      agent.destroy();
    }
  });

  it('renders one page for scrapes pipelined on one connection, and answers those past the per-connection bound 503 at once', async () => {
    const exposition = new MetricsExposition({ store, metrics, polls });
    let renders = 0;
    const render = exposition.render.bind(exposition);
    exposition.render = () => {
      renders++;
      return render();
    };
    const shared = await startHttpServer({ host: '127.0.0.1', port: 0, store, exposition, limits: { maxMetricsPerSocket: 3 } });
    try {
      const replies = await pipeline(shared.port, 5);
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 503, 503]);
      expect(replies[1]!.body).toBe(replies[0]!.body);
      expect(renders).toBe(1);
    } finally {
      await shared.close();
    }
  });

  it('fails to start with the OS error when the port is taken', async () => {
    const exposition = new MetricsExposition({ store, metrics, polls });
    await expect(startHttpServer({ host: '127.0.0.1', port: server.port, store, exposition })).rejects.toThrow(/EADDRINUSE/);
    exposition.close();
  });
});
