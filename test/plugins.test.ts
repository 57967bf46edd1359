/**
 * Every registry's plugins (CGMiner dialects, SNMP profiles, target schemes, exporters) each have a folder of their
 * own with a README.md and test data, and every plugin folder is listed in its registry: adding one is
 * one folder plus one registry line, and this test says which half is missing.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DIALECTS } from '../collectors/cgminer/dialects/index.js';
import { SCHEMES } from '../collectors/registry.js';
import { SNMP_PROFILES } from '../collectors/snmp/profiles/index.js';
import { EXPORTERS } from '../exporters/index.js';
import { REPO_ROOT, SHARED_FIXTURES, sharedFixtures } from './helpers.js';

/** One plugin as the check sees it: its registry name and the folder that holds it. */
interface PluginFolder {
  name: string;
  folder: string;
}

/**
 * Test data a plugin keeps outside its own testdata/, by `registry/name`: a recording another plugin
 * reads too, or a real capture in ../shared/fixtures that is read from there, never copied.
 */
const TESTDATA_ELSEWHERE: Readonly<Record<string, readonly string[]>> = {
  // net-snmp answers HOST-RESOURCES and UCD-SNMP in one walk: one recording serves both profiles.
  'snmp-profiles/ucd-snmp': [resolve(REPO_ROOT, 'collectors/snmp/profiles/host-resources/testdata/linux-host.snmprec')],
  'snmp-profiles/raritan-px': [resolve(SHARED_FIXTURES, 'snmp', 'raritan-px.snmprec')],
  'schemes/nvidia-smi': [resolve(SHARED_FIXTURES, 'nvidia')],
  'schemes/nvidia-smi+ssh': [resolve(SHARED_FIXTURES, 'nvidia')],
  'schemes/whatsminer-v3': [resolve(SHARED_FIXTURES, 'whatsminer-v3')],
  'schemes/antminer-web': [resolve(SHARED_FIXTURES, 'antminer-web')],
  'schemes/bitaxe': [resolve(SHARED_FIXTURES, 'bitaxe')],
  'schemes/epic': [resolve(SHARED_FIXTURES, 'epic')],
  'schemes/auradine': [resolve(SHARED_FIXTURES, 'auradine')],
  'schemes/braiins-rest': [resolve(SHARED_FIXTURES, 'braiins-rest')],
};

/** Undefined (and said so, or under CI=true thrown) when the shared captures are not beside this checkout. */
const sharedPresent = sharedFixtures('.') !== undefined;

function hasFiles(path: string): boolean {
  if (!existsSync(path)) return false;
  if (!statSync(path).isDirectory()) return true;
  return readdirSync(path).some((name) => name !== 'README.md' && hasFiles(join(path, name)));
}

/** testdata/ folders at or below `folder`: a scheme's plugins keep theirs in their own folders. */
function testdataFolders(folder: string, deep: boolean): string[] {
  const own = join(folder, 'testdata');
  const found = existsSync(own) ? [own] : [];
  if (!deep) return found;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== 'testdata') found.push(...testdataFolders(join(folder, entry.name), true));
  }
  return found;
}

/**
 * What is missing for each plugin of one registry: its README.md, or test data (a non-empty testdata/
 * in its folder, below it when `deep`, or a place named in TESTDATA_ELSEWHERE). Real captures outside
 * the repository count as present where ../shared/fixtures is absent, except under CI.
 */
function registryProblems(registry: string, plugins: readonly PluginFolder[], options: { deep?: boolean } = {}): string[] {
  const problems: string[] = [];
  for (const { name, folder } of plugins) {
    const where = `${registry}/${name} (${relative(REPO_ROOT, folder)})`;
    if (!existsSync(join(folder, 'README.md'))) problems.push(`${where}: no README.md`);
    const elsewhere = TESTDATA_ELSEWHERE[`${registry}/${name}`] ?? [];
    const present =
      testdataFolders(folder, options.deep ?? false).some(hasFiles) || elsewhere.some((path) => hasFiles(path) || (path.startsWith(SHARED_FIXTURES) && !sharedPresent));
    if (!present) problems.push(`${where}: no test data (a non-empty testdata/ folder)`);
  }
  return problems;
}

/**
 * The folder of each registry entry: that of the module (one of `modules`) exporting it. A module that
 * exports no entry is a plugin folder missing its registry line.
 */
async function pluginFolders(registry: string, entries: readonly { name: string }[], modules: readonly string[]): Promise<{ plugins: PluginFolder[]; problems: string[] }> {
  const plugins: PluginFolder[] = [];
  const problems: string[] = [];
  const found = new Set<{ name: string }>();
  for (const module of modules) {
    const exported = Object.values(await import(pathToFileURL(module).href)) as unknown[];
    const mine = entries.filter((entry) => exported.includes(entry));
    if (mine.length === 0) problems.push(`${registry}: ${relative(REPO_ROOT, module)} exports nothing its registry lists`);
    for (const entry of mine) {
      found.add(entry);
      plugins.push({ name: entry.name, folder: dirname(module) });
    }
  }
  for (const entry of entries) if (!found.has(entry)) problems.push(`${registry}/${entry.name}: in the registry, but no plugin folder exports it`);
  return { plugins, problems };
}

/** `<dir>/<each subfolder>/<file>` that exists. */
function modulesIn(dir: string, file: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(dir, entry.name, file)))
    .map((entry) => join(dir, entry.name, file));
}

describe('plugin registries', () => {
  const collectors = resolve(REPO_ROOT, 'collectors');

  it('every CGMiner dialect is a folder with index.ts, README.md and testdata/, listed in dialects/index.ts', async () => {
    const { plugins, problems } = await pluginFolders('cgminer-dialects', DIALECTS, modulesIn(join(collectors, 'cgminer', 'dialects'), 'index.ts'));
    expect([...problems, ...registryProblems('cgminer-dialects', plugins)]).toEqual([]);
    expect(plugins).toHaveLength(DIALECTS.length);
  });

  it('every SNMP profile is a folder with index.ts, README.md and testdata/, listed in profiles/index.ts', async () => {
    const { plugins, problems } = await pluginFolders('snmp-profiles', SNMP_PROFILES, modulesIn(join(collectors, 'snmp', 'profiles'), 'index.ts'));
    expect([...problems, ...registryProblems('snmp-profiles', plugins)]).toEqual([]);
    expect(plugins).toHaveLength(SNMP_PROFILES.length);
  });

  it("every target scheme is a protocol folder's scheme.ts with a README.md and its plugins' test data, listed in collectors/registry.ts", async () => {
    const { plugins, problems } = await pluginFolders('schemes', SCHEMES, modulesIn(collectors, 'scheme.ts'));
    expect([...problems, ...registryProblems('schemes', plugins, { deep: true })]).toEqual([]);
    expect(plugins).toHaveLength(SCHEMES.length);
  });

  it('every exporter is a folder with index.ts, README.md and testdata/, listed in exporters/index.ts', async () => {
    const { plugins, problems } = await pluginFolders('exporters', EXPORTERS, modulesIn(resolve(REPO_ROOT, 'exporters'), 'index.ts'));
    expect([...problems, ...registryProblems('exporters', plugins)]).toEqual([]);
    expect(plugins).toHaveLength(EXPORTERS.length);
  });
});
