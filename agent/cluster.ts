/**
 * A site split across agents (config `cluster:`): which agent plans the site, and what it knows of the
 * other agents' devices. Each agent polls its own share (agent/targets.ts `shareOf`); once per interval
 * an agent reads the devices (/api/devices) of the agents of lower shard index. When none of them
 * answers, it plans: it reads the other agents' devices too, and the devices of an agent it can no
 * longer read are reported down with the reason instead of vanishing. Reading the lower shards' devices,
 * not only their health, is what lets the next agent report the planner's own devices when it is lost.
 * An agent that does not plan reads the site plan (/api/plan) from the lowest agent it reaches, so it can
 * report the plan's decision for the devices it polls itself.
 */
import { z } from 'zod';
import type { ClusterConfig } from '../config/cluster-schema.js';
import type { ClusterView, SelfMetricFamily } from './contracts/part.js';
import { PLANNED_ACTIVITIES, type PlannedActivity, type SitePlan } from './economics/types.js';
import type { Logger } from './log.js';
import { type DeviceSnapshot, downSince, errorText } from './snapshot.js';

interface Peer {
  shard: number;
  url: string;
  /** Whether the last attempt to reach it succeeded; undefined before the first. */
  live: boolean | undefined;
  /** Its devices as last read, kept to report them down when the agent is lost. */
  devices: DeviceSnapshot[];
  error?: string;
}

const DEVICES_PATH = '/api/devices';
/** Served by every agent with economics (exporters/prometheus/server.ts): the site plan as it knows it. */
const PLAN_PATH = '/api/plan';

/**
 * The agents of the site and this agent's place among them. Built without a `cluster:` section too (an
 * agent alone plans its site), so a reload can split a site, join it or leave it (`configure`).
 */
export class ClusterPeers implements ClusterView {
  #config: ClusterConfig | undefined;
  #peers: Peer[] = [];
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #round: Promise<void> | undefined;
  #started = false;
  /** The site plan as last read from the lowest agent this one reaches, while this agent does not plan. */
  #plan: { shard: number; plan: SitePlan } | undefined;
  #planError: string | undefined;

  constructor(
    config: ClusterConfig | undefined,
    private readonly logger: Logger,
  ) {
    this.#setConfig(config);
  }

  /** Whether a `cluster:` section is in force. */
  get configured(): boolean {
    return this.#config !== undefined;
  }

  /**
   * A reload: another cluster section (or none) applies from now on. The round in flight is abandoned,
   * what was known of the old peers is forgotten (their devices leave the store at the agent's next
   * report), and, once started, rounds run at the new interval from now.
   */
  async configure(config: ClusterConfig | undefined): Promise<void> {
    const started = this.#started;
    await this.stop();
    this.#setConfig(config);
    if (started) this.start();
  }

