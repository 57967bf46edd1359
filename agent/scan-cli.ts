/**
 * `potencia scan`: the scan, its report, its config file and its progress bar. Loaded only when the
 * command runs; agent/cli.ts parses the options.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { expandHosts } from '../collectors/target.js';
import { DEFAULT_IDENTIFY_CONCURRENCY, DEFAULT_PROBE_TIMEOUT_MS, DEFAULT_SCAN_PORT, scan, type ScanProgress, type ScanResult } from '../collectors/cgminer/discovery.js';
import { ACCOUNT_SCHEMES, FLOOR_PROTOCOLS, FLOOR_SCHEMES, floorProtocols } from '../collectors/scan-protocols.js';
import { formatTable, left } from './table.js';

export interface ScanCommand {
  ranges: string[];
  port: number;
  /** Ports of the other protocols an operator set (`--ports whatsminer-v3=14433`), by scheme. */
  protocolPorts?: Record<string, number>;
  probeConcurrency: number;
  identifyTimeoutMs: number;
  json: boolean;
  listSilent: boolean;
  writeConfig?: string;
  force: boolean;
  /** Overall deadline; default from the number of addresses, the concurrency and the timeouts. */
  deadlineMs?: number;
}

class ScanDeadline extends Error {}

/**
 * `--ports SCHEME=PORT[,SCHEME=PORT]` (the option may repeat) read into ports by scheme, or the
 * one-line reason it cannot be.
 */
export function parseProtocolPorts(values: readonly string[]): Record<string, number> | string {
  const ports: Record<string, number> = {};
  for (const item of values.flatMap((v) => v.split(','))) {
    const match = /^([a-z0-9-]+)=(\d{1,5})$/.exec(item.trim());
    if (!match) return `--ports: expected SCHEME=PORT like "whatsminer-v3=14433", got "${item}"`;
    const [, scheme, text] = match as unknown as [string, string, string];
    if (scheme === 'cgminer') return '--ports: the CGMiner API port is --port N';
    if (!FLOOR_SCHEMES.includes(scheme)) return `--ports: unknown protocol "${scheme}"; one of ${FLOOR_SCHEMES.join(', ')}`;
    const port = Number(text);
    if (port < 1 || port > 65535) return `--ports: ${scheme}: expected 1-65535, got ${port}`;
    ports[scheme] = port;
  }
  return ports;
}

/** Every probe round and every identify round taking its whole timeout, twice over: a bound, not an estimate. */
function defaultScanDeadlineMs(command: ScanCommand): number {
  let hosts = 0;
  for (const range of command.ranges) hosts += expandHosts(range).length;
  const probeRounds = Math.ceil(hosts / command.probeConcurrency);
  const identifyRounds = Math.ceil(hosts / Math.min(command.probeConcurrency, DEFAULT_IDENTIFY_CONCURRENCY));
  return 2 * (probeRounds * DEFAULT_PROBE_TIMEOUT_MS + identifyRounds * command.identifyTimeoutMs);
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

export async function runScanCommand(command: ScanCommand, io: Io, progressStream: NodeJS.WriteStream = process.stderr): Promise<number> {
  // Refused before scanning: a /16 takes a while, and its result would be lost.
  if (command.writeConfig !== undefined && !command.force && existsSync(command.writeConfig)) {
    io.err(`potencia scan: ${command.writeConfig} exists; add --force to overwrite it`);
    return 2;
  }
  const bar = progressStream.isTTY ? progressBar(progressStream) : undefined;
  const deadlineMs = command.deadlineMs ?? defaultScanDeadlineMs(command);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new ScanDeadline()), deadlineMs);
  let result: ScanResult;
  try {
    result = await scan({
      ranges: command.ranges,
      port: command.port,
      probeConcurrency: command.probeConcurrency,
      identifyConcurrency: Math.min(command.probeConcurrency, DEFAULT_IDENTIFY_CONCURRENCY),
      identifyTimeoutMs: command.identifyTimeoutMs,
      listSilent: command.listSilent,
      onProgress: bar?.update,
      signal: controller.signal,
      protocols: floorProtocols(command.protocolPorts),
    });
  } catch (err) {
    if (!(err instanceof ScanDeadline)) throw err;
    io.err(`potencia scan: stopped at the deadline of ${deadlineMs / 1000}s before the scan finished; give a longer --deadline or a smaller range`);
    return 1;
  } finally {
    clearTimeout(timer);
    bar?.clear();
  }
  io.out(command.json ? JSON.stringify(result, null, 2) : formatScanReport(result));
  if (command.writeConfig !== undefined) {
    const text = scanConfigYaml(result, new Date());
    try {
      writeFileSync(command.writeConfig, text, { flag: command.force ? 'w' : 'wx' });
    } catch (err) {
      io.err(
        `potencia scan: cannot write ${command.writeConfig}: ${(err as NodeJS.ErrnoException).code === 'EEXIST' ? 'it exists (add --force to overwrite)' : (err as Error).message}`,
      );
      return 1;
    }
    io.err(`wrote ${command.writeConfig}: ${result.identified.length} target(s); check it with "potencia check-config ${command.writeConfig}"`);
  }
  return 0;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/** Miners, then open ports that are not miners we could read, then the silent count: three answers to three questions. */
