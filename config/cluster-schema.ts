import { z } from 'zod';
import { durationSchema } from './duration.js';

const peerSchema = z.string().refine((u) => URL.canParse(u) && ['http:', 'https:'].includes(new URL(u).protocol) && new URL(u).pathname === '/' && !new URL(u).username, {
  message: 'expected an agent address like http://10.0.0.11:9785 (no path, no credentials)',
});

/**
 * The `cluster:` section: one site split across agents. Each agent polls the share of the configured
 * and discovered targets whose canonical URL hashes to its shard; the live agent with the lowest shard
 * index reads the other agents' devices from their /api/devices and plans the whole site under its cap.
 */
export const clusterSchema = z
  .strictObject({
    shard_index: z.number().int().min(0).describe("This agent's shard, from 0 to shard_count - 1."),
    shard_count: z.number().int().min(1).max(1024).describe('How many agents share the site.'),
    peers: z.array(peerSchema).describe("Every agent of the site in shard order, this one included: peers[i] is the HTTP address (agent.listen) of shard i's agent."),
    interval: durationSchema.prefault('15s').describe("How often the planning agent reads the other agents' devices."),
    timeout: durationSchema.prefault('5s').describe("Deadline for reading one agent's devices; an agent that misses it is lost and its devices reported down."),
    max_response_bytes: z
      .number()
      .int()
      .min(4096)
      .max(1024 * 1024 * 1024)
      .default(256 * 1024 * 1024)
      .describe('Largest /api/devices reply read from another agent (about 1.5 KB per device); a larger one counts as that agent lost.'),
    basic_auth: z
      .strictObject({
        username: z
          .string()
          .min(1)
          .regex(/^[^:]+$/, 'a user name may not contain ":"'),
        password: z.string().min(1).describe('Use ${file:/path} to read it from a secret file.'),
      })
      .optional()
      .describe("The account this agent gives the other agents' HTTP servers when their web config asks for basic auth (one of their basic_auth_users)."),
  })
  .superRefine((cluster, ctx) => {
    if (cluster.shard_index >= cluster.shard_count) ctx.addIssue({ code: 'custom', path: ['shard_index'], message: 'must be below shard_count' });
    if (cluster.peers.length !== cluster.shard_count) {
      ctx.addIssue({ code: 'custom', path: ['peers'], message: `list all ${cluster.shard_count} agents of the site, in shard order (got ${cluster.peers.length})` });
    }
    if (cluster.timeout >= cluster.interval) ctx.addIssue({ code: 'custom', path: ['timeout'], message: 'must be shorter than the interval' });
  })
  .describe('One site split across agents; see README "Many sites".');

export type ClusterConfig = z.output<typeof clusterSchema>;
