import { z } from 'zod';
import { DEFAULT_IDENTIFY_CONCURRENCY, DEFAULT_PROBE_CONCURRENCY, DEFAULT_SCAN_PORT } from '../collectors/cgminer/discovery.js';
import { ACCOUNT_SCHEMES, FLOOR_PROTOCOLS } from '../collectors/scan-protocols.js';
import { expandHosts } from '../collectors/target.js';
import { TargetError } from '../collectors/contract.js';
import { durationSchema } from './duration.js';
import { labelsSchema } from './labels-schema.js';
import { credentialNameSchema } from './miner-credentials-schema.js';

/** A rescan more often than this would only hammer the network; a new miner waits at most one interval. */
const MIN_INTERVAL_MS = 1000;

const rangeSchema = z
  .string()
  .superRefine((spec, ctx) => {
    try {
      expandHosts(spec);
    } catch (err) {
      if (!(err instanceof TargetError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
    }
  })
  .describe('A CIDR (10.0.0.0/16), a range (10.0.1.10-200 or 10.0.1.10-10.0.2.50) or one address; at most 65,536 addresses each.');

const portSchema = z.number().int().min(1).max(65535);

const portsSchema = z
  .strictObject(Object.fromEntries(FLOOR_PROTOCOLS.map((p) => [p.scheme, portSchema.default(p.port).describe(`The ${p.scheme} port to probe.`)])))
  .prefault({})
  .describe('The port to probe per protocol beside the CGMiner API, where a NAT or port-forward moved it.');

const accountsSchema = z
  .strictObject(
    Object.fromEntries(
      ACCOUNT_SCHEMES.map((scheme) => [
        scheme,
        credentialNameSchema.optional().describe(`A miner_credentials name: miners found only over ${scheme} are polled as ${scheme}://NAME@HOST.`),
      ]),
    ),
  )
  .prefault({})
  .describe('The miner_credentials account to poll found miners with, per protocol whose API needs a login; without one such a miner is reported down.');

/**
 * The `discovery:` section: scan address ranges for miners (the CGMiner API and the protocols of
 * FLOOR_PROTOCOLS) on an interval and poll every miner found beside the configured targets. A configured target with the same URL wins (its labels and
 * interval apply); a found miner that stops answering stays a target and is reported down.
 */
export const discoverySchema = z
  .strictObject({
    ranges: z.array(rangeSchema).min(1, 'give at least one range to scan').describe('Address ranges to scan for miners.'),
    port: portSchema.default(DEFAULT_SCAN_PORT).describe('The CGMiner API port to probe.'),
    ports: portsSchema,
    accounts: accountsSchema,
    interval: durationSchema
      .prefault('1h')
      .refine((ms) => ms >= MIN_INTERVAL_MS, { message: 'must be at least 1s' })
      .describe('How often to rescan; the first scan runs at start.'),
    labels: labelsSchema.describe('Labels for found miners, on top of the top-level labels (a configured target keeps its own).'),
    probe_concurrency: z
      .number()
      .int()
      .min(1)
      .max(8192)
      .default(DEFAULT_PROBE_CONCURRENCY)
      .describe('TCP connect probes in flight at once; each holds a file descriptor, so keep it well under `ulimit -n`.'),
    identify_concurrency: z
      .number()
      .int()
      .min(1)
      .max(1024)
      .default(DEFAULT_IDENTIFY_CONCURRENCY)
      .describe('Open ports read as miners at once (one CGMiner poll each, within polling.timeout).'),
  })
  .describe('Find miners by scanning address ranges on an interval; found miners are polled like configured targets.');

export type DiscoveryConfig = z.output<typeof discoverySchema>;

/** The miner_credentials names `discovery.accounts` uses that the config lacks, with their paths: config load refuses them. */
export function missingAccounts(discovery: DiscoveryConfig | undefined, credentials: Readonly<Record<string, unknown>> | undefined): { path: string[]; message: string }[] {
  const problems: { path: string[]; message: string }[] = [];
  for (const [scheme, name] of Object.entries(discovery?.accounts ?? {})) {
    if (name !== undefined && !Object.hasOwn(credentials ?? {}, name)) {
      problems.push({ path: ['discovery', 'accounts', scheme], message: `no miner_credentials entry named "${name}"` });
    }
  }
  return problems;
}
