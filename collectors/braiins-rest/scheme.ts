import type { TargetSchemeDescriptor } from '../contract.js';
import { BRAIINS_REST_PORT, createBraiinsRestCollector } from './collector.js';

/**
 * `braiins-rest://NAME@HOST[:PORT]`: a miner on Braiins OS 25.07 or newer, read over its public REST API
 * (port 80). NAME is a key of the config's `miner_credentials`.
 */
export const braiinsRestScheme: TargetSchemeDescriptor<'braiins-rest'> = {
  name: 'braiins-rest',
  defaultPort: BRAIINS_REST_PORT,
  params: {},
  takesUserinfo: true,
  kinds: ['asic'],
  create: createBraiinsRestCollector,
};
