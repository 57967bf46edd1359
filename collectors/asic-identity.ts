import type { DeviceIdentity } from '../agent/snapshot.js';
import { hostPort, urlHost, type Target } from './contract.js';

/**
 * The id of a miner read over a protocol other than 4028: `asic/<host>` on the protocol's own port, so
 * one machine has one id whichever of its APIs reads it; `asic/<host>:<port>` where the port was moved
 * (a farm behind port forwarding).
 */
export function asicIdentity(target: Target, defaultPort: number): DeviceIdentity {
  const id = target.port === defaultPort ? `asic/${urlHost(target.host)}` : `asic/${hostPort(target.host, target.port)}`;
  return { id, kind: 'asic', target: target.url, labels: target.labels, address: target.host };
}
