import type { TargetSchemeDescriptor } from '../contract.js';
import { ANTMINER_WEB_PORT, createAntminerWebCollector } from './collector.js';

/**
 * `antminer-web://[NAME@]HOST[:PORT]`: an Antminer's stock web API (HTTP, digest auth). NAME is a key of
 * the config's `miner_credentials`, never the password itself.
 */
export const antminerWebScheme: TargetSchemeDescriptor<'antminer-web'> = {
  name: 'antminer-web',
  defaultPort: ANTMINER_WEB_PORT,
  params: {},
  takesUserinfo: true,
  kinds: ['asic'],
  create: createAntminerWebCollector,
};
