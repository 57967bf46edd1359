import type { Exporter } from '../../agent/contracts/exporter.js';
import { MqttPart } from './part.js';

/** State, events, the site plan and Home Assistant discovery over MQTT, when the config has an `mqtt:` section. */
export const mqttExporter: Exporter = {
  name: 'mqtt',
  create: (config, deps) => (config.mqtt ? new MqttPart(config.mqtt, config.labels, deps.economics ? { economics: deps.economics } : {}) : undefined),
};
