import type { DeviceEconomicsSource } from '../../agent/economics/part.js';
import type { DeviceStore, StoredDevice } from '../../agent/state.js';
import { DEVICE_FAMILIES, FAMILY_LABEL_NAMES, type DeviceFamily, type DeviceView } from './families.js';
import { TextBuffer } from './text-buffer.js';
import { escapeLabelValue, familyHeader, sanitizeLabelName } from './text-format.js';

/**
 * Lines are gathered into strings of about this many characters before each copy into the buffer:
 * one native write per device and family (170,000 at 10,000 devices) costs more than the bytes.
 */
const CHUNK_CHARS = 16_384;

/** What the renderer keeps per device between scrapes. */
interface DeviceCache {
  readonly id: string;
  stored: StoredDevice;
  /** Store version `view` was built from; -1 before the first render. */
  renderedVersion: number;
  /** `snapshot.labels` as last seen: collectors usually pass the target's own object, so identity is a cheap test. */
  labelsSeen: Record<string, string> | undefined;
  /** Sanitized operator label name → value. */
  labelValues: Map<string, string>;
  prefixStale: boolean;
  /** `device="…",<operator labels>`, escaped once per identity change. */
  prefix: string;
  view: DeviceView;
  lastPass: number;
}

export interface RenderStats {
  devices: number;
  /** Devices whose snapshot (or label prefix) changed since the previous render. */
  changed: number;
}

/**
 * Renders device families from a DeviceStore into the text format, family by family, straight into
 * a reused byte buffer. What is costly and rarely changes — each device's escaped label prefix — is
 * cached and rebuilt only when the device's identity changes.
 *
 * Sample lines themselves are not cached: every poll moves a device's last-seen time, so after one
 * poll round every device has changed anyway, and holding tens of megabytes of per-device fragments
 * (as strings: seconds of garbage collection at 10,000 devices; as bytes: an extra copy) measured
 * slower than writing the lines afresh (bench/render.ts).
 *
 * Every device carries the same operator label names (missing ones empty), so when a label name
 * appears or disappears across the fleet, every prefix is rebuilt once.
 */
export class DeviceMetricsRenderer {
  readonly #store: DeviceStore;
  readonly #families: readonly DeviceFamily[];
  readonly #headers: string[];
  readonly #caches = new Map<string, DeviceCache>();
  readonly #ordered: DeviceCache[] = [];
  /** Sanitized operator label name → how many devices carry it. */
  readonly #labelNameCounts = new Map<string, number>();
  readonly #sanitizedNames = new Map<string, string>();
  #labelNames: string[] = [];
  #labelNamesChanged = false;
  #pass = 0;
  #renderedGeneration = -1;
  readonly #economicsSource: (() => DeviceEconomicsSource | undefined) | undefined;
  #economics: DeviceEconomicsSource | undefined;
  #economicsVersion = -1;
  #stats: RenderStats = { devices: 0, changed: 0 };

  /** `economics`: where each device's assessment comes from, read at every render (it appears after the agent starts). */
  constructor(store: DeviceStore, families: readonly DeviceFamily[] = DEVICE_FAMILIES, economics?: () => DeviceEconomicsSource | undefined) {
    this.#store = store;
    this.#economicsSource = economics;
    this.#families = families;
    this.#headers = families.map((f) => familyHeader(f.name, f.type, f.help));
  }

  get stats(): Readonly<RenderStats> {
    return this.#stats;
  }

  /** Operator label names every device series carries after `device`, in order. */
  get operatorLabelNames(): readonly string[] {
    return this.#labelNames;
  }

  /** The device families as one string; the HTTP path uses writeTo() with a reused buffer instead. */
  render(): string {
    const out = new TextBuffer();
    this.writeTo(out);
    return out.toString();
  }

  /** Appends every device family to `out`. */
  writeTo(out: TextBuffer): void {
    this.#refresh();
    const ordered = this.#ordered;
    const families = this.#families;
    let chunk = '';
    for (let f = 0; f < families.length; f++) {
      const family = families[f]!;
      let headerWritten = false;
      for (let i = 0; i < ordered.length; i++) {
        const lines = family.lines(ordered[i]!.view);
        if (lines === '') continue;
        if (!headerWritten) {
          chunk += this.#headers[f]!;
          headerWritten = true;
        }
        chunk += lines;
        if (chunk.length > CHUNK_CHARS) {
          out.write(chunk);
          chunk = '';
        }
      }
    }
    out.write(chunk);
  }

