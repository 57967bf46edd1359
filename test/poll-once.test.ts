import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runScanCommand } from '../agent/scan-cli.js';
import { defaultDeadlineMs, pollOnce } from '../agent/poll-once.js';
import { downSnapshot } from '../agent/snapshot.js';
import { targetsFromUrls } from '../agent/targets.js';
import type { Collector, Target } from '../collectors/contract.js';

/** A collector like a slow SNMP agent's: it answers never, whatever its signal says. */
function hung(target: Target): Collector {
  const placeholder = () => ({ id: `pdu/${target.host}`, kind: 'pdu' as const, target: target.url, labels: {} });
  return { target, placeholder, collect: () => new Promise(() => {}) };
}

function answering(target: Target): Collector {
  const placeholder = () => ({ id: `asic/${target.host}`, kind: 'asic' as const, target: target.url, labels: {} });
  return { target, placeholder, collect: async () => [{ ...downSnapshot(placeholder(), 'refused', 'x'), up: true, error: undefined, error_reason: undefined }] };
}

describe('one-shot polls end at their deadline', () => {
  const servers: Server[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('reports a collector that never returns, and the targets still queued behind it, down with reason timeout', async () => {
    const targets = targetsFromUrls(['snmp://public@10.0.0.1', 'cgminer://10.0.0.2', 'snmp://public@10.0.0.3', 'cgminer://10.0.0.4'], 5000);
    const started = performance.now();
    const snapshots = await pollOnce(targets, { concurrency: 1, deadlineMs: 200, collectorFor: (t) => (t.scheme === 'snmp' ? hung(t) : answering(t)) });
    expect(performance.now() - started).toBeLessThan(1000);
    expect(snapshots.map((s) => [s.id, s.up, s.error_reason])).toEqual([
      ['pdu/10.0.0.1', false, 'timeout'],
      ['asic/10.0.0.2', false, 'timeout'],
      ['pdu/10.0.0.3', false, 'timeout'],
      ['asic/10.0.0.4', false, 'timeout'],
    ]);
    expect(snapshots[0]!.error).toBe("no reply within the command's deadline of 0.2s");
    const parallel = await pollOnce(targets, { concurrency: 4, deadlineMs: 200, collectorFor: (t) => (t.scheme === 'snmp' ? hung(t) : answering(t)) });
    expect(parallel.map((s) => s.up)).toEqual([false, true, false, true]);
  });

  it('defaults to the longest timeout times two more than the rounds of concurrency', () => {
    const targets = targetsFromUrls(['cgminer://10.0.0.0/29'], 5000);
    expect(targets.length).toBe(6);
    expect(defaultDeadlineMs(targets, 4)).toBe(5000 * (2 + 2));
    expect(defaultDeadlineMs(targets, 64)).toBe(5000 * 3);
  });

  it('scan stops at its deadline with one line and exit 1', async () => {
    // Accepts the connection and never answers the identify request.
    const server = createServer((socket) => {
      socket.on('error', () => {});
      sockets.push(socket);
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const err: string[] = [];
    const out: string[] = [];
    const started = performance.now();
    const code = await runScanCommand(
      { ranges: ['127.0.0.1'], port, probeConcurrency: 8, identifyTimeoutMs: 20_000, json: true, listSilent: false, force: false, deadlineMs: 300 },
      { out: (t) => out.push(t), err: (t) => err.push(t) },
    );
    expect(performance.now() - started).toBeLessThan(3000);
    expect(code).toBe(1);
    expect(err).toEqual(['potencia scan: stopped at the deadline of 0.3s before the scan finished; give a longer --deadline or a smaller range']);
    expect(out).toEqual([]);
  });
});
