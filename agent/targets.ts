import { canonicalUrl, parseTargetUrl, type Target } from '../collectors/target.js';
import type { Config } from '../config/schema.js';

/** Expands the configured targets (ranges, CIDRs) into one Target per endpoint, labels merged. */
export function buildTargets(config: Config): Target[] {
  const byUrl = new Map<string, Target>();
  for (const entry of config.targets) {
    const parsed = parseTargetUrl(entry.url);
    const labels = { ...config.labels, ...entry.labels };
    for (const host of parsed.hosts) {
      const url = canonicalUrl(parsed.scheme, host, parsed.port);
      // The first mention wins, so a host listed on its own before a range keeps its own labels.
      if (byUrl.has(url)) continue;
      byUrl.set(url, {
        url,
        scheme: parsed.scheme,
        host,
        port: parsed.port,
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
    for (const host of parsed.hosts) {
      targets.push({ url: canonicalUrl(parsed.scheme, host, parsed.port), scheme: parsed.scheme, host, port: parsed.port, labels: {}, intervalMs: 0, timeoutMs });
    }
  }
  return targets;
}
