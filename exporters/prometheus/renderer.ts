import type { DeviceEconomics, DeviceEconomicsSource } from '../../agent/contracts/economics.js';
import type { DeviceChange, DeviceStoreView, StoredDevice } from '../../agent/contracts/part.js';
import { DEVICE_FAMILIES, FAMILY_LABEL_NAMES, type DeviceFamily, type DeviceView } from './families.js';
import { TextBuffer } from './text-buffer.js';
import { escapeLabelValue, familyHeader, sanitizeLabelName } from './text-format.js';

/** Families whose lines come from the reading, and those that come only from the economics assessment. */
const READING = 0;
const ECONOMICS = 1;
type Group = typeof READING | typeof ECONOMICS;

/** Slab metadata per device slot: where its lines start, how many bytes the slot holds, how many it uses. */
const START = 0;
const CAPACITY = 1;
const LENGTH = 2;
const SLOT_FIELDS = 3;

/** Below this a slab is never compacted: the copy would cost more than the bytes it frees. */
const COMPACT_MIN_BYTES = 64 * 1024;

/**
 * One family's lines for every device, side by side in one byte buffer off the V8 heap, so a scrape
 * copies a family in a few large runs and garbage collection never scans the cache.
 */
class FamilySlab {
  bytes: Buffer = Buffer.allocUnsafeSlow(4096);
  /** Bytes handed out to slots; new and outgrown slots are appended here. */
  used = 0;
  /** Bytes of slots given up when a device's lines outgrew them; reclaimed by compaction. */
  dead = 0;
  /** Bytes of lines the slots hold now: what a scrape copies. */
  live = 0;
  /** SLOT_FIELDS int32 per device slot. */
  meta: Int32Array;
  readonly header: Buffer;

  constructor(family: DeviceFamily, slotCapacity: number) {
    this.header = Buffer.from(familyHeader(family.name, family.type, family.help), 'utf8');
    this.meta = new Int32Array(slotCapacity * SLOT_FIELDS);
  }
}

/** What the renderer keeps per device. */
interface DeviceEntry {
  readonly id: string;
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
  /** `snapshot.labels` as last seen: collectors usually pass the target's own object, so identity is a cheap test. */
  labelsSeen: Record<string, string> | undefined;
  /** Sanitized operator label name → value. */
  labelValues: Map<string, string>;
  /** `device="…",<operator labels>`, escaped once per identity change. */
  prefix: string;
  /** Bumped whenever `prefix` is rebuilt, so cached lines know they carry an old one. */
  prefixVersion: number;
  /** Fleet label-name epoch the prefix was built under; -1 forces a rebuild. */
  prefixEpoch: number;
  /** Sync pass that last found the device in the store. */
  seenPass: number;
  /** Scrape count when the reading lines were last re-rendered, for `stats.changed`. */
  changedAtScrape: number;
}

export interface RenderStats {
  devices: number;
  /** Devices whose reading lines were re-rendered since the previous scrape, on write or at this scrape. */
  changed: number;
  /** Devices whose reading lines this scrape had to render itself: never rendered on write, or re-labelled. */
  renderedAtScrape: number;
  /** Devices whose economics lines this scrape re-rendered (an assessment round since they were last rendered). */
  economicsAtScrape: number;
  /** Bytes the per-family caches hold, off the V8 heap. */
  cachedBytes: number;
}

