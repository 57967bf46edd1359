import { downSnapshot, type DeviceSnapshot } from '../../agent/snapshot.js';
import type { Collector, Target } from '../target.js';
import { cgminerIdentity } from './dialects/fields.js';
import { dialectNamed, normalizeReply } from './dialects/index.js';
import { CgminerError } from './errors.js';
import { pollCgminer, type EndpointMemory } from './poll.js';

export interface CgminerCollectorOptions {
  maxResponseBytes?: number;
}

/** One miner behind one CGMiner API endpoint; `collect` always resolves, a fault as an up=false snapshot. */
export function createCgminerCollector(target: Target, options: CgminerCollectorOptions = {}): Collector {
  const memory: EndpointMemory = {};
  return {
    target,
    async collect(signal: AbortSignal): Promise<DeviceSnapshot[]> {
      try {
        const reply = await pollCgminer({
          host: target.host,
          port: target.port,
          timeoutMs: target.timeoutMs,
          signal,
          maxResponseBytes: options.maxResponseBytes,
          memory,
        });
        return [normalizeReply(reply, { target, observedAt: new Date() }, dialectNamed(memory.dialect))];
      } catch (err) {
        const reason = err instanceof CgminerError ? err.reason : 'other';
        const message = err instanceof Error ? err.message : String(err);
        return [downSnapshot(cgminerIdentity(target), reason, message)];
      }
    },
  };
}
