import { describe, expect, it } from 'vitest';
import { PollStats } from '../agent/poll-stats.js';
import { AgentMetrics, type AgentMetricsOptions } from '../exporters/prometheus/metrics.js';

/** AgentMetrics over a fresh PollStats and reload counts, as the Prometheus part builds it. */
function agentMetrics(options: AgentMetricsOptions = { processMetrics: false }) {
  const polls = new PollStats();
  const reloads = { succeeded: 0, failed: 0, lastSuccessAtMs: undefined as number | undefined, lastFailureAtMs: undefined as number | undefined };
  return { polls, reloads, metrics: new AgentMetrics({ polls, reloads }, options) };
}

describe('AgentMetrics', () => {
  it('records polls, skips, scheduler gauges and reloads in low-cardinality series', async () => {
    const { polls, reloads, metrics } = agentMetrics({ version: '1.2.3', processMetrics: false });
    polls.observePoll('cgminer', 0.02);
    polls.observePoll('cgminer', 0.3, 'refused');
    polls.pollSkipped('cgminer');
    polls.setTargets(120);
    polls.setInFlight(7);
    reloads.failed++;
    reloads.lastFailureAtMs = Date.parse('2025-01-01T00:00:05Z');
    expect(await metrics.render()).toContain('potencia_config_last_reload_successful 0');
    reloads.succeeded++;
    reloads.lastSuccessAtMs = Date.parse('2025-01-01T00:00:10Z');

    const text = await metrics.render();
    expect(text).toContain('potencia_config_last_reload_successful 1');
    expect(text).toContain('potencia_collector_duration_seconds_count{collector="cgminer"} 2');
    expect(text).toContain('potencia_collector_duration_seconds_bucket{le="0.025",collector="cgminer"} 1');
    expect(text).toContain('potencia_collector_polls_total{collector="cgminer",result="ok"} 1');
    expect(text).toContain('potencia_collector_polls_total{collector="cgminer",result="error"} 1');
    expect(text).toContain('potencia_collector_errors_total{collector="cgminer",reason="refused"} 1');
    // Every reason exists from the first poll, so rate() works before the first failure of that kind.
    expect(text).toContain('potencia_collector_errors_total{collector="cgminer",reason="malformed"} 0');
    expect(text).toContain('potencia_scheduler_skipped_total{collector="cgminer"} 1');
    expect(text).toContain('potencia_scheduler_targets 120');
    expect(text).toContain('potencia_scheduler_in_flight 7');
    expect(text).toContain('potencia_config_reload_total{result="success"} 1');
    expect(text).toContain('potencia_config_reload_total{result="failure"} 1');
    expect(text).toContain('potencia_config_last_reload_success_timestamp_seconds 1735689610');
    expect(text).toContain('potencia_build_info{version="1.2.3"} 1');
    expect(text).not.toContain('process_cpu');
  });

  it('puts a poll on a bucket bound into that bucket, sums seconds, and keeps counting across scrapes', async () => {
    const { polls, metrics } = agentMetrics();
    for (const seconds of [0.005, 0.0051, 30, 31]) polls.observePoll('cgminer', seconds);
    let text = await metrics.render();
    expect(text).toContain('potencia_collector_duration_seconds_bucket{le="0.005",collector="cgminer"} 1');
    expect(text).toContain('potencia_collector_duration_seconds_bucket{le="0.01",collector="cgminer"} 2');
    expect(text).toContain('potencia_collector_duration_seconds_bucket{le="30",collector="cgminer"} 3');
    expect(text).toContain('potencia_collector_duration_seconds_bucket{le="+Inf",collector="cgminer"} 4');
    expect(text).toContain('potencia_collector_duration_seconds_sum{collector="cgminer"} 61.0101');
    polls.observePoll('cgminer', 1, 'timeout');
    polls.observePoll('snmp', 0.5);
    text = await metrics.render();
    expect(text).toContain('potencia_collector_duration_seconds_count{collector="cgminer"} 5');
    expect(text).toContain('potencia_collector_polls_total{collector="cgminer",result="ok"} 4');
    expect(text).toContain('potencia_collector_errors_total{collector="cgminer",reason="timeout"} 1');
    expect(text).toContain('potencia_collector_polls_total{collector="snmp",result="ok"} 1');
    expect(text).toContain('potencia_collector_errors_total{collector="snmp",reason="timeout"} 0');
  });

  it('replaces device counts, so a kind that vanished loses its series', async () => {
    const { metrics } = agentMetrics();
    metrics.setDeviceCounts([
      { kind: 'asic', up: true, count: 10 },
      { kind: 'gpu', up: false, count: 2 },
    ]);
    metrics.setDeviceCounts([{ kind: 'asic', up: true, count: 9 }]);
    const text = await metrics.render();
    expect(text).toContain('potencia_devices{kind="asic",up="true"} 9');
    expect(text).not.toContain('kind="gpu"');
  });

  it('reports the package version by default', async () => {
    const text = await agentMetrics().metrics.render();
    expect(text).toMatch(/potencia_build_info\{version="\d+\.\d+\.\d+[^"]*"\} 1/);
  });
});
