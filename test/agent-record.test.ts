import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../agent/daemon.js';
import { silentLogger } from '../agent/log.js';
import { configSchema } from '../config/schema.js';
import { eventually, REPO_ROOT } from './helpers.js';

const FAKE = join(REPO_ROOT, 'simulator', 'nvidia-smi', 'nvidia-smi');

/** What the agent keeps from one target's polls over time, through its real scheduler and collector. */
describe('agent state per target', () => {
  let agent: Agent | undefined;
  const saved = process.env.POTENCIA_FAKE_GPU_COUNT;
  afterEach(async () => {
    await agent?.stop();
    agent = undefined;
    if (saved === undefined) delete process.env.POTENCIA_FAKE_GPU_COUNT;
    else process.env.POTENCIA_FAKE_GPU_COUNT = saved;
  });

  it('keeps a GPU that fell off the bus, reported down with the reason, beside the ones still polled', async () => {
    process.env.POTENCIA_FAKE_GPU_COUNT = '3';
    const config = configSchema.parse({ agent: { listen: '127.0.0.1:0' }, polling: { interval: '1500ms', timeout: '1400ms' }, targets: [{ url: `nvidia-smi://${FAKE}` }] });
    agent = new Agent({ config, logger: silentLogger });
    await agent.start();
    const gpus = () => [...agent!.store.values()].filter((s) => s.kind === 'gpu');
    await eventually(() => (gpus().length === 3 && gpus().every((g) => g.up)) || undefined, 'three GPUs up');
    process.env.POTENCIA_FAKE_GPU_COUNT = '2';
    // A poll that ran past its timeout on a loaded machine reports every GPU down for that reason: wait for the real outcome.
    const vanished = (g: { up: boolean; error?: string }) => !g.up && /no longer lists this GPU/.test(g.error ?? '');
    await eventually(() => (gpus().length === 3 && gpus().filter(vanished).length === 1 && gpus().filter((g) => g.up).length === 2) || undefined, 'one GPU down as vanished, two up');
    const lost = gpus().find(vanished)!;
    const kept = gpus().find((g) => g.up)!;
    await eventually(() => agent!.store.get(kept.id)!.observed_at !== kept.observed_at || undefined, 'the remaining GPUs polled again');
    expect(gpus().map((g) => g.id)).toContain(lost.id);
  });
});
