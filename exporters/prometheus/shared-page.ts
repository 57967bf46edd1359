import { constants as zlibConstants } from 'node:zlib';
import type { DeviceStoreView } from '../../agent/contracts/part.js';
import type { MetricsExposition } from './exposition.js';
import { DeflateCache } from './parallel-gzip.js';

/** How a body is sent: gzip, as Prometheus asks, or as it is. */
export type PageEncoding = 'gzip' | 'identity';

/** One rendered /metrics body held by the responses that send it; its buffer is reused once the last lets go. */
export interface PageLease {
  readonly body: Buffer;
  release(): void;
}

interface Page {
  readonly encoding: PageEncoding;
  readonly body: Buffer;
  readonly generation: number;
  readonly renderedAtMs: number;
  readonly release: () => void;
  refs: number;
}

export interface SharedPageLimits {
  /** A page still being sent is reused by a new scrape for this long even though the store changed since. */
  shareForMs: number;
  /** Pages held at once by responses still being sent; past it new scrapes get the newest, however old. */
  maxLivePages: number;
}

const DEFAULT_LIMITS: SharedPageLimits = { shareForMs: 1_000, maxLivePages: 3 };

/**
 * Scrapes that overlap share one rendered page per encoding: a render in progress is joined, and a
 * page still being sent is reused while the store has not changed since it was rendered, or for a
 * second. So however many responses are queued (pipelined on one connection, or many connections that
 * do not read), they hold a few bodies between them, not one each; a scrape that comes after the last
 * one was sent renders anew, so a lone scraper always reads the store as it is.
 *
 * A gzip page is compressed straight from the renderer's slabs, which stay frozen only while it is
 * compressed: no uncompressed copy of the page is made. Stretches of the page whose bytes did not
 * change since the last gzip page (a block of devices whose info, board status or chips stayed as
 * they were) are not compressed again: the last page's deflate data for them is reused. An
 * uncompressed page is copied into a reused buffer, which the responses hold until sent.
 */
export class SharedMetricsPage {
  readonly #current = new Map<PageEncoding, Page>();
  readonly #pending = new Map<PageEncoding, Promise<Page>>();
  readonly #live = new Set<Page>();
  readonly #limits: SharedPageLimits;
  /** What the last gzip page's unchanged stretches compressed to. */
  readonly #deflated = new DeflateCache();

  constructor(
    private readonly exposition: MetricsExposition,
    private readonly store: DeviceStoreView,
    limits: Partial<SharedPageLimits> = {},
  ) {
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  async acquire(encoding: PageEncoding): Promise<PageLease> {
    const page = this.#shareable(encoding) ?? (await this.#render(encoding));
    if (page.refs === 0) this.#live.add(page);
    page.refs++;
    let released = false;
    return {
      body: page.body,
      release: () => {
        if (released) return;
        released = true;
        page.refs--;
        if (page.refs === 0) {
          this.#live.delete(page);
          for (const [key, current] of this.#current) if (current === page) this.#current.delete(key);
          page.release();
        }
      },
    };
  }

  #shareable(encoding: PageEncoding): Page | undefined {
    // At the bound, the newest held page of this encoding (pages join the live set when first held).
    if (this.#live.size >= this.#limits.maxLivePages) return [...this.#live].filter((page) => page.encoding === encoding).at(-1);
    const current = this.#current.get(encoding);
    if (current === undefined || current.refs === 0) return undefined;
    return current.generation === this.store.generation || Date.now() - current.renderedAtMs < this.#limits.shareForMs ? current : undefined;
  }

  #render(encoding: PageEncoding): Promise<Page> {
    let pending = this.#pending.get(encoding);
    if (pending === undefined) {
      pending = (async () => {
        try {
          const generation = this.store.generation;
          const page: Page = { ...(encoding === 'gzip' ? await this.#gzipped() : await this.#plain()), encoding, generation, renderedAtMs: Date.now(), refs: 0 };
          this.#current.set(encoding, page);
          return page;
        } finally {
          this.#pending.delete(encoding);
        }
      })();
      this.#pending.set(encoding, pending);
    }
    return pending;
  }

  async #plain(): Promise<{ body: Buffer; release: () => void }> {
    const rendered = await this.exposition.render();
    return { body: rendered.bytes, release: rendered.release };
  }

  async #gzipped(): Promise<{ body: Buffer; release: () => void }> {
    const page = await this.exposition.renderSegments();
    try {
      // Level 1: /metrics bodies are large and repetitive, so the fastest level already shrinks them manyfold (bench/README.md).
      return { body: await this.#deflated.gzip(page.segments, zlibConstants.Z_BEST_SPEED), release: () => {} };
    } finally {
      page.release();
    }
  }
}
