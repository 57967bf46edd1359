/**
 * The one interface every exporter reads economics through: per-device assessments and plan entries,
 * the site plan, the site-wide figures the latest round used, and events when a round ends.
 */
import type { DeviceAssessment, Forecast, ForwardDevice, InputName, PlannedDevice, SitePlan } from '../economics/types.js';

/** One device's economics: its assessment and its place in the site plan. */
export interface DeviceEconomics {
  readonly assessment: DeviceAssessment;
  /** Absent until the first plan that includes the device. */
  readonly planned?: PlannedDevice;
  /** Its margin over the forecast's horizon per BTC price scenario, when economics.forecast is set. */
  readonly forward?: ForwardDevice;
}

/** Called after a round with the devices whose recommendation, activity, staleness or plan changed; undefined: all may have. */
export type AssessmentListener = (deviceIds: readonly string[] | undefined) => void;

/** Site-wide figures of the latest round, as exported beside the per-device ones. */
export interface EconomicsFigures {
  hashprice_usd_per_th_day?: number;
  power_price_usd_per_kwh?: number;
  btc_price_usd?: number;
  difficulty?: number;
  replace_drift_ratio: number;
  /** Every input the round read or the config asks for: its age when fetched, and whether it is stale. */
  inputs: readonly { name: InputName; age_s?: number; stale: boolean }[];
}

/** What a per-device renderer needs: each device's entry, and a version bumped by every round. */
export interface DeviceEconomicsSource {
  readonly version: number;
  get(deviceId: string): DeviceEconomics | undefined;
}

export interface EconomicsReader extends DeviceEconomicsSource {
  assessment(deviceId: string): DeviceAssessment | undefined;
  /** Every latest assessment, in store order. */
  assessments(): DeviceAssessment[];
  /** The plan this agent made; undefined on an agent of a split site that does not plan. */
  sitePlan(): SitePlan | undefined;
  /** The site plan as this agent knows it: its own, or the one it read from the agent that plans (served at /api/plan). */
  knownSitePlan(): SitePlan | undefined;
  /** The forward view over economics.forecast.horizon, when the config has a forecast section. */
  forecast(): Forecast | undefined;
  /** Undefined before the first round, or while economics is off. */
  figures(): EconomicsFigures | undefined;
  /** After every round, whatever changed: renderers bring their economics lines up to date then. */
  onRound(listener: () => void): () => void;
  /** After a round that changed a decision (recommendation, activity, staleness, plan). */
  onChange(listener: AssessmentListener): () => void;
}

/** Demand-response and power-price signals an exporter receives (MQTT) and economics follows. */
export interface EconomicSignalSource {
  current(nowMs?: number): {
    readonly demand_response?: { readonly curtail: boolean; readonly target_kw?: number };
    readonly power_price?: { readonly usd_per_kwh: number };
  };
  onChange(listener: (signals: unknown) => void): () => void;
}
