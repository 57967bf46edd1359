import { z } from 'zod';
import { DEFAULT_IDENTIFY_CONCURRENCY, DEFAULT_PROBE_CONCURRENCY, DEFAULT_SCAN_PORT } from '../collectors/cgminer/discovery.js';
import { expandHosts } from '../collectors/target.js';
import { TargetError } from '../collectors/contract.js';
import { durationSchema } from './duration.js';
import { labelsSchema } from './labels-schema.js';

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

/**
 * The `discovery:` section: scan address ranges for CGMiner APIs on an interval and poll every miner
 * found beside the configured targets. A configured target with the same URL wins (its labels and
 * interval apply); a found miner that stops answering stays a target and is reported down.
 */
export const discoverySchema = z
  .strictObject({
    ranges: z.array(rangeSchema).min(1, 'give at least one range to scan').describe('Address ranges to scan for miners.'),
    port: z.number().int().min(1).max(65535).default(DEFAULT_SCAN_PORT).describe('The CGMiner API port to probe.'),
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
