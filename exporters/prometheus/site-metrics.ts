import { Gauge, type Registry } from 'prom-client';
import type { SiteReadings } from '../../agent/contracts/part.js';

/** Site power, heat load and ambient gauges, read at scrape from the agent's site readings. */
export function registerSiteMetrics(registry: Registry, readings: () => SiteReadings): void {
  const registers = [registry];
  new Gauge({
    name: 'potencia_site_power_watts',
    help: 'Power drawn by the whole site, in watts: the site meter when one is configured (source="meter"), else the sum of every PDU (source="pdu_sum").',
    labelNames: ['source'],
    registers,
    collect() {
      this.reset();
      const site = readings().sitePowerW;
      if (site) this.set({ source: site.source }, site.watts);
    },
  });
  new Gauge({
    name: 'potencia_site_attributed_power_watts',
    help: "Power the site's consuming devices draw, in watts, every watt once: an outlet's reading where mapped (a down miner's too), a GPU node's wall power, else the device's own figure.",
    registers,
    collect() {
      this.set(readings().accounting.attributedW);
    },
  });
  new Gauge({
    name: 'potencia_site_unattributed_power_watts',
    help: 'Power the PDUs meter that no device was given, in watts (unmapped outlets, PDU losses); attributed + unattributed reconciles with potencia_site_power_watts.',
    registers,
    collect() {
      this.set(readings().accounting.unattributedMeteredW);
    },
  });
  new Gauge({
    name: 'potencia_site_heat_load_watts',
    help: 'Heat released per room and rack, in watts: all drawn power ends as heat. The PDUs labelled with that room and rack when there are any, else the sum of the devices there.',
    labelNames: ['room', 'rack'],
    registers,
    collect() {
      this.reset();
      for (const h of readings().heatLoadW) this.set({ room: h.room, rack: h.rack }, h.watts);
    },
  });
  new Gauge({
    name: 'potencia_room_ambient_temperature_celsius',
    help: 'Mean temperature of the environment sensors (and PDU-attached probes) in a room, in degrees Celsius.',
    labelNames: ['room'],
    registers,
    collect() {
      this.reset();
      for (const a of readings().ambient) if (a.temperatureC !== undefined) this.set({ room: a.room }, a.temperatureC);
    },
  });
  new Gauge({
    name: 'potencia_room_ambient_humidity_ratio',
    help: 'Mean relative humidity of the environment sensors in a room, as a ratio (0.45 = 45 %RH).',
    labelNames: ['room'],
    registers,
    collect() {
      this.reset();
      for (const a of readings().ambient) if (a.humidityRatio !== undefined) this.set({ room: a.room }, a.humidityRatio);
    },
  });
  new Gauge({
    name: 'potencia_node_wall_power_watts',
    help: 'Power a GPU node draws at the wall, in watts, from the PDU outlet mapped to its address; compare with potencia_node_gpu_power_watts.',
    labelNames: ['node'],
    registers,
    collect() {
      this.reset();
      for (const n of readings().nodes) if (n.wallPowerW !== undefined) this.set({ node: n.node }, n.wallPowerW);
    },
  });
  new Gauge({
    name: 'potencia_node_gpu_power_watts',
    help: "Sum of the power a GPU node's GPUs report drawing, in watts.",
    labelNames: ['node'],
    registers,
    collect() {
      this.reset();
      for (const n of readings().nodes) this.set({ node: n.node }, n.gpuPowerW);
    },
  });
}
