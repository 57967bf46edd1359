/**
 * The README's table of supported makes and firmware says what the registries hold: one row per target
 * scheme with its default port, and the CGMiner row naming every dialect. A scheme added without its
 * row, or a row left behind by a removed one, fails here.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MODEL_CATALOG } from '../agent/catalog.js';
import { DIALECTS } from '../collectors/cgminer/dialects/index.js';
import { SCHEMES } from '../collectors/registry.js';
import { REPO_ROOT } from './helpers.js';

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

function tableRows(): string[][] {
  const table = /<!-- supported-makes:start -->\n([\s\S]*?)<!-- supported-makes:end -->/.exec(README)?.[1];
  if (table === undefined) throw new Error('README.md has no supported-makes table');
  return table
    .trim()
    .split('\n')
    .slice(2)
    .map((line) =>
      line
        .replace(/^\||\|$/g, '')
        .split('|')
        .map((cell) => cell.trim()),
    );
}

describe("README's supported makes", () => {
  it('has one row per registered scheme, with its default port', () => {
    const listed = new Map<string, string>();
    for (const [schemes, port] of tableRows()) for (const name of schemes!.split(',')) listed.set(name.trim().replace(/`/g, ''), port!);
    expect([...listed.keys()].sort()).toEqual(SCHEMES.map((s) => s.name).sort());
    for (const scheme of SCHEMES) expect(listed.get(scheme.name), scheme.name).toBe(scheme.defaultPort === 0 ? '-' : String(scheme.defaultPort));
  });

  it('names every CGMiner dialect in the cgminer row', () => {
    const row = tableRows().find(([scheme]) => scheme === '`cgminer`');
    const named = [...(row?.[2] ?? '').matchAll(/`([a-z-]+)`/g)].map((m) => m[1]);
    expect(named.sort()).toEqual(DIALECTS.map((d) => d.name).sort());
  });

  it('counts the catalog as it is', () => {
    expect(README).toContain(`A catalog of ${MODEL_CATALOG.length} current models`);
  });
});
