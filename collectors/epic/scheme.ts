import type { TargetSchemeDescriptor } from '../contract.js';
import { createEpicCollector, EPIC_PORT } from './collector.js';

/** `epic://HOST[:PORT]`: a miner on ePIC PowerPlay / UMC firmware, read over its HTTP API (port 4028). */
export const epicScheme: TargetSchemeDescriptor<'epic'> = {
  name: 'epic',
  defaultPort: EPIC_PORT,
  params: {},
  takesUserinfo: false,
  kinds: ['asic'],
  create: createEpicCollector,
};
