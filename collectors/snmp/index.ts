export { createSnmpCollector, SYSTEM_OID, type SnmpCollectorOptions } from './collector.js';
export { SNMP_PROFILES, SNMP_PROFILE_NAMES, detectProfiles, profileByName } from './profiles/index.js';
export { createNetSnmpTransport, SnmpError, type NetSnmpTransportOptions, type SnmpAuth } from './transport.js';
export { SnmpData, type SnmpProfile, type SnmpTransport, type SnmpValue, type SnmpVarbind } from './types.js';
