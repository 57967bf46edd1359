/**
 * LuxOS (Luxor's firmware for Antminers, `LUXminer`). Its `stats` keep bmminer's layout, so the Antminer
 * reader does the chains; on top it answers `power` (`POWER[0].Watts`), `profiles` (each profile's
 * `Hashrate` in TH/s and `Watts`) and a `Profile` per board in `devs`, which names the one running.
 * It names itself in every STATUS Description ("LUXminer 2025.4.8.220305-57b389c7") and in VERSION.
 */
import type { DeviceSnapshot } from '../../../../agent/snapshot.js';
import { firstRowOf, rowsOf, type CgminerReply } from '../../reply.js';
import { normalizeAntminer } from '../antminer/index.js';
import { count, descriptionMatching, num, rowHashrate, setReportedPower, str, toHs, watts } from '../fields.js';
import type { CgminerDialect, NormalizeContext } from '../types.js';

const LUXOS_DESCRIPTION = /^LUXminer\b/;

export const luxosDialect: CgminerDialect<'luxos'> = {
  name: 'luxos',
  extraCommands: ['version', 'devs', 'fans', 'power', 'profiles'],
  optionalCommands: ['profiles'],
  identify(reply) {
    const version = firstRowOf(reply.version, 'VERSION');
    if (version && 'LUXminer' in version) return true;
    return descriptionMatching(reply, LUXOS_DESCRIPTION) !== undefined;
  },
  normalize(reply, ctx) {
    return normalizeLuxos(reply, ctx);
  },
};

function normalizeLuxos(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot {
  const snapshot = normalizeAntminer(reply, ctx, luxosDialect.name);
  const version = firstRowOf(reply.version, 'VERSION');
  const program = str(version?.['LUXminer']) ?? descriptionMatching(reply, LUXOS_DESCRIPTION)?.replace(/^LUXminer\s*/, '');
  if (program) snapshot.firmware = `LuxOS ${program}`;
  if (!snapshot.model) {
    snapshot.model = str(version?.['Type']);
  }
  setReportedPower(snapshot, watts(firstRowOf(reply.power, 'POWER')?.['Watts']));

  // Where stats lacked fans (a reply without them), the fans command has them in the same order.
  if (snapshot.fans_rpm.length === 0)
    snapshot.fans_rpm = rowsOf(reply.fans, 'FANS')
      .map((f) => count(f['RPM']))
      .filter((v): v is number => v !== undefined);

  const devs = rowsOf(reply.devs, 'DEVS');
  if (snapshot.hashrate_hs === undefined) {
    const rates = devs.map((d) => rowHashrate(d)).filter((r): r is number => r !== undefined);
    if (rates.length) snapshot.hashrate_hs = rates.reduce((a, r) => a + r, 0);
  }
  const active = devs.map((d) => str(d['Profile'])).find((p) => p !== undefined);
  const profile = active === undefined ? undefined : rowsOf(reply.profiles, 'PROFILES').find((p) => str(p['Profile Name']) === active);
  const profileTh = num(profile?.['Hashrate']);
  if (profileTh !== undefined && profileTh > 0) snapshot.nominal_hashrate_hs = toHs(profileTh, 1e12);
  return snapshot;
}
