import { createHash } from 'node:crypto';
import { canonicalUrl, endpointBudgetMessage, parseTargetUrl } from '../collectors/target.js';
import { hostPort, TargetError, type ParsedTargetUrl, type Target } from '../collectors/contract.js';
import type { ClusterConfig } from '../config/cluster-schema.js';
import { hostProblem } from '../config/address.js';
import type { Config, TargetConfig } from '../config/schema.js';

/** Expands the configured targets (ranges, CIDRs) into one Target per endpoint, labels merged. */
export function buildTargets(config: Config): Target[] {
  const byUrl = new Map<string, Target>();
  const entries = config.targets.map((entry) => ({ entry, parsed: parseTargetUrl(entry.url) }));
  const endpoints = entries.reduce((sum, { parsed }) => sum + parsed.hosts.length, 0);
  const budget = config.polling.limits.endpoints;
  if (endpoints > budget) throw new TargetError(endpointBudgetMessage(endpoints, budget));
  for (const { entry, parsed } of entries) {
    const labels = { ...config.labels, ...entry.labels };
    for (const host of parsed.hosts) {
      const url = canonicalUrl(parsed.scheme, host, parsed.port, parsed.params, parsed.path);
      // The first mention wins, so a host listed on its own before a range keeps its own labels; the same
      // endpoint with other credentials is another target (qualified below).
      const taken = byUrl.get(url);
      if (taken && taken.userinfo === parsed.userinfo) continue;
      const key = taken ? `${url}#${credentialDigest(host, parsed.port, parsed.userinfo, parsed.params)}` : url;
      if (byUrl.has(key)) continue;
      byUrl.set(key, {
        url: key,
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
  const targets = [...byUrl.values()];
  qualifySharedEndpoints(targets);
  return targets;
}

/**
 * Gives each target that shares its scheme, host and port with another an idQualifier, so two SNMP
 * communities (or two sets of parameters) on one agent report two devices rather than one that flips.
 */
function qualifySharedEndpoints(targets: Target[]): void {
  const byEndpoint = new Map<string, Target[]>();
  for (const target of targets) {
    const endpoint = `${target.scheme}://${hostPort(target.host, target.port)}`;
    const group = byEndpoint.get(endpoint);
    if (group) group.push(target);
    else byEndpoint.set(endpoint, [target]);
  }
  for (const group of byEndpoint.values()) {
    if (group.length < 2) continue;
    const digests = group.map((t) => credentialDigest(t.host, t.port, t.userinfo, t.params));
    if (new Set(digests).size < 2) continue;
    const urls = new Set<string>();
    for (const [i, target] of group.entries()) {
      target.idQualifier = digests[i]!;
      // The scheduler keys on the URL, which never holds the credentials: the second community gets its own.
      if (urls.has(target.url)) target.url = `${target.url}#${target.idQualifier}`;
      urls.add(target.url);
    }
  }
}

/** Eight hex digits of a SHA-256 of the endpoint with its credentials and parameters: tells them apart without showing them. */
function credentialDigest(host: string, port: number, userinfo: string | undefined, params: Readonly<Record<string, string>> | undefined): string {
  const sortedParams = Object.entries(params ?? {})
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  return createHash('sha256')
    .update(`${host}:${port}\0${userinfo ?? ''}\0${sortedParams}`)
    .digest('hex')
    .slice(0, 8);
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
  qualifySharedEndpoints(targets);
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
