import type { Config } from '../config/schema.js';
import type { AgentPart } from './daemon.js';
import { createMqttPart } from '../exporters/mqtt/part.js';
import { createDiscoveryPart } from './discovery.js';
import { createEconomicsPart } from './economics/part.js';

/**
 * The agent's optional parts, built from config, each undefined when the config does not ask for it.
 * Order is start order; stop runs them all at once. Economics and MQTT know each other: MQTT publishes
 * each device's assessment and the site plan, and its demand-response / power-price signals feed the
 * economics (a cap and a price override; never a command to a miner).
 */
export function createParts(config: Config): AgentPart[] {
  const discovery = createDiscoveryPart(config);
  const economics = createEconomicsPart(config);
  const mqtt = createMqttPart(config, economics ? { economics } : {});
  if (economics && mqtt) economics.followSignals(mqtt.signals);
  return [discovery, economics, mqtt].filter((part): part is NonNullable<typeof part> => part !== undefined);
}
