import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterPeers } from '../agent/cluster.js';
import { createAgent } from '../agent/compose.js';
import type { Agent } from '../agent/daemon.js';
import { demoEconomics } from '../agent/economics/demo.js';
import type { EconomicsPart } from '../agent/economics/part.js';
import type { SitePlan } from '../agent/economics/types.js';
import { silentLogger } from '../agent/log.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { shardOf, shareOf } from '../agent/targets.js';
import { configSchema, type ConfigInput } from '../config/schema.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { eventually, freeLoopbackBlock, freePort } from './helpers.js';

describe('shard selection', () => {
  const urls = Array.from({ length: 3000 }, (_, i) => `cgminer://10.${i >> 16}.${(i >> 8) & 255}.${i & 255}:4028`);

  it('hashes the canonical URL the same on every agent and release', () => {
    // Fixed values: a change here moves devices between agents of every split site on upgrade.
    expect([0, 1, 2, 3, 4].map((i) => shardOf(urls[i]!, 3))).toEqual([0, 1, 0, 1, 1]);
    expect(shardOf('cgminer://10.0.1.15:4028', 1000)).toBe(shardOf('cgminer://10.0.1.15:4028', 1000));
  });

  it('gives every target to exactly one of the agents, in shares of about equal size, whatever the order', () => {
    const cluster = (shard_index: number) => ({
      shard_index,
      shard_count: 3,
      peers: ['http://a:1', 'http://b:1', 'http://c:1'],
      interval: 15_000,
      timeout: 5_000,
      max_response_bytes: 1 << 20,
    });
    const shares = [0, 1, 2].map((i) =>
      shareOf(
        urls.map((url) => ({ url })),
        cluster(i),
      ).map((t) => t.url),
    );
    expect(shares.flat().sort()).toEqual([...urls].sort());
    for (const share of shares) expect(share.length).toBeGreaterThan(900);
    const reversed = shareOf(
      [...urls].reverse().map((url) => ({ url })),
      cluster(1),
    ).map((t) => t.url);
    expect(reversed.sort()).toEqual([...shares[1]!].sort());
    // An agent alone, or a cluster of one, polls everything.
    expect(
      shareOf(
        urls.map((url) => ({ url })),
        undefined,
      ),
    ).toHaveLength(urls.length);
    expect(
      shareOf(
        urls.map((url) => ({ url })),
        { ...cluster(0), shard_count: 1, peers: ['http://a:1'] },
      ),
    ).toHaveLength(urls.length);
  });

  it('rejects a shard outside the count, a peer list of another length and a peer address with a path', () => {
    const issues = (cluster: object) => {
      const r = configSchema.safeParse({ cluster });
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issues({ shard_index: 0, shard_count: 2, peers: ['http://a:9785', 'http://b:9785'] })).toEqual([]);
    expect(issues({ shard_index: 2, shard_count: 2, peers: ['http://a:9785', 'http://b:9785'] })).toEqual(['cluster.shard_index: must be below shard_count']);
    expect(issues({ shard_index: 0, shard_count: 3, peers: ['http://a:9785', 'http://b:9785'] })).toEqual(['cluster.peers: list all 3 agents of the site, in shard order (got 2)']);
    expect(issues({ shard_index: 0, shard_count: 1, peers: ['http://a:9785/api'] })[0]).toMatch(/^cluster\.peers\.0: expected an agent address/);
  });
});

/** A plan with its devices in id order and its sums rounded, so the order devices were summed in does not show. */
function comparable(plan: SitePlan | undefined): unknown {
  const round = (value: unknown): unknown => {
    if (typeof value === 'number') return Number(value.toPrecision(10));
    if (Array.isArray(value)) return value.map(round);
    if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, round(v)]));
    return value;
  };
  if (!plan) return undefined;
  return round({ ...plan, devices: [...plan.devices].sort((a, b) => (a.device_id < b.device_id ? -1 : 1)) });
}

/**
 * One simulated site (readings frozen in time, so every agent reads the same values) polled once by a
 * lone agent and once by three agents sharing it.
 */
