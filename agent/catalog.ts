/**
 * Nominal figures per miner model, from the manufacturers' published specifications.
 * Used for nominal hashrate, efficiency drift and, when nothing better exists, a power estimate.
 *
 * Every row names where its figures come from. Hashrate and power are the manufacturer's headline bin
 * (most models ship in several hashrate bins; the row says which one). Where no manufacturer page was
 * found in public sources the row says so and names who it quotes (a reseller listing, a news report,
 * asicminervalue.com as quoted by a public compiled catalog): those rows are the ones to check first if a
 * figure looks off. Board, chip and fan counts come from real captures in shared/fixtures (chain_acnN) or
 * from the model tables of pyasic (pyasic/miners/device/models, expected_hashboards/chips/fans) and
 * asic-rs (asic-rs-makes/<make>/src/hardware.rs), cited by commit. Bitaxe rows are ESP-Miner's own
 * defaults: expected hashrate = frequency (MHz) × small cores ÷ 1000 GH/s, power = its self-test target.
 */

import type { HashAlgorithm } from './snapshot.js';

export type Cooling = 'air' | 'hydro' | 'immersion';

export interface ModelSpec {
  vendor: string;
  /** What it hashes; its hashrate figures are in hashes of that algorithm. */
  algorithm: HashAlgorithm;
  /** Canonical model name as operators write it, e.g. "Antminer S19 Pro". */
  model: string;
  /** Other spellings firmware reports ("S19Pro", "Antminer S19 Pro (110Th)"). */
  aliases?: string[];
  nominal_hashrate_hs: number;
  nominal_power_w: number;
  nominal_efficiency_j_per_th: number;
  hashboards: number;
  chips_per_board?: number;
  /** Fan count; 0 for hydro units, which have none of their own. */
  fans?: number;
  cooling: Cooling;
  /** Where the figures come from (manufacturer spec page or datasheet). */
  source: string;
}

const TH = 1e12;

/** A row's other fields; `algorithm` is SHA-256 unless the row says otherwise. */
type SpecRest = Omit<ModelSpec, 'vendor' | 'model' | 'algorithm' | 'nominal_hashrate_hs' | 'nominal_power_w' | 'nominal_efficiency_j_per_th'> & { algorithm?: HashAlgorithm };

/** `th` in TH/s of the row's algorithm, so J/TH is per TH/s of that algorithm too. */
function spec(vendor: string, model: string, th: number, w: number, rest: SpecRest): ModelSpec {
  return { vendor, model, algorithm: 'sha256', nominal_hashrate_hs: th * TH, nominal_power_w: w, nominal_efficiency_j_per_th: Math.round((w / th) * 100) / 100, ...rest };
}

const bitmain = (model: string, th: number, w: number, rest: SpecRest) => spec('Bitmain', model, th, w, rest);
const microbt = (model: string, th: number, w: number, rest: SpecRest) => spec('MicroBT', model, th, w, rest);
const canaan = (model: string, th: number, w: number, rest: SpecRest) => spec('Canaan', model, th, w, rest);
const auradine = (model: string, th: number, w: number, rest: SpecRest) => spec('Auradine', model, th, w, rest);
const bitaxe = (model: string, th: number, w: number, rest: SpecRest) => spec('Bitaxe', model, th, w, rest);
const proto = (model: string, th: number, w: number, rest: SpecRest) => spec('Proto', model, th, w, rest);
const goldshell = (model: string, th: number, w: number, rest: SpecRest & { algorithm: HashAlgorithm }) => spec('Goldshell', model, th, w, rest);
/** Goldshell quotes scrypt machines in MH/s and GH/s. */
const MH_IN_TH = 1e-6;

/** Bitaxe boards: one hashboard with one ASIC (two on the GT), one fan. */
const BITAXE_BOARD = { hashboards: 1, fans: 1, cooling: 'air' } as const;

/** Whatsminer air-cooled units: 3 hashboards, 2 fans (intake + exhaust). */
const WHATSMINER_AIR = { hashboards: 3, fans: 2, cooling: 'air' } as const;

