export { createNvidiaCollector, NvidiaSmiCollector, type NvidiaCollectorOptions } from './collector.js';
export { commandLine, nodeProblem, nvidiaNodeOf, shellQuote, sshFailureReason, DEFAULT_BINARY, type NvidiaNode } from './command.js';
export { EnergyMeter } from './energy.js';
export { ExecError, runCommand, type ExecOptions, type ExecResult } from './exec.js';
export {
  BASELINE_FIELDS, CLOCK_EVENT_REASON_NAMES, CLOCK_EVENT_REASONS, QUANTITIES,
  decodeClockEventReasons, isAbsent, parseHelpQueryGpu, parseHex, parseNumber, planForColumns, planQuery,
  type ClockEventReason, type Quantity, type QueryPlan,
} from './fields.js';
export { headerName, parseCsvWithHeader, parseQueryOutput, readGpuRow, type GpuRowContext, type QueryOutput } from './parse.js';
