import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_NODE_OPTIONS } from '../bench/support.js';
import { REPO_ROOT } from './helpers.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

/** The poll benchmark claims the agent's figures as deployed: the launchers and it must run Node alike. */
describe('deployed Node options', () => {
  it('are the same in the Docker image, the systemd unit and the poll benchmark', () => {
    const options = DEPLOYED_NODE_OPTIONS.join(' ');
    // Quoted as a whole, since the options are separated by spaces.
    expect(read('Dockerfile')).toMatch(new RegExp(`^ENV NODE_OPTIONS="${options}"$`, 'm'));
    expect(read('deploy/systemd/potencia.service')).toMatch(new RegExp(`^Environment="NODE_OPTIONS=${options}"$`, 'm'));
  });

  it('are options Node accepts in NODE_OPTIONS', async () => {
    const { spawnSync } = await import('node:child_process');
    const run = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(require("v8").getHeapStatistics().heap_size_limit))'], {
      env: { ...process.env, NODE_OPTIONS: DEPLOYED_NODE_OPTIONS.join(' ') },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    // Both took: the heap limit is the old generation's cap plus the young generation, which V8 sizes
    // at two semi-spaces and a third for new large objects; V8's own default would be gigabytes.
    const mb = (name: string) => Number(DEPLOYED_NODE_OPTIONS.find((o) => o.startsWith(`--${name}=`))!.split('=')[1]);
    const limitMb = Number(run.stdout) / 2 ** 20;
    expect(limitMb).toBeGreaterThanOrEqual(mb('max-old-space-size') + 2 * mb('max-semi-space-size'));
    expect(limitMb).toBeLessThanOrEqual(mb('max-old-space-size') + 3 * mb('max-semi-space-size'));
  });
});
