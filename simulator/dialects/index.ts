/**
 * One twin per collector dialect, keyed by the collectors' dialect names: a dialect added under
 * collectors/cgminer/dialects/ without its twin here fails the type check. A miner runs its vendor's
 * stock firmware unless the farm gives it another one (Braiins OS, LuxOS and VNish run on Antminers).
 */
import type { ModelSpec } from '../../agent/catalog.js';
import type { DialectName } from '../../collectors/cgminer/dialects/index.js';
import type { Dialect } from '../wire.js';
import { antminerDialect } from './antminer.js';
import { auradineRpcDialect } from './auradine.js';
import { avalonDialect } from './avalon.js';
import { braiinsDialect } from './braiins.js';
import { luxosDialect } from './luxos.js';
import { vnishDialect } from './vnish.js';
import { whatsminerDialect } from './whatsminer.js';

/** The generic reader is for firmware no dialect identified: no device speaks it, so it has no twin. */
export type TwinnedDialectName = Exclude<DialectName, 'cgminer'>;

export const TWINS: { readonly [Name in TwinnedDialectName]: Dialect<Name> } = {
  antminer: antminerDialect,
  avalon: avalonDialect,
  braiins: braiinsDialect,
  luxos: luxosDialect,
  vnish: vnishDialect,
  whatsminer: whatsminerDialect,
};

export type Firmware = 'stock' | 'braiins' | 'luxos' | 'vnish';

const STOCK_BY_VENDOR: Record<string, Dialect> = {
  Bitmain: TWINS.antminer,
  MicroBT: TWINS.whatsminer,
  Canaan: TWINS.avalon,
  // Read by the generic cgminer reader; its richer sections are the web API's twin.
  Auradine: auradineRpcDialect,
};

const AFTERMARKET: Record<Exclude<Firmware, 'stock'>, Dialect> = {
  braiins: TWINS.braiins,
  luxos: TWINS.luxos,
  vnish: TWINS.vnish,
};

/** The dialect a model speaks under `firmware`; throws for a combination that is not simulated. */
export function dialectFor(model: ModelSpec, firmware: Firmware = 'stock'): Dialect {
  if (firmware !== 'stock') {
    if (model.vendor !== 'Bitmain') throw new Error(`simulator: ${firmware} runs on Antminers, not on ${model.model}`);
    return AFTERMARKET[firmware];
  }
  const dialect = STOCK_BY_VENDOR[model.vendor];
  if (!dialect) throw new Error(`simulator: no dialect for ${model.vendor} (${model.model}) yet; simulated vendors: ${Object.keys(STOCK_BY_VENDOR).join(', ')}`);
  return dialect;
}
