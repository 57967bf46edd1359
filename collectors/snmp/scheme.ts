import type { TargetSchemeDescriptor } from '../contract.js';
import { createSnmpCollector } from './collector.js';
import { SNMP_PROFILE_NAMES, SNMP_PROFILES } from './profiles/index.js';

/** `snmp://COMMUNITY@HOST[:PORT][?profile=…&version=…&context=…]`, or `snmp://v3:NAME@HOST` for an SNMPv3 user from config. */
export const snmpScheme: TargetSchemeDescriptor<'snmp'> = {
  name: 'snmp',
  defaultPort: 161,
  params: {
    profile: (v) => {
      const unknown = v.split(',').filter((name) => !SNMP_PROFILE_NAMES.includes(name));
      return unknown.length ? `unknown SNMP profile "${unknown.join(', ')}" (known: ${SNMP_PROFILE_NAMES.join(', ')})` : undefined;
    },
    version: (v) => (['1', '2c'].includes(v) ? undefined : `version must be 1 or 2c (SNMPv3 users come from the snmp.credentials config: snmp://v3:NAME@HOST)`),
    context: () => undefined,
  },
  takesUserinfo: true,
  kinds: [...new Set(SNMP_PROFILES.map((p) => p.kind))],
  create: (target, options) => createSnmpCollector(target, options.snmpSettings ? { settings: options.snmpSettings } : {}),
};
