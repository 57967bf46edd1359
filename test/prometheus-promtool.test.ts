import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DeviceStore } from '../agent/state.js';
import { MetricsExposition } from '../exporters/prometheus/exposition.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { antminer, downWhatsminer } from './fixtures/prometheus/snapshots.js';
import { findTool } from './helpers.js';

// findTool throws under CI=true when promtool is missing: there it is a broken setup, not a skip.
const promtool = findTool('promtool');
if (!promtool) console.warn('promtool not found (Debian package "prometheus"): skipping the exposition lint');

describe.skipIf(!promtool)('promtool check metrics', () => {
  it('finds nothing to report in a real exposition: devices of every shape plus the agent and process metrics', async () => {
    const store = new DeviceStore();
    store.upsert(antminer());
    store.upsert(antminer({ id: 'asic/10.0.1.16', address: '10.0.1.16', labels: { site: 'dal1', rack: 'r12', 'row-no': '4' }, boards: [{ index: 0, status: 'dead' }] }));
    store.upsert(downWhatsminer());
    store.upsert(
      antminer({
        id: 'asic/odd"name\\',
        labels: { site: 'line1\nline2' },
        hashrate_hs: NaN,
        power_w: Infinity,
        power_source: 'estimated',
        power_by_source_w: undefined,
        temperatures_c: { 'chip "max"': -0.5 },
        error: 'board 2 missing',
        error_reason: 'malformed',
      }),
    );
    store.upsert({
      id: 'GPU-6b1e9f1c',
      kind: 'gpu',
      target: 'nvidia://node1',
      labels: { site: 'Zürich' },
      up: true,
      observed_at: '2025-01-01T12:00:01.000Z',
      power_w: 287.4,
      power_source: 'gpu_counter',
      temperatures_c: { gpu: 64 },
      fans_rpm: [],
    });
    const metrics = new AgentMetrics({ version: '0.1.0' });
    metrics.observePoll('cgminer', 0.031);
    metrics.observePoll('cgminer', 5.002, 'timeout');
    metrics.pollSkipped('cgminer');
    metrics.setTargets(4);
    metrics.setInFlight(1);
    metrics.configReloaded(true);
    metrics.configReloaded(false);

    const text = await new MetricsExposition(store, metrics).renderText();
    expect(text).toContain('potencia_device_info{');
    expect(text).toContain('process_cpu_user_seconds_total');

    const check = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect({ status: check.status, stdout: check.stdout, stderr: check.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
