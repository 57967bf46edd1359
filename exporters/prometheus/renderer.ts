import type { DeviceEconomicsSource } from '../../agent/contracts/economics.js';
import type { DeviceChange, DeviceStoreView, StoredDevice } from '../../agent/contracts/part.js';
import { DEVICE_FAMILIES } from './families.js';
import type { DeviceFamily, DeviceView } from './family.js';
import { FleetLabels } from './label-sets.js';
import { type PageSegment, writeSegments } from './page-segment.js';
import { FamilySlab } from './slab.js';
import { TextBuffer } from './text-buffer.js';
import { EconomicsSeen, economicsStale, newDeviceEntry, readingStale, type DeviceEntry } from './versions.js';

/** Families whose lines come from the reading, and those that come only from the economics assessment. */
const READING = 0;
const ECONOMICS = 1;
type Group = typeof READING | typeof ECONOMICS;

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
 * Layout. Each family has one slab (slab.ts) in which every device owns a slot; a scrape writes the
 * family's header and copies the slab's live bytes in as few runs as the slots allow. The text format
 * needs each family's lines together but not any order of devices within a family.
 *
 * Why family-major and not one buffer per device: a scrape writes family by family, so per-device
 * buffers mean one copy per device and family, each from a different page, which measured no better
 * than rendering the lines afresh. Family slabs turn that into one sequential copy per family plus one
 * per gap.
 *
 * Rendering on write costs the store upserts a little more than writing the lines at scrape time did
 * (each device's lines go to every family's slab, and those copies miss the cache). What this buys:
 * scrape latency no longer grows with rendering, and rendering happens once per reading rather than
 * once per scrape. The figures are in bench/README.md (bench/render.ts).
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
  readonly #labels = new FleetLabels();
  /** Store generation every cached line reflects; -1 until the first scrape synced the whole store. */
  #syncedGeneration = -1;
  /** Set when some devices' lines are known stale (a label-name change) and only a full pass finds them. */
  #fullSyncNeeded = true;
  #pass = 0;
  #scrapes = 0;
  /** Pages whose views of the slabs are still being read (compressed): until they thaw, nothing is written to a slab. */
  #frozen = 0;
  /** A reading or an assessment arrived while frozen and was left for the thaw to render. */
  #missedWhileFrozen = false;
  #changedSinceScrape = 0;
  readonly #economicsSource: (() => DeviceEconomicsSource | undefined) | undefined;
  readonly #economicsSeen = new EconomicsSeen();
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
    return this.#labels.names;
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
    const { segments, thaw } = this.freeze();
    try {
      writeSegments(out, segments);
    } finally {
      thaw();
    }
  }

  /**
   * Every device family as views of the slabs, in page order, with no copy: a 50,000-device page is a
   * couple of hundred megabytes, which a copy would hold twice. The views come in segments (a family's
   * header, then a block of slots at a time), each with its block's version, so a compressor can
   * reuse what it made of a block whose lines did not change. Until `thaw()` the slabs stay as they
   * are: readings and assessments that arrive meanwhile are not rendered on write, and the thaw of
   * the last frozen page renders them (a pass like a scrape's). A page frozen while another is brings
   * nothing up to date: it shows the same slabs.
   */
  freeze(): { segments: PageSegment[]; length: number; thaw: () => void } {
    const { renderedAtScrape, economicsAtScrape } = this.#frozen === 0 ? this.#sync() : { renderedAtScrape: 0, economicsAtScrape: 0 };
    this.#frozen++;
    const segments: PageSegment[] = [];
    let length = 0;
    let cachedBytes = 0;
    const slotCount = this.#slotOwners.length;
    for (const slab of this.#slabs) {
      cachedBytes += slab.bytes.length;
      length += slab.appendSegments(segments, slotCount);
    }
    this.#stats = { devices: this.#entries.size, changed: this.#changedSinceScrape, renderedAtScrape, economicsAtScrape, cachedBytes };
    this.#changedSinceScrape = 0;
    this.#scrapes++;
    let thawed = false;
    const thaw = () => {
      if (thawed) return;
      thawed = true;
      this.#frozen--;
      if (this.#frozen === 0 && this.#missedWhileFrozen) setImmediate(this.#catchUp);
    };
    return { segments, length, thaw };
  }

  /** After a thaw, once the response that froze the page is on its way: what arrived meanwhile. */
  readonly #catchUp = (): void => {
    if (this.#frozen > 0 || this.#syncedGeneration < 0) return;
    this.#missedWhileFrozen = false;
    try {
      this.#sync();
    } catch {
      // A family that throws throws again at the next scrape, which reports it.
    }
  };

  readonly #onChange = (change: DeviceChange): void => {
    // Frozen: the thaw's pass finds this change, since the synced generation stays behind.
    if (this.#frozen > 0) {
      this.#missedWhileFrozen = true;
      return;
    }
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
    this.#labels.update(entry, stored.snapshot.labels);
    this.#settleLabelNames();
    this.#renderReading(entry);
    if (this.#groupFamilies[ECONOMICS].length > 0) this.#refreshEconomics(entry, this.#economicsSource?.());
  }

  /** Re-renders the economics lines whose assessment moved, ahead of the next scrape. */
  refreshEconomics(): void {
    if (this.#frozen > 0) {
      this.#missedWhileFrozen = true;
      return;
    }
    const economics = this.#economicsSource?.();
    if (this.#groupFamilies[ECONOMICS].length === 0 || economics === undefined) return;
    if (!this.#economicsSeen.moved(economics)) return;
    for (const entry of this.#entries.values()) this.#refreshEconomics(entry, economics);
  }

  /** Brings every device's lines up to date with the store and the assessments; cheap when events kept them current. */
  #sync(): { renderedAtScrape: number; economicsAtScrape: number } {
    let renderedAtScrape = 0;
    let economicsAtScrape = 0;
    const economics = this.#economicsSource?.();
    const economicsMoved = this.#economicsSeen.moved(economics);
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
          this.#labels.update(entry, stored.snapshot.labels);
        }
      }
      if (this.#entries.size > this.#store.size) {
        for (const entry of [...this.#entries.values()]) if (entry.seenPass !== pass) this.#forget(entry.id);
      }
      this.#settleLabelNames();
      for (const entry of this.#entries.values()) {
        if (readingStale(entry, this.#labels.epoch)) {
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

  #renderReading(entry: DeviceEntry): void {
    this.#labels.ensurePrefix(entry);
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
    this.#labels.ensurePrefix(entry);
    if (!economicsStale(entry, economics)) return false;
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
   * string and encoded once, then each family's bytes are copied to its slab: a native write of a fresh
   * rope costs more than a copy, so encoding each family's string on its own measured slower, and
   * batching devices to write the slabs one at a time did not pay (bench/README.md).
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
    const owners = this.#slotOwners;
    let start = 0;
    for (let i = 0; i < families.length; i++) {
      const end = ends[i]!;
      slabs[i]!.place(entry.slot, scratch, start, end, owners);
      start = end;
    }
  }

  #add(stored: StoredDevice): DeviceEntry {
    const slot = this.#freeSlots.pop() ?? this.#slotOwners.length;
    if (slot >= this.#slotCapacity) {
      this.#slotCapacity *= 2;
      for (const slab of this.#slabs) slab.growSlots(this.#slotCapacity);
    }
    const entry = newDeviceEntry(stored, slot, this.#pass);
    this.#entries.set(entry.id, entry);
    this.#slotOwners[slot] = entry;
    return entry;
  }

  /** Drops the device's lines from every family; its slot (and the room it holds) goes to the next new device. */
  #forget(id: string): void {
    const entry = this.#entries.get(id);
    if (entry === undefined) return;
    this.#entries.delete(id);
    this.#slotOwners[entry.slot] = undefined;
    for (const slab of this.#slabs) slab.clear(entry.slot);
    this.#freeSlots.push(entry.slot);
    this.#labels.forget(entry);
    this.#settleLabelNames();
  }

  /** After a label name appeared or vanished fleet-wide: every prefix is stale, and only a full pass reaches them all. */
  #settleLabelNames(): void {
    if (this.#labels.settle()) this.#fullSyncNeeded = true;
  }
}
