/**
 * Issue 13, findings 6 and 8 where targets are expanded: ids that two targets cannot share, and an
 * endpoint budget refused as a config problem rather than met at the heap limit.
 */
import { describe, expect, it } from 'vitest';
import { buildTargets } from '../agent/targets.js';
import { createSnmpCollector } from '../collectors/snmp/collector.js';
import { configSchema } from '../config/schema.js';
import { ConfigError, parseConfig } from '../config/load.js';
import { REPO_ROOT } from './helpers.js';

const configOf = (targets: string[], polling: object = {}) => configSchema.parse({ targets: targets.map((url) => ({ url })), polling });
const idsOf = (targets: string[]) => buildTargets(configOf(targets)).map((t) => createSnmpCollector(t).placeholder().id);

describe('device ids that two targets cannot share', () => {
  it('finding 8: two SNMP communities on one host:port are two targets with two ids, neither showing its community', () => {
    const targets = buildTargets(configOf(['snmp://public@127.0.0.1:1161', 'snmp://s3cret@127.0.0.1:1161']));
    expect(targets.map((t) => t.userinfo)).toEqual(['public', 's3cret']);
    expect(new Set(targets.map((t) => t.url)).size).toBe(2);
    const ids = targets.map((t) => createSnmpCollector(t).placeholder().id);
    expect(ids[0]).toMatch(/^pdu\/127\.0\.0\.1:1161~[0-9a-f]{8}$/);
    expect(ids[1]).toMatch(/^pdu\/127\.0\.0\.1:1161~[0-9a-f]{8}$/);
    expect(ids[0]).not.toBe(ids[1]);
    for (const text of [...ids, ...targets.map((t) => t.url)]) expect(text).not.toMatch(/public|s3cret/);
  });

  it('gives the README example its ids and URLs', () => {
    const targets = buildTargets(configOf(['snmp://public@10.0.9.2', 'snmp://facilities@10.0.9.2']));
    expect(targets.map((t) => [t.url, createSnmpCollector(t).placeholder().id])).toEqual([
      ['snmp://10.0.9.2:161', 'pdu/10.0.9.2~e19bd987'],
      ['snmp://10.0.9.2:161#c862a9ed', 'pdu/10.0.9.2~c862a9ed'],
    ]);
  });

  it('finding 8: two profiles on one agent get two ids; ids are stable from one load to the next', () => {
    const urls = ['snmp://public@127.0.0.1?profile=apc-rpdu2', 'snmp://public@127.0.0.1?profile=ucd-snmp'];
    const ids = idsOf(urls);
    expect(new Set(ids).size).toBe(2);
    expect(idsOf(urls)).toEqual(ids);
  });

  it('keeps the usual ids as they were: one target per endpoint has no qualifier', () => {
    expect(idsOf(['snmp://public@127.0.0.1', 'snmp://public@127.0.0.2:1161'])).toEqual(['pdu/127.0.0.1', 'pdu/127.0.0.2:1161']);
    // A host listed on its own and again in a range with the same community stays one target.
    expect(buildTargets(configOf(['snmp://public@127.0.0.5', 'snmp://public@127.0.0.1-10']))).toHaveLength(10);
  });
});

describe('the endpoint budget', () => {
  const sixteenSlash16 = Array.from({ length: 16 }, (_, i) => `  - url: cgminer://10.${i}.0.0/16`).join('\n');

  it('finding 6: 16 × /16 is refused as a config problem in one line, before any target is built', () => {
    let problems: string[] = [];
    try {
      parseConfig(`targets:\n${sixteenSlash16}\n`, 'big.yaml', { env: {}, baseDir: REPO_ROOT });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems = err.problems;
    }
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('the targets expand to 1,048,544 endpoints, over polling.limits.endpoints (262,144)');
    expect(problems[0]).not.toContain('\n');
  });

  it('takes a raised budget, and buildTargets refuses a config past it however it was made', () => {
    const raised = parseConfig(`polling: { limits: { endpoints: 2000000 } }\ntargets:\n${sixteenSlash16}\n`, 'big.yaml', { env: {}, baseDir: REPO_ROOT });
    expect(raised.polling.limits.endpoints).toBe(2_000_000);
    const small = configOf(['cgminer://10.0.0.0/24']);
    small.polling.limits.endpoints = 100;
    expect(() => buildTargets(small)).toThrow('the targets expand to 254 endpoints, over polling.limits.endpoints (100)');
  });
});
