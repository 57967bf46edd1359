/**
 * VNish (custom Antminer firmware). Its `stats` keep bmminer's layout and name the firmware in the
 * header: `"Type":"Antminer S9 (vnish 3.8.6)"` (or in `Miner` / `CompileTime` on other builds). Newer
 * builds add watts to the chain row: a `power` total or `chain_powerN` per chain, possibly with a unit
 * ("1071.5 W"). The Antminer reader does the rest.
 */
import type { DeviceSnapshot } from '../../../../agent/snapshot.js';
import { firstRowOf, rowsOf, type CgminerReply } from '../../reply.js';
import { header, normalizeAntminer } from '../antminer/index.js';
import { str, setReportedPower, watts, type Row } from '../fields.js';
import type { CgminerDialect, NormalizeContext } from '../types.js';

const MARKER_KEYS = ['Type', 'Miner', 'CompileTime'] as const;
const MAX_CHAINS = 16;

function vnishMarker(reply: CgminerReply): string | undefined {
  const rows = [header(reply), firstRowOf(reply.version, 'VERSION')];
  for (const row of rows) {
    for (const key of MARKER_KEYS) {
      const v = str(row?.[key]);
      if (v && /vnish/i.test(v)) return v;
    }
  }
  return undefined;
}

export const vnishDialect: CgminerDialect<'vnish'> = {
  name: 'vnish',
  identify: (reply) => vnishMarker(reply) !== undefined,
  normalize(reply, ctx) {
    return normalizeVnish(reply, ctx);
  },
};

/** The firmware's total watts, or the sum of its chains'. */
export function vnishPower(stats: Row | undefined): number | undefined {
  if (!stats) return undefined;
  const total = watts(stats['power']) ?? watts(stats['Power']) ?? watts(stats['chain_power']);
  if (total !== undefined) return total;
  let sum: number | undefined;
  for (let slot = 1; slot <= MAX_CHAINS; slot++) {
    const w = watts(stats[`chain_power${slot}`]);
    if (w !== undefined) sum = (sum ?? 0) + w;
  }
  return sum;
}

function normalizeVnish(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot {
  const snapshot = normalizeAntminer(reply, ctx, vnishDialect.name);
  const marker = vnishMarker(reply);
  const release = marker ? /vnish[\s_-]*v?([\d.]+)/i.exec(marker)?.[1] : undefined;
  snapshot.firmware = release ? `VNish ${release}` : 'VNish';
  const chainRow = rowsOf(reply.stats, 'STATS').find((r) => 'ID' in r || 'GHS 5s' in r || 'chain_acn1' in r);
  setReportedPower(snapshot, vnishPower(chainRow));
  return snapshot;
}
