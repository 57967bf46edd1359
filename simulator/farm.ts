/**
 * A simulated mining farm speaking the CGMiner API over real TCP on loopback.
 *
 * Address mode gives each miner its own address, 127.1.0.1, 127.1.0.2, … on port 4028 (Linux routes
 * all of 127.0.0.0/8 to loopback), as a real farm looks to the agent. Port mode puts every miner on
 * 127.0.0.1 at consecutive ports (or OS-chosen ones with `port: 0`). Addresses are contiguous: miner i
 * is the first address + i, so `first..last` is a range of exactly N miners.
 *
 * A miner is a listening socket plus a few numbers; its readings are computed per request from
 * (seed, miner, clock) by physics.ts and written by its vendor's dialect, so 10,000 miners stay light.
 * Like cgminer, a connection gets one reply and is closed.
 */
import net from 'node:net';
import type { Server, Socket } from 'node:net';
import type { ModelSpec } from '../agent/catalog.js';
import { urlHost } from '../collectors/contract.js';
import { findModel } from '../agent/catalog.js';
import { dialectFor, type Firmware } from './dialects/index.js';
import type { MinerReading, MinerTraits } from './physics.js';
import { drawTraits, readMiner, unit } from './physics.js';
import { PROTOCOL_TWINS, type TwinnedProtocol } from './protocols/index.js';
import type { ProtocolTwin } from './protocols/types.js';
import type { Dialect } from './wire.js';
import { parseRequest, respond } from './wire.js';

export interface FarmOptions {
  devices: number;
  seed?: number;
  mode?: 'address' | 'port';
  /** First address; default 127.1.0.1 in address mode, 127.0.0.1 in port mode. */
  host?: string;
  /** 4028 in address mode; the first port in port mode (default 14028). 0: any free port per miner. */
  port?: number;
  /**
   * Address mode: the port each protocol twin listens on instead of its own (`antminer-web` on 80), as
   * behind a port-forward, and so a suite run without root binds no port below 1024.
   */
  protocolPorts?: Partial<Record<TwinnedProtocol, number>>;
  /**
   * Catalog model names (running their stock firmware) or `{ model, firmware }`, assigned round-robin;
   * default a realistic mix (see DEFAULT_MIX).
   */
  models?: (string | MinerSpec)[];
  /** Milliseconds since the epoch; readings are a function of it. */
  clock?: () => number;
  /** Seed-chosen dead miners (~0.5%) and failed boards (~1.5%); default true. */
  failures?: boolean;
  /** The weighted mix `models` falls back to; default DEFAULT_MIX. */
  mix?: readonly (MinerSpec & { weight: number })[];
}

export interface MinerSpec {
  model: string;
  firmware?: Firmware;
  /** The API it answers instead of the CGMiner socket, on that protocol's own port (4433 for `whatsminer-v3`). */
  protocol?: TwinnedProtocol;
  /** APIs it answers as well, each on its own port (a stock Antminer's web API beside 4028). */
  also?: TwinnedProtocol[];
}

export interface SimulatedMiner {
  index: number;
  host: string;
  port: number;
  /** `cgminer://host:port` */
  url: string;
  model: ModelSpec;
  firmware: Firmware;
  /** The wire dialect it speaks (`antminer`, `whatsminer`, `avalon`, `braiins`, `luxos`, `vnish`), or its protocol's scheme. */
  dialect: string;
  /** The scheme of its URL: `cgminer`, or the protocol it answers instead. */
  protocol: string;
  /** URLs of the other APIs it answers (`also`). */
  alsoUrls: string[];
}

export interface Farm {
  miners: SimulatedMiner[];
  stop(): Promise<void>;
  /** Stops listening: connections are refused until `revive`. */
  kill(index: number): Promise<void>;
  /** Accepts connections and never replies. */
  hang(index: number): void;
  /** Board `board` (0-based) reports 0 chips and 0 hashrate. */
  breakBoard(index: number, board: number): void;
  /** Replies are cut short (unparseable JSON, still NUL-terminated). */
  setMalformed(index: number, malformed: boolean): void;
  /** Undoes kill, hang, breakBoard and setMalformed, and brings a seed-dead miner up. A seed-failed board stays failed. */
  revive(index: number): Promise<void>;
  /** What the miner reports right now (the ground truth a collector's snapshot should match). */
  readingOf(index: number): MinerReading;
  /** Seed-chosen faults, so a test or benchmark knows which miners should read as down or degraded. */
  faults(): { dead: number[]; failedBoards: { index: number; board: number }[] };
}

