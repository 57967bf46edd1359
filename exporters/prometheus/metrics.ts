import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
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
 * The agent's own health, in a prom-client Registry: few series, so prom-client's cost does not
 * matter here (device series go through DeviceMetricsRenderer).
 */
interface CollectorSeries {
  duration: { observe(seconds: number): void };
  ok: { inc(value?: number): void };
  failed: { inc(value?: number): void };
  skipped: { inc(value?: number): void };
  errors: Map<ErrorReason, { inc(value?: number): void }>;
}

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
  readonly #duration: Histogram<'collector'>;
  readonly #errors: Counter<'collector' | 'reason'>;
  readonly #polls: Counter<'collector' | 'result'>;
  readonly #targets: Gauge;
  readonly #inFlight: Gauge;
  readonly #skipped: Counter<'collector'>;
  readonly #devices: Gauge<'kind' | 'up'>;
  readonly #reloads: Counter<'result'>;
  readonly #lastReloadSuccess: Gauge;
  /** Each collector's series, bound to their labels once: every poll updates them, and prom-client hashes labels on each unbound call. */
  readonly #byCollector = new Map<string, CollectorSeries>();

  constructor(options: AgentMetricsOptions = {}) {
    const registers = [this.registry];
    this.#duration = new Histogram({
      name: 'potencia_collector_duration_seconds',
      help: 'Time one poll of one target took, in seconds, by collector.',
      labelNames: ['collector'],
      buckets: POLL_BUCKETS,
      registers,
    });
    this.#errors = new Counter({
      name: 'potencia_collector_errors_total',
      help: 'Polls that failed, by collector and bounded reason (timeout, refused, malformed, …).',
      labelNames: ['collector', 'reason'],
      registers,
    });
    this.#polls = new Counter({
      name: 'potencia_collector_polls_total',
      help: 'Polls completed, by collector and result (ok, error).',
      labelNames: ['collector', 'result'],
      registers,
    });
    this.#targets = new Gauge({ name: 'potencia_scheduler_targets', help: 'Targets the scheduler polls.', registers });
    this.#inFlight = new Gauge({ name: 'potencia_scheduler_in_flight', help: 'Polls running right now.', registers });
    this.#skipped = new Counter({
      name: 'potencia_scheduler_skipped_total',
      help: 'Polls skipped because the previous poll of the same target was still running.',
      labelNames: ['collector'],
      registers,
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
    const series = this.#seriesOf(collector);
    series.duration.observe(seconds);
    if (reason === undefined) series.ok.inc();
    else {
      series.failed.inc();
      series.errors.get(reason)!.inc();
    }
  }

  pollSkipped(collector: string): void {
    this.#seriesOf(collector).skipped.inc();
  }

  setTargets(n: number): void {
    this.#targets.set(n);
  }

  setInFlight(n: number): void {
    this.#inFlight.set(n);
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

  /** Zero series for every result and reason, so rate() and absent() work from a collector's first poll. */
  /** A collector's series, created at zero the first time it is seen so that rates start from a sample. */
  #seriesOf(collector: string): CollectorSeries {
    let series = this.#byCollector.get(collector);
    if (series) return series;
    series = {
      duration: this.#duration.labels({ collector }),
      ok: this.#polls.labels({ collector, result: 'ok' }),
      failed: this.#polls.labels({ collector, result: 'error' }),
      skipped: this.#skipped.labels({ collector }),
      errors: new Map(ERROR_REASONS.map((reason) => [reason, this.#errors.labels({ collector, reason })])),
    };
    for (const counter of [series.ok, series.failed, series.skipped, ...series.errors.values()]) counter.inc(0);
    this.#byCollector.set(collector, series);
    return series;
  }
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
