import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createAgent, createParts } from '../agent/compose.js';
import { Agent } from '../agent/daemon.js';
import { silentLogger } from '../agent/log.js';
import type { Collector, Target } from '../collectors/contract.js';
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
    agent = createAgent({ config, logger: silentLogger });
    await agent.start();
    const gpus = () => [...agent!.store.values()].filter((s) => s.kind === 'gpu');
    await eventually(() => (gpus().length === 3 && gpus().every((g) => g.up)) || undefined, 'three GPUs up');
    process.env.POTENCIA_FAKE_GPU_COUNT = '2';
    // A poll that ran past its timeout on a loaded machine reports every GPU down for that reason: wait for the real outcome.
    const vanished = (g: { up: boolean; error?: string }) => !g.up && /no longer lists this GPU/.test(g.error ?? '');
    await eventually(
      () => (gpus().length === 3 && gpus().filter(vanished).length === 1 && gpus().filter((g) => g.up).length === 2) || undefined,
      'one GPU down as vanished, two up',
    );
    const lost = gpus().find(vanished)!;
    const kept = gpus().find((g) => g.up)!;
    await eventually(() => agent!.store.get(kept.id)!.observed_at !== kept.observed_at || undefined, 'the remaining GPUs polled again');
    expect(gpus().map((g) => g.id)).toContain(lost.id);
  });

  it('keeps the devices of a target whose collector throws, down with the reason, and exports the target as failed', async () => {
    const config = configSchema.parse({ agent: { listen: '127.0.0.1:0' }, polling: { interval: '200ms', timeout: '150ms' }, targets: [{ url: 'cgminer://miner-under-test' }] });
    let polls = 0;
    const collector = (target: Target): Collector => ({
      target,
      placeholder: () => ({ id: 'asic/miner-under-test', kind: 'asic', target: target.url, labels: target.labels }),
      collect: async () => {
        if (++polls <= 2)
          return [
            {
              id: 'asic/miner-under-test',
              kind: 'asic',
              target: target.url,
              labels: target.labels,
              up: true,
              model: 'Antminer S21',
              hashrate_hs: 2e14,
              observed_at: new Date().toISOString(),
              temperatures_c: {},
              fans_rpm: [],
            },
          ];
        throw new Error('the dialect choked on a reply');
      },
    });
    agent = new Agent({ config, logger: silentLogger, parts: createParts(config), createCollector: collector });
    await agent.start();
    const device = await eventually(() => {
      const d = agent!.store.get('asic/miner-under-test');
      return d && !d.up ? d : undefined;
    }, 'the device reported down after the collector threw');
    expect(device).toMatchObject({ up: false, error_reason: 'other', error: 'the dialect choked on a reply', model: 'Antminer S21' });
    expect(device.hashrate_hs).toBeUndefined();
    const body = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    expect(body).toContain('potencia_device_up{device="asic/miner-under-test"');
    expect(body).toMatch(/potencia_device_up\{device="asic\/miner-under-test"[^}]*\} 0/);
    expect(body).toContain('potencia_target_poll_success{target="cgminer://miner-under-test:4028"} 0');
    expect(body).toMatch(/potencia_collector_errors_total\{collector="cgminer",reason="other"\} [1-9]/);
  });
});
