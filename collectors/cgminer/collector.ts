import { downSnapshot, type DeviceSnapshot } from '../../agent/snapshot.js';
import type { Collector, Target } from '../contract.js';
import { cgminerIdentity } from './dialects/fields.js';
import { dialectNamed, normalizeReply } from './dialects/index.js';
import { CgminerError } from './errors.js';
import { pollCgminer, type EndpointMemory } from './poll.js';
import type { CgminerReply } from './reply.js';

export interface CgminerCollectorOptions {
  maxResponseBytes?: number;
}

/** One miner behind one CGMiner API endpoint; `collect` always resolves, a fault as an up=false snapshot. */
export function createCgminerCollector(target: Target, options: CgminerCollectorOptions = {}): Collector {
  const memory: EndpointMemory = {};
  // Made once, not per poll: a poll's promise chain holds no closures of its own.
  const down = (err: unknown): DeviceSnapshot[] => {
    const reason = err instanceof CgminerError ? err.reason : 'other';
    const message = err instanceof Error ? err.message : String(err);
    return [downSnapshot(cgminerIdentity(target), reason, message)];
  };
  const read = (reply: CgminerReply): DeviceSnapshot[] => {
    try {
      return [normalizeReply(reply, { target, observedAt: new Date() }, dialectNamed(memory.dialect))];
    } catch (err) {
      return down(err);
    }
  };
  return {
    target,
    collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const poll = pollCgminer({ host: target.host, port: target.port, timeoutMs: target.timeoutMs, signal, maxResponseBytes: options.maxResponseBytes, memory });
      return poll.then(read, down);
    },
  };
}
