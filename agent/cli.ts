import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TargetError } from '../collectors/contract.js';
import { FLOOR_PROTOCOLS } from '../collectors/scan-protocols.js';
import { listenProblem } from '../config/address.js';
import { parseDuration } from '../config/duration.js';
import { closestName } from '../config/nearest.js';
import { ConfigError, configJsonSchema, loadConfigFile } from '../config/load.js';
import { mqttSchema } from '../config/mqtt-schema.js';
import { configSchema, DEFAULT_LISTEN } from '../config/schema.js';
import { errorText, type DeviceSnapshot } from './snapshot.js';
import { formatTable, left } from './table.js';
import { buildTargets, targetsFromUrls } from './targets.js';
import { nodeTooOld } from './node-version.js';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

class UsageError extends Error {}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; engines: { node: string } };
const VERSION: string = PACKAGE.version;

const MAIN_HELP = `potencia ${VERSION} — per-device power, efficiency and economics for mining and GPU farms

Usage: potencia <command> [options]

Commands:
  run --config FILE        run the agent (polls targets, serves /metrics, /healthz, /api/devices)
  demo                     run the agent on a built-in simulated farm (no hardware needed)
  poll TARGET...           poll targets once and print what they report
  scan RANGE...            find miners on a network (CIDR or address range); can write a config
  recommend [--config F]   assess every device once: margin per day, mine / lease / curtail / replace / repair, site plan
  check-config FILE        validate a config file and say exactly what is wrong
  schema                   print the config's JSON Schema (for editor completion)
  version                  print the version

Run "potencia <command> --help" for a command's options.
Exit codes: 0 ok, 1 failure, 2 usage or config error.
The HTTP server listens on ${DEFAULT_LISTEN} unless --listen or agent.listen says otherwise.`;

interface Command {
  help: string;
  options: NonNullable<ParseArgsConfig['options']>;
  allowPositionals?: boolean;
  run: (values: Record<string, string | boolean | undefined>, positionals: string[], io: Io) => Promise<number>;
}

const listenOption = { listen: { type: 'string' } } as const;

