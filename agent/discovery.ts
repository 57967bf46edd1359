import { scan, scanHosts, type IdentifiedMiner } from '../collectors/cgminer/discovery.js';
import type { Target } from '../collectors/contract.js';
import type { TargetScheme } from '../collectors/registry.js';
import { floorProtocols } from '../collectors/scan-protocols.js';
import type { DiscoveryConfig } from '../config/discovery-schema.js';
import type { Config } from '../config/schema.js';
import type { AgentContext, AgentPart, DiscoveryStatus } from './contracts/part.js';

/** How many unreadable hosts a scan's log line names; the rest are counted. */
const UNIDENTIFIED_LOGGED = 10;

export function createDiscoveryPart(config: Config): DiscoveryPart | undefined {
  return config.discovery ? new DiscoveryPart() : undefined;
}

/**
 * Scans `discovery.ranges` at start and then every `discovery.interval`, and hands every miner found
 * so far to the agent as a target. Found miners are only ever added: one that stops answering stays a
 * target, so polling keeps reporting it down instead of it silently vanishing. They leave only when a
 * reload takes their address out of the ranges or removes the section.
 */
export class DiscoveryPart implements AgentPart {
  /** What the last scan found; exporters read it. */
  status: DiscoveryStatus = { lastRunAtMs: undefined, identified: 0, unidentified: 0 };
  readonly name = 'discovery';
  private ctx: AgentContext | undefined;
  /** By host: a miner that answers several protocols is one target, over the richest of them. */
  private readonly found = new Map<string, IdentifiedMiner>();
  private timer: NodeJS.Timeout | undefined;
  private scanning: { controller: AbortController; done: Promise<void> } | undefined;
  /** A reload changed what to scan while a scan ran: scan again as soon as it ends. */
  private rescanSoon = false;
  /** What is being scanned (ranges and ports), to tell a reload that changes it from one that does not. */
  private scope: string | undefined;
  private intervalMs: number | undefined;
  private stopped = false;

  start(ctx: AgentContext): void {
    this.ctx = ctx;
    this.scope = scopeOf(ctx.config().discovery);
    this.intervalMs = ctx.config().discovery?.interval;
    this.scanNow();
  }

  /** A reload: found miners take the new labels and polling settings; new ranges are scanned at once. */
  applyConfig(config: Config): void {
    const settings = config.discovery;
    const scope = scopeOf(settings);
    const scopeChanged = scope !== this.scope;
    const intervalChanged = settings?.interval !== this.intervalMs;
    this.scope = scope;
    this.intervalMs = settings?.interval;
    if (!settings) {
      this.stopScanning();
      this.found.clear();
      this.publish(config);
      this.ctx?.logger.info('discovery removed from the config: found miners are no longer polled');
      return;
    }
    if (scopeChanged) {
      const inScope = new Set(scanHosts(settings.ranges));
      const ports = portsOf(settings);
      for (const [host, miner] of this.found) if (miner.port !== ports.get(miner.protocol) || !inScope.has(miner.host)) this.found.delete(host);
    }
    this.publish(config);
    if (this.scanning) this.rescanSoon ||= scopeChanged;
    else if (scopeChanged) this.scanNow();
    else if (intervalChanged) {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.scanNow(), settings.interval);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopScanning();
    await this.scanning?.done;
  }

  private stopScanning(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.scanning?.controller.abort(new Error('discovery stopped'));
  }

  private scanNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const controller = new AbortController();
    this.scanning = { controller, done: this.scanOnce(controller.signal).finally(() => this.afterScan()) };
  }

  private afterScan(): void {
    this.scanning = undefined;
    const settings = this.ctx?.config().discovery;
    if (this.stopped || !settings) return;
    if (this.rescanSoon) {
      this.rescanSoon = false;
      this.scanNow();
    } else this.timer = setTimeout(() => this.scanNow(), settings.interval);
  }

  /** Never rejects: a failed scan is logged and the next one runs on time. */
  private async scanOnce(signal: AbortSignal): Promise<void> {
    const ctx = this.ctx!;
    const config = ctx.config();
    const settings = config.discovery;
    if (!settings) return;
    try {
      const result = await scan({
        ranges: settings.ranges,
        port: settings.port,
        probeConcurrency: settings.probe_concurrency,
        identifyConcurrency: settings.identify_concurrency,
        identifyTimeoutMs: config.polling.timeout,
        maxResponseBytes: config.polling.max_response_bytes,
        signal,
        protocols: floorProtocols(settings.ports),
      });
      const added = result.identified.filter((miner) => this.found.get(miner.host)?.url !== miner.url);
      for (const miner of result.identified) this.found.set(miner.host, miner);
      if (added.length) this.publish(ctx.config());
      this.status = { lastRunAtMs: Date.now(), identified: result.identified.length, unidentified: result.unidentified.length };
      ctx.logger.info(
        {
          identified: result.identified.length,
          added: added.length,
          unidentified: result.unidentified.length,
          silent: result.silent.count,
          scanned: result.scanned,
          duration_ms: result.duration_ms.probe + result.duration_ms.identify,
          ...(result.unidentified.length ? { unidentified_hosts: result.unidentified.slice(0, UNIDENTIFIED_LOGGED).map((h) => `${h.host}:${h.port} ${h.reason}`) } : {}),
        },
        'discovery scan finished',
      );
    } catch (err) {
      if (signal.aborted) return;
      ctx.logger.error({ err }, 'discovery scan failed; trying again at the next interval');
    }
  }

  /**
   * Hands the agent one target per found miner, labelled, timed and logged in by the config in force: a
   * miner found over a protocol that needs an account gets the one `discovery.accounts` names, and
   * without one it is polled as it is, so it is reported down saying what to configure.
   */
  private publish(config: Config): void {
    const settings: DiscoveryConfig | undefined = config.discovery;
    const labels = { ...config.labels, ...settings?.labels };
    const targets: Target[] = [];
    for (const miner of this.found.values()) {
      const account = settings?.accounts[miner.protocol];
      targets.push({
        url: miner.url,
        scheme: miner.protocol as TargetScheme,
        host: miner.host,
        port: miner.port,
        ...(account !== undefined && { userinfo: account }),
        labels,
        intervalMs: config.polling.interval,
        timeoutMs: config.polling.timeout,
      });
    }
    this.ctx?.setDiscoveredTargets(targets);
  }
}

function scopeOf(settings: DiscoveryConfig | undefined): string | undefined {
  return settings ? JSON.stringify([settings.ranges, [...portsOf(settings)]]) : undefined;
}

/** The port each protocol is scanned on, the CGMiner API's included. */
function portsOf(settings: DiscoveryConfig): Map<string, number> {
  return new Map([['cgminer', settings.port], ...floorProtocols(settings.ports).map((p): [string, number] => [p.scheme, p.port])]);
}
