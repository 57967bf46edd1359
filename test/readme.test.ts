import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_FAMILIES } from '../exporters/prometheus/families.js';
import { EconomicsPart } from '../agent/economics/part.js';
import { PollStats } from '../agent/poll-stats.js';
import { DeviceStore } from '../agent/state.js';
import { detachedContext } from '../bench/context.js';
import { economicsSchema } from '../config/economics-schema.js';
import { MqttMetrics } from '../exporters/mqtt/metrics.js';
import { registerDiscoveryMetrics } from '../exporters/prometheus/discovery-metrics.js';
import { registerEconomicsSiteMetrics } from '../exporters/prometheus/economics-site-metrics.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { registerSiteMetrics } from '../exporters/prometheus/site-metrics.js';
import { TARGET_SUCCESS_FAMILY } from '../exporters/prometheus/target-family.js';
import { ConfigError, parseConfig } from '../config/load.js';
import { REPO_ROOT } from './helpers.js';
import { ClusterPeers } from '../agent/cluster.js';
import { silentLogger } from '../agent/log.js';
import { clusterSchema } from '../config/cluster-schema.js';

/** Every family /metrics can hold beside the device families: the agent's own, site, economics, discovery, each target's and MQTT's. */
async function agentFamilyNames(): Promise<string[]> {
  const ctx = detachedContext(new DeviceStore());
  const metrics = new AgentMetrics(ctx, { processMetrics: false });
  registerSiteMetrics(metrics.registry, ctx.site);
  registerEconomicsSiteMetrics(
    metrics.registry,
    new EconomicsPart(
      economicsSchema.parse({ bitcoin: { price_usd: 95_000, difficulty: 152e12, fees_per_block_btc: 0.025, block_height: 925_000 }, power: { flat_usd_per_kwh: 0.06 } }),
    ),
  );
  registerDiscoveryMetrics(metrics.registry, () => ({ lastRunAtMs: undefined, identified: 0, unidentified: 0 }));
  const registered = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name);
  const cluster = new ClusterPeers(clusterSchema.parse({ shard_index: 0, shard_count: 1, peers: ['http://127.0.0.1:9785'] }), silentLogger);
  return [
    ...registered,
    TARGET_SUCCESS_FAMILY,
    new PollStats().rejectedFamily().name,
    ...new MqttMetrics().families().map((f) => f.name),
    ...cluster.families().map((f) => f.name),
  ];
}

/** The metrics reference in the README is what operators build dashboards from: it must not drift. */
describe('README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

  it('documents every metric family the agent can export', async () => {
    const agentFamilies = await agentFamilyNames();
    const names = [...DEVICE_FAMILIES.map((f) => f.name), ...agentFamilies];
    expect(names.length).toBeGreaterThan(20);
    const missing = names.filter((name) => !readme.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('gives the two commands a newcomer needs, and .ci/run runs the same test command', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
    expect(readFileSync(join(REPO_ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm ci && npm test$/m);
  });

  it('shows check-config messages that the config loader gives for its example, word for word', () => {
    const section = /<!-- check-config example[^>]*-->\n```yaml\n([\s\S]*?)```\n\ngives \(exit 2\):\n\n```text\n([\s\S]*?)```/.exec(readme);
    expect(section).not.toBeNull();
    const [, yaml, shown] = section!;
    let message = '';
    try {
      parseConfig(yaml!, 'potencia.yaml', { env: {}, baseDir: REPO_ROOT });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      message = err.message;
    }
    expect(`${message}\n`).toBe(shown);
  });
});
