import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { webConfigSchema } from '../config/web-schema.js';
import { REPO_ROOT } from './helpers.js';
import { openServerWarning } from '../exporters/prometheus/part.js';
import { BasicAuth } from '../exporters/prometheus/basic-auth.js';
import { loadWebConfig, WebConfigError } from '../exporters/prometheus/web-config.js';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('BasicAuth', () => {
  const hash = bcrypt.hashSync('s3cret', 10);

  it('accepts the right password, denies a wrong one, an unknown user and a malformed header', async () => {
    const auth = new BasicAuth({ prometheus: hash });
    expect(await auth.check(basic('prometheus', 's3cret'))).toBe('ok');
    expect(await auth.check(basic('prometheus', 's3cret!'))).toBe('denied');
    expect(await auth.check(basic('grafana', 's3cret'))).toBe('denied');
    expect(await auth.check(undefined)).toBe('denied');
    expect(await auth.check('Bearer abc')).toBe('denied');
    expect(await auth.check('Basic !!!')).toBe('denied');
    expect(await auth.check(`Basic ${'A'.repeat(10_000)}`)).toBe('denied');
  });

  it('pays bcrypt once per user and password: a scrape every few seconds is answered from the cache', async () => {
    const auth = new BasicAuth({ prometheus: hash });
    let started = performance.now();
    expect(await auth.check(basic('prometheus', 's3cret'))).toBe('ok');
    const first = performance.now() - started;
    started = performance.now();
    for (let i = 0; i < 100; i++) expect(await auth.check(basic('prometheus', 's3cret'))).toBe('ok');
    const hundredCached = performance.now() - started;
    expect(hundredCached).toBeLessThan(first);
    // A wrong password is never cached: each try pays bcrypt again.
    started = performance.now();
    expect(await auth.check(basic('prometheus', 'guess'))).toBe('denied');
    expect(performance.now() - started).toBeGreaterThan(hundredCached / 10);
  });

  it('answers busy rather than queue bcrypt work past its bound', async () => {
    const auth = new BasicAuth({ prometheus: hash }, { concurrentHashes: 1 });
    const verdicts = await Promise.all([auth.check(basic('prometheus', 'a')), auth.check(basic('prometheus', 'b'))]);
    expect(verdicts).toEqual(['denied', 'busy']);
  });
});

/** The one-line summary of why a web config does not load. */
async function failure(path: string): Promise<string> {
  const err = await loadWebConfig(path).then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof WebConfigError)) throw new Error(`${path}: expected a WebConfigError, got ${String(err)}`);
  return err.summary;
}

describe('loadWebConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'potencia-web-'));
  const write = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('reads basic_auth_users', async () => {
    const loaded = await loadWebConfig(write('ok.yml', `basic_auth_users:\n  prometheus: ${bcrypt.hashSync('x', 4)}\n`));
    expect(loaded.security.tls).toBeUndefined();
    expect(await loaded.security.auth!.check(basic('prometheus', 'x'))).toBe('ok');
  });

  it('says in one line what is wrong, naming the file and the key, and never quotes a secret', async () => {
    const cases: [string, RegExp][] = [
      ['tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n', /cipher_suites/],
      ['basic_auth_users:\n  prometheus: plaintext-password\n', /basic_auth_users\.prometheus: expected a bcrypt hash/],
      ['tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  client_auth_type: RequireAndVerifyClientCert\n', /client_ca_file: is required/],
      ['tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n  min_version: TLS13\n  max_version: TLS12\n', /max_version: must not be below/],
      ['tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n', /tls_server_config\.cert_file .*missing\.crt: cannot read it \(ENOENT\)/],
      ['[not yaml', /not valid YAML/],
    ];
    for (const [text, expected] of cases) {
      const path = write('bad.yml', text);
      const summary = await failure(path);
      expect(summary, text).toMatch(expected);
      expect(summary).toMatch(/^web config .*bad\.yml: /);
      expect(summary).not.toContain('\n');
      expect(summary).not.toContain('plaintext-password');
    }
    expect(await failure(join(dir, 'nowhere.yml'))).toMatch(/^web config .*nowhere\.yml: cannot read it \(ENOENT\)$/);
    expect(await failure(dir)).toMatch(/not a regular file/);
    expect(await failure(write('huge.yml', `# ${'x'.repeat(2 * 1024 * 1024)}\n`))).toMatch(/larger than/);
  });
});

describe("README's web config example", () => {
  it('is a valid web config whose user is checked against its hash', async () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    const block = /```yaml\n(# \/etc\/potencia\/web\.yml[^`]*)```/.exec(readme)![1]!;
    const config = webConfigSchema.parse(parse(block));
    expect(config.tls_server_config).toMatchObject({ cert_file: 'potencia.crt', key_file: 'potencia.key', client_auth_type: 'NoClientCert', min_version: 'TLS12' });
    const auth = new BasicAuth(config.basic_auth_users!);
    expect(await auth.check(basic('prometheus', 'example'))).toBe('ok');
  });
});

describe('openServerWarning', () => {
  it('warns of a server beyond loopback with neither TLS nor basic auth, and only of that', () => {
    for (const host of ['0.0.0.0', '', '::', '10.0.0.5', 'farm-agent.example', '128.0.0.1']) expect(openServerWarning(host, {}), host).toMatch(/neither TLS nor basic auth/);
    for (const host of ['127.0.0.1', '127.3.2.1', '::1', 'localhost', '::ffff:127.0.0.1']) expect(openServerWarning(host, {}), host).toBeUndefined();
    expect(openServerWarning('0.0.0.0', { auth: new BasicAuth({}) })).toBeUndefined();
    expect(openServerWarning('0.0.0.0', { tls: { context: {}, clientAuth: 'NoClientCert' } })).toBeUndefined();
  });
});
