import type { Collector, CollectorOptions, Target, TargetSchemeDescriptor } from './contract.js';
import { TargetError } from './contract.js';
import { antminerWebScheme } from './antminer-web/scheme.js';
import { auradineScheme } from './auradine/scheme.js';
import { bitaxeScheme } from './bitaxe/scheme.js';
import { braiinsRestScheme } from './braiins-rest/scheme.js';
import { cgminerScheme } from './cgminer/scheme.js';
import { epicScheme } from './epic/scheme.js';
import { goldshellScheme } from './goldshell/scheme.js';
import { nvidiaSmiScheme, nvidiaSmiSshScheme } from './nvidia/scheme.js';
import { protoScheme } from './proto/scheme.js';
import { snmpScheme } from './snmp/scheme.js';
import { whatsminerV3Scheme } from './whatsminer-v3/scheme.js';

/**
 * Every target URL scheme, one line each. Adding a protocol: its collector and a `scheme.ts` exporting
 * its TargetSchemeDescriptor in `collectors/<protocol>/`, and its line here.
 */
export const SCHEMES = [
  cgminerScheme,
  snmpScheme,
  nvidiaSmiScheme,
  nvidiaSmiSshScheme,
  whatsminerV3Scheme,
  antminerWebScheme,
  bitaxeScheme,
  epicScheme,
  auradineScheme,
  braiinsRestScheme,
  protoScheme,
  goldshellScheme,
] as const satisfies readonly TargetSchemeDescriptor[];

export type TargetScheme = (typeof SCHEMES)[number]['name'];
export const TARGET_SCHEMES: readonly TargetScheme[] = SCHEMES.map((s) => s.name);

export function schemeNamed(name: string): TargetSchemeDescriptor<TargetScheme> | undefined {
  return SCHEMES.find((s: TargetSchemeDescriptor<TargetScheme>) => s.name === name);
}

export function createCollector(target: Target, options: CollectorOptions): Collector {
  const scheme = schemeNamed(target.scheme);
  if (!scheme) throw new TargetError(`unknown scheme "${target.scheme}" (known: ${TARGET_SCHEMES.join(', ')})`);
  return scheme.create(target, options);
}
