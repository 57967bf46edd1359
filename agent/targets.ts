import { createHash } from 'node:crypto';
import { canonicalUrl, parseTargetUrl } from '../collectors/target.js';
import { TargetError, type ParsedTargetUrl, type Target } from '../collectors/contract.js';
import type { ClusterConfig } from '../config/cluster-schema.js';
import { hostProblem } from '../config/address.js';
import type { Config, TargetConfig } from '../config/schema.js';

/** Expands the configured targets (ranges, CIDRs) into one Target per endpoint, labels merged. */
export function buildTargets(config: Config): Target[] {
  const byUrl = new Map<string, Target>();
  for (const entry of config.targets) {
    const parsed = parseTargetUrl(entry.url);
    const labels = { ...config.labels, ...entry.labels };
    for (const host of parsed.hosts) {
      const url = canonicalUrl(parsed.scheme, host, parsed.port, parsed.params, parsed.path);
      // The first mention wins, so a host listed on its own before a range keeps its own labels.
      if (byUrl.has(url)) continue;
      byUrl.set(url, {
        url,
        scheme: parsed.scheme,
        host,
        port: parsed.port,
        ...credentialsOf(parsed),
        ...commandOptionsOf(entry),
        labels,
        intervalMs: entry.interval ?? config.polling.interval,
        timeoutMs: entry.timeout ?? config.polling.timeout,
      });
    }
  }
  return [...byUrl.values()];
}

/** Targets given on the command line (`potencia poll cgminer://…`), with the default interval and timeout. */
export function targetsFromUrls(urls: readonly string[], timeoutMs: number): Target[] {
  const targets: Target[] = [];
  for (const url of urls) {
    const parsed = parseTargetUrl(url);
    const problem = parsed.hosts.length === 1 ? hostProblem(parsed.hosts[0]!) : undefined;
    if (problem) throw new TargetError(problem);
    for (const host of parsed.hosts) {
      targets.push({
        url: canonicalUrl(parsed.scheme, host, parsed.port, parsed.params, parsed.path),
        scheme: parsed.scheme,
        host,
        port: parsed.port,
        ...credentialsOf(parsed),
        labels: {},
        intervalMs: 0,
        timeoutMs,
      });
    }
  }
  return targets;
}

/** The URL's userinfo and parameters, present only when the URL has them (a Target never carries `undefined` keys). */
function credentialsOf(parsed: ParsedTargetUrl): Pick<Target, 'userinfo' | 'params' | 'path'> {
  const out: Pick<Target, 'userinfo' | 'params' | 'path'> = {};
  if (parsed.userinfo !== undefined) out.userinfo = parsed.userinfo;
  if (parsed.params !== undefined) out.params = parsed.params;
  if (parsed.path !== undefined) out.path = parsed.path;
  return out;
}

/** How an nvidia-smi target's command is run (command_prefix, ssh_options), present only when configured. */
function commandOptionsOf(entry: TargetConfig): Pick<Target, 'commandPrefix' | 'sshOptions'> {
  const out: Pick<Target, 'commandPrefix' | 'sshOptions'> = {};
  if (entry.command_prefix !== undefined) out.commandPrefix = entry.command_prefix;
  if (entry.ssh_options !== undefined) out.sshOptions = entry.ssh_options;
  return out;
}

/**
 * The shard a target belongs to: the first four bytes of the SHA-256 of its canonical URL, modulo the
 * shard count. The same on every agent, machine and Node version, and independent of the order targets
 * are configured or discovered in, so agents that share a config agree without talking.
 */
export function shardOf(url: string, shardCount: number): number {
  return createHash('sha256').update(url).digest().readUInt32BE(0) % shardCount;
}

/** The targets this agent polls: all of them alone, its shard's share in a cluster. */
export function shareOf<T extends { url: string }>(targets: readonly T[], cluster: ClusterConfig | undefined): T[] {
  if (!cluster || cluster.shard_count === 1) return [...targets];
  return targets.filter((t) => shardOf(t.url, cluster.shard_count) === cluster.shard_index);
}
