import { vi } from 'vitest';

/**
 * The unit project's promise is made true here: a suite in it that starts a process fails at once,
 * naming where it belongs, rather than slowing the inner loop or depending on the machine.
 */
vi.mock('node:child_process', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:child_process')>();
  const refused = (name: string) => () => {
    throw new Error(`child_process.${name}: unit suites start no processes; list this suite in INTEGRATION (vitest.config.ts)`);
  };
  const starters = Object.fromEntries(['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'].map((name) => [name, refused(name)]));
  return { ...real, ...starters, default: { ...real, ...starters } };
});
