import type { EconomicsReader } from '../../agent/contracts/economics.js';
import type { DeviceStoreView, PollStatsView, SelfMetrics } from '../../agent/contracts/part.js';
import type { DeviceSnapshot } from '../../agent/snapshot.js';
import type { AgentMetrics, DeviceCount } from './metrics.js';
import { DEVICE_FAMILIES } from './families.js';
import type { DeviceFamily } from './family.js';
import { type PageSegment, writeSegments } from './page-segment.js';
import { DeviceMetricsRenderer } from './renderer.js';
import { writeSelfFamilies } from './self-families.js';
import { TargetSuccessFamily } from './target-family.js';
import { TextBuffer } from './text-buffer.js';

export interface ExpositionSources {
  readonly store: DeviceStoreView;
  readonly metrics: AgentMetrics;
  readonly polls: PollStatsView;
  readonly economics?: EconomicsReader | undefined;
  /** Series other parts keep of their own work. */
  readonly selfMetrics?: SelfMetrics | undefined;
  /** The device families on the page; all of them unless the operator's `metrics:` leaves some parts out. */
  readonly families?: readonly DeviceFamily[];
}

/** One rendered body; its bytes stay valid until release(), which hands the buffer back for reuse. */
export interface RenderedExposition {
  readonly bytes: Buffer;
  release(): void;
}

/**
 * Buffers kept for reuse. One: Prometheus servers rarely overlap scrapes, and a page at 50,000
 * devices is a couple of hundred megabytes, too much to keep a spare of for the rare overlap.
 */
const POOLED_BUFFERS = 1;

/** The whole `/metrics` body: device families from the store, each target's poll success, then the agent's own metrics. */
export class MetricsExposition {
  #renderer: DeviceMetricsRenderer;
  readonly #economics: EconomicsReader | undefined;
  readonly #targets: TargetSuccessFamily;
  readonly #free: TextBuffer[] = [];
  readonly #unsubscribeEconomics: () => void;
  readonly #store: DeviceStoreView;
  readonly #metrics: AgentMetrics;
  readonly #selfMetrics: SelfMetrics | undefined;

  constructor(sources: ExpositionSources) {
    const { store, metrics, economics } = sources;
    this.#store = store;
    this.#selfMetrics = sources.selfMetrics;
    this.#metrics = metrics;
    this.#economics = economics;
    this.#renderer = new DeviceMetricsRenderer(store, sources.families ?? DEVICE_FAMILIES, economics && (() => economics));
    this.#targets = new TargetSuccessFamily(sources.polls);
    // Render on write for economics too: a round's new assessments are rendered as it ends, not at the next scrape.
    this.#unsubscribeEconomics = economics ? economics.onRound(() => this.#renderer.refreshEconomics()) : () => {};
  }

  get renderer(): DeviceMetricsRenderer {
    return this.#renderer;
  }

  /** Renders these families from now on (a reload that changed `metrics:`); the next scrape renders every device anew. */
  useFamilies(families: readonly DeviceFamily[]): void {
    const economics = this.#economics;
    this.#renderer.close();
    this.#renderer = new DeviceMetricsRenderer(this.#store, families, economics && (() => economics));
  }

  /** The page copied into a reused buffer, for a scrape that takes it uncompressed. */
  async render(): Promise<RenderedExposition> {
    const page = await this.renderSegments();
    const out = this.#free.pop() ?? new TextBuffer();
    out.reset();
    try {
      writeSegments(out, page.segments);
    } finally {
      page.release();
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      if (this.#free.length < POOLED_BUFFERS) this.#free.push(out);
    };
    return { bytes: out.bytes, release };
  }

  /**
   * The page in segments, without a copy: the device families straight from the renderer's slabs,
   * which stay frozen until release(), then each target's poll success and the agent's own series.
   */
  async renderSegments(): Promise<{ segments: PageSegment[]; release: () => void }> {
    const tail = new TextBuffer();
    this.#metrics.setDeviceCounts(countDevices(this.#store));
    tail.write(await this.#metrics.render());
    if (this.#selfMetrics) writeSelfFamilies(tail, this.#selfMetrics.families());
    const { segments, thaw } = this.#renderer.freeze();
    const targets = this.#targets.segment();
    if (targets) segments.push(targets);
    segments.push({ views: [tail.bytes], length: tail.bytes.length });
    return { segments, release: thaw };
  }

  /** Stops the renderer's render-on-write subscription to the store (a server that closes, a reload that moves it). */
  close(): void {
    this.#unsubscribeEconomics();
    this.#renderer.close();
  }

  async renderText(): Promise<string> {
    const rendered = await this.render();
    try {
      return rendered.bytes.toString('utf8');
    } finally {
      rendered.release();
    }
  }
}

export function countDevices(store: DeviceStoreView): DeviceCount[] {
  // Per kind, [down, up]: no key string per device, which at 50,000 devices a scrape would pay for.
  const counts = new Map<DeviceSnapshot['kind'], [number, number]>();
  for (const { snapshot } of store.entries()) {
    let pair = counts.get(snapshot.kind);
    if (pair === undefined) {
      pair = [0, 0];
      counts.set(snapshot.kind, pair);
    }
    pair[snapshot.up ? 1 : 0]++;
  }
  const out: DeviceCount[] = [];
  for (const [kind, [down, up]] of counts) {
    if (up > 0) out.push({ kind, up: true, count: up });
    if (down > 0) out.push({ kind, up: false, count: down });
  }
  return out;
}
