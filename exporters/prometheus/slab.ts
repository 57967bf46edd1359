import type { DeviceFamily } from './family.js';
import { familyHeader } from './text-format.js';

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
 *
 * Every device owns a slot. Slots are laid out in slot order, so a freshly filled slab is a single
 * run; lines that shrink leave a gap (one more run), lines that outgrow their slot move it to the end
 * of the slab (two more runs), and the slab is compacted once moved-out space exceeds half of it.
 */
export class FamilySlab {
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

  /** Makes room for `slotCapacity` slots, keeping the ones there are. */
  growSlots(slotCapacity: number): void {
    const meta = new Int32Array(slotCapacity * SLOT_FIELDS);
    meta.set(this.meta);
    this.meta = meta;
  }

  /**
   * Puts `source[start, end)` in `slot`, moving the slot to the slab's end if it outgrew it.
   * `owners` holds an entry per slot in use (undefined for a free one): compaction drops free slots.
   */
  place(slot: number, source: Buffer, start: number, end: number, owners: readonly unknown[]): void {
    const length = end - start;
    const k = slot * SLOT_FIELDS;
    let meta = this.meta;
    this.live += length - meta[k + LENGTH]!;
    if (length <= meta[k + CAPACITY]!) {
      if (length > 0) source.copy(this.bytes, meta[k + START]!, start, end);
      meta[k + LENGTH] = length;
      return;
    }
    this.dead += meta[k + CAPACITY]!;
    meta[k + CAPACITY] = 0;
    meta[k + LENGTH] = 0;
    if (this.dead > this.used >> 1 && this.used > COMPACT_MIN_BYTES) this.#compact(length, owners);
    if (this.used + length > this.bytes.length) this.#grow(this.used + length);
    meta = this.meta;
    meta[k + START] = this.used;
    meta[k + CAPACITY] = length;
    meta[k + LENGTH] = length;
    source.copy(this.bytes, this.used, start, end);
    this.used += length;
  }

  /** Empties `slot`; the room it holds stays with the slot for its next device. */
  clear(slot: number): void {
    this.live -= this.meta[slot * SLOT_FIELDS + LENGTH]!;
    this.meta[slot * SLOT_FIELDS + LENGTH] = 0;
  }

  /**
   * Appends to `views` the header and the runs of every slot's lines among the first `slotCount`, as
   * views of this slab (valid until its next change); the bytes appended, 0 when all slots are empty.
   */
  appendRuns(views: Buffer[], slotCount: number): number {
    const meta = this.meta;
    const bytes = this.bytes;
    let runStart = 0;
    let runEnd = 0;
    let appended = 0;
    const flush = () => {
      if (runEnd === runStart) return;
      if (appended === 0) {
        views.push(this.header);
        appended += this.header.length;
      }
      views.push(bytes.subarray(runStart, runEnd));
      appended += runEnd - runStart;
    };
    for (let k = 0, end = slotCount * SLOT_FIELDS; k < end; k += SLOT_FIELDS) {
      const length = meta[k + LENGTH]!;
      if (length === 0) continue;
      const start = meta[k + START]!;
      if (start === runEnd) {
        runEnd += length;
        continue;
      }
      flush();
      runStart = start;
      runEnd = start + length;
    }
    flush();
    return appended;
  }

  /** Rewrites the slab with every live slot in slot order and no moved-out space, leaving room for `extra` bytes. */
  #compact(extra: number, owners: readonly unknown[]): void {
    const meta = this.meta;
    let live = 0;
    for (let slot = 0; slot < owners.length; slot++) {
      if (owners[slot] === undefined) meta[slot * SLOT_FIELDS + CAPACITY] = 0;
      live += meta[slot * SLOT_FIELDS + CAPACITY]!;
    }
    const next = Buffer.allocUnsafeSlow(Math.max(4096, Math.ceil((live + extra) * 1.25)));
    let used = 0;
    for (let k = 0, end = owners.length * SLOT_FIELDS; k < end; k += SLOT_FIELDS) {
      const capacity = meta[k + CAPACITY]!;
      if (capacity === 0) continue;
      this.bytes.copy(next, used, meta[k + START]!, meta[k + START]! + meta[k + LENGTH]!);
      meta[k + START] = used;
      used += capacity;
    }
    this.bytes = next;
    this.used = used;
    this.dead = 0;
  }

  #grow(needed: number): void {
    const next = Buffer.allocUnsafeSlow(Math.max(needed, Math.ceil(this.bytes.length * 1.5)));
    this.bytes.copy(next, 0, 0, this.used);
    this.bytes = next;
  }
}
