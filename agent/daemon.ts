import type { Collector, Target } from '../collectors/contract.js';
import { loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { AgentContext, AgentPart, Health, ReloadStats, SelfMetricFamily, SelfMetrics, SiteReadings } from './contracts/part.js';
import { ClusterPeers } from './cluster.js';
import { enrichSnapshot } from './enrich.js';
import type { Logger } from './log.js';
import { PollStats } from './poll-stats.js';
import { PowerAttribution } from './power.js';
import type { RejectSink } from '../collectors/contract.js';
import { snapshotLimitsOf } from '../collectors/ranges.js';
import { Scheduler } from './scheduler.js';
import type { DeviceSnapshot } from './snapshot.js';
import { DeviceStore } from './state.js';
import { buildTargets, shareOf } from './targets.js';

export interface AgentOptions {
  config: Config;
  logger: Logger;
  /** Parts to run beside polling, in start order (agent/compose.ts builds them from the config). */
  parts: readonly AgentPart[];
  /** Makes the collector of a target (collectors/registry.ts). */
  /** `reject` counts what a collector leaves out itself (potencia_values_rejected_total). */
  createCollector: (target: Target, config: () => Config, reject: RejectSink) => Collector;
  /** Re-read on SIGHUP; absent for the demo, whose config lives in memory. */
  configPath?: string;
}

/**
 * The daemon: config → scheduler → collectors → store, with the parts (exporters, economics,
 * discovery) reading from it. Owns their lifecycles; a reload swaps targets in place so the exporters
 * never go down and unchanged devices keep their data.
 */
export class Agent {
  readonly store = new DeviceStore();
  readonly polls = new PollStats();
  private config: Config;
  private scheduler: Scheduler;
  /** Device ids each target returned last time, so a device that vanishes from a multi-device target is dropped. */
  private readonly idsByTarget = new Map<string, string[]>();
  private readonly startedAt = Date.now();
  private readonly reloads: { succeeded: number; failed: number; lastSuccessAtMs: number | undefined; lastFailureAtMs: number | undefined } = {
    succeeded: 0,
    failed: 0,
    lastSuccessAtMs: Date.now(),
    lastFailureAtMs: undefined,
  };
  private readonly selfFamilies: SelfMetricFamily[] = [];
  private readonly started: AgentPart[] = [];
  /** PDU outlets → device power, and site totals; see agent/power.ts. */
  readonly power: PowerAttribution;
  private discovered: readonly Target[] = [];
  /** The other agents of a split site (none for an agent alone); see agent/cluster.ts. */
  private readonly cluster: ClusterPeers;
  /** Whether the cluster's own series are registered: from the first config with a cluster on. */
  private clusterFamilies = false;
  /** Devices of lost agents this agent reports down while it plans the site. */
  private lostPeerDeviceIds = new Set<string>();
  private readonly reject: RejectSink = (field, reason, count = 1) => this.polls.valueRejected(field, reason, count);

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    this.selfFamilies.push(this.polls.rejectedFamily());
    this.cluster = new ClusterPeers(opts.config.cluster, opts.logger);
    this.power = new PowerAttribution(opts.config.power);
    this.scheduler = this.createScheduler(opts.config);
  }

  get parts(): readonly AgentPart[] {
    return this.opts.parts;
  }

  /** Where the first part that serves a socket listens, as HOST:PORT. */
  get address(): string | undefined {
    const at = this.listening();
    return at && `${at.host}:${at.port}`;
  }

  get port(): number | undefined {
    return this.listening()?.port;
  }

  /** Starts every part, then polling. A part that cannot start (a taken port) stops the ones before it and throws. */
  async start(): Promise<void> {
    const ctx = this.context();
    for (const part of this.opts.parts) {
      try {
        await part.start(ctx);
      } catch (err) {
        await Promise.allSettled(this.started.splice(0).map(async (started) => started.stop()));
        throw err;
      }
      this.started.push(part);
    }
    this.applyTargets(this.config);
    this.scheduler.start();
    this.registerClusterFamilies(ctx.selfMetrics);
    this.cluster.onRound(() => this.reportLostPeers());
    this.cluster.start();
    this.opts.logger.info({ listen: this.address, targets: this.scheduler.targetCount, parts: this.opts.parts.map((p) => p.name) }, 'potencia agent started');
  }

  private context(): AgentContext {
    const reloads: ReloadStats = this.reloads;
    const families = this.selfFamilies;
    const selfMetrics: SelfMetrics = { add: (family) => families.push(family), families: () => families };
    return {
      store: this.store,
      logger: this.opts.logger,
      polls: this.polls,
      reloads,
      selfMetrics,
      config: () => this.config,
      site: (): SiteReadings => this.power.readings(this.store),
      health: () => this.health(),
      setDiscoveredTargets: (targets) => this.setDiscoveredTargets(targets),
      cluster: this.cluster,
    };
  }

  /** An agent alone shows no cluster series; they appear with the first config that splits its site. */
  private registerClusterFamilies(selfMetrics: SelfMetrics): void {
    if (this.clusterFamilies || !this.cluster.configured) return;
    this.clusterFamilies = true;
    for (const family of this.cluster.families()) selfMetrics.add(family);
  }

  private listening(): { host: string; port: number } | undefined {
    for (const part of this.started) {
      const at = part.listeningOn?.();
      if (at) return at;
    }
    return undefined;
  }

  /** Re-reads the config file. An invalid file is logged and the running config kept. */
  async reload(): Promise<boolean> {
    if (!this.opts.configPath) return false;
    let next: Config;
    try {
      next = loadConfigFile(this.opts.configPath);
    } catch (err) {
      this.reloads.failed++;
      this.reloads.lastFailureAtMs = Date.now();
      this.opts.logger.error({ err: { message: (err as Error).message } }, 'config reload failed; keeping the running config');
      return false;
    }
    await this.applyConfig(next);
    this.reloads.succeeded++;
    this.reloads.lastSuccessAtMs = Date.now();
    return true;
  }

  async applyConfig(next: Config): Promise<void> {
    const pollingChanged = JSON.stringify(next.polling) !== JSON.stringify(this.config.polling);
    const clusterChanged = JSON.stringify(next.cluster) !== JSON.stringify(this.config.cluster);
    if (next.agent.log_level !== this.config.agent.log_level) this.opts.logger.level = next.agent.log_level;
    this.config = next;
    this.power.configure(next.power);
    if (clusterChanged) {
      // Other agents, or another shard: what was read from the old ones goes (their lost devices leave
      // the store now), and the targets are shared out again below, so this agent starts polling its new
      // share and drops the devices of the targets it no longer owns.
      await this.cluster.configure(next.cluster);
      this.reportLostPeers();
      if (this.started.length > 0) this.registerClusterFamilies(this.context().selfMetrics);
      this.opts.logger.info({ shard: next.cluster?.shard_index, shards: next.cluster?.shard_count ?? 1 }, 'cluster section applied');
    }
    if (pollingChanged) {
      // Concurrency and backoff live in the scheduler: rebuild it, keeping the store's data.
      const before = this.scheduler.targetUrls();
      await this.scheduler.stop(0);
      this.scheduler = this.createScheduler(next);
      this.applyTargets(next, before);
      this.scheduler.start();
    } else this.applyTargets(next);
    for (const part of this.started) await part.applyConfig?.(next);
    this.opts.logger.info({ targets: this.scheduler.targetCount }, 'config applied');
  }

  /** Stops polling, then every part; bounded so SIGTERM always exits within 5 s. */
  async stop(): Promise<void> {
    await this.cluster.stop();
    await this.scheduler.stop(2000);
    await Promise.allSettled(this.started.splice(0).map(async (part) => part.stop()));
    this.opts.logger.info('potencia agent stopped');
  }

  private createScheduler(config: Config): Scheduler {
    return new Scheduler({
      concurrency: config.polling.concurrency,
      jitterRatio: config.polling.jitter_ratio,
      backoffMaxMs: config.polling.backoff_max,
      createCollector: (target) => this.opts.createCollector(target, () => this.config, this.reject),
      onResult: (target, snapshots) => this.record(target, snapshots),
      observer: this.polls,
      limits: snapshotLimitsOf(config),
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

  /**
   * Hands the scheduler the configured and discovered targets and drops what left. `previous`: the
   * targets of a scheduler this one replaces, which never knew them.
   */
  private applyTargets(config: Config, previous?: readonly string[]): void {
    const configured = buildTargets(config);
    const configuredUrls = new Set(configured.map((t) => t.url));
    const discovered = this.discovered.filter((t) => !configuredUrls.has(t.url));
    const wanted = shareOf([...configured, ...discovered], config.cluster);
    let { removed } = this.scheduler.setTargets(wanted);
    if (previous) {
      const kept = new Set(wanted.map((t) => t.url));
      removed = previous.filter((url) => !kept.has(url));
      for (const url of removed) this.polls.targetRemoved(url);
    }
    for (const url of removed) {
      this.store.removeTarget(url);
      this.idsByTarget.delete(url);
    }
  }

  /**
   * While this agent plans a split site, the devices of every agent it lost are in its store, down with
   * the reason, so the site's view and plan never lose them silently; they leave when their agent is back.
   */
  private reportLostPeers(): void {
    const lost = this.cluster.lostDevices().filter((d) => this.lostPeerDeviceIds.has(d.id) || !this.store.has(d.id));
    const ids = new Set(lost.map((d) => d.id));
    for (const id of this.lostPeerDeviceIds) if (!ids.has(id)) this.store.remove(id);
    for (const device of lost) this.store.upsert(device);
    this.lostPeerDeviceIds = ids;
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

  private health(): Health {
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
