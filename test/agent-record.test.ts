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
    const config = configSchema.parse({ agent: { listen: '127.0.0.1:0' }, polling: { interval: '300ms', timeout: '250ms' }, targets: [{ url: `nvidia-smi://${FAKE}` }] });
    agent = new Agent({ config, logger: silentLogger });
    await agent.start();
    const gpus = () => [...agent!.store.values()].filter((s) => s.kind === 'gpu');
    await eventually(() => (gpus().length === 3 && gpus().every((g) => g.up)) || undefined, 'three GPUs up');
    process.env.POTENCIA_FAKE_GPU_COUNT = '2';
    const down = await eventually(() => gpus().find((g) => !g.up), 'one GPU reported down');
    expect(down).toMatchObject({ up: false, error: expect.stringMatching(/no longer lists this GPU/) });
    const up = gpus().filter((g) => g.up);
    expect(up).toHaveLength(2);
    const before = up[0]!.observed_at;
    await eventually(() => agent!.store.get(up[0]!.id)!.observed_at !== before || undefined, 'the remaining GPUs polled again');
    expect(gpus()).toHaveLength(3);
    expect(gpus().filter((g) => g.up)).toHaveLength(2);
  });
});
