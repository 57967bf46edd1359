import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';

/** Largest `${file:…}` secret: a password, a token or a certificate fits; `/dev/zero` does not grow memory. */
export const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** Largest config file: thousands of targets fit many times over. */
export const MAX_CONFIG_FILE_BYTES = 16 * 1024 * 1024;

const READ_CHUNK_BYTES = 64 * 1024;

/** Why a file cannot be used, naming the file and the fault, never its content. */
export class FileReadError extends Error {}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO';
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return 'a device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a regular file of at most `maxBytes` as UTF-8; `what` names it in errors ("secret file"). The
 * path is checked with stat, then opened non-blocking and checked again on the open descriptor, so a
 * FIFO or device swapped in between cannot hang the daemon on reload nor grow its memory.
 */
export function readBoundedFile(path: string, maxBytes: number, what: string): string {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (err) {
    throw new FileReadError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  if (!stats.isFile()) throw new FileReadError(`${what} ${path} is ${kindOf(stats)}; only a regular file is read`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    throw new FileReadError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
  try {
    const opened = fstatSync(fd);
    if (!opened.isFile()) throw new FileReadError(`${what} ${path} is ${kindOf(opened)}; only a regular file is read`);
    if (opened.size > maxBytes) throw new FileReadError(`${what} ${path} is larger than ${kib(maxBytes)}`);
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(READ_CHUNK_BYTES, maxBytes + 1 - length));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      length += n;
      // A file that grew past the cap since fstat, or a proc file that reports size 0.
      if (length > maxBytes) throw new FileReadError(`${what} ${path} is larger than ${kib(maxBytes)}`);
    }
    return Buffer.concat(chunks, length).toString('utf8');
  } catch (err) {
    if (err instanceof FileReadError) throw err;
    throw new FileReadError(`cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  } finally {
    closeSync(fd);
  }
}

function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${bytes / 1024 / 1024} MiB` : `${bytes / 1024} KiB`;
}
