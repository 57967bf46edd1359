import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { findModel, MODEL_CATALOG } from '../agent/catalog.js';
import { sharedFixtures } from './helpers.js';

const captureDirs = ['cgminer/field', 'cgminer/pyasic'].map(sharedFixtures).filter((d) => d !== undefined);
const haveFixtures = captureDirs.length === 2;

describe('MODEL_CATALOG', () => {
  it('holds the current fleet with consistent figures and a named source per row', () => {
    expect(MODEL_CATALOG.length).toBeGreaterThanOrEqual(30);
    for (const m of MODEL_CATALOG) {
      // Single-chip home miners (Bitaxe) run at well under a terahash and a few tens of watts.
      const home = m.hashboards === 1 && m.chips_per_board !== undefined && m.chips_per_board <= 4;
      if (m.algorithm === 'sha256') {
        expect(m.nominal_hashrate_hs, m.model).toBeGreaterThan(home ? 1e11 : 1e12);
        expect(m.nominal_power_w, m.model).toBeGreaterThan(home ? 5 : 1000);
      } else {
        // Other algorithms hash at their own scale: a Scrypt box at 200 MH/s, a Kadena one at 40 TH/s.
        expect(m.nominal_hashrate_hs, m.model).toBeGreaterThan(1e8);
        expect(m.nominal_power_w, m.model).toBeGreaterThan(100);
      }
      expect(m.nominal_efficiency_j_per_th, m.model).toBeCloseTo(m.nominal_power_w / (m.nominal_hashrate_hs / 1e12), 1);
      expect(m.hashboards, m.model).toBeGreaterThan(0);
      expect(m.source, m.model).toMatch(/spec/i);
      // Issue 15: every figure says where it comes from, or that no source was found.
      expect(m.source, m.model).not.toMatch(/from memory|not re-verified/i);
      if (m.cooling === 'hydro') expect(m.fans, m.model).toBe(0);
    }
    const names = MODEL_CATALOG.map((m) => m.model);
    expect(new Set(names).size).toBe(names.length);
  });

  it('says what each row hashes: SHA-256 unless it says otherwise, and never SHA-256 for a Goldshell', () => {
    for (const m of MODEL_CATALOG) {
      if (m.vendor === 'Goldshell') expect(m.algorithm, m.model).not.toMatch(/^(sha256|unknown)$/);
      else expect(m.algorithm, m.model).toBe('sha256');
    }
    expect(findModel('Goldshell-KD6')?.algorithm).toBe('blake2s');
    expect(findModel('Goldshell-LT5')?.algorithm).toBe('scrypt');
  });

  it('carries the published headline figures for the reference models', () => {
    const s19pro = findModel('Antminer S19 Pro')!;
    expect([s19pro.nominal_hashrate_hs, s19pro.nominal_power_w, s19pro.hashboards, s19pro.chips_per_board]).toEqual([110e12, 3250, 3, 114]);
    const s21pro = findModel('Antminer S21 Pro')!;
    expect([s21pro.nominal_hashrate_hs, s21pro.nominal_power_w, s21pro.nominal_efficiency_j_per_th]).toEqual([234e12, 3510, 15]);
    expect(findModel('Antminer S9')?.chips_per_board).toBe(63);
    expect(findModel('Antminer S19j Pro')?.chips_per_board).toBe(126);
    expect(findModel('Antminer S19 XP')?.chips_per_board).toBe(110);
    expect(findModel('Antminer S21')?.chips_per_board).toBe(108);
  });

  it('carries the board, chip and fan counts of pyasic and asic-rs, where those disagreed with the old rows', () => {
    const counts = (name: string) => {
      const m = findModel(name)!;
      return [m.hashboards, m.chips_per_board, m.fans, m.cooling];
    };
    // pyasic S19ProHydro / S19ProPlusHydro and asic-rs: four boards of 180 chips, not three.
    expect(counts('Antminer S19 Pro Hyd.')).toEqual([4, 180, 0, 'hydro']);
    expect(counts('Antminer S19 Pro+ Hyd.')).toEqual([4, 180, 0, 'hydro']);
    expect(counts('Antminer S19 XP Hyd.')).toEqual([3, 204, 0, 'hydro']);
    expect(counts('Antminer S21 XP')).toEqual([3, 91, 4, 'air']);
    expect(counts('Antminer S21+')).toEqual([3, 55, 4, 'air']);
    expect(counts('Antminer S21+ Hyd.')).toEqual([3, 95, 0, 'hydro']);
    expect(counts('Antminer S21 Hyd.')).toEqual([3, 216, 0, 'hydro']);
    expect(counts('Antminer T17')).toEqual([3, 30, 4, 'air']);
    expect(counts('Teraflux AT1500')).toEqual([3, 132, 4, 'air']);
  });

  it('holds the Whatsminer M70 family: air M70/M70S, hydro M73, immersion M76', () => {
    const row = (name: string) => {
      const m = findModel(name)!;
      return [m.model, m.nominal_hashrate_hs / 1e12, m.nominal_power_w, m.nominal_efficiency_j_per_th, m.hashboards, m.fans, m.cooling];
    };
    expect(row('M70_VM30')).toEqual(['Whatsminer M70', 214, 3140, 14.67, 3, 2, 'air']);
    expect(row('WhatsMiner M70S_VM30')).toEqual(['Whatsminer M70S', 226, 3140, 13.89, 3, 2, 'air']);
    expect(row('M73.VM30')).toEqual(['Whatsminer M73', 470, 7200, 15.32, 4, 0, 'hydro']);
    expect(row('M76_VL30')).toEqual(['Whatsminer M76', 336, 5200, 15.48, 3, 0, 'immersion']);
    // A bin the catalog does not list is not guessed from its family.
    expect(findModel('M70S+_VM30')).toBeUndefined();
  });

  it("gives a Bitaxe ESP-Miner's expected hashrate (MHz × small cores ÷ 1000 GH/s) at its self-test power target", () => {
    const esp = [
      ['Bitaxe Max', 425, 672, 12, 42.02],
      ['Bitaxe Ultra', 485, 894, 12, 27.68],
      ['Bitaxe Supra', 490, 1276, 12, 19.19],
      ['Bitaxe Gamma', 525, 2040, 19, 17.74],
    ] as const;
    for (const [model, mhz, smallCores, watts, jPerTh] of esp) {
      const m = findModel(model)!;
      expect(m.nominal_hashrate_hs, model).toBeCloseTo(((mhz * smallCores) / 1000) * 1e9, -6);
      expect([m.nominal_power_w, m.nominal_efficiency_j_per_th], model).toEqual([watts, jPerTh]);
    }
  });
});

