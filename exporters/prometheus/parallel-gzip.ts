import { constants as zlibConstants } from 'node:zlib';
import { DEFLATE_THREADS, type Deflated, deflatePieces, type Piece } from './deflate-workers.js';
import { type PageSegment, segmentsLength, segmentViews } from './page-segment.js';

/** Below this a page is compressed in one piece: the pieces' own overhead would outweigh the threads. */
const MIN_PIECE_BYTES = 1024 * 1024;
/** A run compressed again costs its whole length: small pieces keep what one changed segment drags along small. */
const MAX_PIECE_BYTES = 4 * 1024 * 1024;
/** More pieces than threads keep every thread busy when pieces finish unevenly. */
const PIECES_PER_THREAD = 4;
const GZIP_TRAILER_BYTES = 8;
/** The empty final block that ends the member's deflate stream after the pieces' sync flushes (BFINAL=1, fixed Huffman, end of block). */
const EMPTY_FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/**
 * The bytes of `views`, in order, as one gzip member, compressed in pieces at once in worker threads,
 * as pigz does: each piece is deflated on its own and ends on a byte boundary (a sync flush), so the
 * pieces' deflate streams join into one, and the pieces' CRC-32s, which the workers compute too,
 * combine into the member's. One member, not several concatenated: every gzip reader reads
 * it, while readers that stop after the first member (curl among them) would cut a multi-member body
 * short. The views are read until the promise settles.
 *
 * Pieces do not share a dictionary, which costs a little ratio at each piece's start; at megabyte
 * pieces that is a fraction of a percent (test/parallel-gzip.test.ts checks it stays under 2 %).
 */
export async function gzipInPieces(views: readonly Buffer[], level: number = zlibConstants.Z_BEST_SPEED): Promise<Buffer> {
  const pieces = splitIntoPieces(views);
  return joinMember(await deflatePieces(pieces, level), level);
}

/** A segment as a run's member: which stretch of which owner, at which version, how long. */
interface RunMember {
  readonly owner: object;
  readonly index: number;
  readonly version: number;
  readonly length: number;
}

/** Consecutive owned segments of a page, compressed together as one piece. */
interface CompressedRun extends Deflated {
  readonly members: readonly RunMember[];
}

/**
 * A page's plan: runs reused from the last page, runs of owned segments to compress, and the pieces of
 * an unowned segment, which change at every scrape and are compressed like any page, not kept.
 */
type Step = { reuse: CompressedRun } | { run: number[] } | { unowned: Piece[] };

/**
 * What the last page's segments compressed to, so the next page reuses what did not change. Owned
 * segments are compressed in runs of consecutive ones, up to a piece's size: each piece costs a
 * stream's set-up and a dictionary started afresh. A run is reused whole
 * when all its members kept their version; runs are formed of segments that all changed since the
 * last page, or all did not, so once a page has shown which stretches stay still (device info, board
 * status, chips), they settle into runs of their own; segments of an owner with a few that moved are
 * compressed one by one (`#kind` says why). It holds the last page only: an owner that
 * left the page (a family emptied, a renderer replaced) is let go at the next one.
 */
export class DeflateCache {
  /** Runs of the last page, by their first member's owner and index. */
  #runs = new Map<object, Map<number, CompressedRun>>();
  /** Every owned segment's version on the last page. */
  #versions = new Map<object, Map<number, number>>();

  /** What segments the last page reused and compressed, in bytes of page. */
  lastPage = { reusedBytes: 0, compressedBytes: 0 };

