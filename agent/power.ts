import { canonicalUrl, parseTargetUrl } from '../collectors/target.js';
import { TargetError } from '../collectors/contract.js';
import type { PowerSettings } from '../config/power-schema.js';
import type { DeviceSnapshot } from './snapshot.js';
import type { AmbientReading, DeviceStoreView, SiteReadings } from './contracts/part.js';
import type { DeviceStore } from './state.js';

/**
 * Power attribution: PDU outlet readings become the `pdu` power of the devices they feed, and the
 * site's power, heat load and ambient conditions are summed from what the store holds.
 *
 * Timing: a device is attributed when its own reading is recorded (the latest outlet reading is
 * applied before enrichment), and again whenever its PDU reports, so neither poll order nor the two
 * intervals leave a device without its PDU figure for a whole interval. A PDU that goes down takes
 * its outlet readings with it: devices fall back to their own figure on their next poll.
 *
 * A GPU device is never given the outlet's watts: the outlet feeds the whole node. The node's wall
 * power is exported beside the sum of its GPUs' own draw instead (`potencia_node_*`).
 */
export class PowerAttribution {
  #settings: PowerSettings | undefined;
  /** Mapping targets by the key a device may match on (device id, address or `name` label). */
  #byDevice = new Map<string, OutletRef[]>();
  /** PDU key → the outlet indexes mapped to a device. */
  #mappedOutlets = new Map<string, Set<number>>();
  /** PDU key (device id, canonical URL) → outlet index → watts, from each PDU's latest up reading. */
  readonly #outlets = new Map<string, Map<number, number>>();
  /** Mapped device key → ids of stored devices seen matching it, for re-attribution when a PDU reports. */
  readonly #seenIds = new Map<string, Set<string>>();
  #cached: { generation: number; readings: SiteReadings } | undefined;

  constructor(settings?: PowerSettings) {
    this.configure(settings);
  }

  configure(settings: PowerSettings | undefined): void {
    this.#settings = settings;
    this.#byDevice = new Map();
    this.#mappedOutlets = new Map();
    for (const mapping of settings?.outlets ?? []) {
      const ref = { pdu: pduKey(mapping.pdu), outlet: mapping.outlet };
      const outlets = this.#mappedOutlets.get(ref.pdu);
      if (outlets) outlets.add(ref.outlet);
      else this.#mappedOutlets.set(ref.pdu, new Set([ref.outlet]));
      const list = this.#byDevice.get(mapping.device);
      if (list) list.push(ref);
      else this.#byDevice.set(mapping.device, [ref]);
    }
  }

  get enabled(): boolean {
    return this.#settings !== undefined;
  }

