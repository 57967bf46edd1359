import { FAMILY_LABEL_NAMES } from './family.js';
import { escapeLabelValue, sanitizeLabelName } from './text-format.js';

/** A device's operator labels as last seen, and the series prefix built from them. */
export interface LabelSet {
  readonly id: string;
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
}

/**
 * The operator label names across the fleet. Every device carries the same names (missing ones
 * empty), so when a name appears on its first device or vanishes with its last, the epoch moves and
 * every prefix is stale.
 */
export class FleetLabels {
  /** Sanitized operator label name → how many devices carry it. */
  readonly #nameCounts = new Map<string, number>();
  readonly #sanitizedNames = new Map<string, string>();
  #names: string[] = [];
  #namesChanged = false;
  #epoch = 0;

  /** Operator label names every device series carries after `device`, in order. */
  get names(): readonly string[] {
    return this.#names;
  }

  /** Moves whenever `names` does: a prefix built under another epoch is stale. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Takes the device's current labels; a change of its values marks its prefix for a rebuild. */
  update(set: LabelSet, labels: Record<string, string>): void {
    if (labels === set.labelsSeen) return;
    set.labelsSeen = labels;
    const next = new Map<string, string>();
    for (const key of Object.keys(labels).sort()) {
      const name = this.#operatorLabelName(key);
      // Two keys that sanitize alike ("rack-id", "rack_id"): the first in sort order wins, so the choice is stable.
      if (!next.has(name)) next.set(name, labels[key]!);
    }
    const previous = set.labelValues;
    if (sameEntries(previous, next)) return;
    for (const name of previous.keys()) if (!next.has(name)) this.#countName(name, -1);
    for (const name of next.keys()) if (!previous.has(name)) this.#countName(name, +1);
    set.labelValues = next;
    set.prefixEpoch = -1;
  }

  /** Rebuilds the device's prefix if it was built under another epoch. */
  ensurePrefix(set: LabelSet): void {
    if (set.prefixEpoch === this.#epoch) return;
    let prefix = `device="${escapeLabelValue(set.id)}"`;
    for (const name of this.#names) prefix += `,${name}="${escapeLabelValue(set.labelValues.get(name) ?? '')}"`;
    set.prefix = prefix;
    set.prefixVersion++;
    set.prefixEpoch = this.#epoch;
  }

  /** Stops counting a device that left the fleet. */
  forget(set: LabelSet): void {
    for (const name of set.labelValues.keys()) this.#countName(name, -1);
  }

  /** After a name appeared or vanished fleet-wide: a new epoch, and true, since only a full pass reaches every stale prefix. */
  settle(): boolean {
    if (!this.#namesChanged) return false;
    this.#namesChanged = false;
    this.#names = [...this.#nameCounts.keys()].sort();
    this.#epoch++;
    return true;
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

  #countName(name: string, delta: number): void {
    const count = (this.#nameCounts.get(name) ?? 0) + delta;
    if (count > 0) {
      if (!this.#nameCounts.has(name)) this.#namesChanged = true;
      this.#nameCounts.set(name, count);
    } else {
      this.#nameCounts.delete(name);
      this.#namesChanged = true;
    }
  }
}

function sameEntries(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k) !== v) return false;
  return true;
}
