/** One dialect per firmware family; the farm picks one by the model's vendor. Add a file, register it here. */
import type { ModelSpec } from '../../agent/catalog.js';
import type { Dialect } from '../wire.js';
import { antminerDialect } from './antminer.js';

const BY_VENDOR: Record<string, Dialect> = {
  Bitmain: antminerDialect,
};

/** The dialect that speaks for this model's stock firmware; throws for a vendor not simulated yet. */
export function dialectFor(model: ModelSpec): Dialect {
  const dialect = BY_VENDOR[model.vendor];
  if (!dialect) throw new Error(`simulator: no dialect for ${model.vendor} (${model.model}) yet; simulated vendors: ${Object.keys(BY_VENDOR).join(', ')}`);
  return dialect;
}
