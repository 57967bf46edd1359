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
    expect(found).toEqual([
      'agent.listen: expected HOST:PORT like "0.0.0.0:9785" or ":9785" (line 2)',
      'polling.interval: expected a duration like "30s" (units ms, s, m, h, d) (line 4)',
      expect.stringMatching(/^targets\[0\]\.labels\.device: "device" is set by Potencia itself.* \(line 8\)$/),
      expect.stringMatching(/^targets\[0\]\.labels\.9bad: a label name must match.* \(line 8\)$/),
      expect.stringMatching(/^targets\[2\]\.url: unknown scheme "gopher".* \(line 10\)$/),
      '(top level): unknown key "extra" (line 11)',
    ]);
  });

  it('rejects a duplicate target, a timeout not shorter than the interval, and an unset variable', () => {
    expect(problems('targets:\n  - url: cgminer://10.0.0.1\n  - url: cgminer://10.0.0.1\n')).toEqual(['targets[1].url: duplicates targets[0].url (line 3)']);
    expect(problems('polling: { interval: 10s, timeout: 10s }\n')).toEqual(['polling.timeout: must be shorter than polling.interval (line 1)']);
    expect(problems('labels:\n  site: "${NOPE}"\n')).toEqual(['labels.site: environment variable NOPE is not set (write ${NOPE:-default} for a default) (line 2)']);
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

  it('gives the line of every unknown key, in line order, with "did you mean" from the keys known at that level', () => {
    const found = problems(
      [
        'agent:',
        '  listen: ":9785"',
        'polling:',
        '  interval: 30s',
        '  jitter_ratio: 0.9',
        '',
        '# comment',
        'labels: { site: a }',
        'tagrets:',
        '  - url: cgminer://10.0.0.1',
        'polling2: {}',
        'zzzzzz: 1',
      ].join('\n'),
    );
    expect(found).toEqual([
      'polling.jitter_ratio: must be at most 0.5 (line 5)',
      '(top level): unknown key "tagrets" (did you mean "targets"?) (line 9)',
      '(top level): unknown key "polling2" (did you mean "polling"?) (line 11)',
      '(top level): unknown key "zzzzzz" (line 12)',
    ]);
    expect(problems('targets:\n  - url: cgminer://10.0.0.1\n    lables: { rack: a }\n    intervl: 10s\n')).toEqual([
      'targets[0]: unknown key "lables" (did you mean "labels"?) (line 3)',
      'targets[0]: unknown key "intervl" (did you mean "interval"?) (line 4)',
    ]);
  });

  it("says in plain words what a value must be, not zod's texts", () => {
    expect(problems('polling:\n  concurrency: 0\n  timeout: 1s\n  interval: 2s\n  max_response_bytes: "big"\nagent:\n  log_level: loud\n')).toEqual([
      'polling.concurrency: must be at least 1 (line 2)',
      'polling.max_response_bytes: must be a number, not text (line 5)',
      'agent.log_level: must be one of "trace", "debug", "info", "warn", "error", "fatal" (line 7)',
    ]);
  });

  it('calls an empty or comment-only file an error', () => {
    expect(problems('')).toEqual(['the file is empty (see config/potencia.example.yaml)']);
    expect(problems('# nothing yet\n\n')).toEqual(['the file is empty (see config/potencia.example.yaml)']);
  });

  it('checks addresses and ports: a listen port past 65535, an IPv4 part past 255 and a port that is not a number are errors', () => {
    expect(problems('agent:\n  listen: 127.0.0.1:99999\n')).toEqual(['agent.listen: port 99999 is out of range (0-65535) in "127.0.0.1:99999" (line 2)']);
    expect(problems('agent:\n  listen: 127.0.0.256:80\n')).toEqual(['agent.listen: "127.0.0.256" is not an IPv4 address (four numbers 0-255) (line 2)']);
    expect(problems('targets:\n  - url: cgminer://127.61.0.300\n  - url: cgminer://h:abc\n  - url: cgminer://bad..name\n')).toEqual([
      'targets[0].url: "127.61.0.300" is not an IPv4 address (four numbers 0-255) (line 2)',
      'targets[1].url: "h:abc" is not a host: a port must be a number from 1 to 65535 (line 3)',
      'targets[2].url: "bad..name" is not a host name (line 4)',
    ]);
    expect(() =>
      parseConfig('agent: { listen: "[::1]:9785" }\ntargets:\n  - url: cgminer://miner-7.farm.example:4029\n  - url: snmp://public@10.0.0.9\n', 'ok.yaml', ctx),
    ).not.toThrow();
  });
});

describe('${file:…} secrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'potencia-secrets-'));
  const load = (yaml: string) => {
    const path = join(dir, 'potencia.yaml');
    writeFileSync(path, yaml);
    try {
      loadConfigFile(path);
    } catch (err) {
      if (err instanceof ConfigError) return err.message;
      throw err;
    }
    throw new Error('config was accepted');
  };

  it('never prints a secret: not in a URL that fails to parse, not as a community holding "/", "#" or "@"', () => {
    const shadow = 'root:$y$j9T$Zm9vYmFyYmF6$secrethash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n';
    writeFileSync(join(dir, 'shadow'), shadow);
    const message = load('targets:\n  - url: "cgminer://${file:shadow}"\n');
    expect(message).toContain(`targets[0].url: not valid with the secret from ${join(dir, 'shadow')} in it (the value is not shown) (line 2)`);
    for (const piece of ['secrethash', 'root:', 'daemon']) expect(message).not.toContain(piece);
    for (const community of ['pub/lic', 'pub#lic', 'p@ss', 'a/b#c@d']) {
      writeFileSync(join(dir, 'community'), `${community}\n`);
      const text = load('targets:\n  - url: "snmp://${file:community}@10.0.0.9"\n  - url: "snmp://${file:community}@10.0.0.9"\n');
      expect(text).not.toContain(community);
      expect(text).toContain(join(dir, 'community'));
    }
  });

  it('refuses a directory, a device (a FIFO: test/cli.test.ts), and a file over 64 KiB without reading it all', () => {
    expect(load('labels:\n  site: "${file:/tmp}"\n')).toContain('labels.site: secret file /tmp is a directory; only a regular file is read (line 2)');
    expect(load('labels:\n  site: "${file:/dev/zero}"\n')).toContain('labels.site: secret file /dev/zero is a device; only a regular file is read');
    writeFileSync(join(dir, 'big'), Buffer.alloc(64 * 1024 + 1, 'a'));
    expect(load('labels:\n  site: "${file:big}"\n')).toContain(`secret file ${join(dir, 'big')} is larger than 64 KiB`);
    writeFileSync(join(dir, 'fits'), Buffer.alloc(64 * 1024, 'a'));
    // Read in full, then refused by the label's own 256-character limit, without quoting it.
    expect(load('labels:\n  site: "${file:fits}"\n')).toContain(`labels.site: not valid with the secret from ${join(dir, 'fits')} in it`);
  });

  it('refuses a config file that is a device', () => {
    expect(() => loadConfigFile('/dev/zero')).toThrow(/config file \/dev\/zero is a device/);
  });
});
