import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configJsonSchema, loadConfigFile, parseConfig } from '../config/load.js';
import { buildTargets } from '../agent/targets.js';
import { REPO_ROOT } from './helpers.js';

const ctx = { env: { POLL_CONCURRENCY: '64', SITE: 'farm-9' } as NodeJS.ProcessEnv, baseDir: REPO_ROOT };

function problems(text: string, env: NodeJS.ProcessEnv = ctx.env): string[] {
  try {
    parseConfig(text, 'test.yaml', { ...ctx, env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('config was accepted');
}

describe('config', () => {
  it('applies defaults and substitutes ${ENV}, ${ENV:-default} and numbers from the environment', () => {
    const config = parseConfig('labels: { site: "${SITE}", owner: "${OWNER:-ops}" }\npolling:\n  concurrency: ${POLL_CONCURRENCY}\n', 'test.yaml', ctx);
    expect(config.labels).toEqual({ site: 'farm-9', owner: 'ops' });
    expect(config.polling.concurrency).toBe(64);
    expect(config.polling.interval).toBe(30_000);
    expect(config.agent.listen).toBe('0.0.0.0:9785');
  });

  it('reads ${file:…} secrets relative to the config file and never re-parses them as YAML', () => {
    const dir = mkdtempSync(join(tmpdir(), 'potencia-config-'));
    writeFileSync(join(dir, 'site-name'), 'farm: {evil: yaml}\n');
    writeFileSync(join(dir, 'potencia.yaml'), 'labels:\n  site: "${file:site-name}"\n');
    expect(loadConfigFile(join(dir, 'potencia.yaml')).labels.site).toBe('farm: {evil: yaml}');
  });

  it('names every problem with its path and line, not only the first', () => {
    const found = problems(
      [
        'agent:',
        '  listen: nowhere',
        'polling:',
        '  interval: 30',
        '  timeout: 1m',
        'targets:',
        '  - url: cgminer://10.0.0.1',
        '    labels: { device: x, "9bad": y }',
        '  - url: cgminer://10.0.0.1',
        '  - url: gopher://x',
        'extra: 1',
      ].join('\n'),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'agent.listen: expected HOST:PORT like "0.0.0.0:9785" or ":9785" (line 2)',
        'polling.interval: expected a duration like "30s" (units ms, s, m, h, d) (line 4)',
        expect.stringMatching(/^targets\[0\]\.labels\.device: "device" is set by Potencia itself/),
        expect.stringMatching(/^targets\[0\]\.labels\.9bad: a label name must match/),
        expect.stringMatching(/^targets\[2\]\.url: unknown scheme "gopher"/),
        '(top level): unknown key "extra" (line 1)',
      ]),
    );
  });

  it('rejects a duplicate target, a timeout not shorter than the interval, and an unset variable', () => {
    expect(problems('targets:\n  - url: cgminer://10.0.0.1\n  - url: cgminer://10.0.0.1\n')).toEqual(['targets[1].url: duplicates targets[0].url (line 3)']);
    expect(problems('polling: { interval: 10s, timeout: 10s }\n')).toEqual(['polling.timeout: must be shorter than polling.interval (line 1)']);
    expect(problems('labels:\n  site: "${NOPE}"\n')).toEqual(['labels.site: environment variable NOPE is not set (write ${NOPE:-default} for a default)']);
  });

  it('expands ranges and CIDRs into targets, the first mention of a host keeping its labels', () => {
    const config = parseConfig(
      'labels: { site: s }\ntargets:\n  - url: cgminer://10.0.0.2\n    labels: { rack: own }\n  - url: cgminer://10.0.0.0/30\n    labels: { rack: net }\n',
      'test.yaml',
      ctx,
    );
    const targets = buildTargets(config);
    expect(targets.map((t) => [t.url, t.labels.rack])).toEqual([
      ['cgminer://10.0.0.2:4028', 'own'],
      ['cgminer://10.0.0.1:4028', 'net'],
    ]);
    expect(targets[0]!.labels.site).toBe('s');
  });

  it('ships a JSON Schema generated from the zod schema, up to date (regenerate: potencia schema > config/potencia.schema.json)', () => {
    const shipped = JSON.parse(readFileSync(join(REPO_ROOT, 'config', 'potencia.schema.json'), 'utf8')) as object;
    expect(shipped).toEqual(JSON.parse(JSON.stringify(configJsonSchema())));
    expect(JSON.stringify(shipped)).toContain('"additionalProperties":false');
  });
});
