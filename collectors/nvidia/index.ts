export { NvidiaSmiCollector } from './collector.js';
export { commandLine, nvidiaNodeOf, shellQuote, sshFailureReason } from './command.js';
export { EnergyMeter } from './energy.js';
export {
  decodeClockEventReasons,
  isAbsent,
  parseHelpQueryGpu,
  parseHex,
  parseNumber,
  planForColumns,
  planQuery,
} from './fields.js';
export { parseCsvWithHeader, parseQueryOutput, readGpuRow } from './parse.js';
