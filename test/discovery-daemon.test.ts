import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agent/compose.js';
import type { Agent } from '../agent/daemon.js';
import { silentLogger } from '../agent/log.js';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { eventually, freeLoopbackBlock, freePorts } from './helpers.js';

// Every protocol on a free port, as behind a port-forward: the scan is told them, the suite needs no root.
const [CGMINER, V3, WEB] = (await freePorts(3)) as [number, number, number];
const PORTS = { 'whatsminer-v3': V3, 'antminer-web': WEB, bitaxe: WEB, proto: WEB, goldshell: WEB, epic: CGMINER };
const { net: NET } = await freeLoopbackBlock({ ports: [CGMINER, V3, WEB] });
// A miner on a moved port is told apart by it (collectors/asic-identity.ts).
const id = (n: number, port = CGMINER) => `asic/${NET}.${n}:${port}`;

function configWith(discovery: ConfigInput['discovery'], extra: Partial<ConfigInput> = {}) {
  return configSchema.parse({
    agent: { listen: '127.0.0.1:0' },
    labels: { site: 'test' },
    polling: { interval: '1s', timeout: '500ms' },
    targets: [{ url: `cgminer://${NET}.2:${CGMINER}`, labels: { rack: 'r9' } }],
    discovery: discovery && { port: CGMINER, ports: PORTS, ...discovery },
    ...extra,
  });
}

/** The agent's discovery part against miners on real loopback TCP, rescanning every second. */
describe('discovery in the daemon', () => {
  let farm: Farm;
  let agent: Agent;
  const metric = async (name: string): Promise<number | undefined> => {
    const text = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    return line === undefined ? undefined : Number(line.slice(name.length + 1));
  };

  beforeAll(async () => {
    farm = await startFarm({ devices: 4, seed: 5, mode: 'address', host: `${NET}.1`, port: CGMINER, failures: false });
    await farm.kill(2);
    await farm.kill(3);
    agent = createAgent({ config: configWith({ ranges: [`${NET}.0/29`], interval: '1s', labels: { found_by: 'scan' } }), logger: silentLogger });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await farm?.stop();
  });

  it('polls found miners beside the configured ones, with the discovery labels; a configured target keeps its own', async () => {
    await eventually(() => agent.store.get(id(1))?.up || undefined, 'the found miner polled');
    expect(agent.store.get(id(1))!.labels).toEqual({ site: 'test', found_by: 'scan' });
    expect(agent.store.get(id(1))!.target).toBe(`cgminer://${NET}.1:${CGMINER}`);
    // Found by the scan too, but configured: its labels win and it is polled once, under one target.
    expect(agent.store.get(id(2))!.labels).toEqual({ site: 'test', rack: 'r9' });
    expect(agent.store.size).toBe(2);
    expect(await metric('potencia_discovery_found{state="identified",site="test"}')).toBe(2);
    expect(await metric('potencia_discovery_found{state="unidentified",site="test"}')).toBe(0);
    expect(await metric('potencia_discovery_last_run_timestamp_seconds{site="test"}')).toBeGreaterThan(Date.now() / 1000 - 60);
  });

  it('adds a miner that appears after start at the next scan', async () => {
    await farm.revive(2);
    const found = await eventually(() => (agent.store.get(id(3))?.up ? agent.store.get(id(3)) : undefined), 'the new miner found and polled');
    expect(found).toMatchObject({ up: true, model: farm.miners[2]!.model.model, labels: { site: 'test', found_by: 'scan' } });
    expect(await metric('potencia_discovery_found{state="identified",site="test"}')).toBe(3);
  });

  it('keeps a found miner that stops answering as a target, reported down', async () => {
    await farm.kill(0);
    await eventually(() => agent.store.get(id(1))?.up === false || undefined, 'the dead miner reported down');
    const scannedAfterDeath = Date.now() / 1000;
    await eventually(
      async () => (await metric('potencia_discovery_last_run_timestamp_seconds{site="test"}'))! > scannedAfterDeath + 0.1 || undefined,
      'a scan after the miner died',
    );
    await eventually(async () => (await metric('potencia_discovery_found{state="identified",site="test"}')) === 2 || undefined, 'the scan no longer sees it');
    expect(agent.store.get(id(1))).toMatchObject({ up: false, error_reason: 'refused' });
    expect(agent.store.size).toBe(3);
  });

  it('drops found miners when a reload removes the section, keeping the configured target', async () => {
    await agent.applyConfig(configWith(undefined));
    expect(agent.store.has(id(1))).toBe(false);
    expect(agent.store.has(id(3))).toBe(false);
    expect(agent.store.has(id(2))).toBe(true);
  });
});