  #refresh(): void {
    const generation = this.#store.generation;
    // Assessments change on their own clock (prices, time-of-use), so they are re-attached to every view when their version moves.
    const economics = this.#economicsSource?.();
    const economicsVersion = economics?.version ?? -1;
    const economicsChanged = economics !== this.#economics || economicsVersion !== this.#economicsVersion;
    this.#economics = economics;
    this.#economicsVersion = economicsVersion;
    if (generation === this.#renderedGeneration) {
      if (economicsChanged) for (const cache of this.#ordered) this.#attachEconomics(cache);
      this.#stats = { devices: this.#ordered.length, changed: 0 };
      return;
    }
    const pass = ++this.#pass;
    const ordered = this.#ordered;
    ordered.length = 0;
    const changed: DeviceCache[] = [];

    for (const stored of this.#store.entries()) {
      const id = stored.snapshot.id;
      let cache = this.#caches.get(id);
      if (cache === undefined) {
        cache = newCache(id, stored);
        this.#caches.set(id, cache);
      }
      cache.lastPass = pass;
      ordered.push(cache);
      if (cache.renderedVersion !== stored.version) {
        cache.stored = stored;
        this.#updateLabels(cache);
        changed.push(cache);
      }
    }
    if (this.#caches.size > ordered.length) this.#forgetDevicesNotIn(pass);

    let rebuild = changed;
    if (this.#labelNamesChanged) {
      this.#labelNamesChanged = false;
      this.#labelNames = [...this.#labelNameCounts.keys()].sort();
      for (const cache of ordered) cache.prefixStale = true;
      rebuild = ordered;
    }
    for (const cache of rebuild) this.#refreshView(cache);
    if (economicsChanged && rebuild !== ordered) for (const cache of ordered) this.#attachEconomics(cache);

    this.#renderedGeneration = generation;
    this.#stats = { devices: ordered.length, changed: rebuild.length };
  }

  #refreshView(cache: DeviceCache): void {
    const stored = cache.stored;
    if (cache.prefixStale) {
      cache.prefix = this.#prefix(cache);
      cache.prefixStale = false;
    }
    cache.view = { snapshot: stored.snapshot, observedAtMs: stored.observedAtMs, labels: cache.prefix, economics: this.#economics?.get(cache.id) };
    cache.renderedVersion = stored.version;
  }

  #attachEconomics(cache: DeviceCache): void {
    const view = cache.view;
    cache.view = { snapshot: view.snapshot, observedAtMs: view.observedAtMs, labels: view.labels, economics: this.#economics?.get(cache.id) };
  }

  #prefix(cache: DeviceCache): string {
    let prefix = `device="${escapeLabelValue(cache.id)}"`;
    for (const name of this.#labelNames) prefix += `,${name}="${escapeLabelValue(cache.labelValues.get(name) ?? '')}"`;
    return prefix;
  }

  #updateLabels(cache: DeviceCache): void {
    const labels = cache.stored.snapshot.labels;
    if (labels === cache.labelsSeen) return;
    cache.labelsSeen = labels;
    const next = new Map<string, string>();
    for (const key of Object.keys(labels).sort()) {
      const name = this.#operatorLabelName(key);
      // Two keys that sanitize alike ("rack-id", "rack_id"): the first in sort order wins, so the choice is stable.
      if (!next.has(name)) next.set(name, labels[key]!);
    }
    const previous = cache.labelValues;
    if (sameEntries(previous, next)) return;
    for (const name of previous.keys()) if (!next.has(name)) this.#countLabelName(name, -1);
    for (const name of next.keys()) if (!previous.has(name)) this.#countLabelName(name, +1);
    cache.labelValues = next;
    cache.prefixStale = true;
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

  #forgetDevicesNotIn(pass: number): void {
    for (const [id, cache] of this.#caches) {
      if (cache.lastPass === pass) continue;
      for (const name of cache.labelValues.keys()) this.#countLabelName(name, -1);
      this.#caches.delete(id);
    }
  }
}

function newCache(id: string, stored: StoredDevice): DeviceCache {
  return {
    id,
    stored,
    renderedVersion: -1,
    labelsSeen: undefined,
    labelValues: new Map(),
    prefixStale: true,
    prefix: '',
    view: { snapshot: stored.snapshot, observedAtMs: stored.observedAtMs, labels: '' },
    lastPass: 0,
  };
}

function sameEntries(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
