import type { SelfMetricFamily } from '../../agent/contracts/part.js';
import type { TextBuffer } from './text-buffer.js';
import { escapeLabelValue, familyHeader, formatValue } from './text-format.js';

/** The families parts keep of their own work (agent/contracts/part.ts SelfMetrics), in the text format. */
export function writeSelfFamilies(out: TextBuffer, families: Iterable<SelfMetricFamily>): void {
  for (const family of families) {
    out.write(familyHeader(family.name, family.type, family.help));
    for (const sample of family.samples()) {
      let labels = '';
      if (sample.labels) {
        const pairs = Object.entries(sample.labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
        if (pairs.length) labels = `{${pairs.join(',')}}`;
      }
      out.write(`${family.name}${labels} ${formatValue(sample.value)}\n`);
    }
  }
}
