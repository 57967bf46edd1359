import type { TargetSchemeDescriptor } from '../contract.js';
import { AURADINE_WEB_PORT, createAuradineCollector } from './collector.js';

/**
 * `auradine://[NAME@]HOST[:PORT][?rpc_port=N]`: an Auradine Teraflux, its web API on PORT (8080) and
 * its CGMiner-like socket on `rpc_port` (4028). NAME is a key of the config's `miner_credentials`.
 */
export const auradineScheme: TargetSchemeDescriptor<'auradine'> = {
  name: 'auradine',
  defaultPort: AURADINE_WEB_PORT,
  params: {
    rpc_port: (value) => (/^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 65535 ? undefined : `rpc_port must be a port number, not "${value}"`),
  },
  takesUserinfo: true,
  kinds: ['asic'],
  create: createAuradineCollector,
};
