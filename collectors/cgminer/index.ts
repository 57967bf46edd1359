export { cgminerRequest, DEFAULT_MAX_RESPONSE_BYTES, type CgminerRequestOptions } from './client.js';
export { CgminerError } from './errors.js';
export { parseCgminerJson, type ParsedReply, type Repair } from './repair.js';
export { pollCgminer, BASE_COMMANDS, type PollOptions, type EndpointMemory } from './poll.js';
export { normalizeReply, dialectFor, DIALECTS, type CgminerDialect, type NormalizeContext } from './dialects/index.js';
export { createCgminerCollector, type CgminerCollectorOptions } from './collector.js';
export { toCgminerReply, statusOf, rowsOf, isCgminerShaped, type CgminerReply, type CgminerResponse, type CgminerStatus } from './reply.js';
