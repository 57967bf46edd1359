import { describe, expect, it } from 'vitest';
import { constants, crc32, gunzipSync, gzipSync, inflateRawSync } from 'node:zlib';
import { DeflateWorkers, deflatePieces, WORKER_SOURCE } from '../exporters/prometheus/deflate-workers.js';
import { crc32Combine, gzipInPieces } from '../exporters/prometheus/parallel-gzip.js';

/** Exposition-like text: long runs of similar lines, as a /metrics page is. */
function pageLike(bytes: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  for (let i = 0; length < bytes; i++) {
    const line = `potencia_miner_board_temperature_celsius{device="asic/10.1.${(i >> 8) & 255}.${i & 255}",board="${i % 3}",sensor="chip"} ${60 + (i % 17)}\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('')).subarray(0, bytes);
}

describe('gzip in pieces', () => {
  it('combines CRC-32s as zlib does, for any split', () => {
    const data = pageLike(300_000);
    for (const cut of [0, 1, 7, 65_536, 299_999, 300_000]) {
      const a = data.subarray(0, cut);
      const b = data.subarray(cut);
      expect(crc32Combine(crc32(a), crc32(b), b.length)).toBe(crc32(data));
    }
    // A megabyte run: the length's bits reach far past the small cuts above.
    const zeros = Buffer.alloc(1 << 20);
    const crcOfZeros = crc32(zeros);
    expect(crc32Combine(crc32(data), crcOfZeros, zeros.length)).toBe(crc32(zeros, crc32(data)));
  });

  it('writes one gzip member whose deflate stream holds the whole page, readable by any gzip reader', async () => {
    const data = pageLike(9 * 1024 * 1024 + 12_345);
    const gz = await gzipInPieces([data]);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    // One member: the deflate data between the 10-byte header and the 8-byte trailer inflates to all of it,
    // where a reader that stops after the first member of a multi-member body would get only the first piece.
    expect(gz.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    expect(inflateRawSync(gz.subarray(10, gz.length - 8)).equals(data)).toBe(true);
    expect(gz.readUInt32LE(gz.length - 8)).toBe(crc32(data));
    expect(gz.readUInt32LE(gz.length - 4)).toBe(data.length);
    // Pieces that share no dictionary cost little ratio against one stream.
    expect(gz.length).toBeLessThan(gzipSync(data, { level: 1 }).length * 1.02);
  });

  it('reads a page given as many views, cutting views where pieces end', async () => {
    const data = pageLike(6 * 1024 * 1024 + 777);
    const views: Buffer[] = [];
    for (let at = 0, i = 0; at < data.length; i++) {
      const length = Math.min(data.length - at, i % 7 === 0 ? 900_000 : 1 + ((i * 7919) % 40_000));
      views.push(data.subarray(at, at + length));
      at += length;
    }
    const gz = await gzipInPieces(views);
    expect(gunzipSync(gz).equals(data)).toBe(true);
    expect(inflateRawSync(gz.subarray(10, gz.length - 8)).equals(data)).toBe(true);
  });

  it('handles an empty page and a page below one piece', async () => {
    expect(gunzipSync(await gzipInPieces([Buffer.alloc(0)])).length).toBe(0);
    const small = pageLike(5000);
    expect(gunzipSync(await gzipInPieces([small])).equals(small)).toBe(true);
  });

  it('compresses in batches across the workers, and a failing worker fails only its call', async () => {
    // Sixty pieces of 300 KB: several batches per worker, answered in order.
    const pieces = Array.from({ length: 60 }, (_, i) => pageLike(300_000 + i));
    const deflated = await deflatePieces(
      pieces.map((piece) => ({ views: [piece.subarray(0, 1000), piece.subarray(1000)], length: piece.length })),
      1,
    );
    deflated.forEach((d, i) => {
      expect(inflateRawSync(d.deflate, { finishFlush: constants.Z_SYNC_FLUSH }).equals(pieces[i]!)).toBe(true);
      expect(d.crc).toBe(crc32(pieces[i]!));
    });
    // zlib refuses level 42 in the worker: the call fails with the reason, and the next call is served.
    await expect(deflatePieces([{ views: [pieces[0]!], length: pieces[0]!.length }], 42)).rejects.toThrow(/deflate worker: .*level/i);
    const again = await gzipInPieces([pieces[1]!]);
    expect(gunzipSync(again).equals(pieces[1]!)).toBe(true);
  });

  it('fails the call whose worker dies mid-batch, and serves the next one with a fresh worker', async () => {
    // A worker that ends its thread on a level-8 batch, before it can answer.
    const workers = new DeflateWorkers(`require('node:worker_threads').parentPort.on('message', ({ level }) => { if (level === 8) process.exit(3); });\n${WORKER_SOURCE}`);
    const data = pageLike(2 * 1024 * 1024);
    const pieces = [
      { views: [data.subarray(0, 1 << 20)], length: 1 << 20 },
      { views: [data.subarray(1 << 20)], length: data.length - (1 << 20) },
    ];
    await expect(workers.deflate(pieces, 8)).rejects.toThrow(/deflate worker exited with code 3/);
    for (let round = 0; round < 3; round++) {
      const deflated = await workers.deflate(pieces, 1);
      expect(inflateRawSync(Buffer.concat([...deflated.map((d) => d.deflate), Buffer.from([0x03, 0x00])])).equals(data)).toBe(true);
    }
  });
});
