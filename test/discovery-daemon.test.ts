import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agent/compose.js';
import type { Agent } from '../agent/daemon.js';
import { silentLogger } from '../agent/log.js';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { eventually, freeLoopbackBlock } from './helpers.js';

const { net: NET } = await freeLoopbackBlock();
const id = (n: number) => `asic/${NET}.${n}`;

function configWith(discovery: ConfigInput['discovery']) {
  return configSchema.parse({
    agent: { listen: '127.0.0.1:0' },
    labels: { site: 'test' },
    polling: { interval: '1s', timeout: '500ms' },
    targets: [{ url: `cgminer://${NET}.2`, labels: { rack: 'r9' } }],
    discovery,
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
    farm = await startFarm({ devices: 4, seed: 5, mode: 'address', host: `${NET}.1`, failures: false });
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
    expect(agent.store.get(id(1))!.target).toBe(`cgminer://${NET}.1:4028`);
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
    const config = configWith({ ranges: ['10.0.0.0/16'] });
    expect(config.discovery).toEqual({ ranges: ['10.0.0.0/16'], port: 4028, interval: 3_600_000, labels: {}, probe_concurrency: 2048, identify_concurrency: 128 });
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
});
