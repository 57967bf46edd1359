import type { DeviceFamily } from './family.js';
import type { PageSegment } from './page-segment.js';
import { familyHeader } from './text-format.js';

/** Slab metadata per device slot: where its lines start, how many bytes the slot holds, how many it uses. */
const START = 0;
const CAPACITY = 1;
const LENGTH = 2;
const SLOT_FIELDS = 3;

/** Below this a slab is never compacted: the copy would cost more than the bytes it frees. */
const COMPACT_MIN_BYTES = 64 * 1024;

/**
 * Slots per block: the unit whose bytes a scrape's compressor keeps between scrapes when none of its
 * devices' lines changed. Large enough that a 50,000-device page is a few hundred blocks, not
 * thousands of compressor streams; a family whose lines never move (device info, board status, chips)
 * stays compressed whatever the block size.
 */
export const SLOTS_PER_BLOCK = 4096;
/** The header's segment index; block b is segment b + 1. */
const HEADER_SEGMENT = 0;

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
  /** Per block of SLOTS_PER_BLOCK slots, a count that moves whenever a slot's lines in it change. */
  blockVersions: Uint32Array;
  readonly header: Buffer;

  constructor(family: DeviceFamily, slotCapacity: number) {
    this.header = Buffer.from(familyHeader(family.name, family.type, family.help), 'utf8');
    this.meta = new Int32Array(slotCapacity * SLOT_FIELDS);
    this.blockVersions = new Uint32Array(Math.ceil(slotCapacity / SLOTS_PER_BLOCK));
  }

  /** Makes room for `slotCapacity` slots, keeping the ones there are. */
  growSlots(slotCapacity: number): void {
    const meta = new Int32Array(slotCapacity * SLOT_FIELDS);
    meta.set(this.meta);
    this.meta = meta;
    const versions = new Uint32Array(Math.ceil(slotCapacity / SLOTS_PER_BLOCK));
    versions.set(this.blockVersions);
    this.blockVersions = versions;
  }

  /**
   * Puts `source[start, end)` in `slot`, moving the slot to the slab's end if it outgrew it.
   * `owners` holds an entry per slot in use (undefined for a free one): compaction drops free slots.
   */
  place(slot: number, source: Buffer, start: number, end: number, owners: readonly unknown[]): void {
    const length = end - start;
    const k = slot * SLOT_FIELDS;
    let meta = this.meta;
    // Unchanged lines (a device's info, its boards' status) leave the block's compressed bytes valid.
    if (length === meta[k + LENGTH]! && source.compare(this.bytes, meta[k + START]!, meta[k + START]! + length, start, end) === 0) return;
    this.blockVersions[Math.floor(slot / SLOTS_PER_BLOCK)]!++;
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
    const k = slot * SLOT_FIELDS;
    if (this.meta[k + LENGTH] === 0) return;
    this.blockVersions[Math.floor(slot / SLOTS_PER_BLOCK)]!++;
    this.live -= this.meta[k + LENGTH]!;
    this.meta[k + LENGTH] = 0;
  }

  /**
   * Appends to `segments` the family's header and, per block of slots among the first `slotCount`,
   * the runs of its slots' lines as views of this slab (valid until its next change), each block
   * with its version; the bytes appended, 0 when all slots are empty.
   */
  appendSegments(segments: PageSegment[], slotCount: number): number {
    if (this.live === 0) return 0;
    segments.push({ views: [this.header], length: this.header.length, identity: { owner: this, index: HEADER_SEGMENT, version: 0 } });
    let appended = this.header.length;
    for (let block = 0; block * SLOTS_PER_BLOCK < slotCount; block++) {
      const views: Buffer[] = [];
      const length = this.#appendRuns(views, block * SLOTS_PER_BLOCK, Math.min(slotCount, (block + 1) * SLOTS_PER_BLOCK));
      if (length === 0) continue;
      segments.push({ views, length, identity: { owner: this, index: block + 1, version: this.blockVersions[block]! } });
      appended += length;
    }
    return appended;
  }

  /** Appends the runs of the lines of slots [from, to) as views; the bytes appended. */
  #appendRuns(views: Buffer[], from: number, to: number): number {
    const meta = this.meta;
    const bytes = this.bytes;
    let runStart = 0;
    let runEnd = 0;
    let appended = 0;
    const flush = () => {
      if (runEnd === runStart) return;
      views.push(bytes.subarray(runStart, runEnd));
      appended += runEnd - runStart;
    };
    for (let k = from * SLOT_FIELDS, end = to * SLOT_FIELDS; k < end; k += SLOT_FIELDS) {
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
