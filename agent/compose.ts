/**
 * The composition root: the one module that knows every part. It builds the domain parts (discovery,
 * economics) and every registered exporter from the config, wires what they read of each other, and
 * hands them to the daemon.
 */
import { createCollector } from '../collectors/registry.js';
import type { Config } from '../config/schema.js';
import { EXPORTERS } from '../exporters/index.js';
import type { AgentPart } from './contracts/part.js';
import { Agent } from './daemon.js';
import { createDiscoveryPart } from './discovery.js';
import { createEconomicsPart } from './economics/part.js';
import type { Logger } from './log.js';

export interface ComposeOptions {
  /** `--listen` from the command line wins over the config file, also across reloads. */
  listenOverride?: string | undefined;
}

/**
 * The parts the config asks for, in start order: discovery and economics first (exporters read them),
 * then every exporter. An exporter's incoming signals (MQTT demand response, power price) feed the
 * economics: a cap and a price override, never a command to a miner.
 */
export function createParts(config: Config, options: ComposeOptions = {}): AgentPart[] {
  const discovery = createDiscoveryPart(config);
  const economics = createEconomicsPart(config);
  const exporters = EXPORTERS.map((exporter) => exporter.create(config, { economics, discovery, listenOverride: options.listenOverride }));
  const parts: AgentPart[] = [];
  if (discovery) parts.push(discovery);
  if (economics) parts.push(economics);
  for (const exporter of exporters) {
    if (!exporter) continue;
    if (economics && exporter.signals) economics.followSignals(exporter.signals);
    parts.push(exporter);
  }
  return parts;
}

export interface CreateAgentOptions extends ComposeOptions {
  config: Config;
  logger: Logger;
  /** Re-read on SIGHUP; absent for the demo, whose config lives in memory. */
  configPath?: string | undefined;
  /** Parts to run instead of those the config asks for (tests). */
  parts?: readonly AgentPart[];
}

/** An agent with the parts its config asks for and the registered collectors. */
export function createAgent(options: CreateAgentOptions): Agent {
  return new Agent({
    config: options.config,
    logger: options.logger,
    parts: options.parts ?? createParts(options.config, options),
    createCollector: (target, config, reject) =>
      createCollector(target, {
        reject,
        maxResponseBytes: config().polling.max_response_bytes,
        maxDevices: config().polling.limits.devices_per_target,
        snmpSettings: () => config().snmp,
        minerCredentials: () => config().miner_credentials,
      }),
    ...(options.configPath !== undefined && { configPath: options.configPath }),
  });
}

/** What check-config adds to the schema's checks: each exporter reads the files of its own the config names (a web config). */
export async function checkExporterFiles(config: Config): Promise<void> {
  for (const exporter of EXPORTERS) await exporter.check?.(config);
}
