export { createSnmpCollector, SYSTEM_OID } from './collector.js';
export { createNetSnmpTransport } from './transport.js';
export type { SnmpTransport } from './types.js';
