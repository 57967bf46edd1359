import { z } from 'zod';
import { durationSchema } from './duration.js';
import { powerSchema } from './power-schema.js';
import { minerCredentialsSchema } from './miner-credentials-schema.js';
import { snmpSchema } from './snmp-schema.js';
import { checkNvidiaTargetOptions, commandPrefixSchema, sshOptionsSchema } from './nvidia-schema.js';
import { endpointBudgetProblem, parseTargetUrl } from '../collectors/target.js';
import { TargetError } from '../collectors/contract.js';
import { mqttSchema } from './mqtt-schema.js';
import { discoverySchema, missingAccounts } from './discovery-schema.js';
import { labelsSchema } from './labels-schema.js';
import { hostProblem, listenProblem } from './address.js';
import { economicsSchema } from './economics-schema.js';
import { clusterSchema } from './cluster-schema.js';
import { metricsSchema } from './metrics-schema.js';

const LISTEN = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/;

const listenSchema = z
  .string()
  .regex(LISTEN, 'expected HOST:PORT like "0.0.0.0:9785" or ":9785"')
  .superRefine((listen, ctx) => {
    // The pattern (which the JSON Schema carries) gives the shape; the port's range and the host are checked here.
    const problem = LISTEN.test(listen) ? listenProblem(listen) : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('Where the HTTP server (/metrics, /healthz, /api/devices) listens.');

export const DEFAULT_LISTEN = '0.0.0.0:9785';

const agentSchema = z
  .strictObject({
    listen: listenSchema.default(DEFAULT_LISTEN),
    log_level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info').describe('pino log level.'),
    web_config_file: z
      .string()
      .min(1)
      .optional()
      .describe(
        "TLS and basic auth for the HTTP server: a web config file in the Prometheus exporter-toolkit format (node_exporter's --web.config.file); re-read when it or its certificates change.",
      ),
  })
  .prefault({});

const cap = (fallback: number, what: string) => z.number().int().min(1).max(1_000_000).default(fallback).describe(what);

const limitsSchema = z
  .strictObject({
    boards_per_device: cap(64, 'Hashboards kept per device; more are left out and counted in potencia_values_rejected_total{reason="over_limit"}.'),
    fans_per_device: cap(64, 'Fans kept per device.'),
    sensors_per_device: cap(128, 'Temperature sensors (and humidity sensors) kept per device.'),
    pools_per_device: cap(16, 'Pools kept per miner.'),
    outlets_per_device: cap(256, 'PDU outlets, phases and storage volumes kept per device.'),
    devices_per_target: cap(64, 'Devices kept per target (GPUs per nvidia-smi node).'),
    endpoints: z
      .number()
      .int()
      .min(1)
      .max(4_194_304)
      .default(262_144)
      .describe('Endpoints all targets may expand to together (ranges and CIDRs counted host by host); a config past it is refused.'),
  })
  .prefault({})
  .describe('Bounds on what one poll, one device and the whole target list may hold, so a broken or hostile device costs little.');

const pollingSchema = z
  .strictObject({
    interval: durationSchema.default(30_000).describe('How often each target is polled unless the target sets its own.'),
    timeout: durationSchema.default(5_000).describe('Connect plus reply deadline for one poll.'),
    jitter_ratio: z
      .number()
      .min(0)
      .max(0.5)
      .default(0)
      .describe(
        "Each poll is moved by up to ± this share of the interval around its target's phase; the moves never add up. Polls are spread over the interval by their phases without it.",
      ),
    concurrency: z.number().int().min(1).max(10_000).default(256).describe('Polls in flight at once, across all targets.'),
    backoff_max: durationSchema
      .default(300_000)
      .describe("Longest wait between polls of a device that keeps failing (the wait doubles from the interval up to about this, kept on the target's phase)."),
    max_response_bytes: z
      .number()
      .int()
      .min(4096)
      .max(64 * 1024 * 1024)
      .default(1024 * 1024)
      .describe('A device reply larger than this is cut off and the device marked down (too_large); the largest real replies are under 200 KB.'),
    limits: limitsSchema,
  })
  .prefault({});

const targetSchema = z
  .strictObject({
    url: z
      .string()
      .superRefine((url, ctx) => {
        try {
          const { hosts } = parseTargetUrl(url);
          // A range or CIDR expands to addresses; a single host is written by hand and may be mistyped.
          const problem = hosts.length === 1 ? hostProblem(hosts[0]!) : undefined;
          if (problem) ctx.addIssue({ code: 'custom', message: problem });
        } catch (err) {
          if (!(err instanceof TargetError)) throw err;
          ctx.addIssue({ code: 'custom', message: err.message });
        }
      })
      .describe('cgminer://HOST[:PORT]; HOST may be a name, an address, a range (10.0.1.10-200) or a CIDR (10.0.2.0/24).'),
    name: z.string().optional().describe('A name for logs; defaults to the URL.'),
    labels: labelsSchema,
    interval: durationSchema.optional(),
    timeout: durationSchema.optional(),
    command_prefix: commandPrefixSchema.optional(),
    ssh_options: sshOptionsSchema.optional(),
  })
  .superRefine(checkNvidiaTargetOptions);

export const configSchema = z
  .strictObject({
    agent: agentSchema,
    labels: labelsSchema.describe('Labels on every device of this agent, e.g. { site: "farm-1" }.'),
    polling: pollingSchema,
    targets: z.array(targetSchema).default([]).describe('What to poll.'),
    mqtt: mqttSchema.optional(),
    discovery: discoverySchema.optional(),
    snmp: snmpSchema.optional(),
    miner_credentials: minerCredentialsSchema.optional(),
    power: powerSchema.optional(),
    economics: economicsSchema.optional(),
    cluster: clusterSchema.optional(),
    metrics: metricsSchema,
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.targets.forEach((target, index) => {
      const first = seen.get(target.url);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['targets', index, 'url'], message: `duplicates targets[${first}].url` });
      else seen.set(target.url, index);
      if (target.timeout !== undefined && target.timeout >= (target.interval ?? config.polling.interval)) {
        ctx.addIssue({ code: 'custom', path: ['targets', index, 'timeout'], message: 'must be shorter than the interval' });
      }
    });
    if (config.polling.timeout >= config.polling.interval) {
      ctx.addIssue({ code: 'custom', path: ['polling', 'timeout'], message: 'must be shorter than polling.interval' });
    }
    const overBudget = endpointBudgetProblem(
      config.targets.map((t) => t.url),
      config.polling.limits.endpoints,
    );
    if (overBudget) ctx.addIssue({ code: 'custom', path: ['targets'], message: overBudget });
    for (const { path, message } of missingAccounts(config.discovery, config.miner_credentials)) ctx.addIssue({ code: 'custom', path, message });
  });

export type Config = z.output<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type TargetConfig = Config['targets'][number];
