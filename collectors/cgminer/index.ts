export { cgminerRequest } from './client.js';
export { CgminerError } from './errors.js';
export { parseCgminerJson } from './repair.js';
export { pollCgminer, type EndpointMemory } from './poll.js';
export { normalizeReply, dialectFor } from './dialects/index.js';
export { createCgminerCollector } from './collector.js';
export { toCgminerReply, isCgminerShaped, type CgminerReply } from './reply.js';
