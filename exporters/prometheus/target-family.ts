import type { PollStatsView } from '../../agent/contracts/part.js';
import { redactUrl } from '../../agent/redact.js';
import type { PageSegment } from './page-segment.js';
import { escapeLabelValue, familyHeader } from './text-format.js';

export const TARGET_SUCCESS_FAMILY = 'potencia_target_poll_success';
const NAME = TARGET_SUCCESS_FAMILY;
const HEADER = familyHeader(
  NAME,
  'gauge',
  'Whether the last poll of a target read it, as node_exporter says per collector: 1 when it answered and at least one of its devices is up, 0 when it failed (its devices are reported down with the reason).',
);

/**
 * One series per target, as many as there are miners: written straight into the body with each
 * target's line start made once, since prom-client would build and escape every label set per scrape.
 */
export class TargetSuccessFamily {
  readonly #linePrefix = new Map<string, string>();
  /** Redacted label → the URL it stands for, so two targets never share one. */
  readonly #labelOwners = new Map<string, string>();
  /** The targets and their success as last written, in order, and the bytes written. */
  #urls: string[] = [];
  #oks: boolean[] = [];
  #bytes: Buffer | undefined;
  /** Moves whenever the bytes are rebuilt. */
  #version = 0;

  constructor(private readonly polls: PollStatsView) {}

  /** The family as one page segment, its version moving when a target came, went or flipped; none without targets. */
  segment(): PageSegment | undefined {
    const bytes = this.#page();
    return bytes.length === 0 ? undefined : { views: [bytes], length: bytes.length, identity: { owner: this, index: 0, version: this.#version } };
  }

  /**
   * The family's bytes, rebuilt only when a target came, went or flipped: at 50,000 targets writing
   * every line at each scrape took tens of milliseconds of the scrape's main thread, and between two
   * scrapes few targets change.
   */
  #page(): Buffer {
    let index = 0;
    let same = this.#bytes !== undefined;
    if (same) {
      for (const [url, ok] of this.polls.targets()) {
        if (this.#urls[index] !== url || this.#oks[index] !== ok) {
          same = false;
          break;
        }
        index++;
      }
    }
    if (same && index === this.#urls.length) return this.#bytes!;
    const urls: string[] = [];
    const oks: boolean[] = [];
    const lines: string[] = [];
    for (const [url, ok] of this.polls.targets()) {
      let prefix = this.#linePrefix.get(url);
      if (prefix === undefined) {
        prefix = `${NAME}{target="${escapeLabelValue(this.#label(url))}"} `;
        this.#linePrefix.set(url, prefix);
      }
      urls.push(url);
      oks.push(ok);
      lines.push(prefix, ok ? '1\n' : '0\n');
    }
    this.#urls = urls;
    this.#oks = oks;
    this.#bytes = Buffer.from(urls.length === 0 ? '' : HEADER + lines.join(''), 'utf8');
    this.#version++;
    // Targets that left keep no line start: the cache follows the targets polled.
    if (this.#linePrefix.size > this.polls.targetCount * 2 + 64) this.#prune();
    return this.#bytes;
  }

  /**
   * The URL without its secret (an SNMP community, a password). Two targets that differ only in the
   * secret (one host polled with two communities) would then share a label and make duplicate series:
   * the later one gets `#2`, `#3`… in the order the targets were first seen, which follows the config.
   */
  #label(url: string): string {
    const redacted = redactUrl(url);
    if (redacted === url) return url;
    let label = redacted;
    for (let n = 2; this.#labelOwners.has(label) && this.#labelOwners.get(label) !== url; n++) label = `${redacted}#${n}`;
    this.#labelOwners.set(label, url);
    return label;
  }

  #prune(): void {
    const live = new Set<string>();
    for (const [url] of this.polls.targets()) live.add(url);
    for (const url of this.#linePrefix.keys()) if (!live.has(url)) this.#linePrefix.delete(url);
    for (const [label, url] of this.#labelOwners) if (!live.has(url)) this.#labelOwners.delete(label);
  }
}
