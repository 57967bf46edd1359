import type { PollStatsView } from '../../agent/contracts/part.js';
import { redactUrl } from '../../agent/redact.js';
import type { TextBuffer } from './text-buffer.js';
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

  constructor(private readonly polls: PollStatsView) {}

  writeTo(out: TextBuffer): void {
    let wroteHeader = false;
    for (const [url, ok] of this.polls.targets()) {
      if (!wroteHeader) {
        out.write(HEADER);
        wroteHeader = true;
      }
      let prefix = this.#linePrefix.get(url);
      if (prefix === undefined) {
        prefix = `${NAME}{target="${escapeLabelValue(this.#label(url))}"} `;
        this.#linePrefix.set(url, prefix);
      }
      out.write(prefix);
      out.write(ok ? '1\n' : '0\n');
    }
    // Targets that left keep no line start: the cache follows the targets polled.
    if (this.#linePrefix.size > this.polls.targetCount * 2 + 64) this.#prune();
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
