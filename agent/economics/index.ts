/** The economics engine: pure functions over snapshots and inputs, plus the live inputs that feed them. */
export type {
  DeviceAssessment,
  SitePlan,
} from './types.js';
