import { findModel } from './catalog.js';
import { efficiencyJPerTh, POWER_SOURCE_PRECEDENCE, type DeviceSnapshot, type PowerSource } from './snapshot.js';

/**
 * Completes a collector's snapshot with what the agent knows beyond the device: the model's nominal
 * hashrate and, where its collector did not say, an algorithm other than SHA-256, which power figure to
 * trust, and efficiency. Runs once per poll, before the snapshot is stored.
 *
 * Power precedence is pdu > reported > gpu_counter > nameplate > estimated. An estimate (catalog J/TH ×
 * measured hashrate) is kept only when nothing was measured, and efficiency is never derived from it:
 * an efficiency computed from the nominal J/TH would always read "as new" and hide drift.
 */
export function enrichSnapshot(snapshot: DeviceSnapshot): DeviceSnapshot {
  if (!snapshot.up) return snapshot;
  const spec = snapshot.kind === 'asic' ? findModel(snapshot.model) : undefined;
  if (spec && snapshot.nominal_hashrate_hs === undefined) snapshot.nominal_hashrate_hs = spec.nominal_hashrate_hs;
  // Said once here, every reader (economics, /metrics, MQTT) takes the same algorithm for it.
  if (spec && snapshot.algorithm === undefined && spec.algorithm !== 'sha256') snapshot.algorithm = spec.algorithm;

  const bySource: Partial<Record<PowerSource, number>> = { ...snapshot.power_by_source_w };
  if (snapshot.power_w !== undefined && snapshot.power_source !== undefined && bySource[snapshot.power_source] === undefined) {
    bySource[snapshot.power_source] = snapshot.power_w;
  }
  if (!POWER_SOURCE_PRECEDENCE.some((s) => s !== 'estimated' && isReading(bySource[s])) && spec && isReading(snapshot.hashrate_hs)) {
    bySource.estimated = Math.round((spec.nominal_efficiency_j_per_th * snapshot.hashrate_hs!) / 1e12);
  }
  const chosen = POWER_SOURCE_PRECEDENCE.find((s) => isReading(bySource[s]));
  if (chosen) {
    snapshot.power_w = bySource[chosen];
    snapshot.power_source = chosen;
    snapshot.power_by_source_w = bySource;
  }
  if (chosen && chosen !== 'estimated' && snapshot.kind === 'asic') {
    const efficiency = efficiencyJPerTh(snapshot.power_w, snapshot.hashrate_hs);
    if (efficiency !== undefined) snapshot.efficiency_j_per_th = Math.round(efficiency * 100) / 100;
  }
  return snapshot;
}

function isReading(value: number | undefined): boolean {
  return value !== undefined && Number.isFinite(value) && value > 0;
}
