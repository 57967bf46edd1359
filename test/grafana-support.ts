import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers.js';

/** The shipped Grafana dashboard as the tests read it. */
export interface Target {
  expr: string;
  refId: string;
  datasource?: { uid?: string };
}
export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  targets?: Target[];
}
export interface Dashboard {
  __inputs: { name: string; type: string; pluginId: string }[];
  templating: { list: { name: string; query: { query: string }; allValue?: string }[] };
  panels: Panel[];
}

export const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'deploy', 'grafana', 'potencia.json'), 'utf8')) as Dashboard;
export const queries = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));

/** What Grafana sends: "All" is the variable's allValue, and the built-in intervals are concrete durations. */
export function substitute(expr: string): string {
  return expr
    .replace(/\$\{?(site|room|rack)\}?/g, '.*')
    .replace(/\$\{?__rate_interval\}?/g, '1m')
    .replace(/\$\{?__interval\}?/g, '15s')
    .replace(/\$\{?__range\}?/g, '5m');
}
