import { constants as zlibConstants } from 'node:zlib';
import type { DeviceStoreView } from '../../agent/contracts/part.js';
import type { MetricsExposition, RenderedExposition } from './exposition.js';
import { gzipInPieces } from './parallel-gzip.js';

/** One rendered /metrics body held by the responses that send it; its buffer is reused once the last lets go. */
export interface PageLease {
  readonly bytes: Buffer;
  /** The body gzipped, compressed once per page however many scrapes ask. */
  gzipped(): Promise<Buffer>;
  release(): void;
}

interface Page {
  readonly rendered: RenderedExposition;
  readonly generation: number;
  readonly renderedAtMs: number;
  refs: number;
  gzip?: Promise<Buffer>;
}

export interface SharedPageLimits {
  /** A page still being sent is reused by a new scrape for this long even though the store changed since. */
  shareForMs: number;
  /** Pages held at once by responses still being sent; past it new scrapes get the newest, however old. */
  maxLivePages: number;
}

const DEFAULT_LIMITS: SharedPageLimits = { shareForMs: 1_000, maxLivePages: 3 };

/**
 * Scrapes that overlap share one rendered page (and one gzip of it): a render in progress is joined,
 * and a page still being sent is reused while the store has not changed since it was rendered, or for
 * a second. So however many responses are queued (pipelined on one connection, or many connections
 * that do not read), they hold a few bodies between them, not one each; a scrape that comes after the
 * last one was sent renders anew, so a lone scraper always reads the store as it is.
 */
export class SharedMetricsPage {
  #current: Page | undefined;
  #pending: Promise<Page> | undefined;
  readonly #live = new Set<Page>();
  readonly #limits: SharedPageLimits;

  constructor(
    private readonly exposition: MetricsExposition,
    private readonly store: DeviceStoreView,
    limits: Partial<SharedPageLimits> = {},
  ) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  async acquire(): Promise<PageLease> {
    const page = this.#shareable() ?? (await this.#render());
    if (page.refs === 0) this.#live.add(page);
    page.refs++;
    let released = false;
    return {
      bytes: page.rendered.bytes,
      gzipped: () => {
        // Level 1: /metrics bodies are large and repetitive, so the fastest level already shrinks them manyfold (bench/README.md).
        page.gzip ??= gzipInPieces(page.rendered.bytes, zlibConstants.Z_BEST_SPEED);
        return page.gzip;
      },
      release: () => {
        if (released) return;
        released = true;
        page.refs--;
        if (page.refs === 0) {
          this.#live.delete(page);
          if (this.#current === page) this.#current = undefined;
          page.rendered.release();
        }
      },
    };
  }

  #shareable(): Page | undefined {
    // At the bound, the page added last (pages join the live set when first held, so it is the newest held).
    if (this.#live.size >= this.#limits.maxLivePages) return [...this.#live].at(-1);
    const current = this.#current;
    if (current === undefined || current.refs === 0) return undefined;
    return current.generation === this.store.generation || Date.now() - current.renderedAtMs < this.#limits.shareForMs ? current : undefined;
  }

  #render(): Promise<Page> {
    this.#pending ??= (async () => {
      try {
        const generation = this.store.generation;
        const rendered = await this.exposition.render();
        const page: Page = { rendered, generation, renderedAtMs: Date.now(), refs: 0 };
        this.#current = page;
        return page;
      } finally {
        this.#pending = undefined;
      }
    })();
    return this.#pending;
  }
}