describe('the discovery config section', () => {
  it('has defaults, and names a bad range, a too short interval and a reserved label with their paths', () => {
    const config = configSchema.parse({ discovery: { ranges: ['10.0.0.0/16'] } });
    expect(config.discovery).toEqual({
      ranges: ['10.0.0.0/16'],
      port: 4028,
      ports: { 'whatsminer-v3': 4433, 'antminer-web': 80, bitaxe: 80, proto: 80, goldshell: 80, epic: 4028 },
      accounts: {},
      interval: 3_600_000,
      labels: {},
      probe_concurrency: 2048,
      identify_concurrency: 128,
    });
    const bad = configSchema.safeParse({ discovery: { ranges: ['10.0.0.0/33', '10.0.0.9-3'], interval: '100ms', labels: { model: 'x' }, extra: 1 } });
    expect(bad.success).toBe(false);
    const problems = bad.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^discovery\.ranges\.0: "10\.0\.0\.0\/33" is not an IPv4 CIDR/),
        expect.stringMatching(/^discovery\.ranges\.1: range "10\.0\.0\.9-3" ends before it starts/),
        'discovery.interval: must be at least 1s',
        expect.stringMatching(/^discovery\.labels\.model: "model" is set by Potencia itself/),
        expect.stringMatching(/^discovery: Unrecognized key/),
      ]),
    );
    expect(configSchema.safeParse({ discovery: { ranges: [] } }).error!.issues[0]!.message).toBe('give at least one range to scan');
  });

  it('takes a port per protocol and an account per protocol that needs one, and refuses unknown ones and an account miner_credentials lacks', () => {
    const config = configSchema.parse({
      discovery: { ranges: ['10.0.0.0/24'], ports: { 'antminer-web': 8081 }, accounts: { 'antminer-web': 'fleet' } },
      miner_credentials: { fleet: { user: 'root', password: 'root' } },
    });
    expect(config.discovery!.ports).toEqual({ 'whatsminer-v3': 4433, 'antminer-web': 8081, bitaxe: 80, proto: 80, goldshell: 80, epic: 4028 });
    expect(config.discovery!.accounts).toEqual({ 'antminer-web': 'fleet' });
    const problems = (input: unknown) => configSchema.safeParse(input).error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ discovery: { ranges: ['10.0.0.0/24'], accounts: { 'antminer-web': 'fleet' } } })).toEqual([
      'discovery.accounts.antminer-web: no miner_credentials entry named "fleet"',
    ]);
    expect(problems({ discovery: { ranges: ['10.0.0.0/24'], ports: { 'antminer-web': 0, snmp: 161 }, accounts: { bitaxe: 'x' } } })).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^discovery\.ports\.antminer-web: Too small/),
        expect.stringMatching(/^discovery\.ports: Unrecognized key: "snmp"/),
        // ESP-Miner reads need no login: no account to name.
        expect.stringMatching(/^discovery\.accounts: Unrecognized key: "bitaxe"/),
      ]),
    );
  });
});

/**
 * Web-only Antminers (the stock web API open, 4028 closed) found by the daemon: polled with the
 * account `discovery.accounts` names, and without one reported down saying what to configure.
 */
describe('discovery of web-only Antminers', () => {
  let farm: Farm;
  let agent: Agent;
  const withAccount = (accounts: Record<string, string>) =>
    configWith({ ranges: [`${NET}.16/29`], interval: '1s', accounts }, { targets: [], miner_credentials: { fleet: { user: 'root', password: 'root' } } });

  beforeAll(async () => {
    farm = await startFarm({
      devices: 2,
      seed: 8,
      mode: 'address',
      host: `${NET}.17`,
      port: CGMINER,
      protocolPorts: { 'antminer-web': WEB },
      models: [{ model: 'Antminer S21 Pro', protocol: 'antminer-web' }, 'Antminer S19 Pro'],
      failures: false,
      clock: () => 1_760_000_000_000,
    });
    agent = createAgent({ config: withAccount({ 'antminer-web': 'fleet' }), logger: silentLogger });
    await agent.start();
  });

  afterAll(async () => {
    await agent?.stop();
    await farm?.stop();
  });

  it('polls a found web-only Antminer with the named account, beside a CGMiner miner', async () => {
    const web = await eventually(() => (agent.store.get(id(17, WEB))?.up ? agent.store.get(id(17, WEB)) : undefined), 'the web-only Antminer polled');
    expect(web).toMatchObject({ target: `antminer-web://${NET}.17:${WEB}`, dialect: 'antminer-web', model: 'Antminer S21 Pro', serial: expect.stringMatching(/^SMTSIM/) });
    // Against the twin's own reading: the account really logged in and read the pages.
    expect(web!.hashrate_hs! / (farm.readingOf(0).ghs5s * 1e9)).toBeCloseTo(1, 1);
    await eventually(() => agent.store.get(id(18))?.up || undefined, 'the CGMiner miner polled');
    expect(agent.store.get(id(18))!.target).toBe(`cgminer://${NET}.18:${CGMINER}`);
  });

  it('without an account reports it down, saying what to configure; the account back, it is up again', async () => {
    await agent.applyConfig(withAccount({}));
    const down = await eventually(() => (agent.store.get(id(17, WEB))?.up === false ? agent.store.get(id(17, WEB)) : undefined), 'the web-only Antminer reported down');
    expect(down).toMatchObject({ error_reason: 'api_error', error: expect.stringContaining('discovery.accounts.antminer-web') });
    expect(down!.error).not.toContain('root');
    await agent.applyConfig(withAccount({ 'antminer-web': 'fleet' }));
    await eventually(() => agent.store.get(id(17, WEB))?.up || undefined, 'the web-only Antminer up again');
  });
});
