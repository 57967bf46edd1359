import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_NODE_OPTIONS } from '../bench/support.js';
import { findTool, freePort, makeCertificates, REPO_ROOT } from './helpers.js';

const systemdAnalyze = findTool('systemd-analyze');
const opensslBin = findTool('openssl');

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

/** The poll benchmark claims the agent's figures as deployed: the launchers and it must run Node alike. */
describe('deployed Node options', () => {
  it('are the same in the Docker image, the systemd unit and the poll benchmark', () => {
    const options = DEPLOYED_NODE_OPTIONS.join(' ');
    // Quoted as a whole, since the options are separated by spaces.
    expect(read('Dockerfile')).toMatch(new RegExp(`^ENV NODE_OPTIONS="${options}"$`, 'm'));
    expect(read('deploy/systemd/potencia.service')).toMatch(new RegExp(`^Environment="NODE_OPTIONS=${options}"$`, 'm'));
  });

  it('are options Node accepts in NODE_OPTIONS', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'], {
      env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS.join(' ') },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    // Both took: the heap limit is the old generation's cap plus the young generation, which V8 sizes
    // at two semi-spaces and a third for new large objects; V8's own default would be gigabytes.
    const mb = (name: string) => Number(DEPLOYED_NODE_OPTIONS.find((o) => o.startsWith(`--${name}=`))!.split('=')[1]);
    const limitMb = Number(run.stdout) / 2 ** 20;
    expect(limitMb).toBeGreaterThanOrEqual(mb('max-old-space-size') + 2 * mb('max-semi-space-size'));
    expect(limitMb).toBeLessThanOrEqual(mb('max-old-space-size') + 3 * mb('max-semi-space-size'));
  });
});

/** `Key=value` lines of a systemd unit, every value of a key in order. */
function unitSettings(text: string): Map<string, string[]> {
  const settings = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) settings.set(m[1]!, [...(settings.get(m[1]!) ?? []), m[2]!]);
  }
  return settings;
}

describe('deploy/systemd/potencia.service', () => {
  const unit = read('deploy/systemd/potencia.service');
  const settings = unitSettings(unit);

  it('lets a local nvidia-smi: target reach the GPU: NVIDIA device groups allowed, not PrivateDevices, /proc/driver visible', () => {
    expect(settings.get('PrivateDevices') ?? []).not.toContain('yes');
    expect(settings.get('DevicePolicy')).toEqual(['closed']);
    expect(settings.get('DeviceAllow')).toEqual(['char-nvidia* rw']);
    expect(settings.get('ProcSubset') ?? []).not.toContain('pid');
  });

  it('gives ssh targets a state directory for keys and known_hosts, and says how to point ssh at it', () => {
    expect(settings.get('StateDirectory')).toEqual(['potencia']);
    expect(unit).toContain('UserKnownHostsFile=/var/lib/potencia/known_hosts');
    expect(read('README.md')).toContain('UserKnownHostsFile=/var/lib/potencia/known_hosts');
  });

  it.skipIf(!systemdAnalyze)('is a unit systemd reads without a warning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'potencia-unit-'));
    // The binary is not installed here: point the commands at one that is, so only the unit is judged.
    writeFileSync(join(dir, 'potencia.service'), unit.replace(/^ExecStart=.*$/m, 'ExecStart=/bin/true').replace(/^ExecReload=.*$/m, 'ExecReload=/bin/true'));
    const r = spawnSync(systemdAnalyze!, ['verify', '--man=no', join(dir, 'potencia.service')], { encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('runs the agent under tini (it reaps nvidia-smi and ssh children), with an ssh client, and a HEALTHCHECK that follows the port', () => {
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/bin\/tini", "--", "node", "\/opt\/potencia\/dist\/agent\/bin\.js"\]$/m);
    expect(dockerfile).toMatch(/apt-get install -y --no-install-recommends tini openssh-client/);
    expect(dockerfile).toMatch(/^\s+CMD \["node", "\/opt\/potencia\/deploy\/docker\/healthcheck\.mjs"\]$/m);
    expect(dockerfile).toMatch(/^COPY deploy deploy$/m);
    expect(dockerfile).not.toContain('9785/healthz');
  });
});

describe('LICENSE', () => {
  it('is the Apache License 2.0 that package.json names', () => {
    expect((JSON.parse(read('package.json')) as { license: string }).license).toBe('Apache-2.0');
    const license = read('LICENSE');
    expect(license).toMatch(/^\s+Apache License\n\s+Version 2\.0, January 2004\n/);
    expect(license).toContain('TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(statSync(join(REPO_ROOT, 'LICENSE')).size).toBeGreaterThan(11_000);
  });
});

describe('deploy/docker/healthcheck.mjs', () => {
  const script = join(REPO_ROOT, 'deploy', 'docker', 'healthcheck.mjs');

  async function healthcheck(env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
    const child = spawn(process.execPath, [script], { env: { PATH: process.env.PATH, POTENCIA_CMDLINE_FILE: '/nonexistent', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, 'close')) as [number | null];
    return { code, stderr };
  }

  async function serve(server: Server): Promise<number> {
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  it('asks /healthz on POTENCIA_PORT, on the port of --listen or the config on the command line, and fails on 503 or nothing listening', async () => {
    let status = 200;
    const server = createServer((req, res) => {
      res.writeHead(req.url === '/healthz' ? status : 404).end();
    });
    const port = await serve(server);
    try {
      expect((await healthcheck({ POTENCIA_PORT: String(port) })).code).toBe(0);
      const dir = mkdtempSync(join(tmpdir(), 'potencia-health-'));
      writeFileSync(join(dir, 'potencia.yaml'), `agent:\n  listen: "127.0.0.1:${port}"\n`);
      writeFileSync(join(dir, 'cmdline-config'), ['node', '/opt/potencia/dist/agent/bin.js', 'run', '--config', join(dir, 'potencia.yaml'), ''].join('\0'));
      expect((await healthcheck({ POTENCIA_CMDLINE_FILE: join(dir, 'cmdline-config') })).code).toBe(0);
      writeFileSync(join(dir, 'cmdline-listen'), ['node', 'bin.js', 'demo', '--listen', `0.0.0.0:${port}`, ''].join('\0'));
      expect((await healthcheck({ POTENCIA_CMDLINE_FILE: join(dir, 'cmdline-listen') })).code).toBe(0);
      status = 503;
      const unhealthy = await healthcheck({ POTENCIA_PORT: String(port) });
      expect(unhealthy.code).toBe(1);
      expect(unhealthy.stderr).toContain('answered 503');
    } finally {
      server.close();
    }
    const closed = await healthcheck({ POTENCIA_PORT: String(await freePort()) });
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/ECONNREFUSED/);
  });

  it.skipIf(!opensslBin)('asks over HTTPS when the agent speaks TLS', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'potencia-health-tls-'));
    makeCertificates(opensslBin!, dir, 'ca', [{ name: 'server', cn: 'localhost', server: true }]);
    const server = createHttpsServer({ cert: readFileSync(join(dir, 'server.crt')), key: readFileSync(join(dir, 'server.key')) }, (_req, res) => res.writeHead(200).end());
    const port = await serve(server);
    try {
      expect((await healthcheck({ POTENCIA_PORT: String(port) })).code).toBe(0);
    } finally {
      server.close();
    }
  });
});
