import { Gauge, type Registry } from 'prom-client';
import type { DiscoveryStatus } from '../../agent/contracts/part.js';

/** Discovery's last scan, read at scrape. */
export function registerDiscoveryMetrics(registry: Registry, status: () => DiscoveryStatus): void {
  const registers = [registry];
  const lastRun: Gauge = new Gauge({
    name: 'potencia_discovery_last_run_timestamp_seconds',
    help: 'Unix time the last discovery scan finished.',
    registers,
    collect() {
      const at = status().lastRunAtMs;
      if (at === undefined) lastRun.remove();
      else lastRun.set(at / 1000);
    },
  });
  const found: Gauge<'state'> = new Gauge({
    name: 'potencia_discovery_found',
    help: 'Hosts the last discovery scan found with the API port open, by state: identified (answered as a miner) or unidentified (open, but no CGMiner reply could be read).',
    labelNames: ['state'],
    registers,
    collect() {
      found.reset();
      const now = status();
      if (now.lastRunAtMs === undefined) return;
      found.set({ state: 'identified' }, now.identified);
      found.set({ state: 'unidentified' }, now.unidentified);
    },
  });
}
