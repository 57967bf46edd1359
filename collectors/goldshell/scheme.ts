import type { TargetSchemeDescriptor } from '../contract.js';
import { createGoldshellCollector, GOLDSHELL_PORT } from './collector.js';

/** `goldshell://[NAME@]HOST[:PORT]`: a Goldshell miner's web API (port 80); NAME is a key of the config's `miner_credentials`. */
export const goldshellScheme: TargetSchemeDescriptor<'goldshell'> = {
  name: 'goldshell',
  defaultPort: GOLDSHELL_PORT,
  params: {},
  takesUserinfo: true,
  kinds: ['asic'],
  create: createGoldshellCollector,
};
