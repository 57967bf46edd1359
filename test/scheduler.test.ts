import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler, type PollObserver } from '../agent/scheduler.js';
import { PollError, type DeviceIdentity, type DeviceSnapshot, type ErrorReason } from '../agent/snapshot.js';
import type { Collector, Target } from '../collectors/contract.js';
import type { Logger } from '../agent/log.js';

function target(i: number, intervalMs = 10_000): Target {
  return { url: `cgminer://10.0.0.${i}:4028`, scheme: 'cgminer', host: `10.0.0.${i}`, port: 4028, labels: {}, intervalMs, timeoutMs: 2000 };
}

function upSnapshot(t: Target): DeviceSnapshot {
  return { id: `asic/${t.host}`, kind: 'asic', target: t.url, labels: {}, up: true, observed_at: new Date().toISOString(), temperatures_c: {}, fans_rpm: [] };
}

function placeholderOf(t: Target): DeviceIdentity {
  return { id: `asic/${t.host}`, kind: 'asic', target: t.url, labels: {} };
}

/** A collector whose polls the test finishes by hand, to control overlap and timing exactly; a failure rejects, as collectors do. */
class ManualCollector implements Collector {
  pending: Array<{ resolve: (s: DeviceSnapshot[]) => void; reject: (err: unknown) => void }> = [];
  calls = 0;
  failWith: ErrorReason | undefined;
  constructor(readonly target: Target) {}
  collect(): Promise<DeviceSnapshot[]> {
    this.calls++;
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }
  placeholder(): DeviceIdentity {
    return placeholderOf(this.target);
  }
  finish(): void {
    const poll = this.pending.shift();
    if (this.failWith) poll?.reject(new PollError(this.failWith, 'test failure'));
    else poll?.resolve([upSnapshot(this.target)]);
  }
}

function observer(): PollObserver & { skipped: number; polls: Array<ErrorReason | undefined>; maxInFlight: number; targetOk: Map<string, boolean> } {
  return {
    skipped: 0,
    polls: [],
    maxInFlight: 0,
    targetOk: new Map(),
    observePoll(_c, _s, reason) {
      this.polls.push(reason);
    },
    targetPolled(url, ok) {
      this.targetOk.set(url, ok);
    },
    targetRemoved(url) {
      this.targetOk.delete(url);
    },
    pollSkipped() {
      this.skipped++;
    },
    setInFlight(n) {
      this.maxInFlight = Math.max(this.maxInFlight, n);
    },
    setTargets() {},
    valueRejected() {},
  };
}