/**
 * Renders device families from a DeviceStoreView into the text format, rendering on write: a device's
 * lines are rendered when its reading changes (the store's change event) and kept as bytes, so a
 * scrape only copies bytes.
 *
 * Layout. Each family has one slab (a byte buffer off the V8 heap) in which every device owns a
 * slot; a scrape writes the family's header and copies the slab's live bytes in as few runs as the
 * slots allow. Slots are laid out in device order, so a freshly filled slab is a single run; a device
 * whose lines shrink leaves a gap (one more run), one whose lines grow past its slot moves to the end
 * of the slab (two more runs) and the slab is compacted once moved-out space exceeds half of it. The
 * text format needs each family's lines together but not any order of devices within a family.
 *
 * Why family-major and not one buffer per device: a scrape writes family by family, so per-device
 * buffers mean one copy per device and family (330,000 at 10,000 devices), each from a different
 * page; measured at ~100 ms for 10,000 devices, no better than rendering the lines afresh. Family
 * slabs turn that into ~30 sequential copies plus one per gap (bench/render.ts).
 *
 * Figures (bench/render.ts, 10,000 S19-like miners, 330,000 series, 2-core VM under load): a scrape
 * after a full poll round takes ~5-9 ms (writing every line at scrape time took ~115-150 ms); the cost
 * moved into the store upserts, ~18-25 us per device, i.e. ~180-250 ms per full round, somewhat more
 * than writing the lines at scrape time did, because each device's lines go to ~30 slabs and those
 * copies miss the cache. What this buys: scrape latency no longer grows with rendering, and rendering
 * happens once per reading rather than once per scrape.
 *
 * Economics families (their lines read only the labels and the assessment) are a second group: a
 * new assessment re-renders only them, at the device's next reading or at the next scrape, whichever
 * comes first; a reading never re-renders them.
 *
 * Correctness never depends on change events: a scrape first brings every device the store holds up
 * to date (first scrape after start, devices added before the renderer existed), and a scrape is one
 * synchronous pass, so no device can change halfway through it.
 *
 * Every device carries the same operator label names (missing ones empty), so when a label name
 * appears or disappears across the fleet, every device's lines are re-rendered once, at the next
 * scrape (or its own next reading, if that comes first).
 */
export class DeviceMetricsRenderer {
  readonly #store: DeviceStoreView;
  readonly #slabs: FamilySlab[];
  /** Per group, the families it renders and their slabs, in family order. */
  readonly #groupFamilies: [DeviceFamily[], DeviceFamily[]] = [[], []];
  readonly #groupSlabs: [FamilySlab[], FamilySlab[]] = [[], []];
  #scratch = Buffer.allocUnsafeSlow(16 * 1024);
  readonly #parts: string[] = [];
  readonly #ends: Int32Array;
  readonly #entries = new Map<string, DeviceEntry>();
  /** Device per slot; undefined for a free slot. */
  readonly #slotOwners: (DeviceEntry | undefined)[] = [];
  readonly #freeSlots: number[] = [];
  #slotCapacity = 1024;
  /** Sanitized operator label name → how many devices carry it. */
  readonly #labelNameCounts = new Map<string, number>();
  readonly #sanitizedNames = new Map<string, string>();
  #labelNames: string[] = [];
  #labelNamesChanged = false;
  #labelEpoch = 0;
  /** Store generation every cached line reflects; -1 until the first scrape synced the whole store. */
  #syncedGeneration = -1;
  /** Set when some devices' lines are known stale (a label-name change) and only a full pass finds them. */
  #fullSyncNeeded = true;
  #pass = 0;
  #scrapes = 0;
  #changedSinceScrape = 0;
  readonly #economicsSource: (() => DeviceEconomicsSource | undefined) | undefined;
  #economicsSeen: DeviceEconomicsSource | undefined;
  #economicsVersionSeen = -1;
  #stats: RenderStats = { devices: 0, changed: 0, renderedAtScrape: 0, economicsAtScrape: 0, cachedBytes: 0 };
  readonly #unsubscribe: () => void;

  /** `economics`: where each device's assessment comes from, read at every render (it appears after the agent starts). */
  constructor(store: DeviceStoreView, families: readonly DeviceFamily[] = DEVICE_FAMILIES, economics?: () => DeviceEconomicsSource | undefined) {
    this.#store = store;
    this.#economicsSource = economics;
    this.#slabs = families.map((family) => new FamilySlab(family, this.#slotCapacity));
    families.forEach((family, i) => {
      const group: Group = family.input === 'economics' ? ECONOMICS : READING;
      this.#groupFamilies[group].push(family);
      this.#groupSlabs[group].push(this.#slabs[i]!);
    });
    this.#ends = new Int32Array(families.length);
    this.#unsubscribe = store.onChange(this.#onChange);
  }

