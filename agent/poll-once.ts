import { setMaxListeners } from 'node:events';
import type { Collector, Target } from '../collectors/contract.js';
import type { SnapshotLimits } from '../collectors/ranges.js';
import { mapLimited } from './limit.js';
import { collectOnce } from './scheduler.js';
import { downSnapshot, PollError, type DeviceSnapshot } from './snapshot.js';

/**
 * How long a one-shot command (poll, recommend) waits for all its targets: each round of `concurrency`
 * polls may take the slowest timeout, and two more rounds cover connect and parse overheads.
 */
export function defaultDeadlineMs(targets: readonly Target[], concurrency: number): number {
  let timeoutMs = 0;
  for (const target of targets) timeoutMs = Math.max(timeoutMs, target.timeoutMs);
  return timeoutMs * (2 + Math.ceil(targets.length / concurrency));
}

export interface PollOnceOptions {
  concurrency: number;
  /** After this, targets still outstanding are reported down (timeout) and the call returns. */
  deadlineMs: number;
  collectorFor: (target: Target) => Collector;
  /** Caps on what one device may carry (polling.limits); the defaults without a config. */
  limits?: SnapshotLimits;
}

/**
 * Polls every target once, at most `concurrency` at a time, and returns within the deadline whatever
 * the peers do: a collector that ignores its own timeout (a slow SNMP agent) or never gets its turn is
 * reported down with reason `timeout`.
 */
/** Readings as collectors give them: the caller attributes PDU power (recommend) before enriching. */
export async function pollOnce(targets: readonly Target[], opts: PollOnceOptions): Promise<DeviceSnapshot[]> {
  const controller = new AbortController();
  // One signal shared by every collector of the round; each adds a listener.
  setMaxListeners(0, controller.signal);
  const results = new Array<DeviceSnapshot[] | undefined>(targets.length);
  const collectors = new Array<Collector | undefined>(targets.length);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.deadlineMs)));
  const work = mapLimited(targets, opts.concurrency, async (target, index) => {
    if (controller.signal.aborted) return;
    const collector = opts.collectorFor(target);
    collectors[index] = collector;
    results[index] = await collectOnce(collector, controller.signal, [], opts.limits);
  });
  await Promise.race([work, deadline]);
  clearTimeout(timer);
  const late = `no reply within the command's deadline of ${opts.deadlineMs / 1000}s`;
  controller.abort(new PollError('timeout', late));
  const at = new Date();
  return targets.flatMap((target, index) => results[index] ?? [downSnapshot((collectors[index] ?? opts.collectorFor(target)).placeholder(), 'timeout', late, at)]);
}
