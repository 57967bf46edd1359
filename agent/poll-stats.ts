import type { CollectorTally, PollStatsView, SelfMetricFamily } from './contracts/part.js';
import type { PollObserver } from './scheduler.js';
import type { RejectReason } from '../collectors/contract.js';
import { ERROR_REASONS, type ErrorReason } from './snapshot.js';

/** Poll durations: a healthy CGMiner reply takes milliseconds, a timeout several seconds. */
export const POLL_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

interface MutableTally {
  readonly buckets: Float64Array;
  sum: number;
  ok: number;
  failed: number;
  skipped: number;
  readonly errors: Map<ErrorReason, number>;
}

/**
 * The scheduler's work as plain numbers: they move on every poll, so they are counted here and read
 * by an exporter when it is asked, never pushed into one.
 */
export class PollStats implements PollObserver, PollStatsView {
  readonly bucketBounds = POLL_BUCKETS;
  readonly #tallies = new Map<string, MutableTally>();
  readonly #targetOk = new Map<string, boolean>();
  /** Values left out of readings, by field then reason. */
  readonly #rejected = new Map<string, Map<RejectReason, number>>();
  #targetCount = 0;
  #inFlight = 0;

  get targetCount(): number {
    return this.#targetCount;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  collectors(): Iterable<readonly [string, CollectorTally]> {
    return this.#tallies;
  }

  targets(): Iterable<readonly [string, boolean]> {
    return this.#targetOk;
  }

  observePoll(collector: string, seconds: number, reason?: ErrorReason): void {
    const tally = this.#tallyOf(collector);
    let slot = 0;
    while (slot < POLL_BUCKETS.length && seconds > POLL_BUCKETS[slot]!) slot++;
    tally.buckets[slot]!++;
    tally.sum += seconds;
    if (reason === undefined) tally.ok++;
    else {
      tally.failed++;
      tally.errors.set(reason, (tally.errors.get(reason) ?? 0) + 1);
    }
  }

  targetPolled(url: string, ok: boolean): void {
    this.#targetOk.set(url, ok);
  }

  targetRemoved(url: string): void {
    this.#targetOk.delete(url);
  }

  pollSkipped(collector: string): void {
    this.#tallyOf(collector).skipped++;
  }

  setInFlight(n: number): void {
    this.#inFlight = n;
  }

  setTargets(n: number): void {
    this.#targetCount = n;
  }

  valueRejected(field: string, reason: RejectReason, count: number): void {
    let byReason = this.#rejected.get(field);
    if (!byReason) {
      byReason = new Map();
      this.#rejected.set(field, byReason);
    }
    byReason.set(reason, (byReason.get(reason) ?? 0) + count);
  }

  /** `potencia_values_rejected_total`: one series per field and reason seen; the fields are the snapshot's, a bounded set. */
  rejectedFamily(): SelfMetricFamily {
    const rejected = this.#rejected;
    return {
      name: 'potencia_values_rejected_total',
      help: 'Values a device reported that were left out of its reading: out_of_range (outside the bounds of its quantity) or over_limit (past a per-device or per-target cap).',
      type: 'counter',
      *samples() {
        for (const [field, byReason] of rejected) for (const [reason, value] of byReason) yield { labels: { field, reason }, value };
      },
    };
  }

  /** A collector's tally, all zero the first time it is seen: its series exist from its first poll, so rate() and absent() work. */
  #tallyOf(collector: string): MutableTally {
    let tally = this.#tallies.get(collector);
    if (!tally) {
      tally = { buckets: new Float64Array(POLL_BUCKETS.length + 1), sum: 0, ok: 0, failed: 0, skipped: 0, errors: new Map(ERROR_REASONS.map((r) => [r, 0])) };
      this.#tallies.set(collector, tally);
    }
    return tally;
  }
}
