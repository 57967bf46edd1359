/**
 * Issue 13, findings 8 and 9 for SNMP: a real snmpsimd serving a PDU whose figures are absurd, beside
 * the honest recording under another community on the same host and port.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PollStats } from '../agent/poll-stats.js';
import { DEFAULT_SNAPSHOT_LIMITS, saneSnapshots } from '../collectors/ranges.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { targetsFromUrls } from '../agent/targets.js';
import { createSnmpCollector } from '../collectors/snmp/collector.js';
import { snmpSchema } from '../config/snmp-schema.js';
import { startSnmpSim, type SnmpSim } from '../simulator/snmp.js';
import { findTool, REPO_ROOT } from './helpers.js';

const snmpsimd = findTool('snmpsimd');
const HONEST = readFileSync(resolve(REPO_ROOT, 'collectors/snmp/profiles/apc-rpdu2/testdata/apc-rpdu2.snmprec'), 'utf8');
/** The same PDU with its device power at the Integer32 maximum, a phase at the minimum, and an outlet's current at 1e9. */
const HOSTILE = HONEST.replace(/^(1\.3\.6\.1\.4\.1\.318\.1\.1\.26\.4\.3\.1\.5\.1)\|2\|627$/m, '$1|2|2147483647')
  .replace(/^(1\.3\.6\.1\.4\.1\.318\.1\.1\.26\.6\.3\.1\.7\.1)\|66\|627$/m, '$1|2|-2147483648')
  .replace(/^(1\.3\.6\.1\.4\.1\.318\.1\.1\.26\.9\.4\.3\.1\.6\.1)\|66\|142$/m, '$1|66|1000000000');

describe.skipIf(!snmpsimd)('hostile SNMP agents against a real snmpsimd', () => {
  let sim: SnmpSim;
  beforeAll(async () => {
    expect(HOSTILE).not.toBe(HONEST);
    sim = await startSnmpSim({
      recordings: [
        { community: 'honest', text: HONEST },
        { community: 'hostile', text: HOSTILE },
      ],
    });
  }, 60_000);
  afterAll(async () => sim?.stop());

  const settings = snmpSchema.parse({ retries: 0 });
  async function poll(urls: string[], stats = new PollStats()): Promise<DeviceSnapshot[]> {
    const snapshots: DeviceSnapshot[] = [];
    for (const target of targetsFromUrls(urls, 3000)) {
      const read = await createSnmpCollector(target, { settings: () => settings }).collect(new AbortController().signal);
      snapshots.push(...saneSnapshots(read, DEFAULT_SNAPSHOT_LIMITS, (field, reason, n = 1) => stats.valueRejected(field, reason, n)));
    }
    return snapshots;
  }

  it('finding 9: a PDU at 21 GW, a phase at −21 GW and an outlet at 1e8 A are absent and counted, the rest kept', async () => {
    const stats = new PollStats();
    const [s] = await poll([sim.url('hostile')], stats);
    expect(s!.up).toBe(true);
    expect(s!.power_w).toBeUndefined();
    expect(s!.power_source).toBeUndefined();
    expect(s!.phases).toEqual([{ index: 1, current_a: 27.3, voltage_v: 229 }]);
    expect(s!.outlets![0]).toEqual({ index: 1, name: 'miner-a', state: 'on', power_w: 3250, energy_j: 52113 * 360_000 });
    const counted = Object.fromEntries([...stats.rejectedFamily().samples()].map((x) => [`${x.labels!.field}/${x.labels!.reason}`, x.value]));
    expect(counted).toEqual({ 'power_w/out_of_range': 1, 'phases.power_w/out_of_range': 1, 'outlets.current_a/out_of_range': 1 });
  });

  it('finding 8: two communities on one host and port are two devices with their own readings', async () => {
    const snapshots = await poll([sim.url('honest'), sim.url('hostile')]);
    expect(snapshots.map((s) => s.id)).toEqual([expect.stringMatching(/^pdu\/127\.0\.0\.1:\d+~[0-9a-f]{8}$/), expect.stringMatching(/^pdu\/127\.0\.0\.1:\d+~[0-9a-f]{8}$/)]);
    expect(snapshots[0]!.id).not.toBe(snapshots[1]!.id);
    expect(snapshots.map((s) => s.power_w)).toEqual([6270, undefined]);
    expect(new Set(snapshots.map((s) => s.target)).size).toBe(2);
    for (const s of snapshots) expect(JSON.stringify(s)).not.toMatch(/honest|hostile/);
  });
});
