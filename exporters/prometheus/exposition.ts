import type { DeviceStore } from '../../agent/state.js';
import type { AgentMetrics, DeviceCount } from './metrics.js';
import { DeviceMetricsRenderer } from './renderer.js';

/** The whole `/metrics` body: device families from the store, then the agent's own metrics. */
export class MetricsExposition {
  readonly renderer: DeviceMetricsRenderer;

  constructor(
    private readonly store: DeviceStore,
    private readonly metrics: AgentMetrics,
  ) {
    this.renderer = new DeviceMetricsRenderer(store);
  }

  async render(): Promise<string> {
    const devices = this.renderer.render();
    this.metrics.setDeviceCounts(countDevices(this.store));
    return devices + (await this.metrics.render());
  }
}

export function countDevices(store: DeviceStore): DeviceCount[] {
  const counts = new Map<string, DeviceCount>();
  for (const { kind, up } of store.values()) {
    const key = `${kind}/${up}`;
    const count = counts.get(key);
    if (count) count.count++;
    else counts.set(key, { kind, up, count: 1 });
  }
  return [...counts.values()];
}
