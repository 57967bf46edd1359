import type { TargetSchemeDescriptor } from '../contract.js';
import { createWhatsminerV3Collector, WHATSMINER_V3_PORT } from './collector.js';

/** `whatsminer-v3://HOST[:PORT]`: a Whatsminer on firmware with API v3 (TCP 4433), HOST a name, address, range or CIDR. */
export const whatsminerV3Scheme: TargetSchemeDescriptor<'whatsminer-v3'> = {
  name: 'whatsminer-v3',
  defaultPort: WHATSMINER_V3_PORT,
  params: {},
  takesUserinfo: false,
  kinds: ['asic'],
  create: createWhatsminerV3Collector,
};
