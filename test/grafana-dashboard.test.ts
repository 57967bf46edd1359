import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, eventually, findTool, freePort, REPO_ROOT, spawnProcess, type Spawned } from './helpers.js';

interface Target {
  expr: string;
  refId: string;
  datasource?: { uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
}
interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; query: { query: string }; allValue?: string }[] };
  panels: Panel[];
}

const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy', 'grafana', 'potencia.json'), 'utf8')) as Dashboard;
const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));

/** What Grafana sends: "All" is the variable's allValue, and the built-in intervals are concrete durations. */
function substitute(expr: string): string {
  return expr
    .replace(/\$\{?(site|room|rack)\}?/g, '.*')
    .replace(/\$\{?__rate_interval\}?/g, '1m')
    .replace(/\$\{?__interval\}?/g, '15s')
    .replace(/\$\{?__range\}?/g, '5m');
}

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

const prometheusBin = findTool('prometheus');

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown[] };
}

/** Every panel query against a real Prometheus scraping the demo: each must run and return data. */
describe.skipIf(!prometheusBin)('the dashboard against a real Prometheus scraping `potencia demo`', () => {
  let demo: Spawned;
  let prometheus: Spawned;
  let promUrl: string;

  beforeAll(async () => {
    const agentPort = await freePort();
    const promPort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'potencia-grafana-'));
    demo = spawnProcess(process.execPath, [CLI, 'demo', '--devices', '20', '--listen', `127.0.0.1:${agentPort}`, '--interval', '1s', '--seed', '1']);
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: potencia\n    static_configs:\n      - targets: ['127.0.0.1:${agentPort}']\n`,
    );
    prometheus = spawnProcess(prometheusBin!, [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`]);
    promUrl = `http://127.0.0.1:${promPort}`;
  });

  afterAll(async () => {
    prometheus?.child.kill('SIGTERM');
    demo?.child.kill('SIGTERM');
    await Promise.all([prometheus?.exited, demo?.exited]);
  });

  async function query(expr: string): Promise<unknown[]> {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    const body = (await res.json()) as PromResponse;
    if (body.status !== 'success') throw new Error(`${body.error ?? JSON.stringify(body)}`);
    return body.data!.result;
  }

  it('runs every panel query with data, and the variables list the demo\'s site, rooms and racks', async () => {
    // The demo's economics arrive a moment after its first poll round: wait for them to be scraped.
    await eventually(
      async () => ((await query('count(potencia_device_recommendation) and count(potencia_site_planned_power_watts)')).length > 0 ? true : undefined),
      `economics scraped (demo: ${demo.output().slice(-400)} prometheus: ${prometheus.output().slice(-400)})`,
      40_000,
    );
    const empty: string[] = [];
    for (const q of queries) {
      const expr = substitute(q.expr);
      expect(expr, `${q.panel} ${q.refId}`).not.toMatch(/\$/);
      // A query that fails is a broken panel at once; one without data may wait for a few more scrapes.
      const problem = await eventually(async () => {
        const r = await query(expr);
        return r.length > 0 ? r : undefined;
      }, `${q.panel} ${q.refId}: ${expr}`, 5_000).then(
        () => undefined,
        (err: Error) => err.message,
      );
      if (problem) empty.push(problem);
    }
    expect(empty).toEqual([]);

    const site = await query('group by (site) (potencia_device_up)');
    expect(site.map((r) => (r as { metric: { site: string } }).metric.site)).toEqual(['demo']);
    const rooms = await query('group by (room) (potencia_device_up{site=~".*"})');
    expect(rooms.length).toBeGreaterThan(1);
  }, 90_000);
});