  /**
   * Gives a device on metered outlets their summed reading as `power_by_source_w.pdu`, before
   * enrichment picks its power. Returns the same snapshot.
   */
  attribute(snapshot: DeviceSnapshot): DeviceSnapshot {
    if (this.#byDevice.size === 0 || snapshot.kind === 'gpu' || snapshot.kind === 'pdu') return snapshot;
    const key = this.#matchKey(snapshot);
    if (key === undefined) return snapshot;
    let ids = this.#seenIds.get(key);
    if (!ids) {
      ids = new Set();
      this.#seenIds.set(key, ids);
    }
    ids.add(snapshot.id);
    const watts = this.#outletWatts(key);
    if (watts === undefined) return snapshot;
    if (snapshot.up) {
      snapshot.power_by_source_w = { ...snapshot.power_by_source_w, pdu: watts };
      // A measurement now exists: a catalog estimate made earlier no longer stands.
      delete snapshot.power_by_source_w.estimated;
    } else {
      // A miner that does not answer may still draw (hung firmware, fans on): its outlet says how much,
      // and that draw counts against the cap and costs money like any other.
      snapshot.power_w = watts;
      snapshot.power_source = 'pdu';
      snapshot.power_by_source_w = { pdu: watts };
    }
    return snapshot;
  }

  /**
   * After a poll's snapshots are stored: PDU readings update the outlet table, and the stored devices
   * on that PDU's mapped outlets are attributed again with `enrich`. Returns the ids re-stored.
   */
  afterRecord(snapshots: readonly DeviceSnapshot[], store: DeviceStore, enrich: (s: DeviceSnapshot) => DeviceSnapshot): string[] {
    // Nearly every poll is a miner's or a GPU node's: nothing to do, and nothing to allocate for it.
    if (!snapshots.some((s) => s.kind === 'pdu')) return [];
    const touched = new Set<string>();
    for (const s of snapshots) {
      if (s.kind !== 'pdu') continue;
      const keys = pduKeysOf(s);
      const readings = new Map<number, number>();
      if (s.up) for (const o of s.outlets ?? []) if (o.power_w !== undefined) readings.set(o.index, o.power_w);
      for (const key of keys) {
        if (readings.size > 0) this.#outlets.set(key, readings);
        else this.#outlets.delete(key);
        for (const [device, refs] of this.#byDevice) if (refs.some((r) => r.pdu === key)) touched.add(device);
      }
    }
    const restored: string[] = [];
    for (const device of touched) {
      for (const id of this.#seenIds.get(device) ?? []) {
        const stored = store.get(id);
        if (!stored) continue;
        const copy: DeviceSnapshot = { ...stored, power_by_source_w: { ...stored.power_by_source_w } };
        if (this.#outletWatts(device) === undefined) continue;
        store.upsert(enrich(this.attribute(copy)));
        restored.push(id);
      }
    }
    return restored;
  }

  /** Site power and its accounting, heat load per room and rack, ambient per room, and GPU nodes' wall power, from the store now. */
  siteReadings(store: DeviceStoreView): SiteReadings {
    const out: SiteReadings = { heatLoadW: [], ambient: [], nodes: [], accounting: { attributedW: 0, unattributedMeteredW: 0 } };
    let unattributedW = 0;
    const meter = this.#settings?.site_meter === undefined ? undefined : pduKey(this.#settings.site_meter);
    let pduSum: number | undefined;
    const pduByPlace = new Map<string, number>();
    const consumersByPlace = new Map<string, number>();
    const gpuByAddress = new Map<string, { watts: number; place: string }>();
    const ambient = new Map<string, { t: number[]; h: number[] }>();
    for (const s of store.values()) {
      if (!s.up) {
        if (s.kind !== 'pdu' && s.power_source === 'pdu' && s.power_w !== undefined) out.accounting.attributedW += s.power_w;
        continue;
      }
      const place = placeKey(s);
      const isMeter = meter !== undefined && pduKeysOf(s).includes(meter);
      if (isMeter && s.power_w !== undefined) out.sitePowerW = { watts: s.power_w, source: 'meter' };
      if (s.kind === 'pdu' && s.power_w !== undefined && !isMeter) {
        pduSum = (pduSum ?? 0) + s.power_w;
        unattributedW += Math.max(0, s.power_w - this.#mappedOutletWatts(s));
        pduByPlace.set(place, (pduByPlace.get(place) ?? 0) + s.power_w);
      } else if ((s.kind === 'asic' || s.kind === 'host') && s.power_w !== undefined) {
        consumersByPlace.set(place, (consumersByPlace.get(place) ?? 0) + s.power_w);
        out.accounting.attributedW += s.power_w;
      } else if (s.kind === 'gpu' && s.power_w !== undefined && s.address !== undefined) {
        const node = gpuByAddress.get(s.address);
        if (node) node.watts += s.power_w;
        else gpuByAddress.set(s.address, { watts: s.power_w, place });
      }
      if (s.kind === 'sensor' || s.kind === 'pdu') {
        const room = s.labels.room ?? '';
        let a = ambient.get(room);
        if (!a) {
          a = { t: [], h: [] };
          ambient.set(room, a);
        }
        a.t.push(...Object.values(s.temperatures_c));
        if (s.humidity_ratio) a.h.push(...Object.values(s.humidity_ratio));
      }
    }
    if (out.sitePowerW === undefined && meter === undefined && pduSum !== undefined) out.sitePowerW = { watts: pduSum, source: 'pdu_sum' };

    // A GPU node on a metered outlet heats its rack with its wall power, not with its GPUs' share of it.
    for (const [address, gpus] of gpuByAddress) {
      const wall = this.#byDevice.has(address) ? this.#outletWatts(address) : undefined;
      out.nodes.push({ node: address, gpuPowerW: gpus.watts, ...(wall !== undefined ? { wallPowerW: wall } : {}) });
      consumersByPlace.set(gpus.place, (consumersByPlace.get(gpus.place) ?? 0) + (wall ?? gpus.watts));
      out.accounting.attributedW += wall ?? gpus.watts;
    }
    // Read from the PDUs alone, so an outlet mapped to a device that is never polled shows as a
    // shortfall against the metered total instead of vanishing into the remainder.
    out.accounting.unattributedMeteredW = unattributedW;
    // Where a PDU is labelled with the room and rack, it measured everything plugged in there.
    for (const place of new Set([...pduByPlace.keys(), ...consumersByPlace.keys()])) {
      const [room, rack] = place.split('\u0000') as [string, string];
      out.heatLoadW.push({ room, rack, watts: pduByPlace.get(place) ?? consumersByPlace.get(place)! });
    }
    for (const [room, a] of ambient) {
      const entry: AmbientReading = { room };
      if (a.t.length) entry.temperatureC = mean(a.t);
      if (a.h.length) entry.humidityRatio = mean(a.h);
      if (a.t.length || a.h.length) out.ambient.push(entry);
    }
    return out;
  }

  /** Site readings from the store now, computed again only after the store changed. */
  readings(store: DeviceStoreView): SiteReadings {
    if (this.#cached?.generation !== store.generation) this.#cached = { generation: store.generation, readings: this.siteReadings(store) };
    return this.#cached.readings;
  }

  #matchKey(s: DeviceSnapshot): string | undefined {
    if (this.#byDevice.has(s.id)) return s.id;
    if (s.address !== undefined && this.#byDevice.has(s.address)) return s.address;
    const name = s.labels.name;
    if (name !== undefined && this.#byDevice.has(name)) return name;
    return undefined;
  }

  /** What a PDU's outlets that are mapped to a device read: the rest of its total is nobody's. */
  #mappedOutletWatts(pdu: DeviceSnapshot): number {
    const keys = pduKeysOf(pdu);
    let sum = 0;
    for (const o of pdu.outlets ?? []) {
      if (o.power_w === undefined) continue;
      if (keys.some((key) => this.#mappedOutlets.get(key)?.has(o.index))) sum += o.power_w;
    }
    return sum;
  }

  /** The sum of a device's outlets, or undefined unless every one of them has a reading. */
  #outletWatts(deviceKey: string): number | undefined {
    const refs = this.#byDevice.get(deviceKey);
    if (!refs) return undefined;
    let sum = 0;
    for (const ref of refs) {
      const watts = this.#outlets.get(ref.pdu)?.get(ref.outlet);
      if (watts === undefined) return undefined;
      sum += watts;
    }
    return sum;
  }
}

interface OutletRef {
  pdu: string;
  outlet: number;
}

/**
 * How config names a PDU: a target URL (credentials, profile and default port do not matter, so
 * `snmp://public@10.0.0.9` and `snmp://10.0.0.9:161?profile=apc-rpdu2` are the same PDU) or a device id.
 */
export function pduKey(reference: string): string {
  if (!reference.includes('://')) return reference;
  try {
    const parsed = parseTargetUrl(reference);
    if (parsed.hosts.length === 1) return canonicalUrl(parsed.scheme, parsed.hosts[0]!, parsed.port);
  } catch (err) {
    if (!(err instanceof TargetError)) throw err;
  }
  return reference;
}

function pduKeysOf(s: DeviceSnapshot): string[] {
  return [s.id, pduKey(s.target)];
}

function placeKey(s: DeviceSnapshot): string {
  return `${s.labels.room ?? ''}\u0000${s.labels.rack ?? ''}`;
}

function mean(values: readonly number[]): number {
  return Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 1000) / 1000;
}