  get stats(): Readonly<RenderStats> {
    return this.#stats;
  }

  /** Operator label names every device series carries after `device`, in order. */
  get operatorLabelNames(): readonly string[] {
    return this.#labelNames;
  }

  /** Stops rendering on write; the renderer must not be used afterwards. */
  close(): void {
    this.#unsubscribe();
    this.#syncedGeneration = -1;
  }

  /** The device families as one string; the HTTP path uses writeTo() with a reused buffer instead. */
  render(): string {
    const out = new TextBuffer();
    this.writeTo(out);
    return out.toString();
  }

  /** Appends every device family to `out`. */
  writeTo(out: TextBuffer): void {
    const { renderedAtScrape, economicsAtScrape } = this.#sync();
    const slabs = this.#slabs;
    let cachedBytes = 0;
    let bound = 0;
    for (const slab of slabs) {
      cachedBytes += slab.bytes.length;
      bound += slab.header.length + slab.live;
    }
    out.reserve(bound);
    const slotCount = this.#slotOwners.length;
    for (const slab of slabs) {
      const meta = slab.meta;
      const bytes = slab.bytes;
      let runStart = 0;
      let runEnd = 0;
      let headerWritten = false;
      for (let k = 0, end = slotCount * SLOT_FIELDS; k < end; k += SLOT_FIELDS) {
        const length = meta[k + LENGTH]!;
        if (length === 0) continue;
        const start = meta[k + START]!;
        if (start === runEnd) {
          runEnd += length;
          continue;
        }
        if (runEnd > runStart) {
          if (!headerWritten) {
            out.writeBytes(slab.header, 0, slab.header.length);
            headerWritten = true;
          }
          out.writeBytes(bytes, runStart, runEnd);
        }
        runStart = start;
        runEnd = start + length;
      }
      if (runEnd > runStart) {
        if (!headerWritten) out.writeBytes(slab.header, 0, slab.header.length);
        out.writeBytes(bytes, runStart, runEnd);
      }
    }
    this.#stats = { devices: this.#entries.size, changed: this.#changedSinceScrape, renderedAtScrape, economicsAtScrape, cachedBytes };
    this.#changedSinceScrape = 0;
    this.#scrapes++;
  }

