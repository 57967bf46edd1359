import { describe, expect, it } from 'vitest';
import { dashboard } from './grafana-support.js';

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
});