const COMMANDS: Record<string, Command> = {
  run: {
    help: `Usage: potencia run --config FILE [--listen HOST:PORT]

Runs the agent until SIGTERM or SIGINT (drains and exits within 5 s). SIGHUP reloads FILE; an invalid
new config is logged and the running one kept.
  --config FILE        YAML config (see config/potencia.example.yaml)
  --listen HOST:PORT   where /metrics is served (default: agent.listen, else ${DEFAULT_LISTEN})`,
    options: { config: { type: 'string', short: 'c' }, ...listenOption },
    async run(values) {
      if (typeof values.config !== 'string') throw new UsageError('run needs --config FILE');
      const listen = checkListen(values.listen);
      const config = loadConfigFile(values.config);
      const { createAgent } = await import('./compose.js');
      const { runUntilSignalled } = await import('./daemon.js');
      const { createLogger } = await import('./log.js');
      const logger = createLogger({ level: config.agent.log_level });
      const agent = createAgent({ config, logger, configPath: values.config, listenOverride: listen });
      await agent.start();
      return runUntilSignalled(agent, logger);
    },
  },
  demo: {
    help: `Usage: potencia demo [--devices N] [--listen HOST:PORT] [--interval DURATION] [--seed N] [--mqtt URL] [--farm-host IP]

Starts a simulated farm (miners speaking the CGMiner API over TCP on 127.x.y.z:4028, or on
consecutive ports of 127.0.0.1 where other loopback addresses are unavailable), two GPU nodes (8× H100,
4× RTX 4090) answering through a fake nvidia-smi, and the agent polling it all.
  --devices N          simulated miners (default 60)
  --listen HOST:PORT   where /metrics is served (default ${DEFAULT_LISTEN})
  --interval DURATION  poll interval (default 15s)
  --seed N             simulation seed (default 1)
  --mqtt URL           also publish the farm to an MQTT broker, e.g. mqtt://127.0.0.1:1883
  --farm-host IP       first loopback address of the simulated miners (default 127.1.0.1), so two
                       demos can run side by side`,
    options: { devices: { type: 'string' }, interval: { type: 'string' }, seed: { type: 'string' }, mqtt: { type: 'string' }, 'farm-host': { type: 'string' }, ...listenOption },
    async run(values) {
      const devices = positiveInt(values.devices, 60, '--devices');
      const seed = positiveInt(values.seed, 1, '--seed');
      const interval = typeof values.interval === 'string' ? values.interval : '15s';
      if (parseDuration(interval) === undefined) throw new UsageError(`--interval: expected a duration like "15s", got "${interval}"`);
      const listen = checkListen(values.listen) ?? DEFAULT_LISTEN;
      const mqttUrl = values.mqtt === undefined ? undefined : mqttSchema.shape.url.safeParse(values.mqtt);
      if (mqttUrl && !mqttUrl.success) throw new UsageError(`--mqtt: expected a broker URL like mqtt://127.0.0.1:1883, got "${String(values.mqtt)}"`);
      const farmHost = values['farm-host'];
      if (farmHost !== undefined && (typeof farmHost !== 'string' || !/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(farmHost))) {
        throw new UsageError(`--farm-host: expected a loopback address like 127.2.0.1, got "${String(farmHost)}"`);
      }
      const { runDemo } = await import('./demo.js');
      return runDemo({ devices, seed, interval, listen, ...(mqttUrl && { mqttUrl: mqttUrl.data }), ...(farmHost !== undefined && { farmHost }) });
    },
  },
  poll: {
    help: `Usage: potencia poll TARGET... [--json] [--timeout DURATION] [--concurrency N]

Polls each target once and prints a table, or with --json an array of device snapshots. Exits 1 when a
device is down. TARGET is a URL: cgminer://HOST[:PORT] (HOST may be a range 10.0.1.10-200 or a CIDR),
or snmp://COMMUNITY@HOST[:PORT][?profile=NAME] for a PDU, sensor or host (profile found from sysObjectID),
or nvidia-smi: (this machine's GPUs), nvidia-smi:///PATH/TO/nvidia-smi, nvidia-smi+ssh://[USER@]HOST[:PORT].
  --json               print JSON instead of a table
  --timeout DURATION   per-device deadline (default 5s)
  --concurrency N      devices polled at once (default 64)
  --deadline DURATION  for the whole command; targets not done by then are down with reason timeout
                       (default: the timeout × (2 + targets ÷ concurrency))`,
    options: { json: { type: 'boolean' }, timeout: { type: 'string' }, concurrency: { type: 'string' }, deadline: { type: 'string' } },
    allowPositionals: true,
    async run(values, positionals, io) {
      if (positionals.length === 0) throw new UsageError('poll needs at least one TARGET, e.g. cgminer://10.0.1.15');
      const timeoutMs = typeof values.timeout === 'string' ? parseDuration(values.timeout) : 5000;
      if (timeoutMs === undefined) throw new UsageError(`--timeout: expected a duration like "5s", got "${String(values.timeout)}"`);
      const concurrency = positiveInt(values.concurrency, 64, '--concurrency');
      const targets = targetsFromUrls(positionals, timeoutMs);
      const [{ createCollector }, { defaultDeadlineMs, pollOnce }, { redactSnapshot }, { enrichSnapshot }] = await Promise.all([
        import('../collectors/registry.js'),
        import('./poll-once.js'),
        import('./redact.js'),
        import('./enrich.js'),
      ]);
      const maxResponseBytes = configSchema.shape.polling.parse(undefined).max_response_bytes;
      const snapshots = await pollOnce(targets, {
        concurrency,
        deadlineMs: durationOption(values.deadline, '--deadline') ?? defaultDeadlineMs(targets, concurrency),
        collectorFor: (target) => createCollector(target, { maxResponseBytes }),
      });
      // What it prints may be pasted into a ticket: pool passwords and URL credentials are redacted as on /api.
      const shown = snapshots.map((s) => redactSnapshot(enrichSnapshot(s)));
      io.out(values.json ? JSON.stringify(shown, null, 2) : formatSnapshots(shown));
      return snapshots.every((s) => s.up) ? EXIT_OK : EXIT_FAILURE;
    },
  },
  scan: {
    help: `Usage: potencia scan CIDR|RANGE... [--port N] [--ports SCHEME=N,...] [--json]
                     [--write-config FILE [--force]] [--concurrency N] [--timeout DURATION] [--list-silent]

Finds miners: a TCP connect to the API ports of every address (closed at once, nothing sent), then
each open port read by the protocols that listen there (the CGMiner API, the Whatsminer API v3, the
Antminer web login, ESP-Miner, ProtoOS, Goldshell, ePIC) to tell its vendor, model, firmware and hashrate. Prints the
miners found, then the open ports that gave no reply we could read, then how many addresses
were silent. A range is a CIDR (10.0.0.0/16), 10.0.1.10-200 or 10.0.1.10-10.0.2.50 (at most 65,536
addresses each). A progress bar goes to stderr when it is a terminal. Exit 0 when the scan ran.
  --port N             CGMiner API port (default 4028)
  --ports SCHEME=N,... the other protocols' ports where a NAT or port-forward moved them (defaults
                       ${FLOOR_PROTOCOLS.map((p) => `${p.scheme}=${p.port}`).join(', ')})
  --json               print the result as JSON
  --write-config FILE  write a config with one target per miner found; refuses an existing FILE
  --force              let --write-config overwrite FILE
  --concurrency N      connect probes in flight (default 2048; each holds a file descriptor)
  --timeout DURATION   deadline to identify one miner (default 5s)
  --list-silent        also list the silent addresses
  --deadline DURATION  for the whole scan; past it the scan stops, exit 1 (default: every probe and
                       identify round taking its whole timeout, twice over)`,
    options: {
      port: { type: 'string' },
      ports: { type: 'string', multiple: true },
      json: { type: 'boolean' },
      'write-config': { type: 'string' },
      force: { type: 'boolean' },
      concurrency: { type: 'string' },
      timeout: { type: 'string' },
      'list-silent': { type: 'boolean' },
      deadline: { type: 'string' },
    },
    allowPositionals: true,
    async run(values, positionals, io) {
      if (positionals.length === 0) throw new UsageError('scan needs at least one CIDR or RANGE, e.g. 10.0.0.0/16');
      const port = positiveInt(values.port, 4028, '--port');
      if (port > 65535) throw new UsageError(`--port: expected 1-65535, got ${port}`);
      const timeoutMs = typeof values.timeout === 'string' ? parseDuration(values.timeout) : 5000;
      if (timeoutMs === undefined) throw new UsageError(`--timeout: expected a duration like "5s", got "${String(values.timeout)}"`);
      if (values.force && values['write-config'] === undefined) throw new UsageError('--force only goes with --write-config FILE');
      const deadlineMs = durationOption(values.deadline, '--deadline');
      const { parseProtocolPorts, runScanCommand } = await import('./scan-cli.js');
      const protocolPorts = parseProtocolPorts((values.ports as string[] | undefined) ?? []);
      if (typeof protocolPorts === 'string') throw new UsageError(protocolPorts);
      return runScanCommand(
        {
          ranges: positionals,
          port,
          protocolPorts,
          probeConcurrency: positiveInt(values.concurrency, 2048, '--concurrency'),
          identifyTimeoutMs: timeoutMs,
          json: values.json === true,
          listSilent: values['list-silent'] === true,
          writeConfig: values['write-config'] as string | undefined,
          force: values.force === true,
          ...(deadlineMs !== undefined && { deadlineMs }),
        },
        io,
      );
    },
  },
  recommend: {
    help: `Usage: potencia recommend [--config FILE] [--json] [--horizon 12mo]

Polls the config's targets once, assesses every device with the config's economics and prints them by
margin per day: hashrate, power, J/TH, drift from nominal, revenue, power cost, margin, break-even power
price, the recommended action (mine, lease, curtail, replace, repair) with its reason, then the site totals and
the plan under site_power_cap_kw. Without --config it runs on a small simulated farm with the demo's
economics, to show what the output looks like.
  --config FILE        YAML config with an economics: section
  --json               print { inputs, devices, site } as JSON
  --deadline DURATION  for the polls; targets not done by then are down with reason timeout
                       (default: the longest timeout × (2 + targets ÷ polling.concurrency))
  --horizon SPAN       add the forward view over SPAN (e.g. 12mo, 90d): margin per device, activity
                       and added MW under P10 / P50 / P90 BTC prices, with difficulty growth and halvings,
                       and the break-even BTC price (needs economics.forecast)`,
    options: { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, deadline: { type: 'string' }, horizon: { type: 'string' } },
    async run(values, _positionals, io) {
      const deadlineMs = durationOption(values.deadline, '--deadline');
      const { runRecommendCommand } = await import('./recommend-cli.js');
      return runRecommendCommand(
        {
          ...(typeof values.config === 'string' && { configPath: values.config }),
          ...(typeof values.horizon === 'string' && { horizon: values.horizon }),
          json: values.json === true,
          ...(deadlineMs !== undefined && { deadlineMs }),
        },
        io,
      );
    },
  },
  'check-config': {
    help: `Usage: potencia check-config FILE

Validates FILE and lists every problem with its path and line. Exit 0 valid, 2 invalid.`,
    options: {},
    allowPositionals: true,
    async run(_values, positionals, io) {
      if (positionals.length !== 1) throw new UsageError('check-config needs exactly one FILE');
      const config = loadConfigFile(positionals[0]!);
      const targets = buildTargets(config);
      await (await import('./compose.js')).checkExporterFiles(config);
      io.out(
        `${positionals[0]}: valid — ${config.targets.length} target entr${config.targets.length === 1 ? 'y' : 'ies'} expanding to ${targets.length} endpoint(s); listens on ${config.agent.listen}`,
      );
      return EXIT_OK;
    },
  },
  schema: {
    help: 'Usage: potencia schema\n\nPrints the JSON Schema of the config file (generated from the same zod schema that validates it).',
    options: {},
    async run(_values, _positionals, io) {
      io.out(JSON.stringify(configJsonSchema(), null, 2));
      return EXIT_OK;
    },
  },
  version: {
    help: 'Usage: potencia version',
    options: {},
    async run(_values, _positionals, io) {
      io.out(VERSION);
      return EXIT_OK;
    },
  },
};

