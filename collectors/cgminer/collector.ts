import type { DeviceSnapshot } from '../../agent/snapshot.js';
import type { Collector, Target } from '../contract.js';
import { cgminerIdentity } from './dialects/fields.js';
import { dialectNamed, normalizeReply } from './dialects/index.js';
import { pollCgminer, type EndpointMemory } from './poll.js';
import type { CgminerReply } from './reply.js';

export interface CgminerCollectorOptions {
  maxResponseBytes?: number;
}

/** One miner behind one CGMiner API endpoint; a fault rejects with a CgminerError saying why. */
export function createCgminerCollector(target: Target, options: CgminerCollectorOptions = {}): Collector {
  const memory: EndpointMemory = {};
  // Made once, not per poll: a poll's promise chain holds no closures of its own.
  const read = (reply: CgminerReply): DeviceSnapshot[] => [normalizeReply(reply, { target, observedAt: new Date() }, dialectNamed(memory.dialect))];
  return {
    target,
    collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      const poll = pollCgminer({ host: target.host, port: target.port, timeoutMs: target.timeoutMs, signal, maxResponseBytes: options.maxResponseBytes, memory });
      return poll.then(read);
    },
    placeholder: () => cgminerIdentity(target),
  };
}
