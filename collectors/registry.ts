import type { SnmpSettings } from '../config/snmp-schema.js';
import { createCgminerCollector } from './cgminer/index.js';
import { createNvidiaCollector } from './nvidia/index.js';
import { createSnmpCollector } from './snmp/index.js';
import type { Collector, Target, TargetScheme } from './target.js';

/** Settings every collector honours, from the `polling` section. */
export interface CollectorOptions {
  maxResponseBytes: number;
  /** The `snmp:` section in force now (credentials, retries, max-repetitions). */
  snmpSettings?: () => SnmpSettings | undefined;
}

/** One entry per target scheme: adding a protocol means adding its collector here. */
const FACTORIES: Record<TargetScheme, (target: Target, options: CollectorOptions) => Collector> = {
  cgminer: createCgminerCollector,
  snmp: (target, options) => createSnmpCollector(target, options.snmpSettings ? { settings: options.snmpSettings } : {}),
  'nvidia-smi': createNvidiaCollector,
  'nvidia-smi+ssh': createNvidiaCollector,
};

export function createCollector(target: Target, options: CollectorOptions): Collector {
  return FACTORIES[target.scheme](target, options);
}
