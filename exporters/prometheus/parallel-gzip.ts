import { constants as zlibConstants, createGzip } from 'node:zlib';

/** Below this a page is compressed in one piece: the pieces' own overhead would outweigh the threads. */
const MIN_PIECE_BYTES = 1024 * 1024;
/** More pieces than libuv's threads keep every thread busy when pieces finish unevenly. */
const MAX_PIECES = 16;
const GZIP_HEADER_BYTES = 10;
const GZIP_TRAILER_BYTES = 8;
/** The empty final block zlib writes on Z_FINISH after a sync flush (BFINAL=1, fixed Huffman, end of block). */
const EMPTY_FINAL_BLOCK = Buffer.from([0x03, 0x00]);
const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * `data` as one gzip member, compressed in pieces at once on libuv's thread pool, as pigz does: each
 * piece is deflated on its own and ends on a byte boundary (a sync flush), so the pieces' deflate
 * streams join into one, and the pieces' CRC-32s, which zlib computes in the same threads, combine
 * into the member's. One member, not several concatenated: every gzip reader reads it, while readers
 * that stop after the first member (curl among them) would cut a multi-member body short.
 *
 * Pieces do not share a dictionary, which costs a little ratio at each piece's start; at megabyte
 * pieces that is a fraction of a percent (bench/README.md).
 */
export async function gzipInPieces(data: Buffer, level: number = zlibConstants.Z_BEST_SPEED): Promise<Buffer> {
  const count = Math.max(1, Math.min(MAX_PIECES, Math.floor(data.length / MIN_PIECE_BYTES)));
  const size = Math.ceil(data.length / count);
  const members = await Promise.all(Array.from({ length: count }, (_, i) => gzipMember(data.subarray(i * size, Math.min(data.length, (i + 1) * size)), level, i === count - 1)));
  if (count === 1) return members[0]!;
  const parts: Buffer[] = [members[0]!.subarray(0, GZIP_HEADER_BYTES)];
  let crc = 0;
  members.forEach((member, i) => {
    const last = i === count - 1;
    const body = member.subarray(gzipHeaderLength(member), member.length - GZIP_TRAILER_BYTES);
    if (!last && !endsWithFlushedEmptyFinalBlock(body)) throw new Error('zlib did not end a piece with a sync flush and an empty final block');
    parts.push(last ? body : body.subarray(0, body.length - EMPTY_FINAL_BLOCK.length));
    const pieceLength = Math.min(data.length, (i + 1) * size) - i * size;
    crc = i === 0 ? member.readUInt32LE(member.length - GZIP_TRAILER_BYTES) : crc32Combine(crc, member.readUInt32LE(member.length - GZIP_TRAILER_BYTES), pieceLength);
  });
  const trailer = Buffer.allocUnsafe(GZIP_TRAILER_BYTES);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  parts.push(trailer);
  return Buffer.concat(parts);
}

/** One gzip member of `piece`; unless it is the last, its deflate data ends with a sync flush before the empty final block. */
function gzipMember(piece: Buffer, level: number, last: boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const gzip = createGzip({ level });
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
