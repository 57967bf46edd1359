import type { Config } from '../config/schema.js';
import type { AgentPart } from './daemon.js';
import { createMqttPart } from '../exporters/mqtt/part.js';
import { createDiscoveryPart } from './discovery.js';
import { createEconomicsPart } from './economics/part.js';

/**
 * The agent's optional parts, built from config: one factory per feature, returning undefined when the
 * config does not ask for it. Order is start order; stop runs them all at once.
 */
const FACTORIES: ReadonlyArray<(config: Config) => AgentPart | undefined> = [createDiscoveryPart, createEconomicsPart, createMqttPart];

export function createParts(config: Config): AgentPart[] {
  return FACTORIES.map((factory) => factory(config)).filter((part): part is AgentPart => part !== undefined);
}