  async gzip(segments: readonly PageSegment[], level: number = zlibConstants.Z_BEST_SPEED): Promise<Buffer> {
    const total = segmentsLength(segments);
    // A small page is one piece: the pieces' own overhead would outweigh what reuse saves.
    if (total < MIN_PIECE_BYTES) {
      this.#runs.clear();
      this.#versions.clear();
      this.lastPage = { reusedBytes: 0, compressedBytes: total };
      return gzipInPieces(segmentViews(segments), level);
    }
    const steps = this.#plan(segments);
    const pieces: Piece[] = [];
    for (const step of steps) {
      if ('run' in step) {
        const piece: Piece = { views: [], length: 0 };
        for (const i of step.run) {
          for (const view of segments[i]!.views) piece.views.push(view);
          piece.length += segments[i]!.length;
        }
        pieces.push(piece);
      } else if ('unowned' in step) pieces.push(...step.unowned);
    }
    const deflated = await deflatePieces(pieces, level);
    const runs = new Map<object, Map<number, CompressedRun>>();
    const joined: Deflated[] = [];
    let piece = 0;
    let reusedBytes = 0;
    for (const step of steps) {
      let run: CompressedRun;
      if ('reuse' in step) {
        run = step.reuse;
        reusedBytes += run.length;
      } else if ('run' in step) {
        run = { ...deflated[piece++]!, members: step.run.map((i) => ({ ...segments[i]!.identity!, length: segments[i]!.length })) };
      } else {
        for (let n = step.unowned.length; n > 0; n--) joined.push(deflated[piece++]!);
        continue;
      }
      joined.push(run);
      const first = run.members[0]!;
      entryOf(runs, first.owner, () => new Map<number, CompressedRun>()).set(first.index, run);
    }
    this.#runs = runs;
    this.#versions = versionsOf(segments);
    this.lastPage = { reusedBytes, compressedBytes: total - reusedBytes };
    return joinMember(joined, level);
  }

  #plan(segments: readonly PageSegment[]): Step[] {
    const steps: Step[] = [];
    const moving = this.#movingOwners(segments);
    for (let i = 0; i < segments.length; ) {
      const { identity } = segments[i]!;
      if (identity === undefined) {
        steps.push({ unowned: splitIntoPieces(segments[i++]!.views) });
        continue;
      }
      const reuse = this.#reusableRun(segments, i);
      if (reuse) {
        steps.push({ reuse });
        i += reuse.members.length;
        continue;
      }
      const kind = this.#kind(segments[i]!, moving);
      const run = [i];
      let length = segments[i]!.length;
      for (i++; kind !== 'alone' && i < segments.length; i++) {
        const next = segments[i]!;
        if (next.identity === undefined || length + next.length > MAX_PIECE_BYTES || this.#kind(next, moving) !== kind || this.#reusableRun(segments, i)) break;
        run.push(i);
        length += next.length;
      }
      steps.push({ run });
    }
    return steps;
  }

  /** The last page's run that starts at segments[at] and whose members all kept their version, if any. */
  #reusableRun(segments: readonly PageSegment[], at: number): CompressedRun | undefined {
    const { owner, index } = segments[at]!.identity!;
    const run = this.#runs.get(owner)?.get(index);
    if (run === undefined || at + run.members.length > segments.length) return undefined;
    for (let k = 0; k < run.members.length; k++) {
      const member = run.members[k]!;
      const segment = segments[at + k]!;
      const identity = segment.identity;
      if (identity === undefined || identity.owner !== member.owner || identity.index !== member.index || identity.version !== member.version || segment.length !== member.length)
        return undefined;
    }
    return run;
  }

  /** Whether the segment is new or moved since the last page. */
  #changed(segment: PageSegment): boolean {
    const { owner, index, version } = segment.identity!;
    return this.#versions.get(owner)?.get(index) !== version;
  }

  /**
   * How a segment to compress joins a run. Segments of an owner none of whose segments moved since the
   * last page join each other. Polls come round in the order of the page (agent/scheduler.ts), so an
   * owner whose segments moved usually has a few moving one after another: each is compressed alone,
   * and is compressed again only when it moves itself, not each time a segment it was joined to does.
   * When most of an owner's segments moved at once, each moved with the next more often than not, and
   * runs of them save pieces.
   */
  #kind(segment: PageSegment, moving: ReadonlyMap<object, number>): 'moved' | 'still' | 'alone' {
    const share = moving.get(segment.identity!.owner);
    if (share === undefined) return 'still';
    return share > 0.5 && this.#changed(segment) ? 'moved' : 'alone';
  }

  /** Per owner with a segment that moved since the last page, the share of its segments that did. */
  #movingOwners(segments: readonly PageSegment[]): Map<object, number> {
    const counts = new Map<object, { moved: number; all: number }>();
    for (const segment of segments) {
      if (segment.identity === undefined) continue;
      const count = entryOf(counts, segment.identity.owner, () => ({ moved: 0, all: 0 }));
      count.all++;
      if (this.#changed(segment)) count.moved++;
    }
    const moving = new Map<object, number>();
    for (const [owner, { moved, all }] of counts) if (moved > 0) moving.set(owner, moved / all);
    return moving;
  }
}

