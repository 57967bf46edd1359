import { execFile } from 'node:child_process';
import type { Logger } from '../agent/log.js';
import type { Farm } from './farm.js';
import { PROTOCOL_TWINS, type TwinnedProtocol } from './protocols/index.js';
import { fakeNvidiaSmiPath, type FakeGpuNode } from './nvidia-smi/demo.js';
import { apcRpdu2Recording, findSnmpsimd, startSnmpSim, type DemoOutlet, type SnmpSim } from './snmp.js';

/** Outlets per PDU: twelve miners of ~3.4 kW on three phases at 230 V is ~58 A a phase, a 63 A three-phase PDU. */
const OUTLETS_PER_PDU = 12;
/** PDUs in the demo: enough to show attribution and site sums without a long snmpsimd start. */
const MAX_PDUS = 16;
/** How often the recordings are rewritten with the live draw. */
const DEFAULT_REFRESH_MS = 5_000;
/** A miner that does not answer still powers its controller and PSU: a dead miner draws little, not nothing. */
const DEAD_MINER_STANDBY_RATIO = 0.01;
/** What a PDU's own card, relays and display draw. */
const PDU_SELF_W = 20;
/** A GPU server's draw beyond its GPUs (CPUs, memory, NICs, fans, PSU losses), by profile. */
const GPU_NODE_HOST_W: Record<FakeGpuNode['profile'], number> = { h100: 1800, a100: 1400, rtx4090: 350 };

export interface DemoPdus {
  /** snmp:// targets, one per PDU, with its rack's labels. */
  targets: { url: string; labels: Record<string, string> }[];
  /** The `power:` config section mapping each metered miner and GPU node to its outlet. */
  power: { outlets: { pdu: string; outlet: number; device: string }[] };
  /** Rewrites every recording with the draw now (the demo does it on an interval; tests call it to sync). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export interface DemoPduOptions {
  refreshMs?: number;
  /** GPU nodes to meter at the wall on a PDU of their own: their GPUs' draw (read from the fake nvidia-smi) plus the host's. */
  gpuNodes?: readonly FakeGpuNode[];
  /** Path to the fake nvidia-smi; default the one shipped. */
  fakeNvidiaSmi?: string;
  /** Clock the energy counters integrate over; Date.now by default. */
  now?: () => number;
}

interface MeteredOutlet {
  name: string;
  /** The `device` of the `power.outlets` mapping. */
  device: string;
  draw: () => Promise<number> | number;
  energyKwh: number;
}

interface MeteredPdu {
  community: string;
  labels: Record<string, string>;
  outlets: MeteredOutlet[];
  energyKwh: number;
}

/** The port its collector names a miner without (collectors/asic-identity.ts): its protocol's own, 4028 for CGMiner. */
function ownPort(protocol: string): number {
  return protocol === 'cgminer' ? 4028 : PROTOCOL_TWINS[protocol as TwinnedProtocol].defaultPort;
}

/**
 * APC rPDU2s served by snmpsimd whose outlets meter the simulated machines' live draw: a miner's
 * outlet reads what the simulator's physics says it draws now (a warming or failed-board miner less,
 * a dead one its standby), a GPU node's outlet its GPUs plus its host. Energy counters integrate the
 * draw, phases carry a third of the load each. The recordings are rewritten every `refreshMs`.
 * Returns undefined (and says so) when snmpsimd is not installed: the demo runs without.
 */