export const MODEL_CATALOG: readonly ModelSpec[] = [
  // ── Bitmain Antminer ──────────────────────────────────────────────────────────────────────────
  bitmain('Antminer S9', 13.5, 1323, {
    aliases: ['S9', 'Antminer S9i', 'braiins-am1-s9'],
    hashboards: 3,
    chips_per_board: 63,
    fans: 2,
    cooling: 'air',
    source: 'Bitmain Antminer S9 spec: 13.5 TH/s, 1323 W ±10%, 0.098 J/GH (13.5T bin); 63 chips/board per field capture antminer-stock_S9-V1.3.58_stats',
  }),
  bitmain('Antminer S17 Pro', 53, 2094, {
    aliases: ['S17 Pro', 'S17Pro'],
    hashboards: 3,
    chips_per_board: 48,
    fans: 4,
    cooling: 'air',
    source: 'Bitmain Antminer S17 Pro spec: 53 TH/s, 2094 W, 39.5 J/TH (53T bin); 48 chips/board and 4 fans per field capture antminer-stock_S17Pro_stats',
  }),
  bitmain('Antminer T17', 40, 2200, {
    aliases: ['T17'],
    hashboards: 3,
    chips_per_board: 30,
    fans: 4,
    cooling: 'air',
    source:
      'Bitmain Antminer T17 spec: 40 TH/s, 2200 W, 55 J/TH (Bitmain page not found in public sources; as listed in MineROI-Net miner_specs.py, huggingface.co/spaces/amaai-lab/MineROI-Net); 3 boards × 30 chips, 4 fans per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X17/T17.py and asic-rs@fdcd1018 asic-rs-makes/antminer/src/hardware.rs',
  }),
  bitmain('Antminer S19', 95, 3250, {
    aliases: ['S19'],
    hashboards: 3,
    chips_per_board: 76,
    fans: 4,
    cooling: 'air',
    source: 'Bitmain Antminer S19 spec: 95 TH/s, 3250 W ±5%, 34.2 J/TH (95T bin)',
  }),
  bitmain('Antminer S19 Pro', 110, 3250, {
    aliases: ['S19 Pro', 'S19Pro', 'Antminer S19 Pro (110Th)'],
    hashboards: 3,
    chips_per_board: 114,
    fans: 4,
    cooling: 'air',
    source: 'Bitmain Antminer S19 Pro spec: 110 TH/s, 3250 W ±5%, 29.5 J/TH; 114 chips/board per field capture antminer-stock_S19Pro_stats_2025',
  }),
  bitmain('Antminer S19j Pro', 100, 3050, {
    aliases: ['S19j Pro', 'S19jPro'],
    hashboards: 3,
    chips_per_board: 126,
    fans: 4,
    cooling: 'air',
    source: 'Bitmain Antminer S19j Pro spec: 100 TH/s, 3050 W ±5%, 30.5 J/TH (100T bin; 96T and 104T bins also sold)',
  }),
  bitmain('Antminer S19 XP', 140, 3010, {
    aliases: ['S19 XP', 'S19XP', 'AntMiner S19 XP'],
    hashboards: 3,
    chips_per_board: 110,
    fans: 4,
    cooling: 'air',
    source: 'Bitmain Antminer S19 XP spec: 140 TH/s, 3010 W ±5%, 21.5 J/TH',
  }),
  bitmain('Antminer S19 XP Hyd.', 255, 5304, {
    aliases: ['S19 XP Hyd.', 'S19 XP Hydro', 'Antminer S19 XP Hydro', 'S19XPHyd'],
    hashboards: 3,
    chips_per_board: 204,
    fans: 0,
    cooling: 'hydro',
    source:
      "Bitmain Antminer S19 XP Hyd. spec: 255 TH/s, 5304 W, 20.8 J/TH (Bitmain page not found; the same 255 TH/s, 5304 W in Glassnode's reference-rig list, studio.glassnode.com/charts/btc-asic-fleet-count); 3 boards × 204 chips per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X19/S19.py (S19XPHydro)",
  }),
  bitmain('Antminer S19k Pro', 120, 2760, {
    aliases: ['S19k Pro', 'S19kPro'],
    hashboards: 3,
    chips_per_board: 77,
    fans: 4,
    cooling: 'air',
    source: 'Bitmain Antminer S19k Pro spec: 120 TH/s, 2760 W ±5%, 23 J/TH; 77 chips/board per field capture luxos_S19kPro_stats',
  }),
  bitmain('Antminer S19 Pro Hyd.', 177, 5221, {
    aliases: ['S19 Pro Hyd.', 'S19 Pro Hydro', 'Antminer S19 Pro Hydro', 'S19ProHyd'],
    hashboards: 4,
    chips_per_board: 180,
    fans: 0,
    cooling: 'hydro',
    source:
      'Bitmain Antminer S19 Pro Hyd. spec: 177 TH/s, 5221 W, 29.5 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/antminer-s19-pro-hyd-177th); 4 boards × 180 chips (was 3 boards here) per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X19/S19.py (S19ProHydro) and asic-rs@fdcd1018 asic-rs-makes/antminer/src/hardware.rs',
  }),
  bitmain('Antminer S19 Pro+ Hyd.', 198, 5445, {
    aliases: ['S19 Pro+ Hyd.', 'S19 Pro+ Hydro', 'S19Pro+Hyd'],
    hashboards: 4,
    chips_per_board: 180,
    fans: 0,
    cooling: 'hydro',
    source:
      'Bitmain Antminer S19 Pro+ Hyd. spec: 198 TH/s, 5445 W, 27.5 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/antminer-s19-pro-hyd-198th); 4 boards × 180 chips (was 3 boards here) per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X19/S19.py (S19ProPlusHydro) and asic-rs@fdcd1018 asic-rs-makes/antminer/src/hardware.rs',
  }),
  bitmain('Antminer S21', 200, 3500, {
    aliases: ['S21'],
    hashboards: 3,
    chips_per_board: 108,
    fans: 4,
    cooling: 'air',
    source:
      "Bitmain Antminer S21 spec: 200 TH/s, 3500 W ±5%, 17.5 J/TH (200T and 17.5 J/T as Bitmain announced it, per BTCWire's S21 review on hackernoon.com); 3 boards × 108 chips, 4 fans per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X21/S21.py",
  }),
  bitmain('Antminer S21 Pro', 234, 3510, {
    aliases: ['S21 Pro', 'S21Pro'],
    hashboards: 3,
    chips_per_board: 65,
    fans: 4,
    cooling: 'air',
    source:
      'Bitmain Antminer S21 Pro spec: 234 TH/s, 3510 W, 15 J/TH (234 TH/s and 3 boards × 65 chips also per the bitaxeGamma readme, bitaxeorg/bitaxeGamma@d7fca641 readme.md); 65 chips/board per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X21/S21.py',
  }),
  bitmain('Antminer S21 XP', 270, 3645, {
    aliases: ['S21 XP', 'S21XP'],
    hashboards: 3,
    chips_per_board: 91,
    fans: 4,
    cooling: 'air',
    source:
      'Bitmain Antminer S21 XP spec: 270 TH/s (±3%), 13.5 J/TH (±5%) on the wall at 25 °C → 3645 W (Bitmain page not found; spec as reproduced by btcminermarketplace.com, "How to calculate ROI for Bitcoin Miner S21 XP"); 3 boards × 91 chips per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X21/S21.py',
  }),
  bitmain('Antminer S21 Hyd.', 335, 5360, {
    aliases: ['S21 Hyd.', 'S21 Hydro', 'Antminer S21 Hydro', 'S21Hyd'],
    hashboards: 3,
    chips_per_board: 216,
    fans: 0,
    cooling: 'hydro',
    source:
      'Bitmain Antminer S21 Hyd. spec: 335 TH/s, 5360 W, 16 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/antminer-s21-hyd-335th); 3 boards × 216 chips per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X21/S21.py (S21Hydro)',
  }),
  bitmain('Antminer S21+', 216, 3564, {
    aliases: ['S21+', 'S21 Plus', 'Antminer S21 Plus'],
    hashboards: 3,
    chips_per_board: 55,
    fans: 4,
    cooling: 'air',
    source:
      'Bitmain Antminer S21+ spec: 216 TH/s, 3564 W, 16.5 J/TH (216T launch bin; no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/antminer-s21-plus-216th, and 216 TH/s with four fans per btcminermarketplace.com); 3 boards × 55 chips per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X21/S21.py',
  }),
  bitmain('Antminer S21+ Hyd.', 319, 4785, {
    aliases: ['S21+ Hyd.', 'S21+ Hydro', 'Antminer S21+ Hydro'],
    hashboards: 3,
    chips_per_board: 95,
    fans: 0,
    cooling: 'hydro',
    source:
      'Bitmain Antminer S21+ Hyd. spec: 319 TH/s, 4785 W, 15 J/TH (Bitmain page not found; as listed by top-crypto-mining-asics.com and for asicminervalue.com/miners/antminer-s21-plus-hyd-319th); 3 boards × 95 chips per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X21/S21.py (S21PlusHydro)',
  }),
  bitmain('Antminer S23', 318, 3498, {
    aliases: ['S23'],
    hashboards: 3,
    fans: 4,
    cooling: 'air',
    source:
      'Bitmain Antminer S23 spec (air, 2026): 318 TH/s, 11 J/TH → 3498 W (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/antminer-s23-318th; was 9.5 J/TH here, the hydro figure); not in pyasic or asic-rs, board and fan counts as the S21',
  }),
  bitmain('Antminer S23 Hyd.', 580, 5510, {
    aliases: ['S23 Hyd.', 'S23 Hydro', 'Antminer S23 Hydro', 'S23Hyd'],
    hashboards: 3,
    chips_per_board: 84,
    fans: 0,
    cooling: 'hydro',
    source:
      'Bitmain Antminer S23 Hyd. spec (2026): 580 TH/s, 9.5 J/TH → 5510 W (Bitmain page not found; 580 TH/s at 9.5 J/TH as reported by Bitcoin.com News, quoted on salmoncrypto.com; TheMinerMag gave 9.7 J/TH at the WDMS launch); 3 chains of 84 chips per the captured stats.cgi in shared/fixtures/antminer-web (rate_ideal 582 TH/s, 5525 W)',
  }),
  bitmain('Antminer S21 XP Hyd.', 473, 5676, {
    aliases: ['S21 XP Hyd.', 'S21 XP Hydro', 'Antminer S21 XP Hydro', 'S21XPHyd'],
    hashboards: 3,
    fans: 0,
    cooling: 'hydro',
    source:
      'Bitmain Antminer S21 XP Hyd. spec: 473 TH/s, 5676 W, 12 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/antminer-s21-xp-hyd-473th)',
  }),
  bitmain('Antminer T21', 190, 3610, {
    aliases: ['T21'],
    hashboards: 3,
    chips_per_board: 108,
    fans: 4,
    cooling: 'air',
    source:
      'Bitmain Antminer T21 spec: 190 TH/s, 3610 W, 19 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/antminer-t21-190th); 3 boards × 108 chips, 4 fans per pyasic@e2b9d357 pyasic/miners/device/models/antminer/X21/T21.py',
  }),

  // ── MicroBT Whatsminer (firmware reports e.g. "M50S.VH40", "M30S+_VE40": the suffix is a chip/bin variant) ──
  microbt('Whatsminer M30S', 88, 3344, { aliases: ['M30S'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M30S spec: 88 TH/s, 3344 W, 38 J/TH (88T bin)' }),
  microbt('Whatsminer M30S+', 100, 3400, { aliases: ['M30S+'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M30S+ spec: 100 TH/s, 3400 W, 34 J/TH (100T bin)' }),
  microbt('Whatsminer M30S++', 112, 3472, { aliases: ['M30S++'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M30S++ spec: 112 TH/s, 3472 W, 31 J/TH (112T bin)' }),
  microbt('Whatsminer M50', 114, 3306, {
    aliases: ['M50'],
    ...WHATSMINER_AIR,
    source:
      'MicroBT Whatsminer M50 spec: 114 TH/s, 29 J/TH → 3306 W (114T bin; no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m50); 3 boards, 2 fans for the VH/VJ variants per pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M5X/M50.py (M50VE30 has 4)',
  }),
  microbt('Whatsminer M50S', 126, 3276, { aliases: ['M50S'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M50S spec: 126 TH/s, 26 J/TH → 3276 W (126T bin)' }),
  microbt('Whatsminer M50S+', 140, 3360, { aliases: ['M50S+'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M50S+ spec: 140 TH/s, 24 J/TH → 3360 W (140T bin)' }),
  microbt('Whatsminer M50S++', 150, 3300, { aliases: ['M50S++'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M50S++ spec: 150 TH/s, 22 J/TH → 3300 W (150T bin)' }),
  microbt('Whatsminer M53', 230, 6670, {
    aliases: ['M53'],
    hashboards: 4,
    fans: 0,
    cooling: 'hydro',
    source:
      'MicroBT Whatsminer M53 (hydro) spec: 230 TH/s, 29 J/TH → 6670 W (was 226 TH/s here; MicroBT page not found, as listed by asicmarketplace.com for the M53 hydro); 4 boards, no fans in every M53 variant per pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M5X/M53.py',
  }),
  microbt('Whatsminer M60', 172, 3422, { aliases: ['M60'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M60 spec: 172 TH/s, 19.9 J/TH → 3422 W (172T bin)' }),
  microbt('Whatsminer M60S', 186, 3441, { aliases: ['M60S'], ...WHATSMINER_AIR, source: 'MicroBT Whatsminer M60S spec: 186 TH/s, 18.5 J/TH → 3441 W (186T bin)' }),
  microbt('Whatsminer M60S+', 212, 3600, {
    aliases: ['M60S+'],
    ...WHATSMINER_AIR,
    source:
      'MicroBT Whatsminer M60S+ spec (2024): 212 TH/s, 3600 W, 17 J/TH (was 18.5 J/TH here; no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m60s-plus); 3 boards, 2 fans for most variants per pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M6X/M60S_Plus.py (VK40/VK50 have 4 boards)',
  }),
  microbt('Whatsminer M61', 202, 4000, {
    aliases: ['M61'],
    ...WHATSMINER_AIR,
    source:
      'MicroBT Whatsminer M61 spec (2024): 202 TH/s, 4000 W, 19.8 J/TH (was 206 TH/s, 3800 W here; no manufacturer or listing page found: figure as a public compiled catalog gives it, unsourced, so still to be checked); 3 boards, 2 fans per pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M6X/M61.py',
  }),
  microbt('Whatsminer M63S', 390, 7215, {
    aliases: ['M63S'],
    hashboards: 4,
    fans: 0,
    cooling: 'hydro',
    source:
      'MicroBT Whatsminer M63S (hydro) spec (2024): 390 TH/s, 18.5 J/TH → 7215 W (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m63s); 4 boards, no fans per pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M6X/M63S.py',
  }),
  microbt('Whatsminer M66S', 298, 5513, {
    aliases: ['M66S'],
    hashboards: 4,
    fans: 0,
    cooling: 'immersion',
    source:
      'MicroBT Whatsminer M66S (immersion) spec (2024): 298 TH/s, 18.5 J/TH → 5513 W (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m66s); 4 boards, no fans for the VK40-60 and VL variants per pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M6X/M66S.py (VK20/VK30 have 3)',
  }),
  microbt('Whatsminer M63', 334, 6646, {
    aliases: ['M63'],
    hashboards: 4,
    fans: 0,
    cooling: 'hydro',
    source:
      'MicroBT Whatsminer M63 (hydro) spec: 334 TH/s, 6646 W, 19.9 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m63); 4 boards, no fans per pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M6X/M63.py',
  }),
  // The M70 family (announced December 2025): air M70/M70S, hydro M73, immersion M76.
  microbt('Whatsminer M70', 214, 3140, {
    aliases: ['M70'],
    ...WHATSMINER_AIR,
    source:
      'MicroBT Whatsminer M70 spec: 214 TH/s, 3140 W, 14.7 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m70; another public listing gives 214 TH/s at 3103 W); 3 boards, 2 fans per asic-rs@fdcd1018 asic-rs-makes/whatsminer/src/hardware.rs (M70VM10-VM80) and pyasic@e2b9d357 pyasic/miners/device/models/whatsminer/M7X/M70.py',
  }),
  microbt('Whatsminer M70S', 226, 3140, {
    aliases: ['M70S'],
    ...WHATSMINER_AIR,
    source:
      'MicroBT Whatsminer M70S spec: 226 TH/s, 3140 W, 13.9 J/TH (226T bin; no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m70s; other listings sell 248-258T bins); 3 boards, 2 fans per asic-rs@fdcd1018 asic-rs-makes/whatsminer/src/hardware.rs (M70SVM30)',
  }),
  microbt('Whatsminer M73', 470, 7200, {
    aliases: ['M73'],
    hashboards: 4,
    fans: 0,
    cooling: 'hydro',
    source:
      'MicroBT Whatsminer M73 (hydro) spec: 470 TH/s, 7200 W, 15.3 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m73); 4 boards, no fans per asic-rs@fdcd1018 asic-rs-makes/whatsminer/src/hardware.rs (M73VL30-VM70)',
  }),
  microbt('Whatsminer M76', 336, 5200, {
    aliases: ['M76'],
    hashboards: 3,
    fans: 0,
    cooling: 'immersion',
    source:
      'MicroBT Whatsminer M76 (immersion) spec: 336 TH/s, 5200 W, 15.5 J/TH (no maker page found in public sources; figures as a public compiled catalog quotes asicminervalue.com/miners/whatsminer-m76); 3 boards, no fans per asic-rs@fdcd1018 asic-rs-makes/whatsminer/src/hardware.rs (M76VL30, M76VM30)',
  }),

  // ── Canaan AvalonMiner (firmware reports "Avalon1246", MODEL "1246-83" / "15-194": family-then-TH) ──
  canaan('AvalonMiner A1246', 90, 3420, {
    aliases: ['A1246', 'Avalon1246', '1246'],
    hashboards: 3,
    fans: 4,
    cooling: 'air',
    source: 'Canaan AvalonMiner A1246 spec: 90 TH/s, 3420 W, 38 J/TH (90T bin); 3 boards, 4 fans per field capture avalon_A1246_stats',
  }),
  canaan('AvalonMiner A1346', 110, 3300, {
    aliases: ['A1346', 'Avalon1346', '1346'],
    hashboards: 3,
    fans: 2,
    cooling: 'air',
    source:
      'Canaan AvalonMiner A1346 spec: 110 TH/s, 30 J/TH → 3300 W (110T bin; as Canaan announced the A13 series, reported on blog.zeusmining.co, which gives the A1366 130 TH/s at 25 J/TH too)',
  }),
  canaan('AvalonMiner A1366', 130, 3250, {
    aliases: ['A1366', 'Avalon1366', '1366'],
    hashboards: 3,
    fans: 2,
    cooling: 'air',
    source: 'Canaan AvalonMiner A1366 spec: 130 TH/s, 3250 W, 25 J/TH',
  }),
  canaan('AvalonMiner A1466', 150, 3230, {
    aliases: ['A1466', 'Avalon1466', '1466'],
    hashboards: 3,
    fans: 2,
    cooling: 'air',
    source: 'Canaan AvalonMiner A1466 spec: 150 TH/s, 3230 W, 21.5 J/TH',
  }),
  canaan('AvalonMiner A1566', 185, 3420, {
    aliases: ['A1566', 'Avalon1566', '1566', '15'],
    hashboards: 3,
    fans: 2,
    cooling: 'air',
    source:
      'Canaan AvalonMiner A1566 spec: 185 TH/s, 3420 W, 18.5 J/TH (185T bin; field unit reporting MODEL "15-194" is a 194T bin of the same family); 3 boards, 2 fans per pyasic capture CGMinerAvalon1566_rpc_stats',
  }),

  // ── Auradine Teraflux ──────────────────────────────────────────────────────────────────────────
  auradine('Teraflux AT1500', 190, 3800, {
    aliases: ['AT1500'],
    hashboards: 3,
    chips_per_board: 132,
    fans: 4,
    cooling: 'air',
    source:
      'Auradine Teraflux AT1500 spec (2023): 190 TH/s, 20 J/TH → 3800 W is unconfirmed: no Auradine spec found in public sources; 3 boards × 132 chips, 4 fans per asic-rs@fdcd1018 asic-rs-makes/auradine/src/hardware.rs and pyasic@e2b9d357 pyasic/miners/device/models/auradine/AT/AT1.py; model name as the asic-rs AT1500 capture reports it',
  }),
  auradine('Teraflux AH3880', 600, 8700, {
    aliases: ['AH3880'],
    hashboards: 2,
    fans: 0,
    cooling: 'hydro',
    source:
      "Auradine Teraflux AH3880 (hydro, 2U, March 2025) spec: 600 TH/s per Blockspace Media's report of its launch; 14.5 J/TH → 8700 W is unconfirmed (no Auradine spec found in public sources); 2 boards (was 4 here) as an operator's public fleet notes record for their AH3880s, which asic-rs and pyasic do not list",
  }),

  // ── Proto (Block) ──────────────────────────────────────────────────────────────────────────────
  proto('Proto Rig', 140, 3400, {
    hashboards: 4,
    fans: 4,
    cooling: 'air',
    source:
      'Proto Rig: no published spec sheet found; 140 TH/s at 3400 W are the figures Block’s own Proto Rig simulator calls realistic defaults (github.com/block/proto-fleet server/fake-proto-rig/README.md, commit 2dc174bb), 4 hashboards and 4 fans as that simulator and the asic-rs capture report; boards are hot-swappable, so a rig may hold fewer',
  }),

  // ── Bitaxe (open-source single-board miners running ESP-Miner / AxeOS) ─────────────────────────
  bitaxe('Bitaxe Max', 0.2856, 12, {
    aliases: ['Bitaxe BM1397'],
    ...BITAXE_BOARD,
    chips_per_board: 1,
    source:
      'ESP-Miner spec for the Max (BM1397): 425 MHz × 672 small cores = 285.6 GH/s expected, 12 W self-test power target (boards 2.2, 102), bitaxeorg/ESP-Miner@5c27713 main/device_config.h (was ~400 GH/s, 15 W here)',
  }),
  bitaxe('Bitaxe Ultra', 0.43359, 12, {
    aliases: ['Bitaxe BM1366'],
    ...BITAXE_BOARD,
    chips_per_board: 1,
    source:
      'ESP-Miner spec for the Ultra (BM1366): 485 MHz × 894 small cores = 433.6 GH/s expected, 12 W self-test power target (boards 0.11, 201-207), bitaxeorg/ESP-Miner@5c27713 main/device_config.h (was ~500 GH/s here)',
  }),
  bitaxe('Bitaxe Supra', 0.62524, 12, {
    aliases: ['Bitaxe BM1368'],
    ...BITAXE_BOARD,
    chips_per_board: 1,
    source:
      'ESP-Miner spec for the Supra (BM1368): 490 MHz × 1276 small cores = 625.2 GH/s expected, 12 W self-test power target (boards 400, 401; 8 W on 402, 403), bitaxeorg/ESP-Miner@5c27713 main/device_config.h (was ~600 GH/s, 13 W here)',
  }),
  bitaxe('Bitaxe Gamma', 1.071, 19, {
    aliases: ['Bitaxe BM1370'],
    ...BITAXE_BOARD,
    chips_per_board: 1,
    source:
      'ESP-Miner spec for the Gamma (BM1370): 525 MHz × 2040 small cores = 1071 GH/s expected, 19 W self-test power target (boards 600, 601; 22 W on 602, 603), bitaxeorg/ESP-Miner@5c27713 main/device_config.h; the bitaxeGamma readme says "about 1.2 TH/s" from the S21 Pro\'s 234 TH/s over 195 chips (was 1.2 TH/s, 18 W here)',
  }),
  // ── Goldshell (none mines SHA-256: each row names its algorithm; /mcb/status reports "Goldshell-<MODEL>") ──
  goldshell('Goldshell KD6', 29.2, 2630, {
    aliases: ['KD6'],
    algorithm: 'blake2s',
    hashboards: 4,
    fans: 4,
    cooling: 'air',
    source:
      'Goldshell KD6 spec: 29.2 TH/s Kadena (Blake2s), 2630 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index) and by a public mining-hardware database; another listing quotes asicminervalue.com/miners/goldshell/kd6-26th, a later 26.3 TH/s bin at the same 2630 W); the KD6 is in neither pyasic nor asic-rs, 4 boards and 4 fans assumed as the KD5 in pyasic@0729d6b4 pyasic/miners/device/models/goldshell/X5/KD5.py',
  }),
  goldshell('Goldshell KD Max', 40.2, 3350, {
    aliases: ['KD Max', 'KDMax'],
    algorithm: 'blake2s',
    hashboards: 3,
    fans: 4,
    cooling: 'air',
    source:
      'Goldshell KD Max spec: 40.2 TH/s Kadena (Blake2s), 3350 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index) and by storefront listings in public code ("KD Max 40.2T", 3350 W)); 3 boards × 84 chips (was 4 boards here) and 4 fans per pyasic@0729d6b4 pyasic/miners/device/models/goldshell/XMax/KDMax.py',
  }),
  goldshell('Goldshell KD Box Pro', 2.6, 230, {
    aliases: ['KD Box Pro', 'KDBoxPro'],
    algorithm: 'blake2s',
    hashboards: 1,
    fans: 2,
    cooling: 'air',
    source:
      'Goldshell KD Box Pro spec: 2.6 TH/s Kadena (Blake2s), 230 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index)); 1 board × 16 chips per pyasic@03caa9fe pyasic/miners/device/models/goldshell/XBox/KDBox.py, 2 fans per an earlier version of that KDBoxPro class',
  }),
  goldshell('Goldshell LT5', 2050 * MH_IN_TH, 2080, {
    aliases: ['LT5'],
    algorithm: 'scrypt',
    hashboards: 4,
    fans: 2,
    cooling: 'air',
    source:
      'Goldshell LT5 spec: 2.05 GH/s Scrypt, 2080 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index); another public device table gives 2080 W too); 4 boards and 2 fans per the LT5 /mcb/cgminer capture in collectors/goldshell/testdata',
  }),
  goldshell('Goldshell LT6', 3350 * MH_IN_TH, 3200, {
    aliases: ['LT6'],
    algorithm: 'scrypt',
    hashboards: 4,
    fans: 2,
    cooling: 'air',
    source:
      'Goldshell LT6 spec: 3.35 GH/s Scrypt, 3200 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index) and by another public device table, 3.35 GH/s at 3200 W; one public listing gives 3060 MH/s at 3100 W); no public board or fan count found, 4 boards and 2 fans assumed as the LT5 capture',
  }),
  goldshell('Goldshell Mini-DOGE Pro', 205 * MH_IN_TH, 220, {
    aliases: ['Mini-DOGE Pro', 'MiniDogePro', 'Mini DOGE Pro'],
    algorithm: 'scrypt',
    hashboards: 1,
    fans: 2,
    cooling: 'air',
    source:
      'Goldshell Mini-DOGE Pro spec: 205 MH/s Scrypt, 220 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index); another public device table gives about 233 MH/s at 250 W); 1 board and 2 fans assumed as the Mini-DOGE in pyasic@05d4ce8a pyasic/miners/device/models/goldshell/MiniDoge/MiniDoge.py',
  }),
  goldshell('Goldshell KA Box Pro', 1.6, 600, {
    aliases: ['KA Box Pro', 'KABoxPro'],
    algorithm: 'kheavyhash',
    hashboards: 1,
    fans: 2,
    cooling: 'air',
    source:
      'Goldshell KA Box Pro spec: 1.6 TH/s kHeavyHash (Kaspa), 600 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index)); not in pyasic or asic-rs, 1 board and 2 fans assumed as the other Box models',
  }),
  goldshell('Goldshell AL Box', 0.36, 180, {
    aliases: ['AL Box', 'ALBox'],
    algorithm: 'blake3',
    hashboards: 1,
    fans: 2,
    cooling: 'air',
    source:
      'Goldshell AL Box spec: 360 GH/s Blake3 (Alephium), 180 W (no maker page found in public sources; figures as quoted by a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index) and in two other public notes, "AL-BOX 360 GH/s 180 W"); not in pyasic or asic-rs, 1 board and 2 fans assumed as the other Box models',
  }),
  goldshell('Goldshell CK5', 12, 2400, {
    aliases: ['CK5'],
    algorithm: 'eaglesong',
    hashboards: 4,
    fans: 4,
    cooling: 'air',
    source:
      'Goldshell CK5 spec: 12 TH/s Eaglesong (Nervos), 2400 W (no maker page found in public sources; figures as a public profitability script quotes asicminervalue.com/miners/goldshell/ck5, and as a public compiled catalog (the Goldshell table of a miner discovery and profitability tracker in the public code index)); 4 boards × 46 chips and 4 fans per pyasic@0729d6b4 pyasic/miners/device/models/goldshell/X5/CK5.py and the foreman-apps CK5 /mcb/cgminer capture',
  }),
  goldshell('Goldshell SC5 Pro II', 14, 3300, {
    aliases: ['SC5 Pro II'],
    algorithm: 'blake2b',
    hashboards: 4,
    fans: 4,
    cooling: 'air',
    source:
      'Goldshell SC5 Pro II spec sheet as quoted by crProductGuy/goldshell-box-tools-productguy gbox/models.py: 14 TH/s Blake2b (Siacoin), 3300 W; 4 boards, 4 fans and the model string "Goldshell-SC5Pro\u2161" per its sc5proii capture',
  }),
  goldshell('Goldshell SC Lite', 4.4, 950, {
    aliases: ['SC Lite', 'SCLite'],
    algorithm: 'blake2b',
    hashboards: 4,
    fans: 4,
    cooling: 'air',
    source:
      'goldshell.company/sclite spec as quoted by crProductGuy/goldshell-box-tools-productguy gbox/models.py: 4.4 TH/s Blake2b (Siacoin), 950 W; 4 boards, 4 fans per its sclite capture',
  }),
  goldshell('Goldshell SC Box', 0.9, 200, {
    aliases: ['SC Box', 'SCBox', 'SC-BOX'],
    algorithm: 'blake2b',
    hashboards: 1,
    fans: 2,
    cooling: 'air',
    source:
      'Goldshell SC-BOX spec via retailer listings as quoted by crProductGuy/goldshell-box-tools-productguy gbox/models.py: 900 GH/s Blake2b (Siacoin), 200 W, 1 board, 2 fans',
  }),
];

/** Firmware brand words that some custom firmware appends to the model ("Antminer S9 Hiveon"). */
const NOISE_WORDS = /antminer|whatsminer|avalon(miner)?|bitmain|microbt|canaan|goldshell|hiveon|vnish|asicseer|mskminer|braiins|luxos/g;

function normalizeName(name: string): string {
  return (
    name
      .toLowerCase()
      .replace(/\(.*?\)/g, '')
      .replace(NOISE_WORDS, '')
      .replace(/hydro/g, 'hyd')
      .replace(/plus/g, '+')
      // Goldshell writes the roman numeral two as one character ("Goldshell-SC5ProⅡ"), lower-cased above to ⅱ.
      .replace(/[\u2161\u2171]/g, 'ii')
      .replace(/[^a-z0-9+]/g, '')
  );
}

const BY_KEY = new Map<string, ModelSpec>();
for (const m of MODEL_CATALOG) {
  for (const n of [m.model, ...(m.aliases ?? [])]) {
    const key = normalizeName(n);
    const clash = BY_KEY.get(key);
    if (clash && clash !== m) throw new Error(`model catalog: "${n}" names both ${clash.model} and ${m.model}`);
    BY_KEY.set(key, m);
  }
}

/**
 * Finds a model however firmware spells it: "Antminer S19 Pro", "S19Pro", "antminer s19 pro (110T)",
 * "Antminer S9\nV1.3.58" (bmminer puts the board revision on a second line), Whatsminer "M50S.VH40" /
 * "M30S+_VE40" (variant after `.`/`_`), Avalon "Avalon1246" / "1246-83" (hashrate bin after `-`).
 * Only a suffix after `.`, `_` or `-` is dropped, never a word: "S19 Pro" must not fall back to "S19".
 */
export function findModel(name: string | undefined): ModelSpec | undefined {
  if (!name) return undefined;
  // Every poll of every miner asks; a farm reports a few dozen distinct spellings.
  if (LOOKUPS.has(name)) return LOOKUPS.get(name);
  const spec = lookUp(name);
  if (LOOKUPS.size < MAX_REMEMBERED_SPELLINGS) LOOKUPS.set(name, spec);
  return spec;
}

const MAX_REMEMBERED_SPELLINGS = 4096;
const LOOKUPS = new Map<string, ModelSpec | undefined>();

function lookUp(name: string): ModelSpec | undefined {
  const firstLine = name.split(/\r?\n/, 1)[0] ?? '';
  const exact = BY_KEY.get(normalizeName(firstLine));
  if (exact) return exact;
  const family = /^\s*([^._-]+)[._-]/.exec(firstLine)?.[1];
  return family === undefined ? undefined : BY_KEY.get(normalizeName(family));
}
