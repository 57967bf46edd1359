import type { EconomicsReader } from '../../agent/contracts/economics.js';
import type { AgentContext, AgentPart, DiscoveryStatus } from '../../agent/contracts/part.js';
import type { Config } from '../../config/schema.js';
import { registerDiscoveryMetrics } from './discovery-metrics.js';
import { registerEconomicsSiteMetrics } from './economics-site-metrics.js';
import { MetricsExposition } from './exposition.js';
import { deviceFamilies, type SeriesParts } from './families.js';
import { AgentMetrics, type AgentMetricsOptions } from './metrics.js';
import { type HttpLimits, startHttpServer, type HttpServer } from './server.js';
import { registerSiteMetrics } from './site-metrics.js';
import { WebConfigError, WebConfigWatcher, type WebSecurity } from './web-config.js';

export interface PrometheusPartDeps {
  economics?: EconomicsReader | undefined;
  discovery?: { readonly status: DiscoveryStatus } | undefined;
  /** `--listen` from the command line wins over the config file, also across reloads. */
  listenOverride?: string | undefined;
  metrics?: AgentMetricsOptions;
  http?: Partial<HttpLimits>;
  /** How often the web config and its certificates are looked at for changes. */
  webConfigCheckEveryMs?: number;
}

/** The warning for a server anyone who reaches it may read, or undefined when it is loopback only, TLS or authenticated. */
export function openServerWarning(host: string, security: WebSecurity): string | undefined {
  if (isLoopbackHost(host) || security.tls !== undefined || security.auth !== undefined) return undefined;
  return 'the HTTP server listens beyond loopback with neither TLS nor basic auth: anyone who reaches it reads /metrics and /api; set agent.web_config_file (README, HTTP security)';
}

/** Whether only this machine can reach the address (a name other than localhost may resolve anywhere). */
function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}

export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1') || '0.0.0.0';
  return { host, port: Number(listen.slice(i + 1)) };
}

/**
 * The HTTP exporter: /metrics (device families rendered on write, the agent's own series read at
 * scrape), /healthz, /api/devices and /api/plan. A reload that changes `agent.listen` moves the server; while the
 * new address cannot be bound, the old one keeps serving.
 */
export class PrometheusPart implements AgentPart {
  readonly name = 'prometheus';
  #ctx: AgentContext | undefined;
  #metrics: AgentMetrics | undefined;
  #server: HttpServer | undefined;
  #listen: string;
  #webConfigFile: string | undefined;
  #web: WebConfigWatcher | undefined;
  #seriesParts: SeriesParts;
  #exposition: MetricsExposition | undefined;

  constructor(
    config: Config,
    private readonly deps: PrometheusPartDeps = {},
  ) {
    this.#listen = deps.listenOverride ?? config.agent.listen;
    this.#webConfigFile = config.agent.web_config_file;
    this.#seriesParts = config.metrics;
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
    labelWithSite(metrics, ctx.config());
    this.#web = await this.#watch(this.#webConfigFile);
    try {
      this.#server = await this.#serve(this.#listen);
    } catch (err) {
      this.#web?.close();
      throw err;
    }
  }

  async applyConfig(next: Config): Promise<void> {
    const ctx = this.#ctx;
    if (!ctx) return;
    if (this.#metrics) labelWithSite(this.#metrics, next);
    if (next.metrics.per_board !== this.#seriesParts.per_board || next.metrics.per_fan !== this.#seriesParts.per_fan) {
      this.#seriesParts = next.metrics;
      this.#exposition?.useFamilies(deviceFamilies(next.metrics));
    }
    const listen = this.deps.listenOverride ?? next.agent.listen;
    const webConfigFile = next.agent.web_config_file;
    if (webConfigFile === this.#webConfigFile) {
      // SIGHUP re-reads the web config and certificates even when their times did not change.
      await this.#web?.check(true);
      if (listen !== this.#listen) await this.#move(listen, this.#web);
      return;
    }
    let web: WebConfigWatcher | undefined;
    try {
      web = await this.#watch(webConfigFile);
    } catch (err) {
      const message = err instanceof WebConfigError ? err.summary : (err as Error).message;
      ctx.logger.error({ err: { message } }, 'cannot use the new agent.web_config_file; the HTTP server keeps the old one');
      return;
    }
    if (await this.#move(listen, web)) {
      this.#web?.close();
      this.#web = web;
      this.#webConfigFile = webConfigFile;
    } else {
      web?.close();
    }
  }

  async stop(): Promise<void> {
    this.#web?.close();
    this.#web = undefined;
    await this.#server?.close();
    this.#server = undefined;
  }

  /** Serves on `listen` with `web`'s security, then closes the old server; false (and logged) when it cannot. */
  async #move(listen: string, web: WebConfigWatcher | undefined): Promise<boolean> {
    try {
      const server = await this.#serve(listen, web);
      await this.#server?.close();
      this.#server = server;
      this.#listen = listen;
      return true;
    } catch (err) {
      this.#ctx?.logger.error({ err: { message: (err as Error).message }, listen }, 'cannot serve on the new address or with the new web config; still serving as before');
      return false;
    }
  }

  async #watch(path: string | undefined): Promise<WebConfigWatcher | undefined> {
    if (path === undefined) return undefined;
    const watcher: WebConfigWatcher = await WebConfigWatcher.start({
      path,
      logger: this.#ctx?.logger,
      ...(this.deps.webConfigCheckEveryMs !== undefined && { checkEveryMs: this.deps.webConfigCheckEveryMs }),
      onChange: (security) => {
        if (watcher !== this.#web || !this.#server) return;
        // Certificates change in place; turning TLS on or off, or the client policy, needs a new server.
        if (this.#server.clientAuth === security.tls?.clientAuth) this.#server.updateSecurity(security);
        else void this.#move(this.#listen, watcher);
      },
    });
    return watcher;
  }

  listeningOn(): { host: string; port: number } | undefined {
    return this.#server && { host: this.#server.address, port: this.#server.port };
  }

  async #serve(listen: string, web = this.#web): Promise<HttpServer> {
    const ctx = this.#ctx!;
    const exposition = new MetricsExposition({
      store: ctx.store,
      metrics: this.#metrics!,
      polls: ctx.polls,
      economics: this.deps.economics,
      selfMetrics: ctx.selfMetrics,
      families: deviceFamilies(this.#seriesParts),
    });
    const { host, port } = splitListen(listen);
    const security = (): WebSecurity => web?.security ?? {};
    try {
      const server = await startHttpServer({
        host,
        port,
        store: ctx.store,
        exposition,
        logger: ctx.logger,
        health: () => ctx.health(),
        ...(this.deps.economics && { sitePlan: () => this.deps.economics?.knownSitePlan() }),
        security,
        ...(this.deps.http && { limits: this.deps.http }),
      });
      const warning = openServerWarning(host, security());
      if (warning !== undefined) ctx.logger.warn({ listen }, warning);
      this.#exposition = exposition;
      return server;
    } catch (err) {
      exposition.close();
      throw err;
    }
  }
}

/**
 * The site's name (`labels.site`) on every series of the registry: the site's power, economics and
 * plan, and the agent's own, so one Prometheus can hold several sites. Device series carry it already,
 * as one of the operator's labels.
 */
function labelWithSite(metrics: AgentMetrics, config: Config): void {
  const site = config.labels.site;
  metrics.registry.setDefaultLabels(site === undefined ? {} : { site });
}
