import { createCollector } from '../collectors/registry.js';
import type { Target } from '../collectors/contract.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { startHttpServer, type HttpServer } from '../exporters/prometheus/server.js';
import { enrichSnapshot } from './enrich.js';
import type { Logger } from './log.js';
import { Scheduler } from './scheduler.js';
import type { DeviceSnapshot } from './snapshot.js';
import { DeviceStore } from './state.js';
import { buildTargets } from './targets.js';
import { createParts } from './parts.js';
import { PowerAttribution } from './power.js';

/** What a part of the agent (MQTT publisher, economics, discovery, …) gets to work with. */
export interface AgentContext {
  readonly store: DeviceStore;
  readonly metrics: AgentMetrics;
  readonly logger: Logger;
  /** The config in force now (it changes on reload). */
  config(): Config;
  /** Replaces the targets found by discovery; they are polled beside the configured ones (see Agent.setDiscoveredTargets). */
  setDiscoveredTargets(targets: readonly Target[]): void;
}

/**
 * Something with a lifecycle that runs beside polling: it reads the store (and its change events) and
 * may add to the exposition through `metrics.registry`. Parts are created from config by
 * `createParts` in agent/parts.ts; adding a feature means adding one factory there.
 */
export interface AgentPart {
  readonly name: string;
  start(ctx: AgentContext): Promise<void> | void;
  /** Called after a reload with the new config; a part that cannot apply it in place logs why. */
  applyConfig?(config: Config): Promise<void> | void;
  /** Must finish within a second or two: SIGTERM has a 5 s budget for the whole agent. */
  stop(): Promise<void> | void;
}

export interface AgentOptions {
  config: Config;
  logger: Logger;
  /** Parts to run beside polling; defaults to what createParts() builds from the config. */
  parts?: AgentPart[];
  /** Re-read on SIGHUP; absent for the demo, whose config lives in memory. */
  configPath?: string;
  /** `--listen` from the command line wins over the config file, also across reloads. */
  listenOverride?: string;
}

export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * The daemon: config → scheduler → collectors → store → HTTP exporter. Owns their lifecycles;
 * a reload swaps targets in place so the exporter never goes down and unchanged devices keep their data.
 */
