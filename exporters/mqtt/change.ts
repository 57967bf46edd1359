import type { EconomicsReader } from '../../agent/contracts/economics.js';
import type { DeviceAssessment, PlannedDevice, SitePlan } from '../../agent/economics/types.js';
import { hashAlgorithmOf, type DeviceSnapshot } from '../../agent/snapshot.js';
import { redactSecrets } from '../../agent/redact.js';
import type { DeviceRemovalReason } from '../../agent/contracts/part.js';

/**
 * What the MQTT publisher reads of economics: the latest assessment per device, the site plan and the
 * rounds that changed a decision. Without it, state carries no `assessment` and site no `plan`.
 */
export type EconomicsView = Pick<EconomicsReader, 'assessment' | 'sitePlan' | 'onChange'> & Partial<Pick<EconomicsReader, 'get'>>;

/**
 * A device's state as published: the snapshot exactly as /api/devices gives it, plus its assessment and
 * its entry in the site plan (on every agent of a split site, for the devices it polls).
 */
export type PublishedState = DeviceSnapshot & { assessment?: DeviceAssessment; planned?: PlannedDevice };

export type DeviceEvent =
  | { type: 'device_down'; device: string; at: string; error?: string; error_reason?: string }
  | { type: 'device_up'; device: string; at: string; alert?: string }
  | { type: 'alert_changed'; device: string; at: string; alert?: string; previous?: string }
  | { type: 'recommendation_changed'; device: string; at: string; recommendation?: string; previous?: string; reason?: string }
  | { type: 'device_removed'; device: string; at: string; reason: DeviceRemovalReason };

/** Temperatures move by a degree all the time; below this nobody needs a new message. */
const TEMPERATURE_DEADBAND_C = 2;

/** What an operator calls an alert on a running device: what could not be read while it is up (a missing board, …). */
export function alertOf(snapshot: DeviceSnapshot): string | undefined {
  return snapshot.up ? snapshot.error : undefined;
}

function maxTemperature(snapshot: DeviceSnapshot): number | undefined {
  let max: number | undefined;
  for (const c of Object.values(snapshot.temperatures_c)) if (max === undefined || c > max) max = c;
  return max;
}

function beyondRatio(before: number | undefined, after: number | undefined, ratio: number): boolean {
  if (before === undefined || after === undefined) return before !== after;
  if (before === after) return false;
  return Math.abs(after - before) > ratio * Math.abs(before);
}

function beyondAbsolute(before: number | undefined, after: number | undefined, delta: number): boolean {
  if (before === undefined || after === undefined) return before !== after;
  return Math.abs(after - before) >= delta;
}

function boardStatuses(snapshot: DeviceSnapshot): string {
  return snapshot.boards?.map((b) => b.status).join(',') ?? '';
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * True when `next` differs from what was last published in a way a subscriber cares about: up/down,
 * the error, identity, board health, labels, or hashrate / power beyond the deadband (relative to the
 * last *published* value, so a slow drift is published once it adds up). `observed_at` alone is not a change.
 */
export function meaningfulChange(published: DeviceSnapshot | undefined, next: DeviceSnapshot, deadbandRatio: number): boolean {
  if (published === undefined) return true;
  return (
    published.up !== next.up ||
    published.error !== next.error ||
    published.error_reason !== next.error_reason ||
    published.model !== next.model ||
    published.firmware !== next.firmware ||
    published.vendor !== next.vendor ||
    published.power_source !== next.power_source ||
    boardStatuses(published) !== boardStatuses(next) ||
    beyondRatio(published.hashrate_hs, next.hashrate_hs, deadbandRatio) ||
    beyondRatio(published.power_w, next.power_w, deadbandRatio) ||
    beyondAbsolute(maxTemperature(published), maxTemperature(next), TEMPERATURE_DEADBAND_C) ||
    !sameLabels(published.labels, next.labels)
  );
}

/** True when an assessment changed what a subscriber acts on (not every price tick's decimals). */
export function meaningfulAssessmentChange(before: DeviceAssessment | undefined, after: DeviceAssessment | undefined): boolean {
  if (before === undefined || after === undefined) return before !== after;
  return before.recommendation !== after.recommendation || before.best_activity !== after.best_activity || before.stale !== after.stale;
}

/**
 * The events one new reading implies, against the previous reading of the same device (undefined on
 * first sight: a device first seen down is reported; one first seen up is not, or a restart of the
 * agent would announce the whole farm).
 */
export function readingEvents(previous: DeviceSnapshot | undefined, next: DeviceSnapshot): DeviceEvent[] {
  const at = next.observed_at;
  const device = next.id;
  if (!next.up && (previous === undefined || previous.up)) {
    return [
      {
        type: 'device_down',
        device,
        at,
        ...(next.error !== undefined && { error: redactSecrets(next.error) }),
        ...(next.error_reason !== undefined && { error_reason: next.error_reason }),
      },
    ];
  }
  if (next.up && previous !== undefined && !previous.up) {
    const alert = alertOf(next);
    return [{ type: 'device_up', device, at, ...(alert !== undefined && { alert }) }];
  }
  if (next.up && previous?.up) {
    const before = alertOf(previous);
    const after = alertOf(next);
    if (before !== after) return [{ type: 'alert_changed', device, at, ...(after !== undefined && { alert: after }), ...(before !== undefined && { previous: before }) }];
  }
  return [];
}

export function recommendationEvent(deviceId: string, before: DeviceAssessment | undefined, after: DeviceAssessment | undefined, at: Date): DeviceEvent | undefined {
  if (before?.recommendation === after?.recommendation) return undefined;
  return {
    type: 'recommendation_changed',
    device: deviceId,
    at: at.toISOString(),
    ...(after?.recommendation !== undefined && { recommendation: after.recommendation }),
    ...(before?.recommendation !== undefined && { previous: before.recommendation }),
    ...(after !== undefined && { reason: after.reason }),
  };
}

export interface SiteTotals {
  site: string;
  /** ISO 8601 time these totals were computed. */
  at: string;
  devices: number;
  up: number;
  /** Sums over devices that are up and report the figure; hashrate over SHA-256 miners only, as other algorithms' hashes are not the same unit. */
  hashrate_hs: number;
  power_w: number;
  plan?: SitePlan;
}

export function siteTotals(site: string, snapshots: Iterable<DeviceSnapshot>, plan: SitePlan | undefined, at: Date): SiteTotals {
  let devices = 0;
  let up = 0;
  let hashrate = 0;
  let power = 0;
  for (const s of snapshots) {
    devices++;
    if (!s.up) continue;
    up++;
    if (hashAlgorithmOf(s) === 'sha256') hashrate += s.hashrate_hs ?? 0;
    // A PDU's or meter's watts are the load of the devices behind it: summing them would count it twice.
    if (s.kind !== 'pdu' && s.kind !== 'sensor') power += s.power_w ?? 0;
  }
  return { site, at: at.toISOString(), devices, up, hashrate_hs: hashrate, power_w: power, ...(plan !== undefined && { plan }) };
}
