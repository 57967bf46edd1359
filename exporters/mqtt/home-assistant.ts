import { RECOMMENDATIONS } from '../../agent/economics/types.js';
import type { DeviceKind, DeviceSnapshot } from '../../agent/snapshot.js';
import { homeAssistantId } from './topics.js';

/**
 * Home Assistant MQTT discovery: one retained config per sensor under
 * `<discovery_prefix>/sensor/potencia_<site>_<device>/<sensor>/config`, each reading the device's
 * state topic through a value_template, so the state is published once and HA picks what it needs.
 */

export type HomeAssistantSensor = 'hashrate' | 'power' | 'temperature' | 'efficiency' | 'recommendation';

interface SensorSpec {
  name: string;
  value_template: string;
  unit_of_measurement?: string;
  device_class?: string;
  state_class?: 'measurement';
  suggested_display_precision?: number;
  options?: readonly string[];
  icon?: string;
}

const SENSORS: Record<HomeAssistantSensor, SensorSpec> = {
  hashrate: {
    name: 'Hashrate',
    // HA has no hashrate device class; TH/s is what operators read.
    value_template: '{{ (value_json.hashrate_hs / 1e12) | round(3) if value_json.hashrate_hs is defined else none }}',
    unit_of_measurement: 'TH/s',
    state_class: 'measurement',
    suggested_display_precision: 2,
    icon: 'mdi:pickaxe',
  },
  power: {
    name: 'Power',
    value_template: '{{ value_json.power_w if value_json.power_w is defined else none }}',
    unit_of_measurement: 'W',
    device_class: 'power',
    state_class: 'measurement',
    suggested_display_precision: 0,
  },
  temperature: {
    name: 'Temperature',
    value_template: '{{ value_json.temperatures_c.values() | max if value_json.temperatures_c else none }}',
    unit_of_measurement: '°C',
    device_class: 'temperature',
    state_class: 'measurement',
    suggested_display_precision: 0,
  },
  efficiency: {
    name: 'Efficiency',
    value_template: '{{ value_json.efficiency_j_per_th | round(2) if value_json.efficiency_j_per_th is defined else none }}',
    unit_of_measurement: 'J/TH',
    state_class: 'measurement',
    suggested_display_precision: 1,
    icon: 'mdi:flash-outline',
  },
  recommendation: {
    name: 'Recommendation',
    value_template: '{{ value_json.assessment.recommendation if value_json.assessment is defined and value_json.assessment.recommendation is defined else none }}',
    device_class: 'enum',
    options: RECOMMENDATIONS,
    icon: 'mdi:lightbulb-on-outline',
  },
};

/** Which sensors make sense for a kind of device; the set depends only on the kind, so a device going down keeps its entities. */
const SENSORS_BY_KIND: Record<DeviceKind, readonly HomeAssistantSensor[]> = {
  asic: ['hashrate', 'power', 'temperature', 'efficiency', 'recommendation'],
  gpu: ['power', 'temperature', 'recommendation'],
  pdu: ['power'],
  sensor: ['temperature'],
  host: ['power', 'temperature'],
};

export interface DiscoveryContext {
  discoveryPrefix: string;
  site: string;
  stateTopic: string;
  statusTopic: string;
  version?: string;
}

export interface DiscoveryMessage {
  topic: string;
  /** The config object; an empty payload removes the entity. */
  config: Record<string, unknown>;
  sensor: HomeAssistantSensor;
}

export function homeAssistantNodeId(site: string, deviceId: string): string {
  return `potencia_${homeAssistantId(site)}_${homeAssistantId(deviceId)}`;
}

export function sensorsFor(kind: DeviceKind): readonly HomeAssistantSensor[] {
  return SENSORS_BY_KIND[kind];
}

export function discoveryTopic(discoveryPrefix: string, site: string, deviceId: string, sensor: HomeAssistantSensor): string {
  return `${discoveryPrefix}/sensor/${homeAssistantNodeId(site, deviceId)}/${sensor}/config`;
}

/** The discovery configs for one device. */
export function homeAssistantDiscovery(snapshot: DeviceSnapshot, ctx: DiscoveryContext): DiscoveryMessage[] {
  const nodeId = homeAssistantNodeId(ctx.site, snapshot.id);
  const device: Record<string, unknown> = {
    identifiers: [nodeId],
    name: snapshot.model ? `${snapshot.model} ${snapshot.id}` : snapshot.id,
    ...(snapshot.vendor !== undefined && { manufacturer: snapshot.vendor }),
    ...(snapshot.model !== undefined && { model: snapshot.model }),
    ...(snapshot.firmware !== undefined && { sw_version: snapshot.firmware }),
    ...(snapshot.serial !== undefined && { serial_number: snapshot.serial }),
    ...(snapshot.labels.site !== undefined && { suggested_area: snapshot.labels.room ?? snapshot.labels.site }),
  };
  return sensorsFor(snapshot.kind).map((sensor) => {
    const { name, ...spec } = SENSORS[sensor];
    return {
      sensor,
      topic: discoveryTopic(ctx.discoveryPrefix, ctx.site, snapshot.id, sensor),
      config: {
        name,
        unique_id: `${nodeId}_${sensor}`,
        state_topic: ctx.stateTopic,
        ...spec,
        // Unavailable when the agent is gone (last will) or the device is down.
        availability: [
          { topic: ctx.statusTopic, payload_available: 'online', payload_not_available: 'offline' },
          { topic: ctx.stateTopic, value_template: "{{ 'online' if value_json.up else 'offline' }}" },
        ],
        availability_mode: 'all',
        device,
        origin: { name: 'potencia', ...(ctx.version !== undefined && { sw_version: ctx.version }) },
      },
    };
  });
}

/** What decides whether a device's discovery configs must be republished (identity, not readings). */
export function discoverySignature(snapshot: DeviceSnapshot): string {
  return JSON.stringify([snapshot.kind, snapshot.vendor, snapshot.model, snapshot.firmware, snapshot.serial, snapshot.labels.site, snapshot.labels.room]);
}