describe('a site split across three agents', () => {
  const DEVICES = 30;
  let farm: Farm;
  let single: Agent;
  const shards: Agent[] = [];
  const economicsOf = (agent: Agent) => agent.parts.find((p) => p.name === 'economics') as EconomicsPart;

  beforeAll(async () => {
    const block = await freeLoopbackBlock();
    const frozen = Date.parse('2026-01-01T00:00:00Z');
    farm = await startFarm({ devices: DEVICES, seed: 9, mode: 'address', host: block.host(1), clock: () => frozen });
    const nameplateKw = farm.miners.reduce((kw, m) => kw + m.model.nominal_power_w / 1000, 0);
    const base: ConfigInput = {
      labels: { site: 'big' },
      polling: { interval: '1s', timeout: '800ms' },
      targets: [{ url: `cgminer://${block.host(1)}-${block.host(DEVICES)}` }],
      // A cap at half the nameplate: the plan has to choose which miners to curtail.
      economics: demoEconomics(nameplateKw, 0.5),
    };
    single = createAgent({ config: configSchema.parse({ ...base, agent: { listen: '127.0.0.1:0' } }), logger: silentLogger });
    const ports = await Promise.all([0, 1, 2].map(() => freePort()));
    const peers = ports.map((port) => `http://127.0.0.1:${port}`);
    for (const [shard_index, port] of ports.entries()) {
      const config = configSchema.parse({ ...base, agent: { listen: `127.0.0.1:${port}` }, cluster: { shard_index, shard_count: 3, peers, interval: '1s', timeout: '500ms' } });
      shards.push(createAgent({ config, logger: silentLogger }));
    }
    await Promise.all([single, ...shards].map((a) => a.start()));
  });

  afterAll(async () => {
    await Promise.all([single, ...shards].map((a) => a?.stop()));
    await farm?.stop();
  });

  it('polls each miner from exactly one agent', async () => {
    await eventually(() => shards.reduce((n, a) => n + a.store.size, 0) === DEVICES || undefined, 'every miner polled by some agent');
    const ids = shards.map((a) => [...a.store.values()].map((d) => d.id));
    expect(ids.flat().sort()).toEqual(farm.miners.map((m) => `asic/${m.host}`).sort());
    for (const share of ids) expect(share.length).toBeGreaterThan(0);
  });

  it('plans the whole site on the agent of the lowest shard, the same plan a lone agent makes', async () => {
    const complete = (plan: SitePlan | undefined) => plan !== undefined && plan.devices.length === DEVICES;
    const plans = await eventually(
      () => {
        const lone = economicsOf(single).sitePlan();
        const split = economicsOf(shards[0]!).sitePlan();
        return complete(lone) && complete(split) && JSON.stringify(comparable(lone)) === JSON.stringify(comparable(split)) ? { lone, split } : undefined;
      },
      'the split plan to match the lone agent’s',
      15_000,
    ).catch(() => ({ lone: economicsOf(single).sitePlan(), split: economicsOf(shards[0]!).sitePlan() }));
    expect(comparable(plans.split)).toEqual(comparable(plans.lone));
    // The cap binds: some miners are curtailed for it, so the agents had to agree on which.
    expect(plans.lone!.devices.filter((d) => d.curtailed_by_cap).length).toBeGreaterThan(0);
    // The other agents plan nothing, and know they do not.
    expect(economicsOf(shards[1]!).sitePlan()).toBeUndefined();
    expect(economicsOf(shards[2]!).sitePlan()).toBeUndefined();
    const metrics = await (await fetch(`http://${shards[1]!.address}/metrics`)).text();
    expect(metrics).toMatch(/^potencia_cluster_planner 0$/m);
    expect(metrics).toMatch(/^potencia_cluster_peer_up\{shard="0"\} 1$/m);
    expect(await (await fetch(`http://${shards[0]!.address}/metrics`)).text()).toMatch(/^potencia_cluster_planner 1$/m);
  });

  it("reports each device's planned state from exactly one agent, the agent that polls it, as a lone agent plans it", async () => {
    const planned = (text: string) => [...text.matchAll(/^potencia_device_planned_running\{[^}]*device="([^"]+)"[^}]*\} ([01])$/gm)].map((m) => [m[1]!, m[2]!] as const);
    const page = async (agent: Agent) => (await fetch(`http://${agent.address}/metrics`)).text();
    // Every device the lone agent can judge, with its planned state: what the three agents together must show.
    const expected = await eventually(async () => {
      const lone = planned(await page(single));
      return lone.length > 0 && JSON.stringify(comparable(economicsOf(single).sitePlan())) === JSON.stringify(comparable(economicsOf(shards[0]!).sitePlan())) ? lone : undefined;
    }, 'the lone agent’s planned states, its plan the planner’s');
    const split = await eventually(
      async () => {
        const pages = await Promise.all(shards.map(page));
        const seen = pages.map(planned);
        // Each agent shows its own devices only, and together they show the lone agent's figures.
        const all = seen.flat().sort();
        return JSON.stringify(all) === JSON.stringify([...expected].sort()) ? { seen, pages } : undefined;
      },
      'the three agents’ planned states to add up to the lone agent’s',
      15_000,
    ).catch(async () => ({ seen: (await Promise.all(shards.map(page))).map(planned), pages: [] as string[] }));
    expect(split.seen.flat().sort()).toEqual([...expected].sort());
    for (const [i, agent] of shards.entries()) {
      const own = new Set([...agent.store.values()].map((d) => d.id));
      expect(split.seen[i]!.length, `shard ${i} shows a planned state`).toBeGreaterThan(0);
      for (const [device] of split.seen[i]!) expect(own.has(device), `shard ${i} shows ${device}, which another agent polls`).toBe(true);
    }
    // The site's figures come from the planner alone.
    expect(split.pages[0]).toMatch(/^potencia_site_planned_power_watts(\{[^}]*\})? /m);
    for (const text of split.pages.slice(1)) expect(text).not.toMatch(/^potencia_site_planned_power_watts(\{[^}]*\})? /m);
    // /api/plan: the planner's plan on every agent (the others serve the one they read, up to a round old).
    const decisions = (plan: SitePlan) => plan.devices.map((d) => `${d.device_id} ${d.activity}`).sort();
    const plans = await Promise.all(shards.map(async (a) => (await fetch(`http://${a.address}/api/plan`)).json() as Promise<SitePlan>));
    for (const plan of plans) expect(decisions(plan)).toEqual(decisions(economicsOf(single).sitePlan()!));
  });

  it('hands the plan to the next shard when the planner is lost, and reports the lost agent’s miners down with why', async () => {
    const lastReadings = new Map([...shards[0]!.store.values()].map((d) => [d.id, d]));
    const lostIds = [...lastReadings.keys()];
    await shards[0]!.stop();
    const next = shards[1]!;
    const lost = await eventually(() => {
      const devices = lostIds.map((id) => next.store.get(id)).filter((d): d is DeviceSnapshot => d !== undefined);
      return devices.length === lostIds.length ? devices : undefined;
    }, 'the lost agent’s miners in the next agent’s store');
    for (const device of lost) {
      expect(device).toMatchObject({ up: false, error_reason: 'unreachable' });
      expect(device.error).toMatch(/^its agent \(shard 0, http:\/\/127\.0\.0\.1:\d+\) is unreachable: /);
    }
    // The next agent plans the whole site now: its own miners, the third agent's and the lost ones (down, not running).
    const plan = await eventually(() => {
      const p = economicsOf(next).sitePlan();
      return p?.devices.length === DEVICES ? p : undefined;
    }, 'a plan on the next agent');
    // Their agent is gone, not their power: each counts against the cap at the draw last read from it.
    for (const id of lostIds) {
      const planned = plan.devices.find((d) => d.device_id === id)!;
      expect(planned.activity, id).toBe('unassessed');
      if (lastReadings.get(id)!.up) {
        expect(planned.power_kw, id).toBeCloseTo(lastReadings.get(id)!.power_w! / 1000, 9);
        expect(planned.reason, id).toMatch(/^its agent is lost; counted at its last metered draw, \d+ W$/);
      }
    }
    const lostKw = lostIds.reduce((kw, id) => kw + (lastReadings.get(id)!.up ? lastReadings.get(id)!.power_w! / 1000 : 0), 0);
    expect(lostKw).toBeGreaterThan(0);
    expect(plan.totals.unassessed.power_kw).toBeCloseTo(lostKw, 6);
    const metrics = await (await fetch(`http://${next.address}/metrics`)).text();
    expect(metrics).toMatch(/^potencia_cluster_planner 1$/m);
    expect(metrics).toMatch(/^potencia_cluster_peer_up\{shard="0"\} 0$/m);
    expect(metrics).toContain(`potencia_device_error{device="${lostIds[0]}"`);
  });
});

