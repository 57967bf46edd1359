/**
 * The contract every part of the agent plugs into: what a part is, and the narrow, read-only views of
 * the agent it is handed. Only types live here, so a part, the daemon and the composition root all
 * import this module and nothing of each other.
 */
import type { Config } from '../../config/schema.js';
import type { Target } from '../../collectors/contract.js';
import type { Logger } from 'pino';
import type { DeviceSnapshot, ErrorReason } from '../snapshot.js';
import type { SitePlan } from '../economics/types.js';

/** The latest reading of one device, with what consumers need to tell whether it changed. */
export interface StoredDevice {
  readonly snapshot: DeviceSnapshot;
  /** `snapshot.observed_at` parsed once, in ms since the epoch; expiry compares against it. */
  readonly observedAtMs: number;
  /**
   * Drawn from one store-wide sequence, so a device that is removed and comes back never reuses a
   * version a renderer has cached.
   */
  readonly version: number;
}

export type DeviceRemovalReason = 'expired' | 'target_removed' | 'removed';

export type DeviceChange =
  | { readonly type: 'upsert'; readonly device: StoredDevice; readonly previous: StoredDevice | undefined }
  | { readonly type: 'remove'; readonly device: StoredDevice; readonly reason: DeviceRemovalReason };

export type DeviceChangeListener = (change: DeviceChange) => void;

/** The device store as a part reads it: latest reading per device, and its change events. */
export interface DeviceStoreView {
  readonly size: number;
  /** Bumped on every change, so a consumer can tell in O(1) that nothing changed since it last looked. */
  readonly generation: number;
  get(id: string): DeviceSnapshot | undefined;
  entry(id: string): StoredDevice | undefined;
  /** Snapshots in first-seen order. */
  values(): IterableIterator<DeviceSnapshot>;
  entries(): IterableIterator<StoredDevice>;
  onChange(listener: DeviceChangeListener): () => void;
}

/** Polls per duration bucket (not cumulative; the last slot is past the largest bound). */
export interface CollectorTally {
  readonly buckets: Float64Array;
  readonly sum: number;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  readonly errors: ReadonlyMap<ErrorReason, number>;
}

/** The scheduler's own work, as counted by the agent: read at scrape, never pushed. */
export interface PollStatsView {
  /** Upper bounds (seconds) of CollectorTally.buckets. */
  readonly bucketBounds: readonly number[];
  /** Tallies by collector (target scheme). */
  collectors(): Iterable<readonly [string, CollectorTally]>;
  /** Whether the last poll of each target read it (1) or not (0), by target URL. */
  targets(): Iterable<readonly [string, boolean]>;
  readonly targetCount: number;
  readonly inFlight: number;
}

/** Config loads and reloads, as the agent saw them. */
export interface ReloadStats {
  readonly succeeded: number;
  readonly failed: number;
  /** ms since the epoch of the last load or reload that succeeded. */
  readonly lastSuccessAtMs: number | undefined;
  /** ms since the epoch of the last reload that failed; undefined when none has. */
  readonly lastFailureAtMs?: number | undefined;
}

export interface Health {
  ok: boolean;
  detail?: object;
}

/** Site power, heat load per room and rack, ambient per room and GPU nodes' wall power (agent/power.ts). */
export interface SiteReadings {
  sitePowerW?: { watts: number; source: 'meter' | 'pdu_sum' };
  /**
   * Every watt counted once: the devices' own draw (an outlet's reading where mapped, a GPU node's wall
   * power, else the device's own figure; a down device whose outlet still meters draw included) plus
   * what the PDUs meter that no device was given. Their sum reconciles with `sitePowerW`.
   */
  accounting: { attributedW: number; unattributedMeteredW: number };
  heatLoadW: { room: string; rack: string; watts: number }[];
  ambient: AmbientReading[];
  nodes: { node: string; gpuPowerW: number; wallPowerW?: number }[];
}

export interface AmbientReading {
  room: string;
  temperatureC?: number;
  humidityRatio?: number;
}

/** What a part of the agent (an exporter, economics, discovery, …) gets to work with. */
export interface AgentContext {
  readonly store: DeviceStoreView;
  readonly logger: Logger;
  readonly polls: PollStatsView;
  readonly reloads: ReloadStats;
  /** Where a part registers its own series (an exporter's queue and connection). */
  readonly selfMetrics: SelfMetrics;
  /** The config in force now (it changes on reload). */
  config(): Config;
  /** Site readings from the store now (cached until the store changes). */
  site(): SiteReadings;
  health(): Health;
  /** Replaces the targets found by discovery; they are polled beside the configured ones. */
  setDiscoveredTargets(targets: readonly Target[]): void;
  /**
   * The other agents of a site split across agents (config `cluster:`). An agent alone has one too, with
   * no other agents (it plans, reads nothing), so a reload can split its site.
   */
  readonly cluster?: ClusterView;
}

/** What an agent of a split site knows of the others (agent/cluster.ts). */
export interface ClusterView {
  /** True when no agent of a lower shard is up: this agent plans the whole site. */
  plans(): boolean;
  /** The devices the other, live agents poll, as last read; empty unless this agent plans. */
  devices(): readonly DeviceSnapshot[];
  /**
   * Last metered watts of each device of a lost agent (by id) that was up when last read: still drawing
   * as far as anyone knows, so the plan counts it against the cap. Empty unless this agent plans.
   */
  lostDraw(): ReadonlyMap<string, number>;
  /**
   * The site plan of the agent that plans, as last read (its /api/plan); undefined while this agent
   * plans, or when it could not be read. An agent that does not plan takes its own devices' decisions from it.
   */
  sitePlan(): SitePlan | undefined;
  /** Called after each round of reading the other agents. */
  onRound(listener: () => void): () => void;
}

/**
 * Something with a lifecycle that runs beside polling: it reads the store and the agent's views and
 * emits data, events or exposition. Parts are built by the composition root (agent/compose.ts).
 */
export interface AgentPart {
  readonly name: string;
  start(ctx: AgentContext): Promise<void> | void;
  /** Called after a reload with the new config; a part that cannot apply it in place logs why. */
  applyConfig?(config: Config): Promise<void> | void;
  /** Must finish within a second or two: SIGTERM has a 5 s budget for the whole agent. */
  stop(): Promise<void> | void;
  /** A part that serves a socket says where, once started. */
  listeningOn?(): { host: string; port: number } | undefined;
}

/** What the discovery part tells about its scans. */
export interface DiscoveryStatus {
  /** ms since the epoch the last scan finished; undefined before the first. */
  readonly lastRunAtMs: number | undefined;
  readonly identified: number;
  readonly unidentified: number;
}

/** One sample of a SelfMetricFamily: label values by label name, and the value. */
export interface SelfMetricSample {
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

/**
 * A family of a part's own series (an exporter's connection, queue and message counts), kept as
 * plain numbers by the part and rendered by whichever exporter shows the agent's health.
 */
export interface SelfMetricFamily {
  /** Prometheus conventions: base units, `_total` on counters. */
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  samples(): Iterable<SelfMetricSample>;
}

/** Where parts register their own series; read at scrape. */
export interface SelfMetrics {
  add(family: SelfMetricFamily): void;
  families(): Iterable<SelfMetricFamily>;
}
