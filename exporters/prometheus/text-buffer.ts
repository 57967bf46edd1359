/**
 * A growable byte buffer that is reused from one scrape to the next. A farm's exposition is large:
 * building it as one fresh string (or Buffer) per scrape makes the kernel fault in and zero that much
 * new memory every time, which costs more than rendering it (bench/README.md).
 */
export class TextBuffer {
  #bytes: Buffer;
  #length = 0;

  constructor(initialCapacity = 64 * 1024) {
    this.#bytes = Buffer.allocUnsafe(initialCapacity);
  }

  get length(): number {
    return this.#length;
  }

  /** The written bytes; a view that the next reset() and write() overwrite. */
  get bytes(): Buffer {
    return this.#bytes.subarray(0, this.#length);
  }

  reset(): void {
    this.#length = 0;
  }

  /** Makes room for `bytes` more, so a run of writes of known total size grows the buffer at most once. */
  reserve(bytes: number): void {
    if (this.#length + bytes > this.#bytes.length) this.#grow(this.#length + bytes);
  }

  write(text: string): void {
    // UTF-8 needs at most 3 bytes per UTF-16 code unit; checking the bound avoids measuring every string.
    if (this.#length + text.length * 3 > this.#bytes.length) this.#grow(this.#length + text.length * 3);
    this.#length += this.#bytes.write(text, this.#length);
  }

  writeBytes(source: Buffer, start: number, end: number): void {
    if (this.#length + end - start > this.#bytes.length) this.#grow(this.#length + end - start);
    this.#length += source.copy(this.#bytes, this.#length, start, end);
  }

  toString(): string {
    return this.#bytes.toString('utf8', 0, this.#length);
  }

  #grow(needed: number): void {
    // An eighth over what is needed, not double: at 50,000 devices the page is hundreds of megabytes,
    // and the renderer reserves the devices' bytes up front, so only the small tail grows it further.
    const next = Buffer.allocUnsafe(Math.max(needed + (needed >> 3), this.#bytes.length + 64 * 1024));
    this.#bytes.copy(next, 0, 0, this.#length);
    this.#bytes = next;
  }
}
