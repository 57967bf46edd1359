import type { Collector, Target } from '../collectors/contract.js';
import { downSince, downSnapshot, errorText, PollError, type DeviceSnapshot, type ErrorReason } from './snapshot.js';
import type { Logger } from './log.js';
import type { RejectReason, RejectSink } from '../collectors/contract.js';
import { DEFAULT_SNAPSHOT_LIMITS, saneSnapshots, type SnapshotLimits } from '../collectors/ranges.js';
import { LogLimiter } from './log-limit.js';

/** What the scheduler reports about its own work; PollStats (agent/poll-stats.ts) counts it. */
export interface PollObserver {
  observePoll(collector: string, seconds: number, reason?: ErrorReason): void;
  /** Whether this poll read the target: it answered and at least one of its devices is up. */
  targetPolled(url: string, ok: boolean): void;
  targetRemoved(url: string): void;
  pollSkipped(collector: string): void;
  setInFlight(n: number): void;
  setTargets(n: number): void;
  /** A value a device reported was left out of its reading (collectors/ranges.ts). */
  valueRejected(field: string, reason: RejectReason, count: number): void;
}

export interface SchedulerOptions {
  concurrency: number;
  jitterRatio: number;
  backoffMaxMs: number;
  createCollector: (target: Target) => Collector;
  onResult: (target: Target, snapshots: DeviceSnapshot[]) => void;
  observer?: PollObserver;
  /** Caps on what one poll may record; default DEFAULT_SNAPSHOT_LIMITS. */
  limits?: SnapshotLimits;
  logger?: Logger;
  random?: () => number;
  /**
   * Wake-ups are aligned to this grid (ms), so the polls that come due within one window start
   * together; 0 wakes for every due time. Default WAKE_GRID_MS.
   */
  wakeGridMs?: number;
}

/**
 * With jitter, 10,000 targets come due at thousands of distinct milliseconds: waking for each one ran
 * the event loop, timers and pump once per poll. Starting a poll up to 25 ms late changes nothing at
 * intervals of seconds, and batching them cut the daemon's CPU per poll; see bench/README.md.
 */
export const WAKE_GRID_MS = 25;

/** Failures that say the device is not there; a device answering with an API error is reachable. */
const UNREACHABLE: ReadonlySet<ErrorReason> = new Set(['timeout', 'refused', 'unreachable', 'reset']);

interface Entry {
  target: Target;
  collector: Collector;
  /** Where in the interval the target's polls fall: ms since the epoch, modulo the interval. */
  phaseMs: number;
  /** The jitter of the poll scheduled next, so the poll after it is placed from the phase, not from it. */
  jitterMs: number;
  /** Bumped on every reschedule; a heap item with an older one is stale. */
  seq: number;
  running: boolean;
  failures: number;
  removed: boolean;
  /** The running poll's controller, which stop() aborts; undefined between polls. */
  controller: AbortController | undefined;
  /** What the last poll recorded: the devices a failed poll reports down. */
  last: readonly DeviceSnapshot[];
}

/**
 * Polls every target on its own interval, at most `concurrency` at once, never two polls of one target
 * at once. A new target is polled at once, in the order given, then at a fixed phase of its interval:
 * the targets added together get phases spread evenly over the interval in that order, so their polls
 * never come in one burst, a device's samples stay evenly spaced, and the order of polls stays the order
 * of the first sweep (the order /metrics lays devices out in, which lets a scrape reuse what it
 * compressed for devices not polled since). Jitter moves each poll by up to ± jitterRatio of the interval
 * around its phase and never accumulates. It backs off from devices that do not answer (the interval doubles per failure up
 * to backoffMax; the device stays reported down with its reason meanwhile). Scrapes never reach it:
 * it only writes results through onResult.
 */
