/**
 * The shape the README's "How the parts fit" promises, checked on the sources: contracts are leaves,
 * only the composition root knows the parts, and only exporters/ speaks Prometheus or MQTT.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from './helpers.js';

/** Every .ts file below `folder`, relative to the repository. */
function sources(folder: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(resolve(REPO_ROOT, folder), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(relative(REPO_ROOT, join(entry.parentPath, entry.name)));
  }
  return out;
}

interface Import {
  readonly from: string;
  /** The imported file relative to the repository, or the package name. */
  readonly target: string;
  readonly typeOnly: boolean;
}

function importsOf(file: string): Import[] {
  const text = readFileSync(resolve(REPO_ROOT, file), 'utf8');
  const found: Import[] = [];
  for (const m of text.matchAll(/^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'|import\('([^']+)'\)/gm)) {
    const spec = m[2] ?? m[3]!;
    const target = spec.startsWith('.') ? relative(REPO_ROOT, resolve(REPO_ROOT, dirname(file), spec)).replace(/\.js$/, '.ts') : spec;
    found.push({ from: file, target, typeOnly: m[1] !== undefined });
  }
  return found;
}

const PRODUCTION = ['agent', 'collectors', 'config', 'simulator', 'exporters'].flatMap(sources);

describe('the shape of the code', () => {
  it('reads the imports it checks (the rule below would pass on nothing otherwise)', () => {
    expect(importsOf('agent/compose.ts').map((i) => i.target)).toContain('exporters/index.ts');
    expect(PRODUCTION.length).toBeGreaterThan(100);
  });

  it('lets only exporters/ import prom-client or mqtt', () => {
    const offenders = PRODUCTION.filter((f) => !f.startsWith('exporters/'))
      .flatMap(importsOf)
      .filter((i) => i.target === 'prom-client' || i.target === 'mqtt');
    expect(offenders).toEqual([]);
  });

  it('keeps the contracts leaves: type imports of other contracts, data types and config only', () => {
    const leaves = new Set(['agent/snapshot.ts', 'agent/economics/types.ts', 'collectors/contract.ts']);
    const contracts = [...sources('agent/contracts'), 'collectors/contract.ts'];
    const offenders = contracts
      .flatMap(importsOf)
      .filter((i) => !i.typeOnly || !(i.target.startsWith('agent/contracts/') || leaves.has(i.target) || i.target.startsWith('config/') || !i.target.includes('/')));
    expect(offenders).toEqual([]);
  });

  it('lets only the composition root know the parts: the daemon imports no exporter, economics or discovery', () => {
    const parts = (target: string) => target.startsWith('exporters/') || target.startsWith('agent/economics/') || target === 'agent/discovery.ts' || target === 'agent/compose.ts';
    expect(importsOf('agent/daemon.ts').filter((i) => parts(i.target))).toEqual([]);
    const knowsExporters = PRODUCTION.filter((f) => !f.startsWith('exporters/')).filter((f) => importsOf(f).some((i) => i.target.startsWith('exporters/') && !i.typeOnly));
    expect(knowsExporters).toEqual(['agent/compose.ts']);
  });

  it('keeps collectors and config from reaching up into the agent beyond its data: the snapshot shape and the model catalog', () => {
    const allowed = (target: string) => !target.startsWith('agent/') || target === 'agent/snapshot.ts' || target === 'agent/catalog.ts' || target.startsWith('agent/contracts/');
    expect(importsOf('agent/catalog.ts').filter((i) => i.target.startsWith('agent/') && i.target !== 'agent/snapshot.ts')).toEqual([]);
    const offenders = [...sources('collectors'), ...sources('config')].flatMap(importsOf).filter((i) => !allowed(i.target));
    expect(offenders).toEqual([]);
  });
});