/**
 * Share of each model and firmware in a farm when none is given: the installed base of a 2024-25 site,
 * mostly Antminers on stock firmware, a Whatsminer and an Avalon fleet, and some Antminers moved to
 * Braiins OS, LuxOS or VNish (which report their own watts).
 */
export const DEFAULT_MIX: readonly (MinerSpec & { weight: number })[] = [
  { model: 'Antminer S19 Pro', weight: 22 },
  { model: 'Antminer S19j Pro', weight: 14 },
  { model: 'Antminer S19 XP', weight: 10 },
  { model: 'Antminer S21', weight: 10 },
  { model: 'Antminer S21 Pro', weight: 6 },
  { model: 'Antminer S9', weight: 4 },
  { model: 'Whatsminer M30S++', weight: 7 },
  { model: 'Whatsminer M50S', weight: 6 },
  { model: 'Whatsminer M60S', weight: 4 },
  { model: 'AvalonMiner A1366', weight: 4 },
  { model: 'AvalonMiner A1466', weight: 3 },
  { model: 'Antminer S19 Pro', firmware: 'braiins', weight: 4 },
  { model: 'Antminer S21', firmware: 'braiins', weight: 2 },
  { model: 'Antminer S19 XP', firmware: 'luxos', weight: 2 },
  { model: 'Antminer S19j Pro', firmware: 'vnish', weight: 2 },
];

/**
 * A floor of today: DEFAULT_MIX, and machines read over their own APIs rather than the CGMiner socket
 * (Whatsminers on API v3 firmware, an Antminer fleet read over its web API, ePIC firmware, Bitaxes,
 * Auradines answering their socket and their web API, Braiins OS over its REST API, Proto Rigs over
 * ProtoOS's REST API).
 */
export const MODERN_MIX: readonly (MinerSpec & { weight: number })[] = [
  ...DEFAULT_MIX,
  { model: 'Whatsminer M60S', protocol: 'whatsminer-v3', weight: 4 },
  { model: 'Whatsminer M60S+', protocol: 'whatsminer-v3', weight: 2 },
  { model: 'Antminer S21 Pro', protocol: 'antminer-web', weight: 3 },
  { model: 'Antminer S19 XP', protocol: 'epic', weight: 2 },
  { model: 'Bitaxe Gamma', protocol: 'bitaxe', weight: 1 },
  { model: 'Teraflux AT1500', also: ['auradine'], weight: 2 },
  { model: 'Antminer S21', protocol: 'braiins-rest', weight: 2 },
  { model: 'Proto Rig', protocol: 'proto', weight: 2 },
  // Miners of other algorithms, which the economics leave unassessed but count as load.
  { model: 'Goldshell KD6', protocol: 'goldshell', weight: 2 },
  { model: 'Goldshell Mini-DOGE Pro', protocol: 'goldshell', weight: 1 },
];

const LISTEN_BATCH = 256;
const MAX_REQUEST_BYTES = 64 * 1024;

interface Slot {
  traits: MinerTraits;
  /** The CGMiner dialect it speaks; undefined for a miner that answers another protocol. */
  dialect: Dialect | undefined;
  /** Set for a miner that answers another protocol than the CGMiner socket. */
  twin: ProtocolTwin | undefined;
  /** The other APIs it answers, each its own server. */
  extras: { twin: ProtocolTwin; server: Server; listening: boolean }[];
  server: Server;
  listening: boolean;
  hung: boolean;
  malformed: boolean;
  /** Bitmask of boards broken by `breakBoard`. */
  brokenBoards: number;
}

function ipToInt(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`simulator: "${ip}" is not an IPv4 address`);
  return ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
}

function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function resolveModel(name: string): ModelSpec {
  const model = findModel(name);
  if (!model) throw new Error(`simulator: unknown model "${name}" (not in agent/catalog.ts)`);
  return model;
}

interface Resolved {
  model: ModelSpec;
  firmware: Firmware;
  twin?: ProtocolTwin;
  also?: ProtocolTwin[];
}