describe('an agent of a split site', () => {
  it('polls only its share of the targets discovery finds, as of the configured ones', async () => {
    const block = await freeLoopbackBlock();
    const ports = await Promise.all([0, 1, 2].map(() => freePort()));
    const config = configSchema.parse({
      agent: { listen: `127.0.0.1:${ports[1]}` },
      polling: { interval: '30s', timeout: '1s' },
      targets: [{ url: `cgminer://${block.host(1)}-${block.host(60)}` }],
      cluster: { shard_index: 1, shard_count: 3, peers: ports.map((port) => `http://127.0.0.1:${port}`) },
    });
    const agent = createAgent({ config, logger: silentLogger });
    await agent.start();
    try {
      const targetsPolled = async () => ((await (await fetch(`http://${agent.address}/healthz`)).json()) as { targets: number }).targets;
      const configured = Array.from({ length: 60 }, (_, i) => `cgminer://${block.host(i + 1)}:4028`);
      expect(await targetsPolled()).toBe(configured.filter((url) => shardOf(url, 3) === 1).length);
      const found = Array.from({ length: 60 }, (_, i) => block.host(i + 101)).map((host) => ({
        url: `cgminer://${host}:4028`,
        scheme: 'cgminer',
        host,
        port: 4028,
        labels: {},
        intervalMs: 30_000,
        timeoutMs: 1000,
      }));
      agent.setDiscoveredTargets(found);
      expect(await targetsPolled()).toBe([...configured, ...found.map((t) => t.url)].filter((url) => shardOf(url, 3) === 1).length);
    } finally {
      await agent.stop();
    }
  });
});