  #setConfig(config: ClusterConfig | undefined): void {
    this.#config = config;
    this.#plan = undefined;
    this.#planError = undefined;
    this.#peers = config
      ? config.peers.map((url, shard) => ({ shard, url: url.replace(/\/$/, ''), live: undefined, devices: [] })).filter((p) => p.shard !== config.shard_index)
      : [];
  }

  /** True when no agent of a lower shard is up: this agent plans the site. Before the first round, only shard 0 plans; an agent alone always does. */
  plans(): boolean {
    return this.#lower().every((p) => p.live === false);
  }

  /** The devices of the other agents this agent read in its last round; empty unless it plans. */
  devices(): readonly DeviceSnapshot[] {
    if (!this.plans()) return [];
    return this.#peers.filter((p) => p.live).flatMap((p) => p.devices);
  }

  /** The site plan of the agent that plans, as last read; undefined while this agent plans. */
  sitePlan(): SitePlan | undefined {
    return this.plans() ? undefined : this.#plan?.plan;
  }

  /** The last readings of every agent that is lost now, down with why; empty unless this agent plans. */
  lostDevices(): DeviceSnapshot[] {
    if (!this.plans()) return [];
    const at = new Date();
    return this.#peers
      .filter((p) => p.live === false)
      .flatMap((p) => p.devices.map((d) => downSince(d, 'unreachable', `its agent (shard ${p.shard}, ${p.url}) is unreachable: ${p.error ?? 'no answer'}`, at)));
  }

  lostDraw(): ReadonlyMap<string, number> {
    const draw = new Map<string, number>();
    if (!this.plans()) return draw;
    for (const peer of this.#peers) {
      if (peer.live !== false) continue;
      for (const d of peer.devices) if (d.up && d.power_w !== undefined && d.power_w > 0) draw.set(d.id, d.power_w);
    }
    return draw;
  }

  onRound(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** This agent's own series: which agents it can reach, and whether it plans. */
  families(): SelfMetricFamily[] {
    return [
      {
        name: 'potencia_cluster_peer_up',
        help: 'Whether another agent of the site answered the last round (1) or not (0), by its shard; absent before the first round.',
        type: 'gauge',
        samples: () => this.#peers.filter((p) => p.live !== undefined).map((p) => ({ labels: { shard: String(p.shard) }, value: p.live ? 1 : 0 })),
      },
      {
        name: 'potencia_cluster_planner',
        help: 'Whether this agent plans the site (no agent of a lower shard is up).',
        type: 'gauge',
        samples: () => (this.#config ? [{ value: this.plans() ? 1 : 0 }] : []),
      },
    ];
  }

  /** Runs a round now and every interval; an agent alone runs none until a reload gives it a cluster. */
  start(): void {
    this.#started = true;
    const config = this.#config;
    if (!config) return;
    const tick = () => {
      this.#round ??= this.runRound().finally(() => {
        this.#round = undefined;
      });
    };
    tick();
    this.#timer = setInterval(tick, config.interval);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    this.#started = false;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#round;
    this.#abort = new AbortController();
  }

  /**
   * One round: the lower shards' devices first; the higher shards' too when no lower one answered and
   * this agent plans, else the site plan from the lowest agent that answered.
   */
  async runRound(): Promise<void> {
    const config = this.#config;
    if (!config) return;
    await Promise.all(this.#lower().map((p) => this.#read(p)));
    if (this.plans()) {
      this.#plan = undefined;
      await Promise.all(this.#peers.filter((p) => p.shard > config.shard_index).map((p) => this.#read(p)));
    } else {
      await this.#readPlan(this.#lower().find((p) => p.live)!);
    }
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'cluster listener threw');
      }
    }
  }

  #lower(): Peer[] {
    const index = this.#config?.shard_index ?? 0;
    return this.#peers.filter((p) => p.shard < index);
  }

  /**
   * The site plan from `peer`: the planner's own, or the one it read from the planner in turn (an agent
   * that cannot reach the planner still gets its plan through one that can). An agent with no plan to
   * give (404: economics off, or no round yet) leaves this one without a plan, not without the peer.
   */
  async #readPlan(peer: Peer): Promise<void> {
    let error: string | undefined;
    try {
      const body = await this.#get(`${peer.url}${PLAN_PATH}`, true);
      this.#plan = body === undefined ? undefined : { shard: peer.shard, plan: parsePlan(body) };
      if (body === undefined) error = 'it has no site plan';
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      this.#plan = undefined;
      error = errorText(err);
    }
    if (error !== this.#planError) {
      if (error === undefined) this.logger.info({ shard: peer.shard, peer: peer.url }, 'site plan read from the planning agent');
      else this.logger.warn({ shard: peer.shard, peer: peer.url, err: error }, "cannot read the site plan; this agent's devices show no planned state until it can");
    }
    this.#planError = error;
  }

  async #read(peer: Peer): Promise<void> {
    const wasLive = peer.live;
    try {
      peer.devices = parseDevices((await this.#get(`${peer.url}${DEVICES_PATH}`))!);
      peer.live = true;
      delete peer.error;
    } catch (err) {
      if (this.#abort.signal.aborted) return;
      peer.live = false;
      peer.error = errorText(err);
    }
    if (wasLive !== peer.live) {
      if (peer.live) this.logger.info({ shard: peer.shard, peer: peer.url }, 'cluster agent reachable');
      else this.logger.warn({ shard: peer.shard, peer: peer.url, err: peer.error }, 'cluster agent lost; its devices are reported down');
    }
  }

  /**
   * GET with the configured deadline and byte limit; a reply over the limit is cut off and counts as a
   * failure. With `absentOk`, a 404 resolves undefined.
   */
  async #get(url: string, absentOk = false): Promise<string | undefined> {
    const config = this.#config!;
    const account = config.basic_auth;
    const res = await fetch(url, {
      signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(config.timeout)]),
      ...(account && { headers: { authorization: `Basic ${Buffer.from(`${account.username}:${account.password}`).toString('base64')}` } }),
    });
    if (absentOk && res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const limit = config.max_response_bytes;
    const chunks: Uint8Array[] = [];
    let received = 0;
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      received += chunk.byteLength;
      if (received > limit) throw new Error(`reply over the ${limit}-byte limit`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }
}