describe('findModel', () => {
  it.each([
    ['Antminer S19 Pro', 'Antminer S19 Pro'],
    ['S19Pro', 'Antminer S19 Pro'],
    ['antminer s19 pro (110Th)', 'Antminer S19 Pro'],
    ['Antminer S9\nV1.3.58', 'Antminer S9'],
    ['Antminer S9 (vnish 3.8.6)', 'Antminer S9'],
    ['Antminer S9 Hiveon', 'Antminer S9'],
    ['braiins-am1-s9', 'Antminer S9'],
    ['AntMiner S19 XP', 'Antminer S19 XP'],
    ['Antminer S19k Pro', 'Antminer S19k Pro'],
    ['S19-88 v.2.6.0.39 ', 'Antminer S19'],
    ['S19 Pro+ Hyd.', 'Antminer S19 Pro+ Hyd.'],
    ['Antminer S19 Pro Hydro', 'Antminer S19 Pro Hyd.'],
    ['Antminer S21 Hyd.', 'Antminer S21 Hyd.'],
    ['Antminer S21+', 'Antminer S21+'],
    ['Antminer S21 XP Hydro', 'Antminer S21 XP Hyd.'],
    ['M50S.VH40', 'Whatsminer M50S'],
    ['M30S+_VE40', 'Whatsminer M30S+'],
    ['M30S++_VG30', 'Whatsminer M30S++'],
    ['M60S_VK40', 'Whatsminer M60S'],
    ['WhatsMiner M50S+_VK30', 'Whatsminer M50S+'],
    ['Avalon1246', 'AvalonMiner A1246'],
    ['1246', 'AvalonMiner A1246'],
    ['1246-83', 'AvalonMiner A1246'],
    ['AvalonMiner 15-194', 'AvalonMiner A1566'],
  ])('%j → %s', (spelling, canonical) => {
    expect(findModel(spelling)?.model).toBe(canonical);
  });

  it('does not fall back from a variant word to a different model', () => {
    expect(findModel('Antminer T17+')).toBeUndefined();
    expect(findModel('Antminer L3+')).toBeUndefined();
    expect(findModel('Antminer S19j Pro+')).toBeUndefined();
    expect(findModel('M30S+')?.model).toBe('Whatsminer M30S+');
    expect(findModel('')).toBeUndefined();
    expect(findModel(undefined)).toBeUndefined();
  });
});

describe.skipIf(!haveFixtures)('findModel on model strings in real captures', () => {
  /** Every "Type" (Antminer), "type" (Whatsminer) and "MODEL" (Avalon) value in the field captures. */
  function reportedModelStrings(): Map<string, string> {
    const found = new Map<string, string>();
    for (const dir of captureDirs)
      for (const file of readdirSync(dir)) {
        if (!/version|stats|devdetails/.test(file)) continue;
        const text = readFileSync(path.join(dir, file), 'latin1');
        for (const m of text.matchAll(/"(Type|type|MODEL)"\s*:\s*"((?:[^"\\]|\\.)*)"/g)) {
          found.set(JSON.parse(`"${m[2]!}"`) as string, file);
        }
      }
    return found;
  }

  it('recognises every Bitcoin miner model the catalog covers', () => {
    const expected: Record<string, string | undefined> = {
      'Antminer S19 Pro': 'Antminer S19 Pro',
      'Antminer S19': 'Antminer S19',
      'Antminer S19k Pro': 'Antminer S19k Pro',
      'Antminer S17 Pro': 'Antminer S17 Pro',
      'Antminer S9': 'Antminer S9',
      'Antminer S9\nV1.3.58': 'Antminer S9',
      'Antminer S9 (vnish 3.8.6)': 'Antminer S9',
      'Antminer S9 Hiveon': 'Antminer S9',
      'braiins-am1-s9': 'Antminer S9',
      'S19-88 v.2.6.0.39 ': 'Antminer S19',
      '15-194': 'AvalonMiner A1566',
      // Litecoin miners and models the catalog does not list: no guess.
      'Antminer L3+': undefined,
      'Antminer L3+ (024)': undefined,
      'Antminer T17+': undefined,
    };
    const seen = reportedModelStrings();
    for (const [spelling, canonical] of Object.entries(expected)) {
      expect(seen.has(spelling), `capture with ${JSON.stringify(spelling)}`).toBe(true);
      expect(findModel(spelling)?.model, `${JSON.stringify(spelling)} from ${seen.get(spelling)}`).toBe(canonical);
    }
  });
});