  readonly #onChange = (change: DeviceChange): void => {
    const generation = this.#store.generation;
    const wasInSync = this.#syncedGeneration === generation - 1;
    if (change.type === 'upsert') this.#applyReading(change.device);
    else this.#forget(change.device.snapshot.id);
    if (wasInSync) this.#syncedGeneration = generation;
  };

  /** Render on write: the device's reading lines now, and its economics lines if its assessment moved. */
  #applyReading(stored: StoredDevice): void {
    const entry = this.#entries.get(stored.snapshot.id) ?? this.#add(stored);
    entry.stored = stored;
    this.#updateLabels(entry);
    this.#settleLabelNames();
    this.#renderReading(entry);
    if (this.#groupFamilies[ECONOMICS].length > 0) this.#refreshEconomics(entry, this.#economicsSource?.());
  }

  /** Re-renders the economics lines whose assessment moved, ahead of the next scrape. */
  refreshEconomics(): void {
    const economics = this.#economicsSource?.();
    if (this.#groupFamilies[ECONOMICS].length === 0 || economics === undefined) return;
    if (economics === this.#economicsSeen && economics.version === this.#economicsVersionSeen) return;
    this.#economicsSeen = economics;
    this.#economicsVersionSeen = economics.version;
    for (const entry of this.#entries.values()) this.#refreshEconomics(entry, economics);
  }

  /** Brings every device's lines up to date with the store and the assessments; cheap when events kept them current. */
  #sync(): { renderedAtScrape: number; economicsAtScrape: number } {
    let renderedAtScrape = 0;
    let economicsAtScrape = 0;
    const economics = this.#economicsSource?.();
    const economicsVersion = economics?.version ?? -1;
    const economicsMoved = economics !== this.#economicsSeen || economicsVersion !== this.#economicsVersionSeen;
    this.#economicsSeen = economics;
    this.#economicsVersionSeen = economicsVersion;
    const hasEconomics = this.#groupFamilies[ECONOMICS].length > 0;
    const generation = this.#store.generation;

    if (generation !== this.#syncedGeneration || this.#fullSyncNeeded) {
      const pass = ++this.#pass;
      for (const stored of this.#store.entries()) {
        let entry = this.#entries.get(stored.snapshot.id);
        if (entry === undefined) entry = this.#add(stored);
        entry.seenPass = pass;
        if (entry.stored !== stored || entry.labelsSeen === undefined) {
          entry.stored = stored;
          this.#updateLabels(entry);
        }
      }
      if (this.#entries.size > this.#store.size) {
        for (const entry of [...this.#entries.values()]) if (entry.seenPass !== pass) this.#forget(entry.id);
      }
      this.#settleLabelNames();
      for (const entry of this.#entries.values()) {
        if (this.#readingStale(entry)) {
          this.#renderReading(entry);
          renderedAtScrape++;
        }
        if (hasEconomics && this.#refreshEconomics(entry, economics)) economicsAtScrape++;
      }
      this.#syncedGeneration = generation;
      this.#fullSyncNeeded = false;
    } else if (hasEconomics && economicsMoved) {
      for (const entry of this.#entries.values()) if (this.#refreshEconomics(entry, economics)) economicsAtScrape++;
    }
    return { renderedAtScrape, economicsAtScrape };
  }

  #readingStale(entry: DeviceEntry): boolean {
    return entry.readingVersion !== entry.stored.version || entry.prefixEpoch !== this.#labelEpoch || entry.readingPrefix !== entry.prefixVersion;
  }

  #renderReading(entry: DeviceEntry): void {
    this.#ensurePrefix(entry);
    const stored = entry.stored;
    // Marked first: should a family throw, the next scrape renders the device again rather than serve half of it.
    entry.readingVersion = -1;
    try {
      this.#renderGroup(entry, READING, { snapshot: stored.snapshot, observedAtMs: stored.observedAtMs, labels: entry.prefix });
    } catch (err) {
      this.#fullSyncNeeded = true;
      throw err;
    }
    entry.readingVersion = stored.version;
    entry.readingPrefix = entry.prefixVersion;
    if (entry.changedAtScrape !== this.#scrapes) {
      entry.changedAtScrape = this.#scrapes;
      this.#changedSinceScrape++;
    }
  }

  /** Re-renders the device's economics lines if its assessment or prefix moved; true when it did. */
  #refreshEconomics(entry: DeviceEntry, source: DeviceEconomicsSource | undefined): boolean {
    const economics = source?.get(entry.id);
    this.#ensurePrefix(entry);
    // Without an assessment every economics family is empty, whatever the prefix.
    if (economics === entry.economics && (economics === undefined || entry.economicsPrefix === entry.prefixVersion)) return false;
    const stored = entry.stored;
    entry.economicsPrefix = -1;
    try {
      this.#renderGroup(entry, ECONOMICS, { snapshot: stored.snapshot, observedAtMs: stored.observedAtMs, labels: entry.prefix, economics });
    } catch (err) {
      this.#fullSyncNeeded = true;
      throw err;
    }
    entry.economics = economics;
    entry.economicsPrefix = entry.prefixVersion;
    return true;
  }

  /**
   * Renders one group's families for the device into their slabs. The lines are gathered into one
   * string and encoded once, then each family's bytes are copied to its slab: encoding each family's
   * string on its own measured 1.5x slower at 10,000 devices (a fresh rope costs ~350 ns a native
   * write, a copy ~100 ns), and batching devices to write the slabs one at a time did not pay.
   */
  #renderGroup(entry: DeviceEntry, group: Group, view: DeviceView): void {
    const families = this.#groupFamilies[group];
    const slabs = this.#groupSlabs[group];
    const parts = this.#parts;
    const ends = this.#ends;
    let text = '';
    for (let i = 0; i < families.length; i++) {
      const lines = families[i]!.lines(view);
      parts[i] = lines;
      text += lines;
      ends[i] = text.length;
    }
    // UTF-8 needs at most 3 bytes per UTF-16 code unit.
    if (text.length * 3 > this.#scratch.length) this.#scratch = Buffer.allocUnsafeSlow(text.length * 3 + 1024);
    const scratch = this.#scratch;
    if (scratch.write(text, 0, 'utf8') !== text.length) {
      // Not all ASCII: character offsets are not byte offsets.
      let end = 0;
      for (let i = 0; i < families.length; i++) ends[i] = end += Buffer.byteLength(parts[i]!, 'utf8');
    }
    parts.length = 0;
    let start = 0;
    for (let i = 0; i < families.length; i++) {
      const end = ends[i]!;
      this.#place(slabs[i]!, entry.slot, scratch, start, end);
      start = end;
    }
  }

  /** Puts `source[start, end)` in the device's slot of `slab`, moving the slot to the slab's end if it outgrew it. */
  #place(slab: FamilySlab, slot: number, source: Buffer, start: number, end: number): void {
    const length = end - start;
    const k = slot * SLOT_FIELDS;
    let meta = slab.meta;
    slab.live += length - meta[k + LENGTH]!;
    if (length <= meta[k + CAPACITY]!) {
      if (length > 0) source.copy(slab.bytes, meta[k + START]!, start, end);
      meta[k + LENGTH] = length;
      return;
    }
    slab.dead += meta[k + CAPACITY]!;
    meta[k + CAPACITY] = 0;
    meta[k + LENGTH] = 0;
    if (slab.dead > slab.used >> 1 && slab.used > COMPACT_MIN_BYTES) this.#compact(slab, length);
    if (slab.used + length > slab.bytes.length) this.#growSlab(slab, slab.used + length);
    meta = slab.meta;
    meta[k + START] = slab.used;
    meta[k + CAPACITY] = length;
    meta[k + LENGTH] = length;
    source.copy(slab.bytes, slab.used, start, end);
    slab.used += length;
  }

  /** Rewrites the slab with every live slot in slot order and no moved-out space, leaving room for `extra` bytes. */
  #compact(slab: FamilySlab, extra: number): void {
    const meta = slab.meta;
    let live = 0;
    for (let slot = 0; slot < this.#slotOwners.length; slot++) {
      if (this.#slotOwners[slot] === undefined) meta[slot * SLOT_FIELDS + CAPACITY] = 0;
      live += meta[slot * SLOT_FIELDS + CAPACITY]!;
    }
    const next = Buffer.allocUnsafeSlow(Math.max(4096, Math.ceil((live + extra) * 1.25)));
    let used = 0;
    for (let k = 0, end = this.#slotOwners.length * SLOT_FIELDS; k < end; k += SLOT_FIELDS) {
      const capacity = meta[k + CAPACITY]!;
      if (capacity === 0) continue;
      slab.bytes.copy(next, used, meta[k + START]!, meta[k + START]! + meta[k + LENGTH]!);
      meta[k + START] = used;
      used += capacity;
    }
    slab.bytes = next;
    slab.used = used;
    slab.dead = 0;
  }

  #growSlab(slab: FamilySlab, needed: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(needed, Math.ceil(slab.bytes.length * 1.5)));
    slab.bytes.copy(next, 0, 0, slab.used);
    slab.bytes = next;
  }

  #add(stored: StoredDevice): DeviceEntry {
    const id = stored.snapshot.id;
    const slot = this.#freeSlots.pop() ?? this.#slotOwners.length;
    if (slot >= this.#slotCapacity) {
      this.#slotCapacity *= 2;
      for (const slab of this.#slabs) {
        const meta = new Int32Array(this.#slotCapacity * SLOT_FIELDS);
        meta.set(slab.meta);
        slab.meta = meta;
      }
    }
    const entry: DeviceEntry = {
      id,
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
      seenPass: this.#pass,
      changedAtScrape: -1,
    };
    this.#entries.set(id, entry);
    this.#slotOwners[slot] = entry;
    return entry;
  }

  /** Drops the device's lines from every family; its slot (and the room it holds) goes to the next new device. */
  #forget(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#slotOwners[entry.slot] = undefined;
    for (const slab of this.#slabs) {
      slab.live -= slab.meta[entry.slot * SLOT_FIELDS + LENGTH]!;
      slab.meta[entry.slot * SLOT_FIELDS + LENGTH] = 0;
    }
    this.#freeSlots.push(entry.slot);
    for (const name of entry.labelValues.keys()) this.#countLabelName(name, -1);
    this.#settleLabelNames();
  }

  #ensurePrefix(entry: DeviceEntry): void {
    if (entry.prefixEpoch === this.#labelEpoch) return;
    let prefix = `device="${escapeLabelValue(entry.id)}"`;
    for (const name of this.#labelNames) prefix += `,${name}="${escapeLabelValue(entry.labelValues.get(name) ?? '')}"`;
    entry.prefix = prefix;
    entry.prefixVersion++;
    entry.prefixEpoch = this.#labelEpoch;
  }

  #updateLabels(entry: DeviceEntry): void {
    const labels = entry.stored.snapshot.labels;
    if (labels === entry.labelsSeen) return;
    entry.labelsSeen = labels;
    const next = new Map<string, string>();
    for (const key of Object.keys(labels).sort()) {
      const name = this.#operatorLabelName(key);
      // Two keys that sanitize alike ("rack-id", "rack_id"): the first in sort order wins, so the choice is stable.
      if (!next.has(name)) next.set(name, labels[key]!);
    }
    const previous = entry.labelValues;
    if (sameEntries(previous, next)) return;
    for (const name of previous.keys()) if (!next.has(name)) this.#countLabelName(name, -1);
    for (const name of next.keys()) if (!previous.has(name)) this.#countLabelName(name, +1);
    entry.labelValues = next;
    entry.prefixEpoch = -1;
  }

  /** After a label name appeared or vanished fleet-wide: every prefix is stale, and only a full pass reaches them all. */
  #settleLabelNames(): void {
    if (!this.#labelNamesChanged) return;
    this.#labelNamesChanged = false;
    this.#labelNames = [...this.#labelNameCounts.keys()].sort();
    this.#labelEpoch++;
    this.#fullSyncNeeded = true;
  }

  #operatorLabelName(key: string): string {
    let name = this.#sanitizedNames.get(key);
    if (name === undefined) {
      name = sanitizeLabelName(key);
      if (FAMILY_LABEL_NAMES.has(name)) name = `label_${name}`;
      this.#sanitizedNames.set(key, name);
    }
    return name;
  }

  #countLabelName(name: string, delta: number): void {
    const count = (this.#labelNameCounts.get(name) ?? 0) + delta;
    if (count > 0) {
      if (!this.#labelNameCounts.has(name)) this.#labelNamesChanged = true;
      this.#labelNameCounts.set(name, count);
    } else {
      this.#labelNameCounts.delete(name);
      this.#labelNamesChanged = true;
    }
  }
}

function sameEntries(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