/** The devices of an /api/devices reply; an entry without an id, kind, up and time is left out. */
function parseDevices(body: string): DeviceSnapshot[] {
  const parsed: unknown = JSON.parse(body);
  if (!Array.isArray(parsed)) throw new Error('/api/devices did not answer a list');
  return parsed.filter(
    (d): d is DeviceSnapshot =>
      typeof d === 'object' &&
      d !== null &&
      typeof d.id === 'string' &&
      typeof d.kind === 'string' &&
      typeof d.up === 'boolean' &&
      typeof d.observed_at === 'string' &&
      !Number.isNaN(Date.parse(d.observed_at)),
  );
}

const finite = z.number().finite();
const plannedDeviceSchema = z.object({
  device_id: z.string(),
  activity: z.enum(PLANNED_ACTIVITIES as [PlannedActivity, ...PlannedActivity[]]),
  power_kw: finite,
  margin_usd_per_day: finite.optional(),
  margin_usd_per_watt_day: finite.optional(),
  curtailed_by_cap: z.boolean(),
  held: z.boolean().optional(),
  reason: z.string(),
});
const totalsSchema = z.object({ count: finite, power_kw: finite, revenue_usd_per_day: finite, power_cost_usd_per_day: finite, margin_usd_per_day: finite });
const megawattSchema = z.object({ basis: z.string(), revenue_usd_per_day: finite, power_cost_usd_per_day: finite, margin_usd_per_day: finite });
/** The SitePlan (agent/economics/types.ts) as another agent serves it; keys it does not know are dropped. */
const sitePlanSchema = z.object({
  cap_kw: finite.optional(),
  planned_kw: finite,
  headroom_kw: finite.optional(),
  devices: z.array(plannedDeviceSchema),
  totals: z.object(Object.fromEntries(PLANNED_ACTIVITIES.map((a) => [a, totalsSchema])) as Record<PlannedActivity, typeof totalsSchema>),
  one_more_mw: z.object({ mining: megawattSchema.optional(), leasing: megawattSchema.optional(), better: z.enum(['mining', 'leasing']).optional() }),
  stale: z.boolean(),
  optimality: z.object({ margin_usd_per_day: finite, upper_bound_usd_per_day: finite, gap_usd_per_day: finite }).optional(),
  changes: z.array(
    z.object({
      device_id: z.string(),
      from: z.enum(PLANNED_ACTIVITIES as [PlannedActivity, ...PlannedActivity[]]),
      to: z.enum(PLANNED_ACTIVITIES as [PlannedActivity, ...PlannedActivity[]]),
      reason: z.string(),
    }),
  ),
});

/** An /api/plan reply; one that is not a whole plan fails (this agent then shows no planned state). */
function parsePlan(body: string): SitePlan {
  const parsed = sitePlanSchema.safeParse(JSON.parse(body));
  if (!parsed.success) throw new Error(`/api/plan is not a site plan: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  return parsed.data as SitePlan;
}