function checkListen(value: string | boolean | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new UsageError('--listen: expected HOST:PORT like 0.0.0.0:9785');
  const problem = listenProblem(value);
  if (problem) throw new UsageError(`--listen: ${problem}`);
  return value;
}

function durationOption(value: string | boolean | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = typeof value === 'string' ? parseDuration(value) : undefined;
  if (ms === undefined || ms <= 0) throw new UsageError(`${name}: expected a duration like "30s", got "${String(value)}"`);
  return ms;
}

function positiveInt(value: string | boolean | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < 1) throw new UsageError(`${name}: expected a positive whole number, got "${String(value)}"`);
  return n;
}

function fixed(value: number | undefined, scale: number, digits: number): string {
  return value === undefined ? '-' : (value / scale).toFixed(digits);
}

export function formatSnapshots(snapshots: readonly DeviceSnapshot[]): string {
  const columns = ['DEVICE', 'UP', 'MODEL', 'FIRMWARE', 'TH/s', 'NOMINAL', 'POWER W', 'J/TH', 'MAX °C', 'FANS RPM', 'BOARDS', 'ERROR'].map(left);
  const rows = snapshots.map((s) => {
    const temps = Object.values(s.temperatures_c);
    const boards = s.boards ? `${s.boards.filter((b) => b.status === 'ok').length}/${s.boards.length} ok` : '-';
    return [
      s.id,
      s.up ? 'yes' : 'NO',
      s.model ?? '-',
      s.firmware ?? '-',
      fixed(s.hashrate_hs, 1e12, 2),
      fixed(s.nominal_hashrate_hs, 1e12, 1),
      s.power_w === undefined ? '-' : `${Math.round(s.power_w)} (${s.power_source})`,
      fixed(s.efficiency_j_per_th, 1, 1),
      temps.length ? String(Math.max(...temps)) : '-',
      s.fans_rpm.length ? s.fans_rpm.join(',') : '-',
      boards,
      s.error ?? '',
    ];
  });
  return formatTable(columns, rows);
}

