/**
 * Nominal figures per miner model, from the manufacturers' published specifications.
 * Used for nominal hashrate, efficiency drift and, when nothing better exists, a power estimate.
 */

export type Cooling = 'air' | 'hydro' | 'immersion';

export interface ModelSpec {
  vendor: string;
  /** Canonical model name as operators write it, e.g. "Antminer S19 Pro". */
  model: string;
  /** Other spellings firmware reports ("S19Pro", "Antminer S19 Pro (110Th)"). */
  aliases?: string[];
  nominal_hashrate_hs: number;
  nominal_power_w: number;
  nominal_efficiency_j_per_th: number;
  hashboards: number;
  chips_per_board?: number;
  fans?: number;
  cooling: Cooling;
  /** Where the figures come from (manufacturer spec page or datasheet). */
  source: string;
}

const TH = 1e12;

function spec(vendor: string, model: string, th: number, w: number, rest: Omit<ModelSpec, 'vendor' | 'model' | 'nominal_hashrate_hs' | 'nominal_power_w' | 'nominal_efficiency_j_per_th'>): ModelSpec {
  return { vendor, model, nominal_hashrate_hs: th * TH, nominal_power_w: w, nominal_efficiency_j_per_th: Math.round((w / th) * 100) / 100, ...rest };
}

export const MODEL_CATALOG: readonly ModelSpec[] = [
  spec('Bitmain', 'Antminer S19 Pro', 110, 3250, { hashboards: 3, chips_per_board: 114, fans: 4, cooling: 'air', source: 'Bitmain S19 Pro specification (110 TH/s, 3250 W ±5%)' }),
];

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\(.*?\)/g, '').replace(/antminer|whatsminer|avalon(miner)?|bitmain|microbt|canaan/g, '').replace(/[^a-z0-9+]/g, '');
}

const BY_KEY = new Map<string, ModelSpec>();
for (const m of MODEL_CATALOG) {
  for (const n of [m.model, ...(m.aliases ?? [])]) BY_KEY.set(normalizeName(n), m);
}

/** Finds a model however firmware spells it ("Antminer S19 Pro", "S19Pro", "antminer s19 pro (110T)"). */
export function findModel(name: string | undefined): ModelSpec | undefined {
  if (!name) return undefined;
  return BY_KEY.get(normalizeName(name));
}
