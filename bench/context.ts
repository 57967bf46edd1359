import type { AgentContext, SelfMetricFamily } from '../agent/contracts/part.js';
import { silentLogger, type Logger } from '../agent/log.js';
import { PollStats } from '../agent/poll-stats.js';
import type { DeviceStore } from '../agent/state.js';
import type { Config } from '../config/schema.js';

/**
 * The context a part gets from a running agent, for a part run alone over a store (the benches and
 * tests): real poll stats and self-metrics registration, no site readings, no discovery.
 */
export function detachedContext(store: DeviceStore, overrides: { logger?: Logger; config?: () => Config } = {}): AgentContext {
  const families: SelfMetricFamily[] = [];
  return {
    store,
    logger: overrides.logger ?? silentLogger,
    polls: new PollStats(),
    reloads: { succeeded: 0, failed: 0, lastSuccessAtMs: undefined },
    selfMetrics: { add: (family) => families.push(family), families: () => families },
    config: overrides.config ?? (() => ({}) as Config),
    site: () => ({ heatLoadW: [], ambient: [], nodes: [], accounting: { attributedW: 0, unattributedMeteredW: 0 } }),
    health: () => ({ ok: true }),
    setDiscoveredTargets: () => {},
  };
}
