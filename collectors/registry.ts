import { createCgminerCollector } from './cgminer/index.js';
import type { Collector, Target, TargetScheme } from './target.js';

/** Settings every collector honours, from the `polling` section. */
export interface CollectorOptions {
  maxResponseBytes: number;
}

/** One entry per target scheme: adding a protocol means adding its collector here. */
const FACTORIES: Record<TargetScheme, (target: Target, options: CollectorOptions) => Collector> = {
  cgminer: createCgminerCollector,
};

export function createCollector(target: Target, options: CollectorOptions): Collector {
  return FACTORIES[target.scheme](target, options);
}
