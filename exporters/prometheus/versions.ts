import type { DeviceEconomics, DeviceEconomicsSource } from '../../agent/contracts/economics.js';
import type { StoredDevice } from '../../agent/contracts/part.js';
import type { LabelSet } from './label-sets.js';

/** What the renderer keeps per device: its slot, its labels, and what its cached lines were rendered from. */
export interface DeviceEntry extends LabelSet {
  readonly slot: number;
  stored: StoredDevice;
  /** Store version the reading lines were rendered from; -1 before the first render. */
  readingVersion: number;
  /** `prefixVersion` the reading lines were rendered with. */
  readingPrefix: number;
  /** Assessment the economics lines were rendered from. */
  economics: DeviceEconomics | undefined;
  /** `prefixVersion` the economics lines were rendered with; -1 before the first render. */
  economicsPrefix: number;
  /** Sync pass that last found the device in the store. */
  seenPass: number;
  /** Scrape count when the reading lines were last re-rendered, for `stats.changed`. */
  changedAtScrape: number;
}

export function newDeviceEntry(stored: StoredDevice, slot: number, pass: number): DeviceEntry {
  return {
    id: stored.snapshot.id,
    slot,
    stored,
    readingVersion: -1,
    readingPrefix: -1,
    economics: undefined,
    economicsPrefix: -1,
    labelsSeen: undefined,
    labelValues: new Map(),
    prefix: '',
    prefixVersion: 0,
    prefixEpoch: -1,
    seenPass: pass,
    changedAtScrape: -1,
  };
}

/** Whether the reading lines predate the stored reading, the fleet's label names or the device's prefix. */
export function readingStale(entry: DeviceEntry, labelEpoch: number): boolean {
  return entry.readingVersion !== entry.stored.version || entry.prefixEpoch !== labelEpoch || entry.readingPrefix !== entry.prefixVersion;
}

/** Whether the economics lines predate `economics` or the device's prefix; without an assessment every economics family is empty, whatever the prefix. */
export function economicsStale(entry: DeviceEntry, economics: DeviceEconomics | undefined): boolean {
  return economics !== entry.economics || (economics !== undefined && entry.economicsPrefix !== entry.prefixVersion);
}

/** The assessment source and version last rendered from, so a scrape can tell whether any assessment moved. */
export class EconomicsSeen {
  #source: DeviceEconomicsSource | undefined;
  #version = -1;

  /** True when `source` is another source or version than last time; remembers it either way. */
  moved(source: DeviceEconomicsSource | undefined): boolean {
    const version = source?.version ?? -1;
    const moved = source !== this.#source || version !== this.#version;
    this.#source = source;
    this.#version = version;
    return moved;
  }
}
