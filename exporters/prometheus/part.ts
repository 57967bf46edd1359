import type { EconomicsReader } from '../../agent/contracts/economics.js';
import type { AgentContext, AgentPart, DiscoveryStatus } from '../../agent/contracts/part.js';
import type { Config } from '../../config/schema.js';
import { registerDiscoveryMetrics } from './discovery-metrics.js';
import { registerEconomicsSiteMetrics } from './economics-site-metrics.js';
import { MetricsExposition } from './exposition.js';
import { AgentMetrics, type AgentMetricsOptions } from './metrics.js';
import { startHttpServer, type HttpServer } from './server.js';
import { registerSiteMetrics } from './site-metrics.js';

export interface PrometheusPartDeps {
  economics?: EconomicsReader | undefined;
  discovery?: { readonly status: DiscoveryStatus } | undefined;
  /** `--listen` from the command line wins over the config file, also across reloads. */
  listenOverride?: string | undefined;
  metrics?: AgentMetricsOptions;
}

export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * The HTTP exporter: /metrics (device families rendered on write, the agent's own series read at
 * scrape), /healthz and /api/devices. A reload that changes `agent.listen` moves the server; while the
 * new address cannot be bound, the old one keeps serving.
 */
export class PrometheusPart implements AgentPart {
  readonly name = 'prometheus';
  #ctx: AgentContext | undefined;
  #metrics: AgentMetrics | undefined;
  #server: HttpServer | undefined;
  #listen: string;

  constructor(
    config: Config,
    private readonly deps: PrometheusPartDeps = {},
  ) {
    this.#listen = deps.listenOverride ?? config.agent.listen;
  }

  /** The agent's own series (for tests and tools that render them alone). */
  get metrics(): AgentMetrics | undefined {
    return this.#metrics;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.#ctx = ctx;
    const metrics = new AgentMetrics({ polls: ctx.polls, reloads: ctx.reloads }, this.deps.metrics);
    registerSiteMetrics(metrics.registry, () => ctx.site());
    if (this.deps.economics) registerEconomicsSiteMetrics(metrics.registry, this.deps.economics);
    const discovery = this.deps.discovery;
    if (discovery) registerDiscoveryMetrics(metrics.registry, () => discovery.status);
    this.#metrics = metrics;
    this.#server = await this.#serve(this.#listen);
  }

  async applyConfig(next: Config): Promise<void> {
    const listen = this.deps.listenOverride ?? next.agent.listen;
    if (listen === this.#listen || !this.#ctx) return;
    try {
      const server = await this.#serve(listen);
      await this.#server?.close();
      this.#server = server;
      this.#listen = listen;
    } catch (err) {
      this.#ctx.logger.error({ err: { message: (err as Error).message }, listen }, 'cannot listen on the new address; still serving on the old one');
    }
  }

  async stop(): Promise<void> {
    await this.#server?.close();
    this.#server = undefined;
  }

  listeningOn(): { host: string; port: number } | undefined {
    return this.#server && { host: this.#server.address, port: this.#server.port };
  }

  async #serve(listen: string): Promise<HttpServer> {
    const ctx = this.#ctx!;
    const exposition = new MetricsExposition({ store: ctx.store, metrics: this.#metrics!, polls: ctx.polls, economics: this.deps.economics, selfMetrics: ctx.selfMetrics });
    const { host, port } = splitListen(listen);
    try {
      return await startHttpServer({ host, port, store: ctx.store, exposition, logger: ctx.logger, health: () => ctx.health() });
    } catch (err) {
      exposition.close();
      throw err;
    }
  }
}
