import type { Logger } from '../agent/log.js';
import type { SimulatedMiner } from './farm.js';
import { apcRpdu2Recording, findSnmpsimd, startSnmpSim } from './snmp.js';

/** Racks metered in the demo: enough to show attribution and site sums without a long snmpsimd start. */
const MAX_METERED_RACKS = 10;

export interface DemoPdus {
  /** snmp:// targets, one per metered rack, with that rack's labels. */
  targets: { url: string; labels: Record<string, string> }[];
  /** The `power:` config section mapping each metered miner to its outlet. */
  power: { outlets: { pdu: string; outlet: number; device: string }[] };
  stop(): Promise<void>;
}

/**
 * One APC rPDU2 per rack of demo miners, served by snmpsimd: each miner's outlet draws its model's
 * nominal watts, so the PDUs' totals, the site power and the heat per rack are sums of real SNMP
 * readings. Returns undefined (and says so) when snmpsimd is not installed: the demo runs without.
 */
export async function startDemoPdus(miners: readonly SimulatedMiner[], labelsOf: (index: number) => Record<string, string>, logger: Logger): Promise<DemoPdus | undefined> {
  if (!findSnmpsimd()) {
    logger.info('snmpsimd not installed (apt-get install snmpsim): the demo runs without a metered PDU, so site power and heat come from the miners alone');
    return undefined;
  }
  const racks = new Map<string, { labels: Record<string, string>; miners: SimulatedMiner[] }>();
  miners.forEach((miner, i) => {
    const labels = labelsOf(i);
    const key = `${labels.room ?? ''}/${labels.rack ?? ''}`;
    let rack = racks.get(key);
    if (!rack) {
      if (racks.size >= MAX_METERED_RACKS) return;
      rack = { labels, miners: [] };
      racks.set(key, rack);
    }
    rack.miners.push(miner);
  });
  const recordings = [...racks.values()].map((rack, r) => ({
    community: `pdu-${rack.labels.rack ?? r + 1}`,
    text: apcRpdu2Recording(
      rack.miners.map((m) => ({ name: `miner-${m.index}`, power_w: m.model.nominal_power_w })),
      { name: `pdu-${rack.labels.rack ?? r + 1}` },
    ),
    rack,
  }));
  try {
    const sim = await startSnmpSim({ recordings, extraPorts: recordings.length - 1 });
    const targets = recordings.map((rec, r) => ({ url: sim.url(rec.community, undefined, r), labels: rec.rack.labels }));
    const outlets = recordings.flatMap((rec, r) =>
      rec.rack.miners.map((m, o) => ({ pdu: targets[r]!.url, outlet: o + 1, device: m.port === 4028 ? `asic/${m.host}` : `asic/${m.host}:${m.port}` })),
    );
    logger.info({ pdus: targets.length, metered_miners: outlets.length }, 'demo PDUs (APC rPDU2 over SNMP via snmpsimd) running');
    return { targets, power: { outlets }, stop: () => sim.stop() };
  } catch (err) {
    logger.warn({ err: (err as Error).message }, 'could not start snmpsimd: the demo runs without a metered PDU');
    return undefined;
  }
}