function resolveSpec(spec: string | MinerSpec): Resolved {
  const { model, firmware = 'stock', protocol, also } = typeof spec === 'string' ? { model: spec } : spec;
  const resolved: Resolved = { model: resolveModel(model), firmware };
  if (protocol === undefined) dialectFor(resolved.model, resolved.firmware);
  else {
    const twin: ProtocolTwin | undefined = PROTOCOL_TWINS[protocol];
    if (!twin) throw new Error(`simulator: no protocol "${protocol}" (known: ${Object.keys(PROTOCOL_TWINS).join(', ')})`);
    if (!twin.vendors.includes(resolved.model.vendor)) throw new Error(`simulator: ${resolved.model.model} does not speak ${protocol}`);
    resolved.twin = twin;
  }
  if (also?.length) {
    resolved.also = also.map((name) => {
      const twin: ProtocolTwin | undefined = PROTOCOL_TWINS[name];
      if (!twin?.vendors.includes(resolved.model.vendor)) throw new Error(`simulator: ${resolved.model.model} does not speak ${name}`);
      return twin;
    });
  }
  return resolved;
}

function pickFromMix(seed: number, index: number, mix: readonly (Resolved & { weight: number })[], total: number): Resolved {
  let x = unit(seed, index, 0xa11) * total;
  for (const m of mix) {
    x -= m.weight;
    if (x < 0) return m;
  }
  return mix[mix.length - 1]!;
}

function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      reject(Object.assign(new Error(`simulator: cannot listen on ${host}:${port}: ${err.code ?? err.message}`), { code: err.code }));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as net.AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host, port, backlog: 511, exclusive: true });
  });
}