export class Scheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new DueHeap();
  private readonly ready: Entry[] = [];
  private readyHead = 0;
  /**
   * Entries with a poll in flight, whose controllers stop() aborts. Each poll has its own signal rather
   * than all listening on one stop signal: AbortSignal listeners are removed by a linear search, which at
   * hundreds of polls in flight cost more than the rest of the scheduler's per-poll work.
   */
  private readonly inFlight = new Set<Entry>();
  /**
   * Controllers of finished polls that were never aborted, handed to the next polls: an AbortController
   * costs memory and an EventTarget set-up, too much to make for every poll or to keep for every target.
   * At most `concurrency` exist.
   */
  private readonly idleControllers: AbortController[] = [];
  /** Resolved when the last poll in flight ends; stop() waits on them. */
  private drainWaiters: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private running = false;
  private readonly random: () => number;
  private readonly reject: RejectSink;

  /** A device's replies decide how often its collector throws: the log of those throws is rate-limited. */
  private readonly errorLog: LogLimiter | undefined;

  constructor(private readonly opts: SchedulerOptions) {
    this.errorLog = opts.logger && new LogLimiter(opts.logger);
    this.random = opts.random ?? Math.random;
    this.reject = (field, reason, count = 1) => opts.observer?.valueRejected(field, reason, count);
  }

  get targetCount(): number {
    return this.entries.size;
  }

  /** The URLs of the targets it polls now. */
  targetUrls(): string[] {
    return [...this.entries.keys()];
  }

  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** Replaces the target list; unchanged targets keep their schedule and backoff. Returns the URLs removed. */
  setTargets(targets: readonly Target[]): { added: string[]; removed: string[] } {
    const wanted = new Map(targets.map((t) => [t.url, t]));
    const added: string[] = [];
    const removed: string[] = [];
    for (const [url, entry] of this.entries) {
      const next = wanted.get(url);
      if (!next || !sameTarget(next, entry.target)) {
        entry.removed = true;
        this.entries.delete(url);
        if (!next) {
          removed.push(url);
          this.opts.observer?.targetRemoved(url);
        }
      }
    }
    const now = Date.now();
    const fresh = targets.filter((target) => !this.entries.has(target.url));
    for (const [i, target] of fresh.entries()) {
      const interval = target.intervalMs;
      const entry: Entry = {
        target,
        collector: this.opts.createCollector(target),
        phaseMs: (now + Math.floor((i / fresh.length) * interval)) % interval,
        jitterMs: 0,
        seq: 0,
        running: false,
        failures: 0,
        removed: false,
        controller: undefined,
        last: [],
      };
      this.entries.set(target.url, entry);
      // Straight to the ready queue rather than the heap, which keeps no order among equal due times.
      this.ready.push(entry);
      added.push(target.url);
    }
    this.opts.observer?.setTargets(this.entries.size);
    if (this.running) {
      this.pump();
      this.arm();
    }
    return { added, removed };
  }

  start(): void {
    this.running = true;
    this.pump();
    this.arm();
  }

  /** Stops scheduling, aborts polls in flight and waits for them, at most `graceMs`. */
  async stop(graceMs = 2000): Promise<void> {
    this.running = false;
    this.errorLog?.stop();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const stopping = new Error('agent stopping');
    for (const entry of this.inFlight) entry.controller?.abort(stopping);
    if (graceMs <= 0 || this.inFlight.size === 0) return;
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([new Promise<void>((resolve) => this.drainWaiters.push(resolve)), new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
    clearTimeout(graceTimer);
  }

  private arm(): void {
    const top = this.heap.peekAt();
    if (top === undefined || !this.running) return;
    const grid = this.opts.wakeGridMs ?? WAKE_GRID_MS;
    const wakeAt = grid > 0 ? Math.ceil(top / grid) * grid : top;
    if (this.timer && this.timerAt <= wakeAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = wakeAt;
    this.timer = setTimeout(() => this.onTimer(), Math.max(0, wakeAt - Date.now()));
  }

  private onTimer(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    for (let entry = this.heap.popDue(now); entry; entry = this.heap.popDue(now)) {
      if (entry.running) {
        this.opts.observer?.pollSkipped(entry.target.scheme);
        this.reschedule(entry, now);
      } else this.ready.push(entry);
    }
    this.pump();
    this.arm();
  }

  private pump(): void {
    while (this.running && this.inFlight.size < this.opts.concurrency && this.readyHead < this.ready.length) {
      const entry = this.ready[this.readyHead++]!;
      if (!entry.removed) this.launch(entry);
    }
    if (this.readyHead === this.ready.length) {
      this.ready.length = 0;
      this.readyHead = 0;
    }
    this.opts.observer?.setInFlight(this.inFlight.size);
  }

  private launch(entry: Entry): void {
    entry.running = true;
    // Fixed cadence from the start of each poll: a poll that overruns its interval makes the next one
    // come due while it runs, which is skipped and counted rather than stacked.
    this.reschedule(entry, Date.now());
    this.inFlight.add(entry);
    void this.run(entry);
  }

  /** One poll of `entry` and what follows it: the result recorded, backoff updated, the slot handed on. */
  private async run(entry: Entry): Promise<void> {
    const started = performance.now();
    // The collector enforces the target's timeout itself; this deadline only catches a collector that
    // ignores it, so one stuck device can never hold a concurrency slot forever. One async frame per
    // poll, not a helper's as well: each is held, and copied by young-generation GCs, while it runs.
    const deadline = this.idleControllers.pop() ?? new AbortController();
    entry.controller = deadline;
    const hardStop = setTimeout(() => deadline.abort(new Error('poll exceeded twice its timeout')), entry.target.timeoutMs * 2 + 1000);
    let snapshots: DeviceSnapshot[];
    try {
      snapshots = saneSnapshots(await entry.collector.collect(deadline.signal), this.opts.limits ?? DEFAULT_SNAPSHOT_LIMITS, this.reject);
    } catch (err) {
      if (!(err instanceof PollError))
        this.errorLog?.error(`unclassified:${entry.target.scheme}`, { err, target: entry.target.url }, 'collector threw an unclassified error; its devices are reported down');
      snapshots = downDevices(entry.collector, entry.last, err);
    } finally {
      clearTimeout(hardStop);
      entry.controller = undefined;
      if (!deadline.signal.aborted) this.idleControllers.push(deadline);
    }
    try {
      entry.running = false;
      const seconds = (performance.now() - started) / 1000;
      const failed = firstDown(snapshots);
      this.opts.observer?.observePoll(entry.target.scheme, seconds, failed?.error_reason ?? (failed ? 'other' : undefined));
      if (!entry.removed && this.running) {
        this.opts.observer?.targetPolled(entry.target.url, anyUp(snapshots));
        entry.last = snapshots;
        this.opts.onResult(entry.target, snapshots);
        const unreachable = snapshots.length > 0 && allUnreachable(snapshots);
        const wasBackingOff = entry.failures > 1;
        entry.failures = unreachable ? entry.failures + 1 : 0;
        // Counted from now: the jitter on record is the next poll's, drawn when this one started.
        if (entry.failures > 1 || wasBackingOff) this.reschedule(entry, Date.now(), 0);
      }
    } catch (err) {
      this.errorLog?.error('record', { err, target: entry.target.url }, 'recording a poll result failed; the next poll of this target goes ahead');
    } finally {
      this.inFlight.delete(entry);
      if (this.inFlight.size === 0 && this.drainWaiters.length > 0) for (const resolve of this.drainWaiters.splice(0)) resolve();
      this.pump();
      this.arm();
    }
  }

  /**
   * Next poll at the target's phase one interval on (± jitter), or about the backoff on while backing
   * off from an unreachable device: the first point of the phase's grid at least half an interval short
   * of that wait, counted from `now` less the jitter that moved the poll starting now.
   */
  private reschedule(entry: Entry, now: number, jitterNowMs = entry.jitterMs): void {
    const interval = entry.target.intervalMs;
    const wait = entry.failures <= 1 ? interval : Math.min(interval * 2 ** (entry.failures - 1), Math.max(this.opts.backoffMaxMs, interval));
    const earliest = now - jitterNowMs + wait - interval / 2;
    const onGrid = entry.phaseMs + Math.ceil((earliest - entry.phaseMs) / interval) * interval;
    entry.jitterMs = (this.random() * 2 - 1) * this.opts.jitterRatio * interval;
    entry.seq++;
    this.heap.push(entry, Math.max(now, onGrid + entry.jitterMs));
  }
}

/**
 * One poll outside the scheduler (`potencia poll`, `recommend`, tests), failing as it does in the
 * daemon: a collector that throws gives down devices with the reason, never an exception. `last`
 * is what the previous poll gave, the devices a failure reports down.
 */
export async function collectOnce(
  collector: Collector,
  signal: AbortSignal,
  last: readonly DeviceSnapshot[] = [],
  limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS,
): Promise<DeviceSnapshot[]> {
  try {
    return saneSnapshots(await collector.collect(signal), limits, ignoreRejected);
  } catch (err) {
    return downDevices(collector, last, err);
  }
}

/** A one-off poll has no self-metrics to count into: what it left out is simply absent. */
function ignoreRejected(): void {}

/** A failed poll's devices: every device the target reported last, down with the reason; before any, the target's placeholder. */
function downDevices(collector: Collector, last: readonly DeviceSnapshot[], err: unknown): DeviceSnapshot[] {
  const reason: ErrorReason = err instanceof PollError ? err.reason : 'other';
  const text = errorText(err);
  const at = new Date();
  if (last.length === 0) return [downSnapshot(collector.placeholder(), reason, text, at)];
  return last.map((device) => downSince(device, reason, text, at));
}

function anyUp(snapshots: readonly DeviceSnapshot[]): boolean {
  for (const s of snapshots) if (s.up) return true;
  return false;
}

function firstDown(snapshots: readonly DeviceSnapshot[]): DeviceSnapshot | undefined {
  for (const s of snapshots) if (!s.up) return s;
  return undefined;
}

function allUnreachable(snapshots: readonly DeviceSnapshot[]): boolean {
  for (const s of snapshots) if (s.up || s.error_reason === undefined || !UNREACHABLE.has(s.error_reason)) return false;
  return true;
}

function sameTarget(a: Target, b: Target): boolean {
  return (
    a.intervalMs === b.intervalMs &&
    a.timeoutMs === b.timeoutMs &&
    JSON.stringify(a.labels) === JSON.stringify(b.labels) &&
    // Settings outside the URL that change how the device is reached: a new value needs a new collector.
    a.userinfo === b.userinfo &&
    JSON.stringify(a.commandPrefix) === JSON.stringify(b.commandPrefix) &&
    JSON.stringify(a.sshOptions) === JSON.stringify(b.sshOptions)
  );
}

/** Min-heap of (due time, entry); stale items (entry removed or rescheduled) are dropped when popped. */
class DueHeap {
  private readonly at: number[] = [];
  private readonly items: Entry[] = [];
  private readonly seqs: number[] = [];

  push(entry: Entry, at: number): void {
    this.at.push(at);
    this.items.push(entry);
    this.seqs.push(entry.seq);
    let i = this.at.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.at[parent]! <= at) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  peekAt(): number | undefined {
    this.dropStale();
    return this.at[0];
  }

  popDue(now: number): Entry | undefined {
    this.dropStale();
    if (this.at.length === 0 || this.at[0]! > now) return undefined;
    return this.pop();
  }

  private dropStale(): void {
    while (this.items.length > 0 && (this.items[0]!.removed || this.items[0]!.seq !== this.seqs[0])) this.pop();
  }

  private pop(): Entry {
    const top = this.items[0]!;
    const lastAt = this.at.pop()!;
    const lastItem = this.items.pop()!;
    const lastSeq = this.seqs.pop()!;
    if (this.items.length > 0) {
      this.at[0] = lastAt;
      this.items[0] = lastItem;
      this.seqs[0] = lastSeq;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.at.length && this.at[l]! < this.at[m]!) m = l;
        if (r < this.at.length && this.at[r]! < this.at[m]!) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }

  private swap(i: number, j: number): void {
    [this.at[i], this.at[j]] = [this.at[j]!, this.at[i]!];
    [this.items[i], this.items[j]] = [this.items[j]!, this.items[i]!];
    [this.seqs[i], this.seqs[j]] = [this.seqs[j]!, this.seqs[i]!];
  }
}
