import { defineConfig } from 'vitest/config';

/**
 * Suites that start child processes (the built CLI, the fake nvidia-smi, prometheus, promtool,
 * mosquitto, snmpsimd): the integration project. Everything else runs in-process, loopback sockets at
 * most, and is the unit project (`npm run test:unit`), the inner loop. A suite that starts a process
 * belongs here: in the unit project test/unit-setup.ts makes starting one fail.
 */
const INTEGRATION = [
  'agent-integration',
  'agent-record',
  'alerts',
  'cli',
  'demo-pdu',
  'deploy',
  'discovery-cli',
  'economics-part',
  'fleet',
  'http-security',
  'hostile-nvidia',
  'hostile-snmp',
  'mqtt-mosquitto',
  'nvidia-collector',
  'power-attribution',
  'prometheus-promtool',
  'prometheus-scrape',
  'recommend-cli',
  'snmp',
].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real processes (simulator, prometheus, mosquitto); two cores only.
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: INTEGRATION, setupFiles: ['test/unit-setup.ts'] } },
      { extends: true, test: { name: 'integration', include: INTEGRATION } },
    ],
  },
});