export async function startFarm(opts: FarmOptions): Promise<Farm> {
  const devices = opts.devices;
  if (!Number.isInteger(devices) || devices < 1) throw new Error(`simulator: devices must be a positive integer, got ${devices}`);
  const seed = opts.seed ?? 1;
  const mode = opts.mode ?? 'address';
  const clock = opts.clock ?? Date.now;
  const failures = opts.failures ?? true;
  const host = opts.host ?? (mode === 'address' ? '127.1.0.1' : '127.0.0.1');
  const firstPort = opts.port ?? (mode === 'address' ? 4028 : 14028);
  // Port mode may listen on an IPv6 address (`::1`); only address mode counts addresses up from it.
  const firstAddress = mode === 'address' ? ipToInt(host) : 0;
  if (mode === 'address' && firstAddress + devices - 1 > 0xffffffff) throw new Error('simulator: address range overflows');
  if (mode === 'port' && firstPort !== 0 && firstPort + devices - 1 > 65535) throw new Error(`simulator: ports ${firstPort}+${devices} exceed 65535`);

  const explicit = opts.models?.map(resolveSpec);
  const mix = (opts.mix ?? DEFAULT_MIX).map((m) => ({ ...resolveSpec(m), weight: m.weight }));
  const mixTotal = mix.reduce((a, m) => a + m.weight, 0);

  const twinPort = (twin: ProtocolTwin) => opts.protocolPorts?.[twin.scheme as TwinnedProtocol] ?? twin.defaultPort;
  const sockets = new Set<Socket>();
  const slots: Slot[] = [];
  const miners: SimulatedMiner[] = [];

  const answer = (slot: Slot, socket: Socket, request: Exclude<ReturnType<typeof parseRequest>, undefined>) => {
    // Only a miner without a protocol twin listens for the CGMiner API, and it always has a dialect.
    let text = respond(slot.dialect!, request, readMiner(slot.traits, clock(), slot.brokenBoards));
    if (slot.malformed) text = `${text.slice(0, Math.floor(text.length * 0.6))}\0`;
    socket.end(text, 'latin1');
  };

  const onConnection = (slot: Slot, socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (slot.hung) return;
    let buffered = '';
    let answered = false;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      if (answered) return;
      buffered += chunk;
      const request = buffered.length > MAX_REQUEST_BYTES ? 'invalid' : parseRequest(buffered);
      if (request === undefined) return;
      answered = true;
      answer(slot, socket, request);
    });
    socket.on('end', () => {
      if (answered) return;
      answered = true;
      answer(slot, socket, parseRequest(buffered) ?? 'invalid');
    });
  };

  const createServer = (slot: Slot, twin = slot.twin): Server => {
    if (!twin) return net.createServer((socket) => onConnection(slot, socket));
    const server = twin.createServer({ read: () => readMiner(slot.traits, clock(), slot.brokenBoards), hung: () => slot.hung, malformed: () => slot.malformed });
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    return server;
  };

  for (let i = 0; i < devices; i++) {
    const { model, firmware, twin, also = [] } = explicit ? explicit[i % explicit.length]! : pickFromMix(seed, i, mix, mixTotal);
    const traits = drawTraits({ seed, index: i, model, failures });
    const dialect = twin ? undefined : dialectFor(model, firmware);
    const slot: Slot = { traits, dialect, twin, extras: [], server: undefined as unknown as Server, listening: false, hung: false, malformed: false, brokenBoards: 0 };
    slot.server = createServer(slot);
    slot.extras = also.map((extra) => ({ twin: extra, server: createServer(slot, extra), listening: false }));
    slots.push(slot);
    const minerHost = mode === 'address' ? intToIp(firstAddress + i) : host;
    const port = mode === 'address' ? (twin ? twinPort(twin) : firstPort) : firstPort === 0 ? 0 : firstPort + i;
    const protocol = twin?.scheme ?? 'cgminer';
    miners.push({
      index: i,
      host: minerHost,
      port,
      url: `${protocol}://${urlHost(minerHost)}:${port}`,
      model,
      firmware,
      dialect: twin?.scheme ?? dialect!.name,
      protocol,
      alsoUrls: [],
    });
  }

  const startListening = async (i: number) => {
    const slot = slots[i]!;
    const miner = miners[i]!;
    const port = await listen(slot.server, miner.host, miner.port);
    slot.listening = true;
    if (miner.port === 0 || miner.port !== port) {
      miner.port = port;
      miner.url = `${miner.protocol}://${urlHost(miner.host)}:${port}`;
    }
    miner.alsoUrls = [];
    for (const extra of slot.extras) {
      const extraPort = await listen(extra.server, miner.host, mode === 'address' ? twinPort(extra.twin) : 0);
      extra.listening = true;
      miner.alsoUrls.push(`${extra.twin.scheme}://${urlHost(miner.host)}:${extraPort}`);
    }
  };

  const closeAll = async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(
      slots
        .flatMap((slot) => slot.extras)
        .map((extra) => {
          if (!extra.listening) return undefined;
          extra.listening = false;
          return new Promise<void>((resolve) => extra.server.close(() => resolve()));
        }),
    );
    await Promise.all(
      slots.map((slot) => {
        if (!slot.listening) return undefined;
        slot.listening = false;
        return new Promise<void>((resolve) => slot.server.close(() => resolve()));
      }),
    );
  };

  try {
    for (let start = 0; start < devices; start += LISTEN_BATCH) {
      const batch: Promise<void>[] = [];
      for (let i = start; i < Math.min(devices, start + LISTEN_BATCH); i++) if (!slots[i]!.traits.dead) batch.push(startListening(i));
      const results = await Promise.allSettled(batch);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const slotAt = (index: number): Slot => {
    const slot = slots[index];
    if (!slot) throw new Error(`simulator: no miner ${index} (farm has ${devices})`);
    return slot;
  };

  return {
    miners,
    stop: closeAll,
    async kill(index) {
      const slot = slotAt(index);
      if (!slot.listening) return;
      slot.listening = false;
      // The listening fd closes now; close's callback would wait for open connections to end.
      slot.server.close();
      for (const extra of slot.extras) {
        extra.listening = false;
        extra.server.close();
      }
    },
    hang(index) {
      slotAt(index).hung = true;
    },
    breakBoard(index, board) {
      const slot = slotAt(index);
      if (!Number.isInteger(board) || board < 0 || board >= slot.traits.model.hashboards) throw new Error(`simulator: ${slot.traits.model.model} has no board ${board}`);
      slot.brokenBoards |= 1 << board;
    },
    setMalformed(index, malformed) {
      slotAt(index).malformed = malformed;
    },
    async revive(index) {
      const slot = slotAt(index);
      slot.hung = false;
      slot.malformed = false;
      slot.brokenBoards = 0;
      if (slot.listening) return;
      // A closed net.Server cannot always be reopened while old connections drain: start a fresh one.
      slot.server = createServer(slot);
      slot.extras = slot.extras.map((extra) => ({ twin: extra.twin, server: createServer(slot, extra.twin), listening: false }));
      await startListening(index);
    },
    readingOf(index) {
      const slot = slotAt(index);
      return readMiner(slot.traits, clock(), slot.brokenBoards);
    },
    faults() {
      return {
        dead: slots.filter((s) => s.traits.dead).map((s) => s.traits.index),
        failedBoards: slots.filter((s) => s.traits.failedBoard >= 0).map((s) => ({ index: s.traits.index, board: s.traits.failedBoard })),
      };
    },
  };
}
