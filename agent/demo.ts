/**
 * `potencia demo`: a simulated farm (CGMiner miners, GPU nodes behind a fake nvidia-smi, snmpsim
 * PDUs when installed), an in-memory config for it, and the agent polling it all. Loaded only when
 * the command runs; agent/cli.ts parses the options.
 */
import { parseDuration } from '../config/duration.js';
import { configSchema } from '../config/schema.js';
import { startDemoPdus, type DemoPdus } from '../simulator/demo-pdu.js';
import { MODERN_MIX, startFarm, type Farm, type FarmOptions, type SimulatedMiner } from '../simulator/farm.js';
import { PROTOCOL_TWINS, unprivilegedTwinPorts, type TwinnedProtocol } from '../simulator/protocols/index.js';
import { PROTO_TWIN_PASSWORD } from '../simulator/protocols/proto.js';
import { DEMO_GPU_NODES, fakeGpuTargets } from '../simulator/nvidia-smi/demo.js';
import { createAgent } from './compose.js';
import { runUntilSignalled } from './daemon.js';
import { demoEconomics } from './economics/demo.js';
import { createLogger, type Logger } from './log.js';

export interface DemoCommand {
  devices: number;
  seed: number;
  /** Poll interval, a duration like "15s". */
  interval: string;
  listen: string;
  /** Also publish to this broker. */
  mqttUrl?: string;
  /** First loopback address of the simulated miners. */
  farmHost?: string;
}

/** A simulated miner's richest URL, with the demo's account where its API wants a login. */
function demoUrl(miner: SimulatedMiner): string {
  if (miner.protocol === 'antminer-web') return miner.url.replace('://', '://antminers@');
  if (miner.protocol === 'braiins-rest') return miner.url.replace('://', '://bos@');
  if (miner.protocol === 'proto') return miner.url.replace('://', '://protos@');
  if (miner.protocol === 'goldshell') return miner.url.replace('://', '://goldshells@');
  const auradine = miner.alsoUrls.find((url) => url.startsWith('auradine://'));
  // Its socket is the miner's CGMiner port, wherever the farm put it.
  if (auradine) return `${auradine.replace('://', '://auradines@')}?rpc_port=${miner.port}`;
  return miner.url;
}

/** Runs the demo until SIGTERM or SIGINT; resolves with the exit code. */
export async function runDemo(command: DemoCommand): Promise<number> {
  const logger = createLogger({});
  const farm = await startDemoFarm(command.devices, command.seed, logger, command.farmHost);
  let pdus: DemoPdus | undefined;
  const stopSimulators = async () => {
    await Promise.allSettled([farm.stop(), pdus?.stop()]);
  };
  let agent: ReturnType<typeof createAgent>;
  try {
    const rackLabels = (i: number) => ({ room: `hall-${1 + (Math.floor(i / 40) % 2)}`, rack: `r${String(1 + Math.floor(i / 20)).padStart(2, '0')}` });
    pdus = await startDemoPdus(farm, rackLabels, logger, { gpuNodes: DEMO_GPU_NODES });
    const config = configSchema.parse({
      agent: { listen: command.listen },
      labels: { site: 'demo' },
      polling: { interval: command.interval, timeout: `${Math.min(5000, Math.floor(parseDuration(command.interval)! / 2))}ms` },
      targets: [...farm.miners.map((m, i) => ({ url: demoUrl(m), labels: rackLabels(i) })), ...(pdus?.targets ?? []), ...fakeGpuTargets()],
      // The simulated web APIs take their makers' factory logins; a Proto rig takes the password set at onboarding (its login ignores `user`).
      miner_credentials: {
        antminers: { user: 'root', password: 'root' },
        auradines: { user: 'admin', password: 'admin' },
        bos: { user: 'root', password: 'root' },
        protos: { user: 'admin', password: PROTO_TWIN_PASSWORD },
        goldshells: { user: 'admin', password: '123456789' },
      },
      ...(pdus && { power: pdus.power }),
      economics: demoEconomics(farm.miners.reduce((kw, m) => kw + m.model.nominal_power_w / 1000, 0)),
      ...(command.mqttUrl !== undefined && { mqtt: { url: command.mqttUrl } }),
    });
    agent = createAgent({ config, logger });
    await agent.start();
  } catch (err) {
    // The farm's sockets and snmpsimd would keep this process (and a child) alive after the error.
    await stopSimulators();
    throw err;
  }
  logger.info({ miners: farm.miners.length, metrics: `http://${agent.address}/metrics` }, 'demo farm running');
  return runUntilSignalled(agent, logger, stopSimulators);
}

type StartFarm = (opts: FarmOptions) => Promise<Farm>;

/**
 * The farm in address mode, as a real one looks to the agent. Without the privilege to bind the web
 * APIs' port 80 it stays in address mode with those twins 10000 higher (their targets carry the port);
 * where 127.x.y.z is not routed, one port per miner on 127.0.0.1.
 */
export async function startDemoFarm(devices: number, seed: number, logger: Logger, host?: string, start: StartFarm = startFarm): Promise<Farm> {
  const address: FarmOptions = { devices, seed, mode: 'address', ...(host !== undefined && { host }), mix: MODERN_MIX };
  try {
    return await start(address).catch((err: unknown) => {
      if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
      const protocolPorts = unprivilegedTwinPorts();
      const moved = Object.entries(protocolPorts).map(([scheme, port]) => `${scheme} ${PROTOCOL_TWINS[scheme as TwinnedProtocol].defaultPort} → ${port}`);
      logger.warn(`cannot listen on ports below 1024 without privileges (${(err as Error).message}): the demo's web-API miners listen higher (${moved.join(', ')})`);
      return start({ ...address, protocolPorts });
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(`the demo farm's addresses are taken (${(err as Error).message}): is another demo running? Give this one --farm-host 127.2.0.1`);
    }
    // macOS and some containers only route 127.0.0.1: fall back to one port per miner there.
    logger.warn({ err: (err as Error).message }, 'cannot listen on 127.x.y.z addresses; using consecutive ports on 127.0.0.1');
    return start({ devices, seed, mode: 'port', port: 14028, mix: MODERN_MIX });
  }
}
