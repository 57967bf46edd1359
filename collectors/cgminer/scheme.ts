import type { TargetSchemeDescriptor } from '../contract.js';
import { createCgminerCollector } from './collector.js';

/** `cgminer://HOST[:PORT]`, HOST a name, an address, a range or a CIDR: one miner's CGMiner API per host. */
export const cgminerScheme: TargetSchemeDescriptor<'cgminer'> = {
  name: 'cgminer',
  defaultPort: 4028,
  params: {},
  takesUserinfo: false,
  kinds: ['asic'],
  create: createCgminerCollector,
};