export async function startDemoPdus(
  farm: Pick<Farm, 'miners' | 'readingOf' | 'faults'>,
  labelsOf: (index: number) => Record<string, string>,
  logger: Logger,
  opts: DemoPduOptions = {},
): Promise<DemoPdus | undefined> {
  if (!findSnmpsimd()) {
    logger.info('snmpsimd not installed (apt-get install snmpsim): the demo runs without a metered PDU, so site power and heat come from the miners alone');
    return undefined;
  }
  const dead = new Set(farm.faults().dead);
  const pdus: MeteredPdu[] = [];
  let open: MeteredPdu | undefined;
  let openRack = '';
  farm.miners.forEach((miner, i) => {
    const labels = labelsOf(i);
    const rack = `${labels.room ?? ''}/${labels.rack ?? ''}`;
    if (!open || open.outlets.length >= OUTLETS_PER_PDU || rack !== openRack) {
      if (pdus.length >= MAX_PDUS) return;
      open = { community: `pdu-${labels.rack ?? 'r'}-${pdus.length + 1}`, labels, outlets: [], energyKwh: 0 };
      openRack = rack;
      pdus.push(open);
    }
    const nominalW = miner.model.nominal_power_w;
    open.outlets.push({
      name: `miner-${miner.index}`,
      device: miner.port === ownPort(miner.protocol) ? `asic/${miner.host}` : `asic/${miner.host}:${miner.port}`,
      draw: () => (dead.has(miner.index) ? Math.round(nominalW * DEAD_MINER_STANDBY_RATIO) : farm.readingOf(miner.index).powerW),
      energyKwh: 0,
    });
  });
  // A GPU node has a PDU of its own in its rack: it meters the whole server at the wall.
  const fake = (opts.gpuNodes ?? []).length > 0 ? (opts.fakeNvidiaSmi ?? fakeNvidiaSmiPath()) : '';
  for (const node of opts.gpuNodes ?? []) {
    pdus.push({
      community: `pdu-${node.name}`,
      labels: node.labels ?? {},
      outlets: [{ name: node.name, device: node.name, draw: async () => (await gpuDrawW(fake, node)) + GPU_NODE_HOST_W[node.profile], energyKwh: 0 }],
      energyKwh: 0,
    });
  }
  // Counters start where a PDU in service a while would be, each its own.
  pdus.forEach((pdu, p) => {
    pdu.outlets.forEach((o, i) => {
      o.energyKwh = 5_000 + 731.3 * p + 97.1 * i;
    });
    pdu.energyKwh = pdu.outlets.reduce((sum, o) => sum + o.energyKwh, 0) + 150 + 11.7 * p;
  });

  const now = opts.now ?? Date.now;
  let lastMs = now();
  const render = async (nowMs: number): Promise<string[]> => {
    const hours = Math.max(0, nowMs - lastMs) / 3_600_000;
    lastMs = nowMs;
    return Promise.all(
      pdus.map(async (pdu) => {
        const outlets: DemoOutlet[] = [];
        for (const o of pdu.outlets) {
          const watts = await o.draw();
          o.energyKwh += (watts / 1000) * hours;
          outlets.push({ name: o.name, power_w: watts, energy_kwh: o.energyKwh });
        }
        const drawKw = (outlets.reduce((sum, o) => sum + o.power_w, 0) + PDU_SELF_W) / 1000;
        pdu.energyKwh += drawKw * hours;
        return apcRpdu2Recording(outlets, { name: pdu.community, energyKwh: pdu.energyKwh, phases: 3, selfW: PDU_SELF_W, fixedWidth: true });
      }),
    );
  };

  // One snmpsimd per PDU: it answers one request at a time, and a PDU's walk takes a good part of a
  // second, so PDUs sharing one would time out together at a short poll interval.
  const sims: SnmpSim[] = [];
  const stopAll = () => Promise.all(sims.map((sim) => sim.stop()));
  try {
    const first = await render(now());
    sims.push(...(await Promise.all(pdus.map((pdu, p) => startSnmpSim({ recordings: [{ community: pdu.community, text: first[p]! }] })))));
    const targets = pdus.map((pdu, p) => ({ url: sims[p]!.url(pdu.community), labels: pdu.labels }));
    const outlets = pdus.flatMap((pdu, p) => pdu.outlets.map((o, i) => ({ pdu: targets[p]!.url, outlet: i + 1, device: o.device })));
    const refresh = async () => {
      const texts = await render(now());
      pdus.forEach((pdu, p) => {
        sims[p]!.replaceRecording(pdu.community, texts[p]!);
      });
    };
    let refreshing: Promise<void> | undefined;
    const timer = setInterval(() => {
      refreshing ??= refresh()
        .catch((err: Error) => logger.warn({ err: err.message }, 'could not refresh the demo PDU recordings'))
        .finally(() => {
          refreshing = undefined;
        });
    }, opts.refreshMs ?? DEFAULT_REFRESH_MS);
    timer.unref();
    logger.info({ pdus: targets.length, metered: outlets.length }, 'demo PDUs (APC rPDU2 over SNMP via snmpsimd) metering live draw');
    return {
      targets,
      power: { outlets },
      refresh,
      stop: async () => {
        clearInterval(timer);
        await refreshing;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    logger.warn({ err: (err as Error).message }, 'could not start snmpsimd: the demo runs without a metered PDU');
    return undefined;
  }
}

/** The summed power.draw of a fake GPU node's GPUs now, read the way the agent reads them. */
function gpuDrawW(fake: string, node: FakeGpuNode): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [fake, '--query-gpu=power.draw', '--format=csv,noheader,nounits'],
      {
        env: { ...process.env, POTENCIA_FAKE_GPU_PROFILE: node.profile, POTENCIA_FAKE_GPU_COUNT: String(node.gpus), POTENCIA_FAKE_GPU_NODE: node.name },
        timeout: 5_000,
        maxBuffer: 64 * 1024,
      },
      (err, stdout) => {
        if (err) return reject(err);
        resolve(Math.round(stdout.split('\n').reduce((sum, line) => sum + (Number(line.trim()) || 0), 0)));
      },
    );
  });
}
