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

const load = (file: string) => JSON.parse(readFileSync(join(REPO_ROOT, 'deploy', 'grafana', file), 'utf8')) as Dashboard;
const queriesOf = (board: Dashboard) => board.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, refId: t.refId, expr: t.expr })));

export const dashboard = load('potencia.json');
export const queries = queriesOf(dashboard);
/** The sites side by side, over the central store's recording rules (deploy/central). */
export const fleetDashboard = load('potencia-fleet.json');
export const fleetQueries = queriesOf(fleetDashboard);

/** What Grafana sends: "All" is the variable's allValue, and the built-in intervals are concrete durations. */
export function substitute(expr: string): string {
  return expr
    .replace(/\$\{?(site|room|rack)\}?/g, '.*')
    .replace(/\$\{?__rate_interval\}?/g, '1m')
    .replace(/\$\{?__interval\}?/g, '15s')
    .replace(/\$\{?__range\}?/g, '5m');
}
