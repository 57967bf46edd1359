/**
 * One twin per miner protocol beside the CGMiner socket, keyed by the scheme that reads it; the farm
 * gives a miner one of them with `{ model, protocol }`.
 */
import { antminerWebTwin } from './antminer-web.js';
import { auradineTwin } from './auradine.js';
import { bitaxeTwin } from './bitaxe.js';
import { braiinsRestTwin } from './braiins-rest.js';
import { epicTwin } from './epic.js';
import { protoTwin } from './proto.js';
import { goldshellTwin } from './goldshell.js';
import type { ProtocolTwin } from './types.js';
import { whatsminerV3Twin } from './whatsminer-v3.js';

export const PROTOCOL_TWINS = {
  'whatsminer-v3': whatsminerV3Twin,
  'antminer-web': antminerWebTwin,
  bitaxe: bitaxeTwin,
  epic: epicTwin,
  auradine: auradineTwin,
  'braiins-rest': braiinsRestTwin,
  proto: protoTwin,
  goldshell: goldshellTwin,
} as const satisfies Readonly<Record<string, ProtocolTwin>>;

export type TwinnedProtocol = keyof typeof PROTOCOL_TWINS;

/**
 * Each twin whose own port is privileged (below 1024: the web APIs' 80), 10000 higher, where a user who
 * may not bind it can listen (80 → 10080; clear of 4028, 4433 and 8080, which a miner may answer too).
 */
export function unprivilegedTwinPorts(): Partial<Record<TwinnedProtocol, number>> {
  const ports: Partial<Record<TwinnedProtocol, number>> = {};
  for (const [scheme, twin] of Object.entries(PROTOCOL_TWINS) as [TwinnedProtocol, ProtocolTwin][]) if (twin.defaultPort < 1024) ports[scheme] = twin.defaultPort + 10_000;
  return ports;
}
