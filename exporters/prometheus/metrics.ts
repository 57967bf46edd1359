import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import type { PollStatsView, ReloadStats } from '../../agent/contracts/part.js';
import type { DeviceKind } from '../../agent/snapshot.js';

export interface AgentMetricsOptions {
  /** Reported in potencia_build_info; defaults to the version in the package's package.json. */
  version?: string;
  /** prom-client's process_* and nodejs_* metrics; tests that build many instances turn them off. */
  processMetrics?: boolean;
}

/** What the agent's own series are read from, at scrape. */
export interface AgentMetricsSources {
  readonly polls: PollStatsView;
  readonly reloads: ReloadStats;
}

export interface DeviceCount {
  kind: DeviceKind;
  up: boolean;
  count: number;
}

/**
 * The agent's own health, in a prom-client Registry: few series, so prom-client's cost does not
 * matter here (device series go through DeviceMetricsRenderer). Every series is read from the
 * agent's counts when scraped.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  readonly #devices: Gauge<'kind' | 'up'>;

  constructor(sources: AgentMetricsSources, options: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    const { polls, reloads } = sources;
    this.registry.registerMetric(pollDurationHistogram(polls) as unknown as Metric);
    const errors: Counter<'collector' | 'reason'> = new Counter({
      name: 'potencia_collector_errors_total',
      help: 'Polls that failed, by collector and bounded reason (timeout, refused, malformed, …).',
      labelNames: ['collector', 'reason'],
      registers,
      collect: () => {
        errors.reset();
        for (const [collector, tally] of polls.collectors()) for (const [reason, n] of tally.errors) errors.inc({ collector, reason }, n);
      },
    });
    const polled: Counter<'collector' | 'result'> = new Counter({
      name: 'potencia_collector_polls_total',
      help: 'Polls completed, by collector and result (ok, error).',
      labelNames: ['collector', 'result'],
      registers,
      collect: () => {
        polled.reset();
        for (const [collector, tally] of polls.collectors()) {
          polled.inc({ collector, result: 'ok' }, tally.ok);
          polled.inc({ collector, result: 'error' }, tally.failed);
        }
      },
    });
    const targets: Gauge = new Gauge({ name: 'potencia_scheduler_targets', help: 'Targets the scheduler polls.', registers, collect: () => targets.set(polls.targetCount) });
    const inFlight: Gauge = new Gauge({ name: 'potencia_scheduler_in_flight', help: 'Polls running right now.', registers, collect: () => inFlight.set(polls.inFlight) });
    const skipped: Counter<'collector'> = new Counter({
      name: 'potencia_scheduler_skipped_total',
      help: 'Polls skipped because the previous poll of the same target was still running.',
      labelNames: ['collector'],
      registers,
      collect: () => {
        skipped.reset();
        for (const [collector, tally] of polls.collectors()) skipped.inc({ collector }, tally.skipped);
      },
    });
    this.#devices = new Gauge({ name: 'potencia_devices', help: "Devices in the agent's state, by kind and whether they are up.", labelNames: ['kind', 'up'], registers });
    const buildInfo = new Gauge({ name: 'potencia_build_info', help: 'Version of the running agent; always 1.', labelNames: ['version'], registers });
    buildInfo.set({ version: options.version ?? packageVersion() }, 1);
    const reloaded: Counter<'result'> = new Counter({
      name: 'potencia_config_reload_total',
      help: 'Config reloads, by result (success, failure).',
      labelNames: ['result'],
      registers,
      collect: () => {
        reloaded.reset();
        reloaded.inc({ result: 'success' }, reloads.succeeded);
        reloaded.inc({ result: 'failure' }, reloads.failed);
      },
    });
    const lastReload: Gauge = new Gauge({
      name: 'potencia_config_last_reload_success_timestamp_seconds',
      help: 'Unix time of the last config load or reload that succeeded.',
      registers,
      collect: () => {
        if (reloads.lastSuccessAtMs === undefined) lastReload.remove();
        else lastReload.set(reloads.lastSuccessAtMs / 1000);
      },
    });
    // As prometheus_config_last_reload_successful: an alert on it clears as soon as a reload works again.
    const lastReloadOk: Gauge = new Gauge({
      name: 'potencia_config_last_reload_successful',
      help: 'Whether the last config load or reload succeeded (1) or failed and the agent still runs the config before it (0).',
      registers,
      collect: () => {
        const { lastSuccessAtMs, lastFailureAtMs } = reloads;
        lastReloadOk.set(lastFailureAtMs === undefined || (lastSuccessAtMs !== undefined && lastSuccessAtMs >= lastFailureAtMs) ? 1 : 0);
      },
    });
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool flags them); each is the sum of the labelled nodejs_active_* family kept beside it.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }
  }

  /** Replaces potencia_devices with the given tallies, so a kind that vanished drops its series. */
  setDeviceCounts(counts: Iterable<DeviceCount>): void {
    this.#devices.reset();
    for (const { kind, up, count } of counts) this.#devices.set({ kind, up: up ? 'true' : 'false' }, count);
  }

  /** The agent's series in the text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}

/**
 * potencia_collector_duration_seconds from the tallies, as a prom-client metric object: the registry
 * serializes it beside the others.
 */
function pollDurationHistogram(polls: PollStatsView) {
  const name = 'potencia_collector_duration_seconds';
  const help = 'Time one poll of one target took, in seconds, by collector.';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      const bounds = polls.bucketBounds;
      for (const [collector, tally] of polls.collectors()) {
        let cumulative = 0;
        for (let slot = 0; slot <= bounds.length; slot++) {
          cumulative += tally.buckets[slot]!;
          values.push({ metricName: `${name}_bucket`, labels: { le: slot < bounds.length ? bounds[slot]! : '+Inf', collector }, value: cumulative });
        }
        values.push({ metricName: `${name}_sum`, labels: { collector }, value: tally.sum });
        values.push({ metricName: `${name}_count`, labels: { collector }, value: tally.ok + tally.failed });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset() {},
  };
}

/** The `version` of the nearest package.json above this module (works from the sources and from dist/). */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown };
      if (typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return 'unknown';
}
