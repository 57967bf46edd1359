import { availableParallelism } from 'node:os';
import { constants as zlibConstants, createGzip } from 'node:zlib';

/** Below this a page is compressed in one piece: the pieces' own overhead would outweigh the threads. */
const MIN_PIECE_BYTES = 1024 * 1024;
/** Pieces in flight hold a copy each: small pieces keep that to a few megabytes at 50,000 devices. */
const MAX_PIECE_BYTES = 4 * 1024 * 1024;
/** More pieces than threads keep every thread busy when pieces finish unevenly. */
const PIECES_PER_THREAD = 4;
/**
 * zlib runs on libuv's thread pool, and the threads share the machine's cores: more pieces at once
 * than either would only queue, holding their copies.
 */
const PIECES_IN_FLIGHT = Math.min(Number(process.env.UV_THREADPOOL_SIZE) || 4, availableParallelism());
/** Output per thread-pool round trip; zlib's 16 KB default makes a megabyte piece take dozens. */
const OUTPUT_CHUNK_BYTES = 256 * 1024;
const GZIP_HEADER_BYTES = 10;
const GZIP_TRAILER_BYTES = 8;
/** The empty final block zlib writes on Z_FINISH after a sync flush (BFINAL=1, fixed Huffman, end of block). */
const EMPTY_FINAL_BLOCK = Buffer.from([0x03, 0x00]);
const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * The bytes of `views`, in order, as one gzip member, compressed in pieces at once on libuv's thread
 * pool, as pigz does: each piece is deflated on its own and ends on a byte boundary (a sync flush), so
 * the pieces' deflate streams join into one, and the pieces' CRC-32s, which zlib computes in the same
 * threads, combine into the member's. One member, not several concatenated: every gzip reader reads
 * it, while readers that stop after the first member (curl among them) would cut a multi-member body
 * short. The views are read until the promise settles.
 *
 * Pieces do not share a dictionary, which costs a little ratio at each piece's start; at megabyte
 * pieces that is a fraction of a percent (test/parallel-gzip.test.ts checks it stays under 2 %).
 */
export async function gzipInPieces(views: readonly Buffer[], level: number = zlibConstants.Z_BEST_SPEED): Promise<Buffer> {
  const pieces = splitIntoPieces(views);
  const members: Buffer[] = new Array(pieces.length);
  let next = 0;
  // Each piece is gathered into one buffer first: a slab page is thousands of views (one per run of
  // slots), and zlib streams cost a thread-pool round trip per write. At most a thread pool's worth
  // are gathered at once, so the copies hold a few pieces, not the page.
  const compressPieces = async () => {
    while (next < pieces.length) {
      const i = next++;
      const piece = pieces[i]!;
      const bytes = piece.views.length === 1 ? piece.views[0]! : Buffer.concat(piece.views, piece.length);
      members[i] = await gzipMember(bytes, level, i === pieces.length - 1);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PIECES_IN_FLIGHT, pieces.length) }, compressPieces));
  if (members.length === 1) return members[0]!;
  const parts: Buffer[] = [members[0]!.subarray(0, GZIP_HEADER_BYTES)];
  let crc = 0;
  let total = 0;
  members.forEach((member, i) => {
    const last = i === members.length - 1;
    const body = member.subarray(gzipHeaderLength(member), member.length - GZIP_TRAILER_BYTES);
    if (!last && !endsWithFlushedEmptyFinalBlock(body)) throw new Error('zlib did not end a piece with a sync flush and an empty final block');
    parts.push(last ? body : body.subarray(0, body.length - EMPTY_FINAL_BLOCK.length));
    const pieceCrc = member.readUInt32LE(member.length - GZIP_TRAILER_BYTES);
    crc = i === 0 ? pieceCrc : crc32Combine(crc, pieceCrc, pieces[i]!.length);
    total += pieces[i]!.length;
  });
  const trailer = Buffer.allocUnsafe(GZIP_TRAILER_BYTES);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(total % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** The views regrouped into pieces of MIN_PIECE_BYTES to MAX_PIECE_BYTES (one piece for a small page), views cut where a piece ends. */
function splitIntoPieces(views: readonly Buffer[]): { views: Buffer[]; length: number }[] {
  const total = views.reduce((sum, view) => sum + view.length, 0);
  const target = Math.min(MAX_PIECE_BYTES, Math.max(MIN_PIECE_BYTES, Math.ceil(total / (PIECES_IN_FLIGHT * PIECES_PER_THREAD))));
  const pieces: { views: Buffer[]; length: number }[] = [];
  let current: { views: Buffer[]; length: number } = { views: [], length: 0 };
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
  if (current.length > 0 || pieces.length === 0) pieces.push(current);
  return pieces;
}

/** One gzip member of the piece; unless it is the last, its deflate data ends with a sync flush before the empty final block. */
function gzipMember(piece: Buffer, level: number, last: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gzip = createGzip({ level, chunkSize: OUTPUT_CHUNK_BYTES });
    const chunks: Buffer[] = [];
    gzip.on('data', (chunk: Buffer) => chunks.push(chunk));
    gzip.once('error', reject);
    gzip.once('end', () => resolve(Buffer.concat(chunks)));
    gzip.write(piece);
    if (last) gzip.end();
    else gzip.flush(zlibConstants.Z_SYNC_FLUSH, () => gzip.end());
  });
}

