/**
 * IPv6 targets: a bracketed literal, with or without a port, parses for every scheme into a host without
 * brackets (what sockets and ssh take) and back into a canonical URL and device id with them; a bare one
 * is refused with a message that says how to write it. Then real polls of simulated miners listening on
 * the IPv6 loopback, over the cgminer socket and over HTTP.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetsFromUrls } from '../agent/targets.js';
import { urlHost } from '../collectors/contract.js';
import { createCollector, SCHEMES, type TargetScheme } from '../collectors/registry.js';
import { canonicalUrl, parseTargetUrl } from '../collectors/target.js';
import { parseConfig, ConfigError } from '../config/load.js';
import { listenProblem } from '../config/address.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { REPO_ROOT } from './helpers.js';

/** A URL naming `host` for each scheme, as an operator writes it (SNMP with its community). */
function urlFor(scheme: TargetScheme, authority: string): string {
  return scheme === 'snmp' ? `snmp://public@${authority}` : `${scheme}://${authority}`;
}

/** nvidia-smi:// runs locally or through a command_prefix and takes no port; every other scheme does. */
const TAKES_PORT = SCHEMES.filter((s) => s.name !== 'nvidia-smi');

describe('bracketed IPv6 literals in target URLs', () => {
  it.each(SCHEMES.map((s) => [s.name, s.defaultPort] as const))('%s://[fd00::15] parses to the bare address on the default port', (scheme, defaultPort) => {
    const parsed = parseTargetUrl(urlFor(scheme, '[fd00::15]'));
    expect(parsed.hosts).toEqual(['fd00::15']);
    expect(parsed.port).toBe(defaultPort);
  });

  it.each(TAKES_PORT.map((s) => [s.name] as const))('%s://[fd00::15]:4099 keeps the port, and the canonical URL brings the brackets back', (scheme) => {
    const parsed = parseTargetUrl(urlFor(scheme, '[fd00::15]:4099'));
    expect([parsed.hosts, parsed.port]).toEqual([['fd00::15'], 4099]);
    const canonical = canonicalUrl(parsed.scheme, parsed.hosts[0]!, parsed.port, parsed.params, parsed.path);
    expect(canonical).toContain('://[fd00::15]:4099');
    expect(parseTargetUrl(canonical).hosts).toEqual(['fd00::15']);
  });

  it('reads the loopback, an IPv4-mapped address and a full-length address; the scheduler keys on the bracketed URL', () => {
    expect(parseTargetUrl('cgminer://[::1]:4028')).toEqual({ scheme: 'cgminer', hosts: ['::1'], port: 4028 });
    expect(parseTargetUrl('cgminer://[::ffff:10.0.1.15]').hosts).toEqual(['::ffff:10.0.1.15']);
    expect(parseTargetUrl('snmp://public@[2001:db8:0:0:0:0:0:9]:1161?profile=apc-rpdu2')).toMatchObject({ hosts: ['2001:db8:0:0:0:0:0:9'], port: 1161, userinfo: 'public' });
    const [t] = targetsFromUrls(['cgminer://[::1]:4028'], 5000);
    expect([t!.url, t!.host, t!.port]).toEqual(['cgminer://[::1]:4028', '::1', 4028]);
    expect(urlHost('::1')).toBe('[::1]');
    expect(urlHost('10.0.1.15')).toBe('10.0.1.15');
  });

  it('refuses a bare address, a bad literal, a bad port and an IPv6 range, each saying how to write it', () => {
    expect(() => parseTargetUrl('cgminer://fd00::15')).toThrow('"cgminer://fd00::15": an IPv6 address goes in brackets, like [fd00::15]:4028');
    expect(() => parseTargetUrl('cgminer://fd00::15:4028')).toThrow(/goes in brackets/);
    expect(() => parseTargetUrl('cgminer://[fd00::zz]:4028')).toThrow('"[fd00::zz]:4028" is not an IPv6 address in brackets like [fd00::15] or [fd00::15]:4028');
    expect(() => parseTargetUrl('cgminer://[::1]x')).toThrow(/is not an IPv6 address in brackets/);
    expect(() => parseTargetUrl('cgminer://[::1]:70000')).toThrow('port 70000 out of range in "cgminer://[::1]:70000"');
    expect(() => parseTargetUrl('cgminer://[fd00::]/64')).toThrow(/IPv6 ranges and CIDRs are not supported/);
    expect(() => parseTargetUrl('snmp://s3cret@fd00::9')).toThrow('"snmp://<secret>@fd00::9": an IPv6 address goes in brackets');
    expect(() => parseTargetUrl('nvidia-smi+ssh://ops@[fd00::zz]')).toThrow(/is not an IPv6 address in brackets/);
  });

  it('nvidia-smi+ssh hands ssh the bare address and writes the canonical URL with brackets', () => {
    const parsed = parseTargetUrl('nvidia-smi+ssh://ops@[fd00::7]:2222/opt/bin/nvidia-smi');
    expect(parsed).toMatchObject({ hosts: ['fd00::7'], port: 2222, userinfo: 'ops', path: '/opt/bin/nvidia-smi' });
    expect(canonicalUrl(parsed.scheme, 'fd00::7', 2222, undefined, parsed.path)).toBe('nvidia-smi+ssh://[fd00::7]:2222/opt/bin/nvidia-smi');
  });

  it('check-config accepts IPv6 targets and still wants brackets in a listen address', () => {
    const ctx = { env: {} as NodeJS.ProcessEnv, baseDir: REPO_ROOT };
    expect(() => parseConfig('targets:\n  - url: cgminer://[::1]:4028\n  - url: cgminer://[fd00::15]\n  - url: snmp://public@[fd00::9]\n', 'ok.yaml', ctx)).not.toThrow();
    let problems: string[] = [];
    try {
      parseConfig('targets:\n  - url: cgminer://fd00::15\n', 'bad.yaml', ctx);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toEqual(['targets[0].url: "cgminer://fd00::15": an IPv6 address goes in brackets, like [fd00::15]:4028 (line 2)']);
    expect(listenProblem('[::1]:9785')).toBeUndefined();
    expect(listenProblem('::1:9785')).toBe('"::1" is an IPv6 address without brackets: write [::1]:9785');
  });
});

/** Whether this machine can listen on ::1 (a container without IPv6 cannot). */
async function ipv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

const HAVE_IPV6 = await ipv6Loopback();

// Without IPv6 loopback only the parsing above can be checked; under CI that is a broken runner, not a pass.
describe.skipIf(!HAVE_IPV6 && process.env.CI !== 'true')('polls over the IPv6 loopback', () => {
  let cgminer: Farm;
  let bitaxe: Farm;
  beforeAll(async () => {
    if (!HAVE_IPV6) throw new Error('this machine cannot listen on ::1; IPv6 polls need an IPv6 loopback');
    cgminer = await startFarm({ devices: 1, seed: 3, mode: 'port', host: '::1', port: 0, models: ['Antminer S19 Pro'], failures: false });
    bitaxe = await startFarm({ devices: 1, seed: 8, mode: 'port', host: '::1', port: 0, models: [{ model: 'Bitaxe Gamma', protocol: 'bitaxe' }], failures: false });
  });
  afterAll(async () => {
    await cgminer?.stop();
    await bitaxe?.stop();
  });

  it('reads a cgminer miner on [::1]: the socket gets ::1, the id and URL keep the brackets', async () => {
    const miner = cgminer.miners[0]!;
    expect(miner.url).toBe(`cgminer://[::1]:${miner.port}`);
    const [target] = targetsFromUrls([miner.url], 3000);
    const [s] = await createCollector(target!, { maxResponseBytes: 1 << 20 }).collect(new AbortController().signal);
    expect(s).toMatchObject({ up: true, id: `asic/[::1]:${miner.port}`, target: miner.url, address: '::1', model: 'Antminer S19 Pro' });
    expect(s!.hashrate_hs).toBeGreaterThan(0);
  });

  it('reads a Bitaxe over HTTP on [::1]', async () => {
    const miner = bitaxe.miners[0]!;
    const [target] = targetsFromUrls([miner.url], 3000);
    const [s] = await createCollector(target!, { maxResponseBytes: 1 << 20 }).collect(new AbortController().signal);
    expect(s).toMatchObject({ up: true, id: `asic/[::1]:${miner.port}`, address: '::1', model: 'Bitaxe Gamma' });
  });

  it('names a closed port on [::1] with brackets in the error, so the port is not read as part of the address', async () => {
    const probe = createServer();
    const port = await new Promise<number>((resolve) => probe.listen(0, '::1', () => resolve((probe.address() as { port: number }).port)));
    await new Promise((resolve) => probe.close(resolve));
    const [target] = targetsFromUrls([`cgminer://[::1]:${port}`], 2000);
    const collector = createCollector(target!, { maxResponseBytes: 1 << 20 });
    await expect(collector.collect(new AbortController().signal)).rejects.toMatchObject({
      reason: 'refused',
      message: expect.stringMatching(new RegExp(`^\\[::1\\]:${port}: connection refused`)),
    });
    expect(collector.placeholder()).toMatchObject({ id: `asic/[::1]:${port}`, address: '::1' });
  });
});
