import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEVICE_FAMILIES } from '../exporters/prometheus/families.js';
import { AgentMetrics } from '../exporters/prometheus/metrics.js';
import { REPO_ROOT } from './helpers.js';

/** The metrics reference in the README is what operators build dashboards from: it must not drift. */
describe('README', () => {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

  it('documents every metric family the agent can export', async () => {
    const agentFamilies = [...(await new AgentMetrics({ processMetrics: false }).registry.getMetricsAsJSON())].map((m) => m.name);
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
});
