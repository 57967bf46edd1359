import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, eventually, findTool, freePort, makeCertificates, runCli, spawnProcess, type Spawned } from './helpers.js';

const opensslBin = findTool('openssl');
const curlBin = findTool('curl');
const prometheusBin = findTool('prometheus');

const PASSWORD = 'correct horse battery';

/**
 * Issue 13, finding 1: the agent's HTTP server with TLS and basic auth from an exporter-toolkit web
 * config, as `potencia run` serves it: curl, and the real Prometheus scraping over TLS with basic auth.
 */
describe.skipIf(!opensslBin || !curlBin)('HTTP over TLS with basic auth (agent.web_config_file)', () => {
  let dir: string;
  let port: number;
  let agent: Spawned;

  /** curl's HTTP status for a request, 0 when the connection or TLS handshake failed. */
  function curl(path: string, opts: { user?: string; ca?: string; scheme?: string } = {}): number {
    const args = ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5'];
    if (opts.ca !== undefined) args.push('--cacert', join(dir, opts.ca));
    if (opts.user !== undefined) args.push('-u', opts.user);
    const r = spawnSync(curlBin!, [...args, `${opts.scheme ?? 'https'}://127.0.0.1:${port}${path}`], { encoding: 'utf8' });
    return Number(r.stdout) || 0;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'potencia-tls-'));
    makeCertificates(opensslBin!, dir, 'ca', [{ name: 'server', cn: 'localhost', server: true }]);
    makeCertificates(opensslBin!, dir, 'ca2', [{ name: 'rotated', cn: 'localhost', server: true }]);
    copyFileSync(join(dir, 'server.crt'), join(dir, 'live.crt'));
    copyFileSync(join(dir, 'server.key'), join(dir, 'live.key'));
    writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\nbasic_auth_users:\n  prometheus: ${bcrypt.hashSync(PASSWORD, 8)}\n`);
    port = await freePort();
    writeFileSync(join(dir, 'potencia.yaml'), `agent:\n  listen: "127.0.0.1:${port}"\n  web_config_file: ${join(dir, 'web.yml')}\n`);
    agent = spawnProcess(process.execPath, [CLI, 'run', '--config', join(dir, 'potencia.yaml')]);
    await eventually(() => curl('/healthz', { ca: 'ca.crt' }) === 200 || undefined, `agent up over TLS (${agent.output().slice(-500)})`);
  });

  afterAll(async () => {
    agent?.child.kill('SIGTERM');
    await agent?.exited;
  });

  it('answers 401 without or with wrong credentials, 200 with the right ones; /healthz stays open; plain HTTP is refused', () => {
    expect(curl('/metrics', { ca: 'ca.crt' })).toBe(401);
    expect(curl('/metrics', { ca: 'ca.crt', user: 'prometheus:wrong' })).toBe(401);
    expect(curl('/metrics', { ca: 'ca.crt', user: `nobody:${PASSWORD}` })).toBe(401);
    expect(curl('/api/devices', { ca: 'ca.crt' })).toBe(401);
    expect(curl('/', { ca: 'ca.crt' })).toBe(401);
    expect(curl('/metrics', { ca: 'ca.crt', user: `prometheus:${PASSWORD}` })).toBe(200);
    expect(curl('/', { ca: 'ca.crt', user: `prometheus:${PASSWORD}` })).toBe(200);
    expect(curl('/healthz', { ca: 'ca.crt' })).toBe(200);
    // Not trusting the agent's CA, or speaking plain HTTP to it, gets no answer at all.
    expect(curl('/healthz')).toBe(0);
    expect(curl('/healthz', { scheme: 'http' })).toBe(0);
    // TLS, so no warning about an open server.
    expect(agent.output()).not.toContain('neither TLS nor basic auth');
  });

  it.skipIf(!prometheusBin)(
    'is scraped by the real Prometheus with scheme https, tls_config.ca_file and basic_auth',
    async () => {
      const promPort = await freePort();
      writeFileSync(join(dir, 'prom-password'), `${PASSWORD}\n`);
      writeFileSync(
        join(dir, 'prometheus.yml'),
        [
          'global:',
          '  scrape_interval: 1s',
          '  scrape_timeout: 1s',
          'scrape_configs:',
          '  - job_name: potencia',
          '    scheme: https',
          '    tls_config:',
          `      ca_file: ${join(dir, 'ca.crt')}`,
          '    basic_auth:',
          '      username: prometheus',
          `      password_file: ${join(dir, 'prom-password')}`,
          '    static_configs:',
          `      - targets: ['127.0.0.1:${port}']`,
          '',
        ].join('\n'),
      );
      const prometheus = spawnProcess(prometheusBin!, [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${promPort}`,
      ]);
      try {
        const result = await eventually(
          async () => {
            const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent('potencia_build_info')}`);
            const body = (await res.json()) as { data: { result: { metric: Record<string, string> }[] } };
            return body.data.result.length > 0 ? body.data.result : undefined;
          },
          `Prometheus scraped the agent (prometheus: ${prometheus.output().slice(-400)})`,
          40_000,
        );
        expect(result[0]!.metric.job).toBe('potencia');
        const up = (await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=up`)).json()) as { data: { result: { value: [number, string] }[] } };
        expect(up.data.result[0]!.value[1]).toBe('1');
      } finally {
        prometheus.child.kill('SIGTERM');
        await prometheus.exited;
      }
    },
    60_000,
  );

  it('takes a rotated certificate on SIGHUP, and on its own when the files change', async () => {
    copyFileSync(join(dir, 'rotated.crt'), join(dir, 'live.crt'));
    copyFileSync(join(dir, 'rotated.key'), join(dir, 'live.key'));
    agent.child.kill('SIGHUP');
    await eventually(() => curl('/healthz', { ca: 'ca2.crt' }) === 200 || undefined, 'the rotated certificate served after SIGHUP', 5_000);
    expect(curl('/healthz', { ca: 'ca.crt' })).toBe(0);
    // Back to the first, with no signal: the files are looked at every few seconds.
    copyFileSync(join(dir, 'server.crt'), join(dir, 'live.crt'));
    copyFileSync(join(dir, 'server.key'), join(dir, 'live.key'));
    await eventually(() => curl('/healthz', { ca: 'ca.crt' }) === 200 || undefined, 'the first certificate served again without a signal', 15_000);
    expect(curl('/metrics', { ca: 'ca.crt', user: `prometheus:${PASSWORD}` })).toBe(200);
  }, 30_000);

  it('keeps serving with the last good certificate when the new files do not load, and says so in one line', async () => {
    writeFileSync(join(dir, 'live.key'), 'not a key\n');
    agent.child.kill('SIGHUP');
    await eventually(() => /web config not reloaded; keeping the last good one/.test(agent.output()) || undefined, 'the failed reload logged');
    expect(curl('/metrics', { ca: 'ca.crt', user: `prometheus:${PASSWORD}` })).toBe(200);
    copyFileSync(join(dir, 'server.key'), join(dir, 'live.key'));
  });

  it('takes new users on SIGHUP: the old password stops working, the new one works', async () => {
    writeFileSync(join(dir, 'web.yml'), `tls_server_config:\n  cert_file: live.crt\n  key_file: live.key\nbasic_auth_users:\n  grafana: ${bcrypt.hashSync('new one', 8)}\n`);
    agent.child.kill('SIGHUP');
    await eventually(() => curl('/metrics', { ca: 'ca.crt', user: 'grafana:new one' }) === 200 || undefined, 'the new user accepted', 5_000);
    expect(curl('/metrics', { ca: 'ca.crt', user: `prometheus:${PASSWORD}` })).toBe(401);
  });

  it('refuses to start on a web config it cannot use, in plain words with exit 2 and no secret', async () => {
    writeFileSync(join(dir, 'bad-web.yml'), 'basic_auth_users:\n  prometheus: my-plain-password\n');
    const badPort = await freePort();
    writeFileSync(join(dir, 'bad.yaml'), `agent:\n  listen: "127.0.0.1:${badPort}"\n  web_config_file: ${join(dir, 'bad-web.yml')}\n`);
    const r = await runCli(['run', '--config', join(dir, 'bad.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad-web\.yml: invalid configuration\n\s+basic_auth_users\.prometheus: expected a bcrypt hash/);
    expect(r.stderr).not.toContain('my-plain-password');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // check-config reads the web config too, and says the same.
    const checked = await runCli(['check-config', join(dir, 'bad.yaml')]);
    expect(checked.code).toBe(2);
    expect(checked.stderr).toMatch(/bad-web\.yml: invalid configuration\n\s+basic_auth_users\.prometheus: expected a bcrypt hash/);
    expect(checked.stderr).not.toContain('my-plain-password');
    expect((await runCli(['check-config', join(dir, 'potencia.yaml')])).code).toBe(0);
  });
});