export class Agent {
  readonly store = new DeviceStore();
  readonly metrics = new AgentMetrics();
  private config: Config;
  private scheduler: Scheduler;
  private server: HttpServer | undefined;
  private listen: string;
  /** Device ids each target returned last time, so a device that vanishes from a multi-device target is dropped. */
  private readonly idsByTarget = new Map<string, string[]>();
  private readonly startedAt = Date.now();
  private readonly parts: AgentPart[];
  /** PDU outlets → device power, and site totals; see agent/power.ts. */
  readonly power: PowerAttribution;
  private discovered: readonly Target[] = [];

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    this.parts = opts.parts ?? createParts(opts.config);
    this.power = new PowerAttribution(opts.config.power);
    this.power.registerMetrics(this.metrics.registry, this.store);
    this.listen = opts.listenOverride ?? opts.config.agent.listen;
    this.scheduler = this.createScheduler(opts.config);
  }

  get address(): string | undefined {
    return this.server ? `${this.server.address}:${this.server.port}` : undefined;
  }

  get port(): number | undefined {
    return this.server?.port;
  }

  async start(): Promise<void> {
    const { host, port } = splitListen(this.listen);
    this.server = await startHttpServer({ host, port, store: this.store, metrics: this.metrics, logger: this.opts.logger, health: () => this.health() });
    this.applyTargets(this.config);
    this.scheduler.start();
    const ctx: AgentContext = {
      store: this.store,
      metrics: this.metrics,
      logger: this.opts.logger,
      config: () => this.config,
      setDiscoveredTargets: (targets) => this.setDiscoveredTargets(targets),
    };
    for (const part of this.parts) await part.start(ctx);
    this.opts.logger.info({ listen: this.address, targets: this.scheduler.targetCount, parts: this.parts.map((p) => p.name) }, 'potencia agent started');
  }

  /** Re-reads the config file. An invalid file is logged and the running config kept. */
  async reload(): Promise<boolean> {
    if (!this.opts.configPath) return false;
    let next: Config;
    try {
      next = loadConfigFile(this.opts.configPath);
    } catch (err) {
      this.metrics.configReloaded(false);
      this.opts.logger.error({ err: { message: (err as Error).message } }, 'config reload failed; keeping the running config');
      return false;
    }
    await this.applyConfig(next);
    this.metrics.configReloaded(true);
    return true;
  }

  async applyConfig(next: Config): Promise<void> {
    const nextListen = this.opts.listenOverride ?? next.agent.listen;
    if (nextListen !== this.listen) await this.moveServer(nextListen);
    const pollingChanged = JSON.stringify(next.polling) !== JSON.stringify(this.config.polling);
    if (next.agent.log_level !== this.config.agent.log_level) this.opts.logger.level = next.agent.log_level;
    this.config = next;
    this.power.configure(next.power);
    if (pollingChanged) {
      // Concurrency and backoff live in the scheduler: rebuild it, keeping the store's data.
      await this.scheduler.stop(0);
      this.scheduler = this.createScheduler(next);
      this.applyTargets(next);
      this.scheduler.start();
    } else this.applyTargets(next);
    for (const part of this.parts) await part.applyConfig?.(next);
    this.opts.logger.info({ targets: this.scheduler.targetCount }, 'config applied');
  }

  /** Stops polling, then the HTTP server; bounded so SIGTERM always exits within 5 s. */
  async stop(): Promise<void> {
    await this.scheduler.stop(2000);
    await Promise.allSettled(this.parts.map(async (part) => part.stop()));
    await this.server?.close();
    this.server = undefined;
    this.opts.logger.info('potencia agent stopped');
  }

  private async moveServer(listen: string): Promise<void> {
    const { host, port } = splitListen(listen);
    try {
      const next = await startHttpServer({ host, port, store: this.store, metrics: this.metrics, logger: this.opts.logger, health: () => this.health() });
      await this.server?.close();
      this.server = next;
      this.listen = listen;
    } catch (err) {
      this.opts.logger.error({ err, listen }, 'cannot listen on the new address; still serving on the old one');
    }
  }

  private createScheduler(config: Config): Scheduler {
    return new Scheduler({
      concurrency: config.polling.concurrency,
      jitterRatio: config.polling.jitter_ratio,
      backoffMaxMs: config.polling.backoff_max,
      createCollector: (target) => createCollector(target, { maxResponseBytes: this.config.polling.max_response_bytes, snmpSettings: () => this.config.snmp }),
      onResult: (target, snapshots) => this.record(target, snapshots),
      observer: this.metrics,
      logger: this.opts.logger,
    });
  }

  /**
   * Polls `targets` beside the configured ones from now on, replacing the previous discovered set. A
   * configured target with the same URL wins, so its labels and interval apply; a discovered target
   * left out of a later call is dropped with its devices.
   */
  setDiscoveredTargets(targets: readonly Target[]): void {
    this.discovered = targets;
    this.applyTargets(this.config);
  }

  private applyTargets(config: Config): void {
    const configured = buildTargets(config);
    const configuredUrls = new Set(configured.map((t) => t.url));
    const discovered = this.discovered.filter((t) => !configuredUrls.has(t.url));
    const { removed } = this.scheduler.setTargets([...configured, ...discovered]);
    for (const url of removed) {
      this.store.removeTarget(url);
      this.idsByTarget.delete(url);
    }
  }

  private record(target: Target, snapshots: DeviceSnapshot[]): void {
    for (const snapshot of snapshots) this.store.upsert(enrichSnapshot(this.power.attribute(snapshot)));
    this.power.afterRecord(snapshots, this.store, enrichSnapshot);
    const previous = this.idsByTarget.get(target.url);
    // The same devices as last time (every poll but a target's first and a change of what it reports): kept as they are.
    if (previous && previous.length === snapshots.length && snapshots.every((s, i) => s.id === previous[i])) return;
    const ids = snapshots.map((s) => s.id);
    if (previous) {
      const kept = new Set(ids);
      for (const id of previous) if (!kept.has(id)) this.store.remove(id);
    }
    this.idsByTarget.set(target.url, ids);
  }

  private health(): { ok: boolean; detail: object } {
    let up = 0;
    for (const s of this.store.values()) if (s.up) up++;
    return {
      ok: true,
      detail: { targets: this.scheduler.targetCount, devices: this.store.size, devices_up: up, uptime_s: Math.round((Date.now() - this.startedAt) / 1000) },
    };
  }
}

/**
 * Runs an agent until SIGTERM/SIGINT (drain and exit 0 within 5 s) with SIGHUP reloading the config.
 * Resolves with the exit code.
 */
export async function runUntilSignalled(agent: Agent, logger: Logger, onStop?: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      const forced = setTimeout(() => {
        logger.error('shutdown took longer than 4.5 s; exiting anyway');
        resolve(1);
      }, 4500);
      forced.unref();
      void agent
        .stop()
        .then(() => onStop?.())
        .then(
          () => resolve(0),
          (err: unknown) => {
            logger.error({ err }, 'error while stopping');
            resolve(1);
          },
        )
        .finally(() => clearTimeout(forced));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    process.on('SIGHUP', () => {
      logger.info('SIGHUP: reloading config');
      void agent.reload();
    });
  });
}
