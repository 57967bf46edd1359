/**
 * `npm run bench`: every performance target of the project, each against a baseline measured in the
 * same run, printed as figures and ratios. Nothing here is asserted in tests: speed is measured.
 *
 * Each suite runs in its own Node process, so one suite's heap (50,000 rendered devices) is not counted
 * in the next one's RSS and its garbage is not collected on the next one's clock.
 * `npm run bench -- poll` runs one suite.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEPLOYED_NODE_OPTIONS } from './support.js';

const SUITES = ['render', 'poll', 'daemon', 'scale', 'hostile', 'scan', 'economics', 'fleet'] as const;
/**
 * The poll sweep measures the agent as deployed, so it runs with the launchers' Node options. The
 * render suite holds a 50,000-device prom-client registry for comparison, which needs the default heap.
 */
const NODE_OPTIONS_BY_SUITE: Partial<Record<(typeof SUITES)[number], readonly string[]>> = { poll: DEPLOYED_NODE_OPTIONS };
const only = process.argv[2];
if (only !== undefined && !(SUITES as readonly string[]).includes(only)) {
  console.error(`unknown suite "${only}" (suites: ${SUITES.join(', ')})`);
  process.exit(2);
}
const here = dirname(fileURLToPath(import.meta.url));
console.log(`potencia bench — node ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString()}`);
let failed = false;
for (const suite of SUITES) {
  if (only && only !== suite) continue;
  const run = spawnSync(process.execPath, [...(NODE_OPTIONS_BY_SUITE[suite] ?? []), join(here, `${suite}.js`)], { stdio: 'inherit' });
  if (run.status !== 0) {
    console.error(`suite ${suite} exited with ${run.status ?? run.signal}`);
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