describe('Scheduler', () => {
  beforeEach(() => vi.useFakeTimers({ now: 1_700_000_000_000 }));
  afterEach(() => vi.useRealTimers());

  /** A scheduler over `targets` whose collectors answer at once, recording when each target was polled (ms from the start). */
  function pollTimes(targets: Target[], opts: { jitterRatio: number; random?: () => number; concurrency?: number }) {
    const polled = new Map<string, number[]>();
    const order: string[] = [];
    const s = new Scheduler({
      concurrency: opts.concurrency ?? 10,
      jitterRatio: opts.jitterRatio,
      backoffMaxMs: 60_000,
      wakeGridMs: 0,
      ...(opts.random && { random: opts.random }),
      createCollector: (t) => ({
        target: t,
        placeholder: () => placeholderOf(t),
        collect: () => {
          const times = polled.get(t.url) ?? [];
          times.push(Date.now() - 1_700_000_000_000);
          polled.set(t.url, times);
          order.push(t.url);
          return Promise.resolve([upSnapshot(t)]);
        },
      }),
      onResult: () => {},
    });
    s.setTargets(targets);
    s.start();
    return { s, polled, order };
  }

  it('polls every target at once on start, then each at its own phase, spread evenly over the interval in the order given', async () => {
    const targets = [1, 2, 3, 4].map((i) => target(i));
    const { s, polled } = pollTimes(targets, { jitterRatio: 0 });
    await vi.advanceTimersByTimeAsync(32_600);
    // Phases 0, 2.5, 5 and 7.5 s into the 10 s interval; the second poll is the first at least half an interval after the first.
    expect(targets.map((t) => polled.get(t.url))).toEqual([
      [0, 10_000, 20_000, 30_000],
      [0, 12_500, 22_500, 32_500],
      [0, 5_000, 15_000, 25_000],
      [0, 7_500, 17_500, 27_500],
    ]);
    await s.stop(0);
  });

  it('starts the first sweep in the order the targets are given, queued behind `concurrency`', async () => {
    const targets = Array.from({ length: 40 }, (_, i) => target(i + 1));
    const { s, order } = pollTimes(targets, { jitterRatio: 0, concurrency: 3 });
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(targets.map((t) => t.url));
    await s.stop(0);
  });

  it('moves each poll around its phase by jitter without the moves adding up', async () => {
    // Always the latest jitter: + 0.1 × 10 s. Were each poll an interval on from the last, the tenth would come at 99 s.
    const { s, polled } = pollTimes([target(1)], { jitterRatio: 0.1, random: () => 0.999_999 });
    await vi.advanceTimersByTimeAsync(100_000);
    const times = polled.get(target(1).url)!;
    expect(times.slice(1).map((t, k) => t - (k + 1) * 10_000)).toEqual(Array.from({ length: 9 }, () => expect.closeTo(1000, 0)));
    expect(times).toHaveLength(10);
    await s.stop(0);
  });

  it('keeps a phase through a backoff: a device that answers again is polled at its phase', async () => {
    let collector!: ManualCollector;
    const s = new Scheduler({
      concurrency: 5,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      wakeGridMs: 0,
      createCollector: (t) => (collector = new ManualCollector(t)),
      onResult: () => {},
    });
    s.setTargets([target(1, 10_000)]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    // Fails 3.7 s after it started, twice: backed off to 20 s, then answers.
    const polledAt: number[] = [];
    for (const fail of [true, true, false, false]) {
      await vi.advanceTimersByTimeAsync(3_700);
      collector.failWith = fail ? 'refused' : undefined;
      collector.finish();
      const calls = collector.calls;
      while (collector.calls === calls) await vi.advanceTimersByTimeAsync(100);
      polledAt.push(Date.now() - 1_700_000_000_000);
    }
    expect(polledAt).toEqual([10_000, 30_000, 40_000, 50_000]);
    await s.stop(0);
  });

  it('never runs more than `concurrency` polls at once and queues the rest', async () => {
    const collectors: ManualCollector[] = [];
    const obs = observer();
    const s = new Scheduler({
      concurrency: 3,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => {
        const c = new ManualCollector(t);
        collectors.push(c);
        return c;
      },
      onResult: () => {},
      observer: obs,
    });
    s.setTargets(Array.from({ length: 10 }, (_, i) => target(i + 1)));
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(collectors.filter((c) => c.calls === 1)).toHaveLength(3);
    collectors[0]!.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(collectors.filter((c) => c.calls === 1)).toHaveLength(4);
    expect(s.inFlightCount).toBe(3);
    expect(obs.maxInFlight).toBe(3);
    await s.stop(0);
  });

  it('never polls one device twice at once: a due poll of a busy device is skipped and counted', async () => {
    let collector!: ManualCollector;
    const obs = observer();
    const s = new Scheduler({
      concurrency: 5,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => (collector = new ManualCollector(t)),
      onResult: () => {},
      observer: obs,
    });
    s.setTargets([target(1, 1000)]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(collector.calls).toBe(1);
    collector.finish();
    await vi.advanceTimersByTimeAsync(1000);
    expect(collector.calls).toBe(2);
    // This poll hangs past the next due time.
    await vi.advanceTimersByTimeAsync(1000);
    expect(collector.calls).toBe(2);
    expect(obs.skipped).toBe(1);
    collector.finish();
    await s.stop(0);
  });

  it('backs off from an unreachable device, doubling up to the cap, and resets once it answers', async () => {
    let collector!: ManualCollector;
    const s = new Scheduler({
      concurrency: 5,
      jitterRatio: 0,
      backoffMaxMs: 40_000,
      createCollector: (t) => (collector = new ManualCollector(t)),
      onResult: () => {},
    });
    s.setTargets([target(1, 10_000)]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    collector.failWith = 'refused';
    const pollTimes: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = collector.calls;
      collector.finish();
      let waited = 0;
      while (collector.calls === before) {
        await vi.advanceTimersByTimeAsync(1000);
        waited += 1000;
      }
      pollTimes.push(waited);
    }
    expect(pollTimes).toEqual([10_000, 20_000, 40_000, 40_000, 40_000]);
    collector.failWith = undefined;
    const callsBeforeRecovery = collector.calls;
    expect(callsBeforeRecovery).toBe(6);
    collector.finish();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(collector.calls).toBe(callsBeforeRecovery + 1);
    await s.stop(0);
  });

  it('does not back off from a device that answers with an API error', async () => {
    let collector!: ManualCollector;
    const s = new Scheduler({ concurrency: 1, jitterRatio: 0, backoffMaxMs: 60_000, createCollector: (t) => (collector = new ManualCollector(t)), onResult: () => {} });
    s.setTargets([target(1, 5000)]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    collector.failWith = 'api_error';
    for (let i = 0; i < 3; i++) {
      collector.finish();
      await vi.advanceTimersByTimeAsync(5000);
    }
    expect(collector.calls).toBe(4);
    await s.stop(0);
  });

  it('spreads polls with jitter inside ± jitter_ratio of the interval', async () => {
    let collector!: ManualCollector;
    const s = new Scheduler({
      concurrency: 1,
      jitterRatio: 0.1,
      backoffMaxMs: 60_000,
      createCollector: (t) => (collector = new ManualCollector(t)),
      onResult: () => {},
      random: () => 0,
    });
    s.setTargets([target(1, 10_000)]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    collector.finish();
    await vi.advanceTimersByTimeAsync(8_999);
    expect(collector.calls).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(collector.calls).toBe(2);
    await s.stop(0);
  });

  it('keeps schedules of unchanged targets across setTargets, drops removed ones and discards their late results', async () => {
    const collectors = new Map<string, ManualCollector>();
    const results: string[] = [];
    const s = new Scheduler({
      concurrency: 5,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => {
        const c = new ManualCollector(t);
        collectors.set(t.url, c);
        return c;
      },
      onResult: (t) => results.push(t.url),
    });
    s.setTargets([target(1), target(2)]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    const { added, removed } = s.setTargets([target(1), target(3)]);
    expect(added).toEqual([target(3).url]);
    expect(removed).toEqual([target(2).url]);
    await vi.advanceTimersByTimeAsync(0);
    for (const c of collectors.values()) c.finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(results.sort()).toEqual([target(1).url, target(3).url]);
    expect(collectors.get(target(1).url)!.calls).toBe(1);
    await s.stop(0);
  });

  it('stop() aborts polls in flight and resolves within its grace period', async () => {
    vi.useRealTimers();
    let seen: AbortSignal | undefined;
    const s = new Scheduler({
      concurrency: 1,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => ({
        target: t,
        placeholder: () => placeholderOf(t),
        collect: (signal) =>
          new Promise<DeviceSnapshot[]>((resolve) => {
            seen = signal;
            signal.addEventListener('abort', () => resolve([]));
          }),
      }),
      onResult: () => {},
    });
    s.setTargets([target(1)]);
    s.start();
    while (!seen) await new Promise((r) => setTimeout(r, 1));
    expect(seen.aborted).toBe(false);
    await s.stop(1000);
    expect(seen?.aborted).toBe(true);
    expect(s.inFlightCount).toBe(0);
  });

  it('starts the polls that come due within one wake-up window together, on the grid', async () => {
    // 1_700_000_000_000 is on the 25 ms grid; jitter (r × 2 − 1) × 0.001 × 10 s puts the second round at +10,002/4/6 ms.
    const draws = [0.6, 0.7, 0.8];
    const starts = (grid: number) => {
      const started: number[] = [];
      let i = 0;
      const s = new Scheduler({
        concurrency: 10,
        jitterRatio: 0.001,
        backoffMaxMs: 60_000,
        wakeGridMs: grid,
        random: () => draws[i++ % draws.length]!,
        createCollector: (t) => ({
          target: t,
          placeholder: () => placeholderOf(t),
          collect: () => {
            started.push(Date.now() - 1_700_000_000_000);
            return Promise.resolve([]);
          },
        }),
        onResult: () => {},
      });
      // Added one by one, each is polled at once, the phase of the three alike.
      s.setTargets([target(1)]);
      s.setTargets([target(1), target(2)]);
      s.setTargets([target(1), target(2), target(3)]);
      s.start();
      return { started, s };
    };
    const gridded = starts(25);
    await vi.advanceTimersByTimeAsync(10_024);
    expect(gridded.started).toEqual([0, 0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(gridded.started).toEqual([0, 0, 0, 10_025, 10_025, 10_025]);
    await gridded.s.stop(0);

    vi.setSystemTime(1_700_000_000_000);
    const exact = starts(0);
    await vi.advanceTimersByTimeAsync(10_010);
    expect(exact.started).toEqual([0, 0, 0, 10_002, 10_004, 10_006]);
    await exact.s.stop(0);
  });

  it("hands a finished poll's signal to the next poll until one is aborted, then a fresh one", async () => {
    const signals: AbortSignal[] = [];
    let hang = false;
    const s = new Scheduler({
      concurrency: 1,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => ({
        target: t,
        placeholder: () => placeholderOf(t),
        collect: (signal) => {
          signals.push(signal);
          if (!hang) return Promise.resolve([]);
          return new Promise<DeviceSnapshot[]>((resolve) => signal.addEventListener('abort', () => resolve([]), { once: true }));
        },
      }),
      onResult: () => {},
    });
    s.setTargets([{ ...target(1), intervalMs: 10_000 }]);
    s.start();
    await vi.advanceTimersByTimeAsync(10_000);
    expect(signals).toHaveLength(2);
    expect(signals[1]).toBe(signals[0]);
    hang = true;
    await vi.advanceTimersByTimeAsync(10_000 + 2 * 2000 + 1000);
    expect(signals[2]).toBe(signals[0]);
    expect(signals[2]!.aborted).toBe(true);
    hang = false;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(signals.at(-1)).not.toBe(signals[0]);
    expect(signals.at(-1)!.aborted).toBe(false);
    await s.stop(0);
  });

  it('keeps polling when recording a result throws, and logs it', async () => {
    const errors: string[] = [];
    let results = 0;
    const s = new Scheduler({
      concurrency: 1,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => ({ target: t, placeholder: () => placeholderOf(t), collect: () => Promise.resolve([]) }),
      onResult: () => {
        results++;
        throw new Error('bad snapshot');
      },
      logger: { error: (_o: object, msg: string) => errors.push(msg) } as unknown as Logger,
    });
    s.setTargets([{ ...target(1), intervalMs: 10_000 }]);
    s.start();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(results).toBe(3);
    expect(errors[0]).toMatch(/recording a poll result failed/);
    await s.stop(0);
  });

  it('logs collectors that throw unclassified errors a few times a minute, however many targets do it', async () => {
    const errors: string[] = [];
    const s = new Scheduler({
      concurrency: 100,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => ({ target: t, placeholder: () => placeholderOf(t), collect: () => Promise.reject(new TypeError(`reply of ${t.host} broke the parser`)) }),
      onResult: () => {},
      logger: { error: (_o: object, msg: string) => errors.push(msg) } as unknown as Logger,
    });
    s.setTargets(Array.from({ length: 200 }, (_, i) => target(i, 1000)));
    s.start();
    await vi.advanceTimersByTimeAsync(59_000);
    expect(errors).toHaveLength(10);
    // The next minute: one line with the count of the first, then its own ten.
    await vi.advanceTimersByTimeAsync(2_000);
    expect(errors).toHaveLength(21);
    expect(errors[11]).toBe('collector threw an unclassified error; its devices are reported down');
    expect(errors[10]).toMatch(/^collector threw an unclassified error; its devices are reported down \(\d+ more like it not logged\)$/);
    await s.stop(0);
  });

  it('aborts a poll whose collector ignores its timeout once it runs past twice that timeout, freeing its slot', async () => {
    const signals: AbortSignal[] = [];
    const observed = observer();
    const s = new Scheduler({
      concurrency: 1,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => ({
        target: t,
        placeholder: () => placeholderOf(t),
        collect: (signal) =>
          new Promise<DeviceSnapshot[]>((_resolve, reject) => {
            signals.push(signal);
            signal.addEventListener('abort', () => reject(new PollError('timeout', String((signal.reason as Error).message))));
          }),
      }),
      onResult: () => {},
      observer: observed,
    });
    s.setTargets([target(1), target(2)]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(signals).toHaveLength(1);
    // timeoutMs 2000: hard stop at 2 × 2000 + 1000 ms, seen by the next watchdog round.
    await vi.advanceTimersByTimeAsync(4_999);
    expect(signals[0]!.aborted).toBe(false);
    expect(s.inFlightCount).toBe(1);
    await vi.advanceTimersByTimeAsync(1_001);
    expect(signals[0]!.aborted).toBe(true);
    expect((signals[0]!.reason as Error).message).toBe('poll exceeded twice its timeout');
    expect(observed.polls).toEqual(['timeout']);
    expect(signals).toHaveLength(2);
    await s.stop(0);
    expect(signals[1]!.aborted).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(s.inFlightCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('reports every device a throwing collector read last down with a bounded reason, counts a failure and marks the target unsuccessful', async () => {
    const results: DeviceSnapshot[][] = [];
    const observed = observer();
    let poll = 0;
    const gpus = (t: Target): DeviceSnapshot[] =>
      ['GPU-a', 'GPU-b'].map((uuid, index) => ({ ...upSnapshot(t), id: uuid, kind: 'gpu', model: 'NVIDIA H100', power_w: 300, gpu: { index, uuid, utilization_ratio: 0.9 } }));
    const s = new Scheduler({
      concurrency: 1,
      jitterRatio: 0,
      backoffMaxMs: 60_000,
      createCollector: (t) => ({
        target: t,
        placeholder: () => placeholderOf(t),
        collect: () => {
          poll++;
          if (poll === 2) return Promise.resolve(gpus(t));
          // A bug, not a classified failure: long, multi-line, with nothing to say which device.
          return Promise.reject(new TypeError(`cannot read\n${'x'.repeat(2000)}`));
        },
      }),
      onResult: (_t, snapshots) => results.push(snapshots),
      observer: observed,
      logger: { error: () => {} } as unknown as Logger,
    });
    const t = target(1);
    s.setTargets([t]);
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    // Before any answer: the target's placeholder, down.
    expect(results[0]).toEqual([expect.objectContaining({ id: 'asic/10.0.0.1', up: false, error_reason: 'other' })]);
    expect(observed.targetOk.get(t.url)).toBe(false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(results[1]!.map((d) => d.up)).toEqual([true, true]);
    expect(observed.targetOk.get(t.url)).toBe(true);
    await vi.advanceTimersByTimeAsync(10_000);
    const down = results[2]!;
    expect(down.map((d) => [d.id, d.up, d.error_reason, d.model, d.gpu])).toEqual([
      ['GPU-a', false, 'other', 'NVIDIA H100', { index: 0, uuid: 'GPU-a' }],
      ['GPU-b', false, 'other', 'NVIDIA H100', { index: 1, uuid: 'GPU-b' }],
    ]);
    expect(down[0]!.power_w).toBeUndefined();
    expect(down[0]!.error).toMatch(/^cannot read x+…$/);
    expect(down[0]!.error!.length).toBeLessThanOrEqual(501);
    expect(observed.polls).toEqual(['other', undefined, 'other']);
    expect(observed.targetOk.get(t.url)).toBe(false);
    s.setTargets([]);
    expect(observed.targetOk.has(t.url)).toBe(false);
    await s.stop(0);
  });
});
