import type { TargetSchemeDescriptor } from '../contract.js';
import { createProtoCollector, PROTO_PORT } from './collector.js';

/**
 * `proto://[NAME@]HOST[:PORT]`: a Proto Rig (Block) on ProtoOS, read over its REST API v1 (HTTP, port
 * 80). NAME is a key of the config's `miner_credentials`, whose password the rig's login takes.
 */
export const protoScheme: TargetSchemeDescriptor<'proto'> = {
  name: 'proto',
  defaultPort: PROTO_PORT,
  params: {},
  takesUserinfo: true,
  kinds: ['asic'],
  create: createProtoCollector,
};