describe('a cluster: change on reload', () => {
  it('splits a lone agent’s site: it polls only its new share, drops the rest, and plans from the other agent’s devices; and joins it again', async () => {
    const DEVICES = 12;
    const block = await freeLoopbackBlock();
    const frozen = Date.parse('2026-01-01T00:00:00Z');
    const farm = await startFarm({ devices: DEVICES, seed: 4, mode: 'address', host: block.host(1), clock: () => frozen, failures: false });
    const ports = await Promise.all([0, 1].map(() => freePort()));
    const peers = ports.map((port) => `http://127.0.0.1:${port}`);
    const nameplateKw = farm.miners.reduce((kw, m) => kw + m.model.nominal_power_w / 1000, 0);
    const base = (shard_index: number): ConfigInput => ({
      agent: { listen: `127.0.0.1:${ports[shard_index]}` },
      polling: { interval: '1s', timeout: '800ms' },
      targets: [{ url: `cgminer://${block.host(1)}-${block.host(DEVICES)}` }],
      economics: demoEconomics(nameplateKw, 0.5),
    });
    const cluster = (shard_index: number) => ({ shard_index, shard_count: 2, peers, interval: '1s', timeout: '500ms' });
    const all = farm.miners.map((m) => `asic/${m.host}`).sort();
    const shareOfShard = (i: number) =>
      farm.miners
        .filter((m) => shardOf(`cgminer://${m.host}:4028`, 2) === i)
        .map((m) => `asic/${m.host}`)
        .sort();
    const alone = createAgent({ config: configSchema.parse(base(0)), logger: silentLogger });
    const other = createAgent({ config: configSchema.parse({ ...base(1), cluster: cluster(1) }), logger: silentLogger });
    const ids = (agent: Agent) => [...agent.store.values()].map((d) => d.id).sort();
    const same = (a: readonly string[], b: readonly string[]) => JSON.stringify(a) === JSON.stringify(b);
    await Promise.all([alone.start(), other.start()]);
    try {
      await eventually(() => same(ids(alone), all) || undefined, 'the lone agent polling every miner');
      expect(shareOfShard(0).length).toBeGreaterThan(0);
      expect(shareOfShard(1).length).toBeGreaterThan(0);
      const page = async () => (await fetch(`http://${alone.address}/metrics`)).text();
      expect(await page()).not.toMatch(/^potencia_cluster_planner /m);

      await alone.applyConfig(configSchema.parse({ ...base(0), cluster: cluster(0) }));
      // Its share only: the other shard's miners leave its store at once and are not polled again.
      expect(ids(alone)).toEqual(shareOfShard(0));
      const targets = ((await (await fetch(`http://${alone.address}/healthz`)).json()) as { targets: number }).targets;
      expect(targets).toBe(shareOfShard(0).length);
      // The new peers: it plans, from its own miners and the ones the other agent polls.
      const plan = await eventually(() => {
        const p = (alone.parts.find((x) => x.name === 'economics') as EconomicsPart).sitePlan();
        return p && same(p.devices.map((d) => d.device_id).sort(), all) ? p : undefined;
      }, 'a plan of the whole site on the split agent');
      expect(plan.devices).toHaveLength(DEVICES);
      expect(await page()).toMatch(/^potencia_cluster_planner 1$/m);
      expect(await page()).toMatch(/^potencia_cluster_peer_up\{shard="1"\} 1$/m);
      await new Promise((r) => setTimeout(r, 1500));
      expect(ids(alone)).toEqual(shareOfShard(0));

      // And back: a cluster of one polls everything again and shows no cluster series.
      await alone.applyConfig(configSchema.parse(base(0)));
      await eventually(() => same(ids(alone), all) || undefined, 'the agent polling every miner again');
      const text = await page();
      expect(text).not.toMatch(/^potencia_cluster_planner /m);
      expect(text).not.toMatch(/^potencia_cluster_peer_up\{/m);
    } finally {
      await Promise.all([alone.stop(), other.stop()]);
      await farm.stop();
    }
  });
});

describe('the site plan read from another agent', () => {
  it('is taken only when it is a whole plan: a bad or missing one leaves no plan, the agent still up', async () => {
    let plan: unknown = { devices: [{ device_id: 'asic/x', activity: 'mining' }] };
    const server = createServer((req, res) => {
      if (req.url === '/api/devices') return res.end('[]');
      if (plan === undefined) {
        res.writeHead(404);
        return res.end('{"error":"no site plan yet"}');
      }
      res.end(typeof plan === 'string' ? plan : JSON.stringify(plan));
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;
    const peers = new ClusterPeers(
      { shard_index: 1, shard_count: 2, peers: [`http://127.0.0.1:${port}`, 'http://127.0.0.1:1'], interval: 1000, timeout: 500, max_response_bytes: 4096 },
      silentLogger,
    );
    try {
      const whole = {
        planned_kw: 3.2,
        devices: [{ device_id: 'asic/x', activity: 'mining', power_kw: 3.2, curtailed_by_cap: false, reason: 'r' }],
        totals: Object.fromEntries(
          ['mining', 'leasing', 'curtailed', 'unassessed'].map((a) => [a, { count: 0, power_kw: 0, revenue_usd_per_day: 0, power_cost_usd_per_day: 0, margin_usd_per_day: 0 }]),
        ),
        one_more_mw: {},
        stale: false,
        changes: [],
        extra: 'dropped',
      };
      for (const bad of [plan, 'not json', JSON.stringify({ ...whole, planned_kw: 'NaN' }), JSON.stringify({ ...whole, pad: 'x'.repeat(5000) }), undefined]) {
        plan = bad;
        await peers.runRound();
        expect(peers.plans()).toBe(false);
        expect(peers.sitePlan()).toBeUndefined();
      }
      plan = whole;
      await peers.runRound();
      expect(peers.sitePlan()?.devices.map((d) => d.activity)).toEqual(['mining']);
      expect(peers.sitePlan()).not.toHaveProperty('extra');
    } finally {
      await peers.stop();
      server.close();
    }
  });
});

describe('agents of a split site behind basic auth', () => {
  it('read each other with cluster.basic_auth; when a peer stops taking the account it is lost and its devices down with why, the password nowhere in what is served', async () => {
    const DEVICES = 6;
    const block = await freeLoopbackBlock();
    const farm = await startFarm({ devices: DEVICES, seed: 5, mode: 'address', host: block.host(1), failures: false });
    const dir = mkdtempSync(join(tmpdir(), 'potencia-cluster-auth-'));
    const webConfigs = [join(dir, 'web-0.yml'), join(dir, 'web-1.yml')];
    const allow = (file: string, password: string) => writeFileSync(file, `basic_auth_users:\n  agents: ${bcrypt.hashSync(password, 4)}\n`);
    for (const file of webConfigs) allow(file, 'peer-s3cret');
    const ports = await Promise.all([0, 1].map(() => freePort()));
    const peers = ports.map((port) => `http://127.0.0.1:${port}`);
    const config = (shard_index: number) =>
      configSchema.parse({
        agent: { listen: `127.0.0.1:${ports[shard_index]}`, web_config_file: webConfigs[shard_index] },
        polling: { interval: '1s', timeout: '800ms' },
        targets: [{ url: `cgminer://${block.host(1)}-${block.host(DEVICES)}` }],
        cluster: { shard_index, shard_count: 2, peers, interval: '1s', timeout: '500ms', basic_auth: { username: 'agents', password: 'peer-s3cret' } },
      });
    const agents = [createAgent({ config: config(0), logger: silentLogger }), createAgent({ config: config(1), logger: silentLogger })];
    const authorization = `Basic ${Buffer.from('agents:peer-s3cret').toString('base64')}`;
    const get = async (path: string) => (await fetch(`http://${agents[0]!.address}${path}`, { headers: { authorization } })).text();
    await Promise.all(agents.map((a) => a.start()));
    try {
      await eventually(async () => /^potencia_cluster_peer_up\{shard="1"\} 1$/m.test(await get('/metrics')) || undefined, 'shard 0 reading shard 1 with the account');
      // Shard 1 may have polled only part of its share when shard 0 first read it: wait until both shares are
      // polled, then give shard 0 a few of its 1 s rounds to read all of shard 1's devices.
      await eventually(async () => agents[0]!.store.size + agents[1]!.store.size === DEVICES || undefined, 'both shares polled');
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const theirs = [...agents[1]!.store.values()].map((d) => d.id);
      expect(theirs.length).toBeGreaterThan(0);
      // Shard 1 now takes another password (its web config changed, applied on reload): shard 0 gets 401.
      allow(webConfigs[1]!, 'rotated');
      await agents[1]!.applyConfig(config(1));
      await eventually(async () => /^potencia_cluster_peer_up\{shard="1"\} 0$/m.test(await get('/metrics')) || undefined, 'shard 1 lost to shard 0');
      const devices = JSON.parse(await get('/api/devices')) as DeviceSnapshot[];
      for (const id of theirs) expect(devices.find((d) => d.id === id)).toMatchObject({ up: false, error: expect.stringMatching(/unreachable: HTTP 401$/) });
      for (const body of [await get('/metrics'), await get('/api/devices')]) expect(body).not.toContain('peer-s3cret');
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
      await farm.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
