/**
 * A site split across agents (config `cluster:`): which agent plans the site, and what it knows of the
 * other agents' devices. Each agent polls its own share (agent/targets.ts `shareOf`); once per interval
 * an agent reads the devices (/api/devices) of the agents of lower shard index. When none of them
 * answers, it plans: it reads the other agents' devices too, and the devices of an agent it can no
 * longer read are reported down with the reason instead of vanishing. Reading the lower shards' devices,
 * not only their health, is what lets the next agent report the planner's own devices when it is lost.
 */
import type { ClusterConfig } from '../config/cluster-schema.js';
import type { ClusterView, SelfMetricFamily } from './contracts/part.js';
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

export class ClusterPeers implements ClusterView {
  readonly #peers: Peer[];
  readonly #listeners = new Set<() => void>();
  #timer: NodeJS.Timeout | undefined;
  #abort = new AbortController();
  #round: Promise<void> | undefined;

  constructor(
    private readonly config: ClusterConfig,
    private readonly logger: Logger,
  ) {
    this.#peers = config.peers.map((url, shard) => ({ shard, url: url.replace(/\/$/, ''), live: undefined, devices: [] })).filter((p) => p.shard !== config.shard_index);
  }

  /** True when no agent of a lower shard is up: this agent plans the site. Before the first round, only shard 0 plans. */
  plans(): boolean {
    return this.#lower().every((p) => p.live === false);
  }

  /** The devices of the other agents this agent read in its last round; empty unless it plans. */
  devices(): readonly DeviceSnapshot[] {
    if (!this.plans()) return [];
    return this.#peers.filter((p) => p.live).flatMap((p) => p.devices);
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
        samples: () => [{ value: this.plans() ? 1 : 0 }],
      },
    ];
  }

  start(): void {
    const tick = () => {
      this.#round ??= this.runRound().finally(() => {
        this.#round = undefined;
      });
    };
    tick();
    this.#timer = setInterval(tick, this.config.interval);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort.abort();
    await this.#round;
    this.#abort = new AbortController();
  }

  /** One round: the lower shards' devices first; the higher shards' too when no lower one answered and this agent plans. */
  async runRound(): Promise<void> {
    await Promise.all(this.#lower().map((p) => this.#read(p)));
    if (this.plans()) await Promise.all(this.#peers.filter((p) => p.shard > this.config.shard_index).map((p) => this.#read(p)));
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (err) {
        this.logger.error({ err }, 'cluster listener threw');
      }
    }
  }

  #lower(): Peer[] {
    return this.#peers.filter((p) => p.shard < this.config.shard_index);
  }

  async #read(peer: Peer): Promise<void> {
    const wasLive = peer.live;
    try {
      peer.devices = parseDevices(await this.#get(`${peer.url}${DEVICES_PATH}`));
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

  /** GET with the configured deadline and byte limit; a reply over the limit is cut off and counts as a failure. */
  async #get(url: string): Promise<string> {
    const res = await fetch(url, { signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.config.timeout)]) });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      throw new Error(`HTTP ${res.status}`);
    }
    const limit = this.config.max_response_bytes;
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