export function formatScanReport(result: ScanResult): string {
  const sections: string[] = [];
  if (result.identified.length) {
    sections.push(
      `MINERS (${result.identified.length})\n` +
        formatTable(
          ['ADDRESS', 'PORT', 'PROTOCOL', 'VENDOR', 'MODEL', 'FIRMWARE', 'DIALECT', 'TH/s'].map(left),
          result.identified.map((m) => [
            m.host,
            String(m.port),
            m.also ? `${m.protocol} (also ${m.also.join(', ')})` : m.protocol,
            m.vendor ?? '-',
            m.model ?? '-',
            m.firmware ?? '-',
            m.dialect ?? '-',
            m.hashrate_hs === undefined ? '-' : (m.hashrate_hs / 1e12).toFixed(2),
          ]),
        ),
    );
  } else sections.push('MINERS: none found');
  if (result.unidentified.length) {
    sections.push(
      `NOT IDENTIFIED (${result.unidentified.length}): a port open, but no miner API could be read there\n` +
        formatTable(
          ['ADDRESS', 'PORT', 'REASON', 'ERROR'].map(left),
          result.unidentified.map((h) => [h.host, String(h.port), h.reason, h.error]),
        ),
    );
  }
  const silent = `SILENT: ${plural(result.silent.count, 'address', 'addresses')} refused or did not answer a connection on ${portsText(result.ports)}`;
  sections.push(result.silent.hosts ? `${silent}\n${result.silent.hosts.join('\n')}` : result.silent.count ? `${silent} (--list-silent lists them)` : silent);
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  sections.push(
    `Scanned ${plural(result.scanned, 'address', 'addresses')} in ${seconds(result.duration_ms.probe + result.duration_ms.identify)} (probe ${seconds(result.duration_ms.probe)}, identify ${seconds(result.duration_ms.identify)}).`,
  );
  return sections.join('\n\n');
}

function portsText(ports: readonly number[]): string {
  return ports.length === 1 ? `port ${ports[0]}` : `ports ${ports.join(', ')}`;
}

/** One comment line whatever a firmware put in its strings (bmminer's Type spans two lines). */
function commentText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f\u0085\u2028\u2029]+/g, ' ').trim();
}

/** The scan's own options that moved a port, as the command line takes them. */
function portOptions(result: ScanResult): string {
  const moved = FLOOR_PROTOCOLS.filter((p) => result.protocol_ports[p.scheme] !== undefined && result.protocol_ports[p.scheme] !== p.port);
  return (
    (result.port === DEFAULT_SCAN_PORT ? '' : ` --port ${result.port}`) +
    (moved.length ? ` --ports ${moved.map((p) => `${p.scheme}=${result.protocol_ports[p.scheme]}`).join(',')}` : '')
  );
}

/**
 * A config `potencia run` accepts: one target per identified miner, what was found noted beside it. A
 * miner found over an API that needs a login is written without one, with a note saying how to add it.
 */
export function scanConfigYaml(result: ScanResult, at: Date): string {
  const lines = [
    `# Written by "potencia scan ${result.ranges.join(' ')}${portOptions(result)}" at ${at.toISOString()}.`,
    `# ${plural(result.identified.length, 'miner')} identified; open ports that gave no miner reply (${result.unidentified.length}) and silent addresses (${result.silent.count}) are left out.`,
    '# Check it with "potencia check-config FILE" and run it with "potencia run --config FILE".',
    '# Add labels per target (site, room, rack) as needed; a `discovery:` section can keep finding new miners.',
  ];
  if (result.identified.length === 0) return `${lines.join('\n')}\ntargets: []\n`;
  lines.push('targets:');
  for (const miner of result.identified) {
    const note = commentText([[miner.vendor, miner.model].filter((v) => v !== undefined).join(' '), miner.firmware].filter((v) => v).join(', '));
    const login = ACCOUNT_SCHEMES.includes(miner.protocol) ? `needs an account: ${miner.protocol}://NAME@HOST with miner_credentials.NAME` : '';
    const comment = [note, login].filter((part) => part).join('; ');
    lines.push(`  - url: ${miner.url}${comment ? ` # ${comment}` : ''}`);
  }
  return `${lines.join('\n')}\n`;
}

const BAR_CELLS = 20;
const PARTIAL = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const REDRAW_MS = 100;

/** `probe  12034/65534 ▕███▌                ▏ 18%` on one line, redrawn at most ten times a second. */
export function progressLine(p: ScanProgress): string {
  const ratio = p.total === 0 ? 1 : p.done / p.total;
  const eighths = Math.floor(ratio * BAR_CELLS * 8);
  const full = Math.floor(eighths / 8);
  const bar = ('█'.repeat(full) + PARTIAL[eighths % 8]!).padEnd(BAR_CELLS);
  const width = String(p.total).length;
  return `${p.stage.padEnd(8)} ${String(p.done).padStart(width)}/${p.total} ▕${bar}▏ ${Math.floor(ratio * 100)}%`;
}

function progressBar(stream: NodeJS.WriteStream): { update: (p: ScanProgress) => void; clear: () => void } {
  let drawnAt = 0;
  let stage: string | undefined;
  return {
    update(p) {
      const now = Date.now();
      if (p.stage === stage && p.done !== p.total && now - drawnAt < REDRAW_MS) return;
      stage = p.stage;
      drawnAt = now;
      stream.write(`\r${progressLine(p)}\x1b[K`);
    },
    clear() {
      if (stage !== undefined) stream.write('\r\x1b[K');
    },
  };
}
