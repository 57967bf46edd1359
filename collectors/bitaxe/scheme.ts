import type { TargetSchemeDescriptor } from '../contract.js';
import { BITAXE_PORT, createBitaxeCollector } from './collector.js';

/** `bitaxe://HOST[:PORT]`: a Bitaxe or NerdAxe running ESP-Miner (AxeOS), read over its REST API. */
export const bitaxeScheme: TargetSchemeDescriptor<'bitaxe'> = {
  name: 'bitaxe',
  defaultPort: BITAXE_PORT,
  params: {},
  takesUserinfo: false,
  kinds: ['asic'],
  create: createBitaxeCollector,
};