function versionsOf(segments: readonly PageSegment[]): Map<object, Map<number, number>> {
  const versions = new Map<object, Map<number, number>>();
  for (const { identity } of segments) if (identity !== undefined) entryOf(versions, identity.owner, () => new Map<number, number>()).set(identity.index, identity.version);
  return versions;
}

/** The map's value for `key`, made by `create` and stored the first time it is asked for. */
function entryOf<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = create();
    map.set(key, value);
  }
  return value;
}

/** The pieces' deflate data as one gzip member: a header, the pieces in order, an empty final block, the combined CRC-32 and the length. */
function joinMember(pieces: readonly Deflated[], level: number): Buffer {
  const parts: Buffer[] = [gzipHeader(level)];
  let crc = 0;
  let total = 0;
  for (const piece of pieces) {
    parts.push(piece.deflate);
    crc = crc32Combine(crc, piece.crc, piece.length);
    total += piece.length;
  }
  parts.push(EMPTY_FINAL_BLOCK);
  const trailer = Buffer.allocUnsafe(GZIP_TRAILER_BYTES);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** The header zlib writes: no name, no time, the level's XFL, Unix. */
function gzipHeader(level: number): Buffer {
  const extraFlags = level === zlibConstants.Z_BEST_COMPRESSION ? 2 : level === zlibConstants.Z_BEST_SPEED ? 4 : 0;
  return Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extraFlags, 3]);
}

/** The views regrouped into pieces of MIN_PIECE_BYTES to MAX_PIECE_BYTES (one piece for a small page), views cut where a piece ends. */
function splitIntoPieces(views: readonly Buffer[]): Piece[] {
  const total = views.reduce((sum, view) => sum + view.length, 0);
  const target = Math.min(MAX_PIECE_BYTES, Math.max(MIN_PIECE_BYTES, Math.ceil(total / (DEFLATE_THREADS * PIECES_PER_THREAD))));
  const pieces: Piece[] = [];
  let current: Piece = { views: [], length: 0 };
  for (const view of views) {
    let offset = 0;
    while (offset < view.length) {
      const take = Math.min(view.length - offset, target - current.length);
      current.views.push(view.subarray(offset, offset + take));
      current.length += take;
      offset += take;
      if (current.length === target) {
        pieces.push(current);
        current = { views: [], length: 0 };
      }
    }
  }
  if (current.length > 0) pieces.push(current);
  return pieces;
}

/** CRC-32 polynomial, reflected, as gzip uses it. */
const CRC32_POLYNOMIAL = 0xedb88320;
/** x^0 in the reflected representation: the polynomial's top bit stands for x^0. */
const X_POWER_0 = 0x80000000;

/** a(x)·b(x) modulo the CRC-32 polynomial, both reflected. */
function multiplyModulo(a: number, b: number): number {
  let product = 0;
  let factor = b >>> 0;
  for (let bit = X_POWER_0; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) {
      product ^= factor;
      if ((a & (bit - 1)) === 0) break;
    }
    factor = factor & 1 ? (factor >>> 1) ^ CRC32_POLYNOMIAL : factor >>> 1;
  }
  return product >>> 0;
}

/** x^(2^n) modulo the polynomial, for n = 0…31: any power of x is a product of these. */
const X_POWER_TWO_TO: Uint32Array = (() => {
  const table = new Uint32Array(32);
  let power = X_POWER_0 >>> 1; // x^1
  table[0] = power;
  for (let n = 1; n < 32; n++) table[n] = power = multiplyModulo(power, power);
  return table;
})();

/**
 * The CRC-32 of A followed by B from crc(A), crc(B) and B's length, as zlib's crc32_combine computes
 * it: appending B's bytes multiplies A's remainder by x^(8·length), a product of a few table powers,
 * so it costs microseconds whatever the length, and a page of hundreds of pieces combines in well
 * under a millisecond.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  let shift = X_POWER_0;
  // x^(8·length): length's bits, each a power of two times 2^3.
  for (let remaining = lengthB, n = 3; remaining > 0; remaining = Math.floor(remaining / 2), n++) {
    if (remaining % 2 === 1) shift = multiplyModulo(X_POWER_TWO_TO[n % 32]!, shift);
  }
  return (multiplyModulo(shift, crcA) ^ crcB) >>> 0;
}
