import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { findTool, REPO_ROOT } from './helpers.js';

// findTool throws under CI=true when promtool is missing: there it is a broken setup, not a skip.
const promtool = findTool('promtool');
if (!promtool) console.warn('promtool not found (Debian package "prometheus"): skipping the alert rule tests');
const DIR = join(REPO_ROOT, 'deploy', 'prometheus');

function run(args: string[]) {
  const result = spawnSync(promtool!, args, { cwd: DIR, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

interface RuleFile {
  groups: { rules: { alert?: string; labels?: { severity?: string }; annotations?: { summary?: string; description?: string } }[] }[];
}
interface TestFile {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const YES_NO_ALERTS = new Set([
  'PotenciaDeviceDown',
  'PotenciaEconomicsInputStale',
  'PotenciaAgentDown',
  'PotenciaTargetDown',
  'PotenciaConfigReloadFailed',
  'PotenciaMqttDisconnected',
]);

describe('deploy/prometheus/alerts.test.yml', () => {
  it('covers every alert both firing and not firing; every alert has a severity and quotes its value', () => {
    const rules = parse(readFileSync(join(DIR, 'alerts.yml'), 'utf8')) as RuleFile;
    const tests = parse(readFileSync(join(DIR, 'alerts.test.yml'), 'utf8')) as TestFile;
    const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
    expect(alerts.map((a) => a.alert)).toEqual([
      'PotenciaDeviceDown',
      'PotenciaHashrateBelowNominal',
      'PotenciaEfficiencyDrift',
      'PotenciaUnprofitableDevice',
      'PotenciaOverheating',
      'PotenciaEconomicsInputStale',
      'PotenciaSitePowerOverCap',
      'PotenciaAgentDown',
      'PotenciaTargetDown',
      'PotenciaConfigReloadFailed',
      'PotenciaMqttDisconnected',
    ]);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      expect(['critical', 'warning', 'info'], alert.alert).toContain(alert.labels?.severity);
      const text = `${alert.annotations?.summary} ${alert.annotations?.description}`;
      expect(text, alert.alert).toMatch(/\$labels\./);
      // Up/down, stale/fresh, failed/ok and connected or not are their own value; every other alert quotes the figure that tripped it.
      if (!YES_NO_ALERTS.has(alert.alert!)) expect(text, alert.alert).toContain('$value');
      const mine = cases.filter((c) => c.alertname === alert.alert);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert.alert} never tested quiet`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert.alert} never tested firing`,
      ).toBe(true);
    }
  });
});

describe.skipIf(!promtool)('deploy/prometheus alert rules', () => {
  it('are valid rules, and the shipped prometheus.yml loads them', () => {
    const rules = run(['check', 'rules', 'alerts.yml']);
    expect(rules.output).toContain('SUCCESS: 11 rules found');
    expect(rules.status).toBe(0);
    const config = run(['check', 'config', 'prometheus.yml']);
    expect(config.output).toMatch(/SUCCESS: 1 rule files found/);
    expect(config.status).toBe(0);
  });

  it('fire and stay quiet as alerts.test.yml expects, with the values quoted in their annotations', () => {
    const tests = run(['test', 'rules', 'alerts.test.yml']);
    expect(tests.output).toContain('SUCCESS');
    expect(tests.output).not.toContain('FAILED');
    expect(tests.status).toBe(0);
  });
});

const CENTRAL = join(REPO_ROOT, 'deploy', 'central');

interface CentralRules {
  groups: { rules: { record?: string; alert?: string; labels?: { severity?: string }; annotations?: { summary?: string; description?: string } }[] }[];
}
interface CentralTests {
  tests: { promql_expr_test?: { expr: string; exp_samples: unknown[] }[]; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

describe('deploy/central/rules.test.yml', () => {
  const recording = parse(readFileSync(join(CENTRAL, 'recording-rules.yml'), 'utf8')) as CentralRules;
  const alerting = parse(readFileSync(join(CENTRAL, 'fleet-alerts.yml'), 'utf8')) as CentralRules;
  const tests = parse(readFileSync(join(CENTRAL, 'rules.test.yml'), 'utf8')) as CentralTests;

  it('checks the figures of every recording rule, and every site alert both firing and quiet', () => {
    const records = recording.groups.flatMap((g) => g.rules).map((r) => r.record);
    expect(records.every((r) => r !== undefined && /^site(_activity)?:potencia_/.test(r))).toBe(true);
    const exprTests = tests.tests.flatMap((t) => t.promql_expr_test ?? []);
    for (const record of records)
      expect(
        exprTests.some((t) => t.expr === record && t.exp_samples.length > 0),
        `${record} has no expected samples`,
      ).toBe(true);
    const alerts = alerting.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert)).toEqual(['PotenciaSiteNotPushing', 'PotenciaAgentDown', 'PotenciaClusterAgentLost']);
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      expect(['critical', 'warning', 'info'], alert.alert).toContain(alert.labels?.severity);
      expect(`${alert.annotations?.summary} ${alert.annotations?.description}`, alert.alert).toMatch(/\$labels\.site/);
      const mine = cases.filter((c) => c.alertname === alert.alert);
      expect(
        mine.some((c) => c.exp_alerts.length === 0),
        `${alert.alert} never tested quiet`,
      ).toBe(true);
      expect(
        mine.some((c) => c.exp_alerts.length > 0),
        `${alert.alert} never tested firing`,
      ).toBe(true);
    }
  });
});

const vmalert = findTool('vmalert');

describe.skipIf(!promtool || !vmalert)('deploy/central rules', () => {
  it('give the figures and alerts rules.test.yml expects (promtool)', () => {
    const result = spawnSync(promtool!, ['test', 'rules', 'rules.test.yml'], { cwd: CENTRAL, encoding: 'utf8' });
    expect(`${result.stdout}${result.stderr}`).toContain('SUCCESS');
    expect(result.status).toBe(0);
  });

  it('load in vmalert, which evaluates them beside VictoriaMetrics', () => {
    const result = spawnSync(vmalert!, ['-dryRun', '-rule=recording-rules.yml', '-rule=fleet-alerts.yml', '-loggerLevel=ERROR'], { cwd: CENTRAL, encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
  });
});
