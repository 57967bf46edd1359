import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { DeviceStore } from '../agent/state.js';
import { MetricsExposition } from '../exporters/prometheus/exposition.js';
import { PollStats } from '../agent/poll-stats.js';
import { MqttMetrics } from '../exporters/mqtt/metrics.js';
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
    const polls = new PollStats();
    polls.observePoll('cgminer', 0.031);
    polls.observePoll('cgminer', 5.002, 'timeout');
    polls.pollSkipped('cgminer');
    polls.setTargets(4);
    polls.setInFlight(1);
    polls.targetPolled('cgminer://10.0.1.15:4028', true);
    polls.targetPolled('cgminer://10.0.1.16:4028', false);
    const metrics = new AgentMetrics({ polls, reloads: { succeeded: 1, failed: 1, lastSuccessAtMs: Date.now() } }, { version: '0.1.0' });
    const mqtt = new MqttMetrics();
    mqtt.countPublished('state');
    const selfMetrics = { add: () => {}, families: () => mqtt.families() };

    const text = await new MetricsExposition({ store, metrics, polls, selfMetrics }).renderText();
    expect(text).toContain('potencia_device_info{');
    expect(text).toContain('potencia_target_poll_success{target="cgminer://10.0.1.16:4028"} 0');
    expect(text).toContain('potencia_mqtt_published_messages_total{topic_kind="state"} 1');
    expect(text).toContain('process_cpu_user_seconds_total');

    const check = spawnSync(promtool!, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.error).toBeUndefined();
    expect({ status: check.status, stdout: check.stdout, stderr: check.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });
});