/** zlib writes no optional gzip fields, so its header is the fixed 10 bytes; anything else is refused rather than misread. */
function gzipHeaderLength(member: Buffer): number {
  if (member.length < GZIP_HEADER_BYTES + GZIP_TRAILER_BYTES || member[0] !== 0x1f || member[1] !== 0x8b || member[2] !== 8 || member[3] !== 0) {
    throw new Error('zlib wrote a gzip header with optional fields');
  }
  return GZIP_HEADER_BYTES;
}

function endsWithFlushedEmptyFinalBlock(body: Buffer): boolean {
  const n = body.length;
  return (
    n >= SYNC_FLUSH_MARKER.length + EMPTY_FINAL_BLOCK.length &&
    body.subarray(n - EMPTY_FINAL_BLOCK.length).equals(EMPTY_FINAL_BLOCK) &&
    body.subarray(n - EMPTY_FINAL_BLOCK.length - SYNC_FLUSH_MARKER.length, n - EMPTY_FINAL_BLOCK.length).equals(SYNC_FLUSH_MARKER)
  );
}

/** CRC-32 polynomial, reflected, as gzip uses it. */
const CRC32_POLYNOMIAL = 0xedb88320;

/**
 * The CRC-32 of A followed by B from crc(A), crc(B) and B's length, as zlib's crc32_combine computes
 * it: appending `length` zero bytes to A is a linear map over GF(2), applied by repeated squaring.
 */
export function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  if (lengthB <= 0) return crcA >>> 0;
  const even = new Uint32Array(32);
  const odd = new Uint32Array(32);
  odd[0] = CRC32_POLYNOMIAL;
  for (let n = 1, row = 1; n < 32; n++, row <<= 1) odd[n] = row;
  squareInto(even, odd);
  squareInto(odd, even);
  let crc = crcA >>> 0;
  let remaining = lengthB;
  do {
    squareInto(even, odd);
    if (remaining % 2 === 1) crc = times(even, crc);
    remaining = Math.floor(remaining / 2);
    if (remaining === 0) break;
    squareInto(odd, even);
    if (remaining % 2 === 1) crc = times(odd, crc);
    remaining = Math.floor(remaining / 2);
  } while (remaining !== 0);
  return (crc ^ crcB) >>> 0;
}

function times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let i = 0, v = vector >>> 0; v !== 0; i++, v >>>= 1) if (v & 1) sum ^= matrix[i]!;
  return sum >>> 0;
}

function squareInto(square: Uint32Array, matrix: Uint32Array): void {
  for (let n = 0; n < 32; n++) square[n] = times(matrix, matrix[n]!);
}
