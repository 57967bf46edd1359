/**
 * `npm run bench`: every performance target of the project, each against a baseline measured in the
 * same run, printed as figures and ratios. Nothing here is asserted in tests: speed is measured.
 */
import { benchEconomics } from './economics.js';
import { benchPoll } from './poll.js';
import { benchRender } from './render.js';
import { benchScan } from './scan.js';

const only = process.argv[2];
const suites: Record<string, () => Promise<void>> = { render: benchRender, poll: benchPoll, scan: benchScan, economics: benchEconomics };
console.log(`potencia bench — node ${process.version}, ${process.platform}/${process.arch}, ${new Date().toISOString()}`);
for (const [name, run] of Object.entries(suites)) {
  if (only && only !== name) continue;
  await run();
}
