import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** A stretch of the page as deflate data ending on a byte boundary (a sync flush), with its CRC-32 and length. */
export interface Deflated {
  readonly deflate: Buffer;
  readonly crc: number;
  readonly length: number;
}

/** Bytes to deflate as one stream: views of the page, gathered into one buffer when sent to a worker. */
export interface Piece {
  readonly views: Buffer[];
  length: number;
}

/** Threads that compress; more than a few would only share the same cores with the agent's polling. */
export const DEFLATE_THREADS = Math.min(4, availableParallelism());
/** Input handed to a worker in one message: enough that a steady-state page is a message or two per worker, few enough megabytes that the copies stay small. */
const BATCH_BYTES = 8 * 1024 * 1024;

/**
 * The worker's whole program. It is plain JavaScript evaluated in the worker, so that it runs the same
 * from the compiled agent and from the TypeScript sources under test. Each piece is deflated on its
 * own and ends with a sync flush (no final block), so pieces join into one stream. The batch's memory
 * goes back with the answer, for the next batch: left to the worker's collector, batches of dead input
 * held a hundred megabytes between collections.
 */
export const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const zlib = require('node:zlib');
parentPort.on('message', ({ id, memory, bounds, level }) => {
  try {
    const out = bounds.map(([start, length]) => {
      const piece = new Uint8Array(memory, start, length);
      const deflated = zlib.deflateRawSync(piece, { level, finishFlush: zlib.constants.Z_SYNC_FLUSH });
      // Moved back when it owns its memory; copied when it is a slice of a larger buffer, which moving
      // would take along. Every copy is garbage the worker holds until it collects.
      const deflate = deflated.byteOffset === 0 && deflated.byteLength === deflated.buffer.byteLength ? deflated : new Uint8Array(deflated);
      return { deflate, crc: zlib.crc32(piece), length };
    });
    parentPort.postMessage({ id, out, memory }, [memory, ...out.map((d) => d.deflate.buffer)]);
  } catch (err) {
    parentPort.postMessage({ id, error: String((err && err.message) || err), memory }, [memory]);
  }
});
`;

/** Pieces copied back to back into one memory that moves to a worker and back: [start, length] each. */
interface Batch {
  readonly memory: ArrayBuffer;
  readonly bounds: [number, number][];
  readonly first: number;
}

type Reply = { id: number; memory: ArrayBuffer } & ({ out: { deflate: Uint8Array; crc: number; length: number }[] } | { error: string });

/**
 * Compression off the main thread. zlib's asynchronous streams run on libuv's thread pool, but every
 * piece then needs several round trips through the event loop, and at 50,000 devices that loop is busy
 * with polls: each round trip waited behind them, and a scrape of a few dozen pieces took seconds now
 * and then (bench/README.md). A worker takes a batch of pieces in one message and answers in one.
 */
export class DeflateWorkers {
  /** `source`: the workers' program; tests put a fault in front of WORKER_SOURCE. */
  constructor(private readonly source: string = WORKER_SOURCE) {}

  readonly #idle: Worker[] = [];
  #started = 0;
  readonly #waiting: ((worker: Worker) => void)[] = [];
  /** Batch memories back from the workers: at most one per worker is ever out. */
  readonly #spare: ArrayBuffer[] = [];
  #nextId = 0;

  /** Each piece deflated, in order. The views are copied as batches are sent: they must hold until the promise settles. */
  async deflate(pieces: readonly Piece[], level: number): Promise<Deflated[]> {
    const out: Deflated[] = new Array(pieces.length);
    const sends: Promise<void>[] = [];
    let failed: { err: unknown } | undefined;
    for (let first = 0; first < pieces.length && !failed; ) {
      const worker = await this.#acquire();
      if (failed) {
        this.#release(worker);
        break;
      }
      const batch = this.#batch(pieces, first);
      first += batch.bounds.length;
      sends.push(
        this.#send(worker, batch, level).then(
          (deflated) => {
            this.#release(worker);
            for (const [k, d] of deflated.entries()) out[batch.first + k] = d;
          },
          (err: unknown) => {
            failed ??= { err };
            void worker.terminate();
          },
        ),
      );
    }
    await Promise.all(sends);
    if (failed) throw failed.err;
    return out;
  }

  async #acquire(): Promise<Worker> {
    const idle = this.#idle.pop();
    if (idle) return idle;
    if (this.#started < DEFLATE_THREADS) {
      this.#started++;
      const worker = new Worker(this.source, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
      // An idle worker must not keep the agent (or a test) alive.
      worker.unref();
      // A batch's own listeners report its failure; this one only keeps a worker's error from being uncaught.
      worker.on('error', () => {});
      worker.once('exit', () => this.#ended(worker));
      return worker;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #release(worker: Worker): void {
    const next = this.#waiting.shift();
    if (next) next(worker);
    else this.#idle.push(worker);
  }

  /** A worker ended, failed, killed or idle: it is never handed out again, and one that waits may start its own. */
  #ended(worker: Worker): void {
    this.#started--;
    const idle = this.#idle.indexOf(worker);
    if (idle >= 0) this.#idle.splice(idle, 1);
    const next = this.#waiting.shift();
    if (next) void this.#acquire().then(next);
  }

  #send(worker: Worker, batch: Batch, level: number): Promise<Deflated[]> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const onMessage = (reply: Reply) => {
        if (reply.id !== id) return;
        done();
        this.#keep(reply.memory);
        if ('error' in reply) reject(new Error(`deflate worker: ${reply.error}`));
        else {
          try {
            resolve(reply.out.map(deflatedPiece));
          } catch (err) {
            reject(err);
          }
        }
      };
      const onError = (err: Error) => {
        done();
        reject(err);
      };
      const onExit = (code: number) => onError(new Error(`deflate worker exited with code ${code}`));
      const done = () => {
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.unref();
      };
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      // Held while it works, so a process with nothing else to do waits for the page.
      worker.ref();
      worker.postMessage({ id, memory: batch.memory, bounds: batch.bounds, level }, [batch.memory]);
    });
  }

  /** Keeps a batch memory for the next batch; past one per worker, the smallest goes. */
  #keep(memory: ArrayBuffer): void {
    this.#spare.push(memory);
    if (this.#spare.length > DEFLATE_THREADS) this.#spare.sort((a, b) => a.byteLength - b.byteLength).shift();
  }

  /**
   * The pieces from `first` on, up to about BATCH_BYTES (at least one), copied into a spare memory
   * big enough, or a new one. Batches are made as workers free up, so the copies held at once are a
   * batch per worker, not the page.
   */
  #batch(pieces: readonly Piece[], first: number): Batch {
    let end = first + 1;
    let bytes = pieces[first]!.length;
    while (end < pieces.length && bytes + pieces[end]!.length <= BATCH_BYTES) bytes += pieces[end++]!.length;
    const spare = this.#spare.findIndex((memory) => memory.byteLength >= bytes);
    const memory = spare >= 0 ? this.#spare.splice(spare, 1)[0]! : new ArrayBuffer(Math.max(bytes, BATCH_BYTES));
    const into = Buffer.from(memory);
    const bounds: [number, number][] = [];
    let at = 0;
    for (let i = first; i < end; i++) {
      const start = at;
      for (const view of pieces[i]!.views) at += view.copy(into, at);
      bounds.push([start, at - start]);
    }
    return { memory, bounds, first };
  }
}

const SYNC_FLUSH_MARKER = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** A worker's answer for one piece, refused unless it ends on the sync flush that lets pieces join. */
function deflatedPiece(d: { deflate: Uint8Array; crc: number; length: number }): Deflated {
  const deflate = Buffer.from(d.deflate.buffer, d.deflate.byteOffset, d.deflate.byteLength);
  if (deflate.length < SYNC_FLUSH_MARKER.length || !deflate.subarray(deflate.length - SYNC_FLUSH_MARKER.length).equals(SYNC_FLUSH_MARKER)) {
    throw new Error('a deflate worker answered with data that does not end on a sync flush');
  }
  return { deflate, crc: d.crc, length: d.length };
}

const shared = new DeflateWorkers();

/** Each piece deflated ending with a sync flush, with its CRC-32, off the main thread. */
export function deflatePieces(pieces: readonly Piece[], level: number): Promise<Deflated[]> {
  return shared.deflate(pieces, level);
}