/** Runs the CLI; resolves with the exit code instead of exiting, so tests can call it in-process. */
export async function main(argv: string[], io: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(MAIN_HELP);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === '--version') return COMMANDS.version!.run({}, [], io);
  const tooOld = nodeTooOld(process.versions.node, PACKAGE.engines.node);
  if (tooOld) {
    io.err(tooOld);
    return EXIT_FAILURE;
  }
  const command = COMMANDS[name];
  if (!command) {
    const near = closestName(name, Object.keys(COMMANDS));
    io.err(`potencia: unknown command "${name}"${near ? ` (did you mean "${near}"?)` : ''}; commands: ${Object.keys(COMMANDS).join(', ')} (see "potencia --help")`);
    return EXIT_USAGE;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: command.allowPositionals ?? false,
      strict: true,
    });
    if (values.help) {
      io.out(command.help);
      return EXIT_OK;
    }
    return await command.run(values as Record<string, string | boolean | undefined>, positionals, io);
  } catch (err) {
    if (err instanceof ConfigError) {
      io.err(err.message);
      return EXIT_USAGE;
    }
    if (err instanceof UsageError || err instanceof TargetError || (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.err(`potencia ${name}: ${(err as Error).message} (see "potencia ${name} --help")`);
      return EXIT_USAGE;
    }
    const listen = listenFailure(err);
    if (listen) {
      io.err(`potencia ${name}: ${listen}`);
      return EXIT_FAILURE;
    }
    // A stack is for whoever debugs Potencia, not for the operator who ran it.
    io.err(`potencia ${name}: ${debugging() ? ((err as Error).stack ?? String(err)) : errorText(err)}`);
    return EXIT_FAILURE;
  }
}

function debugging(): boolean {
  return process.env.POTENCIA_DEBUG === '1' || process.env.POTENCIA_DEBUG === 'true';
}

/**
 * A port that cannot be listened on is the machine's state, not a wrong command line: one line and
 * exit 1, where a malformed --listen or agent.listen is a usage or config error (exit 2).
 */
function listenFailure(err: unknown): string | undefined {
  const { code, address, port } = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const at = address === undefined ? '' : ` ${address.includes(':') ? `[${address}]` : address}:${port ?? ''}`;
  if (code === 'EADDRINUSE') return `cannot listen on${at}: the address is already in use (another agent or demo running?)`;
  if (code === 'EACCES') return `cannot listen on${at}: permission denied (ports below 1024 need privileges)`;
  if (code === 'EADDRNOTAVAIL') return `cannot listen on${at}: no interface of this machine has that address`;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `cannot listen on${at}: the host name does not resolve`;
  return undefined;
}
