import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { ERROR_REASONS, type DeviceKind, type ErrorReason } from '../../agent/snapshot.js';
import type { DeviceEconomicsSource } from '../../agent/economics/part.js';

export interface AgentMetricsOptions {
  /** Reported in potencia_build_info; defaults to the version in the package's package.json. */
  version?: string;
  /** prom-client's process_* and nodejs_* metrics; tests that build many instances turn them off. */
  processMetrics?: boolean;
}

export interface DeviceCount {
  kind: DeviceKind;
  up: boolean;
  count: number;
}

/** Poll durations: a healthy CGMiner reply takes milliseconds, a timeout several seconds. */
const POLL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * One collector's poll tallies, kept as plain numbers: they move on every poll, and prom-client hashes
 * the label set on every observe() and inc(), bound children included. The registry reads them at scrape.
 */
interface CollectorTally {
  /** Polls per POLL_BUCKETS slot (not cumulative), the last slot past the largest bound. */
  readonly buckets: Float64Array;
  sum: number;
  ok: number;
  failed: number;
  skipped: number;
  readonly errors: Map<ErrorReason, number>;
}

/**
 * The agent's own health, in a prom-client Registry: few series, so prom-client's cost does not
 * matter here (device series go through DeviceMetricsRenderer), except for the per-poll tallies above.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  /** Per-device economics, set by the economics part; the /metrics renderer attaches each device's entry to its view. */
  deviceEconomics: DeviceEconomicsSource | undefined;
  readonly #economicsRoundListeners = new Set<() => void>();

  /** The economics part finished an assessment round: renderers bring economics lines up to date now. */
  economicsRound(): void {
    for (const listener of this.#economicsRoundListeners) listener();
  }

  onEconomicsRound(listener: () => void): () => void {
    this.#economicsRoundListeners.add(listener);
    return () => this.#economicsRoundListeners.delete(listener);
  }
  readonly #errors: Counter<'collector' | 'reason'>;
  readonly #polls: Counter<'collector' | 'result'>;
  readonly #targets: Gauge;
  readonly #inFlight: Gauge;
  /** Set by the scheduler whenever a poll starts or ends, read at scrape. */
  #inFlightNow = 0;
  readonly #skipped: Counter<'collector'>;
  readonly #devices: Gauge<'kind' | 'up'>;
  readonly #reloads: Counter<'result'>;
  readonly #lastReloadSuccess: Gauge;
  readonly #tallies = new Map<string, CollectorTally>();

  constructor(options: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    this.registry.registerMetric(pollDurationHistogram(this.#tallies) as unknown as Metric);
    this.#errors = new Counter({
      name: 'potencia_collector_errors_total',
      help: 'Polls that failed, by collector and bounded reason (timeout, refused, malformed, …).',
      labelNames: ['collector', 'reason'],
      registers,
      // The counters copy the tallies as they are read (a few series per collector).
      collect: () => {
        this.#errors.reset();
        for (const [collector, tally] of this.#tallies) for (const [reason, n] of tally.errors) this.#errors.inc({ collector, reason }, n);
      },
    });
    this.#polls = new Counter({
      name: 'potencia_collector_polls_total',
      help: 'Polls completed, by collector and result (ok, error).',
      labelNames: ['collector', 'result'],
      registers,
      collect: () => {
        this.#polls.reset();
        for (const [collector, tally] of this.#tallies) {
          this.#polls.inc({ collector, result: 'ok' }, tally.ok);
          this.#polls.inc({ collector, result: 'error' }, tally.failed);
        }
      },
    });
    this.#targets = new Gauge({ name: 'potencia_scheduler_targets', help: 'Targets the scheduler polls.', registers });
    this.#inFlight = new Gauge({
      name: 'potencia_scheduler_in_flight',
      help: 'Polls running right now.',
      registers,
      collect: () => this.#inFlight.set(this.#inFlightNow),
    });
    this.#skipped = new Counter({
      name: 'potencia_scheduler_skipped_total',
      help: 'Polls skipped because the previous poll of the same target was still running.',
      labelNames: ['collector'],
      registers,
      collect: () => {
        this.#skipped.reset();
        for (const [collector, tally] of this.#tallies) this.#skipped.inc({ collector }, tally.skipped);
      },
    });
    this.#devices = new Gauge({ name: 'potencia_devices', help: 'Devices in the agent\'s state, by kind and whether they are up.', labelNames: ['kind', 'up'], registers });
    const buildInfo = new Gauge({ name: 'potencia_build_info', help: 'Version of the running agent; always 1.', labelNames: ['version'], registers });
    buildInfo.set({ version: options.version ?? packageVersion() }, 1);
    this.#reloads = new Counter({ name: 'potencia_config_reload_total', help: 'Config reloads, by result (success, failure).', labelNames: ['result'], registers });
    this.#reloads.inc({ result: 'success' }, 0);
    this.#reloads.inc({ result: 'failure' }, 0);
    this.#lastReloadSuccess = new Gauge({
      name: 'potencia_config_last_reload_success_timestamp_seconds',
      help: 'Unix time of the last config load or reload that succeeded.',
      registers,
    });
    if (options.processMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges named like counters (promtool flags them); each is the sum of the labelled nodejs_active_* family kept beside it.
      for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) {
        this.registry.removeSingleMetric(name);
      }
    }
  }

  /** One finished poll; `reason` present means it failed. */
  observePoll(collector: string, seconds: number, reason?: ErrorReason): void {
    const tally = this.#tallyOf(collector);
    let slot = 0;
    while (slot < POLL_BUCKETS.length && seconds > POLL_BUCKETS[slot]!) slot++;
    tally.buckets[slot]!++;
    tally.sum += seconds;
    if (reason === undefined) tally.ok++;
    else {
      tally.failed++;
      tally.errors.set(reason, (tally.errors.get(reason) ?? 0) + 1);
    }
  }

  pollSkipped(collector: string): void {
    this.#tallyOf(collector).skipped++;
  }

  setTargets(n: number): void {
    this.#targets.set(n);
  }

  setInFlight(n: number): void {
    this.#inFlightNow = n;
  }

  configReloaded(ok: boolean, at: Date = new Date()): void {
    this.#reloads.inc({ result: ok ? 'success' : 'failure' });
    if (ok) this.#lastReloadSuccess.set(at.getTime() / 1000);
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

  /** A collector's tally, all zero the first time it is seen: its series exist from its first poll, so rate() and absent() work. */
  #tallyOf(collector: string): CollectorTally {
    let tally = this.#tallies.get(collector);
    if (!tally) {
      tally = { buckets: new Float64Array(POLL_BUCKETS.length + 1), sum: 0, ok: 0, failed: 0, skipped: 0, errors: new Map(ERROR_REASONS.map((r) => [r, 0])) };
      this.#tallies.set(collector, tally);
    }
    return tally;
  }
}

/**
 * potencia_collector_duration_seconds from the tallies, as a prom-client metric object: the registry
 * serializes it beside the others.
 */
function pollDurationHistogram(tallies: ReadonlyMap<string, CollectorTally>) {
  const name = 'potencia_collector_duration_seconds';
  const help = 'Time one poll of one target took, in seconds, by collector.';
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = [];
      for (const [collector, tally] of tallies) {
        let cumulative = 0;
        for (let slot = 0; slot <= POLL_BUCKETS.length; slot++) {
          cumulative += tally.buckets[slot]!;
          values.push({ metricName: `${name}_bucket`, labels: { le: slot < POLL_BUCKETS.length ? POLL_BUCKETS[slot]! : '+Inf', collector }, value: cumulative });
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
