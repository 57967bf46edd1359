import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { dashboard, fleetDashboard, fleetQueries, queries, substitute } from './grafana-support.js';
import { REPO_ROOT } from './helpers.js';

describe('deploy/grafana/potencia.json', () => {
  it('takes its Prometheus as the DS_PROMETHEUS input, filters by site / room / rack, and every panel has queries', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource', pluginId: 'prometheus' })]);
    expect(dashboard.templating.list.map((v) => [v.name, v.allValue])).toEqual([
      ['site', '.*'],
      ['room', '.*'],
      ['rack', '.*'],
    ]);
    const dataPanels = dashboard.panels.filter((p) => p.type !== 'row');
    expect(dataPanels.length).toBeGreaterThanOrEqual(15);
    for (const panel of dataPanels) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_PROMETHEUS}');
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      for (const target of panel.targets!) expect(target.datasource?.uid, `${panel.title} ${target.refId}`).toBe('${DS_PROMETHEUS}');
    }
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
  });

  it('adds hashrate up across devices over SHA-256 miners only, with the figures deploy/prometheus/alerts.test.yml checks', () => {
    // Another algorithm's hashes are another unit: a Kadena box's TH/s added to an Antminer's is no figure at all.
    const sums = queries.filter((q) => /potencia_miner_(nominal_)?hashrate_hashes_per_second/.test(q.expr) && /\b(sum|avg|min|max|count|quantile)\b/.test(q.expr));
    expect(sums.map((q) => `${q.panel} ${q.refId}`)).toEqual(['Total hashrate A', 'Fleet efficiency A', 'Hashrate by room A', 'Hashrate by room B']);
    const tests = parse(readFileSync(join(REPO_ROOT, 'deploy', 'prometheus', 'alerts.test.yml'), 'utf8')) as { tests: { promql_expr_test?: { expr: string }[] }[] };
    const tested = tests.tests.flatMap((t) => t.promql_expr_test ?? []).map((t) => t.expr);
    for (const q of sums) {
      const joins = q.expr.match(/ and on \(job, instance, device\) potencia_device_info\{algorithm="sha256"\}/g) ?? [];
      expect(joins.length, `${q.panel} ${q.refId}`).toBe(q.expr.match(/potencia_miner_(nominal_)?hashrate_hashes_per_second\b/g)!.length);
      expect(tested, `${q.panel} ${q.refId}`).toContain(substitute(q.expr));
    }
  });
});

describe('deploy/grafana/potencia-fleet.json', () => {
  it('takes the central store as DS_CENTRAL, filters by site, and reads the recorded series of deploy/central', () => {
    expect(fleetDashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_CENTRAL', type: 'datasource', pluginId: 'prometheus' })]);
    expect(fleetDashboard.templating.list.map((v) => [v.name, v.allValue])).toEqual([['site', '.*']]);
    const dataPanels = fleetDashboard.panels.filter((p) => p.type !== 'row');
    expect(dataPanels.length).toBeGreaterThanOrEqual(10);
    for (const panel of dataPanels) {
      expect(panel.datasource?.uid, panel.title).toBe('${DS_CENTRAL}');
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, `${panel.title} ${target.refId}`).toBe('${DS_CENTRAL}');
    }
    expect(new Set(fleetDashboard.panels.map((p) => p.id)).size).toBe(fleetDashboard.panels.length);
    // Every recorded series a panel names is one the rules record: a renamed rule fails here, not on a blank panel.
    const rules = parse(readFileSync(join(REPO_ROOT, 'deploy', 'central', 'recording-rules.yml'), 'utf8')) as { groups: { rules: { record: string }[] }[] };
    const recorded = new Set(rules.groups.flatMap((g) => g.rules.map((r) => r.record)));
    const named = fleetQueries.flatMap((q) => q.expr.match(/\bsite(?:_activity)?:[a-z_]+:[a-z]+\b/g) ?? []);
    expect(named.length).toBeGreaterThan(10);
    for (const name of named) expect(recorded, name).toContain(name);
  });

  it('ranks the sites to curtail first with the expression deploy/central/rules.test.yml checks', () => {
    const tests = parse(readFileSync(join(REPO_ROOT, 'deploy', 'central', 'rules.test.yml'), 'utf8')) as { tests: { promql_expr_test?: { expr: string }[] }[] };
    const tested = tests.tests.flatMap((t) => t.promql_expr_test ?? []).map((t) => t.expr);
    const ranking = fleetQueries.find((q) => q.panel.startsWith('Curtail first'))!;
    expect(tested).toContain(ranking.expr.replaceAll('$site', '.*'));
  });
});
