import type { SnmpProfile } from '../types.js';
import { apcRpdu } from './apc-rpdu/index.js';
import { apcRpdu2 } from './apc-rpdu2/index.js';
import { entitySensor } from './entity-sensor/index.js';
import { hostResources } from './host-resources/index.js';
import { raritanPdu2 } from './raritan-pdu2/index.js';
import { raritanPx } from './raritan-px/index.js';
import { servertechSentry4 } from './servertech-sentry4/index.js';
import { ucdSnmp } from './ucd-snmp/index.js';

/**
 * Every SNMP profile, one line each; adding a device family is a folder `<name>/` (index.ts, README.md,
 * testdata/) and its line here.
 */
export const SNMP_PROFILES: readonly SnmpProfile[] = [apcRpdu2, apcRpdu, raritanPx, raritanPdu2, servertechSentry4, entitySensor, hostResources, ucdSnmp];

export const SNMP_PROFILE_NAMES: readonly string[] = SNMP_PROFILES.map((p) => p.name);

/** What an agent whose sysObjectID no profile claims is read with: the standard sensor table. */
export const FALLBACK_PROFILE: SnmpProfile = entitySensor;

export function profileByName(name: string): SnmpProfile | undefined {
  return SNMP_PROFILES.find((p) => p.name === name);
}

/**
 * The profiles for a sysObjectID: those claiming the longest matching enterprise prefix (a Linux
 * net-snmp agent is read with both HOST-RESOURCES and UCD-SNMP); empty when none claims it.
 */
export function detectProfiles(sysObjectId: string | undefined): SnmpProfile[] {
  if (!sysObjectId) return [];
  const oid = sysObjectId.replace(/^\./, '');
  let best = -1;
  let found: SnmpProfile[] = [];
  for (const profile of SNMP_PROFILES) {
    for (const prefix of profile.sysObjectIds) {
      if (oid !== prefix && !oid.startsWith(`${prefix}.`)) continue;
      if (prefix.length > best) {
        best = prefix.length;
        found = [profile];
      } else if (prefix.length === best && !found.includes(profile)) found.push(profile);
    }
  }
  return found;
}
