import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollStats } from '../agent/poll-stats.js';
import { DeviceStore } from '../agent/state.js';
import { MetricsExposition } from '../exporters/prometheus/exposition.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { startHttpServer, type HttpServer } from '../exporters/prometheus/server.js';
import { antminer } from './fixtures/prometheus/snapshots.js';
import { eventually } from './helpers.js';

const DEVICES = 1_500;
const FLOOD_SOCKETS = 40;
const PIPELINED = 50;
const RSS_GROWTH_LIMIT = 100 * 2 ** 20;

/**
 * Issue 13, finding 3: clients that pipeline GET /metrics and never read made every queued response
 * hold its own page (100 connections: 11.9 GB, /healthz dead for a minute). Now queued responses share
 * a few pages, a connection gets one /metrics at a time, and the agent stays responsive.
 */
describe('a flood of pipelined /metrics requests that are never read', () => {
  let store: DeviceStore;
  let server: HttpServer;
  const sockets: Socket[] = [];

  beforeAll(async () => {
    store = new DeviceStore();
    for (let i = 0; i < DEVICES; i++) store.upsert({ ...antminer(), id: `asic/10.7.${i >> 8}.${i & 255}`, serial: `S${i}` });
    const polls = new PollStats();
    const metrics = new AgentMetrics({ polls, reloads: { succeeded: 0, failed: 0, lastSuccessAtMs: undefined } }, { version: 'flood', processMetrics: false });
    server = await startHttpServer({ host: '127.0.0.1', port: 0, store, exposition: new MetricsExposition({ store, metrics, polls }) });
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await server?.close();
  });

  it('keeps RSS growth bounded while the store keeps changing, and /healthz answers at once', async () => {
    const page = await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).arrayBuffer();
    // Big enough that one page per queued response would be gigabytes.
    expect(page.byteLength * FLOOD_SOCKETS * PIPELINED).toBeGreaterThan(10 * RSS_GROWTH_LIMIT);
    globalThis.gc?.();
    const before = process.memoryUsage().rss;
    let peak = 0;
    for (let i = 0; i < FLOOD_SOCKETS; i++) {
      const socket = connect({ port: server.port, host: '127.0.0.1' });
      // The client never reads: a tiny receive buffer fills at once, as it would across a slow link.
      socket.pause();
      socket.on('error', () => {});
      sockets.push(socket);
      await once(socket, 'connect');
      socket.write('GET /metrics HTTP/1.1\r\nHost: flood\r\n\r\n'.repeat(PIPELINED));
      // The store changes between connections, as it does under polling.
      store.upsert({ ...antminer(), id: `asic/10.7.0.${i}`, serial: `S${i}`, hashrate_hs: 1e14 + i });
      await new Promise((r) => setTimeout(r, 20));
      peak = Math.max(peak, process.memoryUsage().rss - before);
      // Stop early on a regression rather than take the machine's memory.
      if (peak > RSS_GROWTH_LIMIT) break;
    }
    const started = performance.now();
    const health = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    const healthMs = performance.now() - started;
    expect(health.status).toBe(200);
    expect(healthMs).toBeLessThan(1_000);
    const scrape = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    // A scraper that reads still gets a page: each flooding connection holds one slot, not all of them.
    expect(scrape.status).toBe(200);
    await scrape.arrayBuffer();
    peak = Math.max(peak, process.memoryUsage().rss - before);
    expect(peak).toBeLessThan(RSS_GROWTH_LIMIT);
  });

  it('closes a connection that stops reading its /metrics, and its slot serves the next scraper', async () => {
    const polls = new PollStats();
    const metrics = new AgentMetrics({ polls, reloads: { succeeded: 0, failed: 0, lastSuccessAtMs: undefined } }, { version: 'stall', processMetrics: false });
    const strict = await startHttpServer({
      host: '127.0.0.1',
      port: 0,
      store,
      exposition: new MetricsExposition({ store, metrics, polls }),
      limits: { maxMetricsInFlight: 1, socketIdleMs: 300 },
    });
    try {
      const stalled = connect({ port: strict.port, host: '127.0.0.1' });
      stalled.pause();
      stalled.on('error', () => {});
      sockets.push(stalled);
      await once(stalled, 'connect');
      stalled.write('GET /metrics HTTP/1.1\r\nHost: stall\r\n\r\n');
      await new Promise((r) => setTimeout(r, 100));
      // The one slot is held by the stalled response.
      expect((await fetch(`http://127.0.0.1:${strict.port}/metrics`)).status).toBe(503);
      // The server closes the stalled connection (the client, never reading, need not notice) and frees the slot.
      const freedAt = performance.now();
      const next = await eventually(async () => {
        const res = await fetch(`http://127.0.0.1:${strict.port}/metrics`);
        return res.status === 200 ? res : void (await res.arrayBuffer());
      }, 'the slot freed');
      expect(performance.now() - freedAt).toBeLessThan(3_000);
      expect((await next.text()).length).toBeGreaterThan(1_000_000);
    } finally {
      await strict.close();
    }
  });
});
