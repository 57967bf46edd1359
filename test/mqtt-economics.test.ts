import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgent } from '../agent/compose.js';
import type { Agent } from '../agent/daemon.js';
import { EconomicsPart } from '../agent/economics/part.js';
import { demoEconomics } from '../agent/economics/demo.js';
import { silentLogger } from '../agent/log.js';
import { configSchema } from '../config/schema.js';
import { encodeTopicLevel } from '../exporters/mqtt/topics.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { eventually, freeLoopbackBlock } from './helpers.js';
import { Recorder, startAedes, type InProcessBroker } from './mqtt-support.js';

/** The agent's parts wired together: MQTT state carries economics, MQTT signals move the economics. */
describe('MQTT and economics in one agent', () => {
  let farm: Farm;
  let broker: InProcessBroker;
  let agent: Agent;
  let economics: EconomicsPart;
  const PREFIX = 'potencia/wired';

  beforeAll(async () => {
    farm = await startFarm({
      devices: 3,
      seed: 9,
      mode: 'address',
      host: (await freeLoopbackBlock()).host(1),
      failures: false,
      models: ['Antminer S21', 'Antminer S19 Pro', 'Antminer S9'],
    });
    broker = await startAedes();
    const config = configSchema.parse({
      agent: { listen: '127.0.0.1:0' },
      labels: { site: 'wired' },
      polling: { interval: '2s', timeout: '1500ms' },
      targets: [{ url: `cgminer://${farm.miners[0]!.host}-3` }],
      economics: demoEconomics(10, 1),
      mqtt: { url: broker.url },
    });
    agent = createAgent({ config, logger: silentLogger });
    economics = (agent as unknown as { parts: unknown[] }).parts.find((p): p is EconomicsPart => p instanceof EconomicsPart)!;
    expect(economics).toBeDefined();
    await agent.start();
    await eventually(() => (economics.assessments().filter((a) => a.recommendation).length === 3 ? true : undefined), 'three miners assessed');
  });

  afterAll(async () => {
    await agent?.stop();
    await broker?.close();
    await farm?.stop();
  });

  it('publishes each device state with its assessment', async () => {
    const sub = await Recorder.connect(broker.url, `${PREFIX}/devices/+/state`);
    try {
      const topic = `${PREFIX}/devices/${encodeTopicLevel(`asic/${farm.miners[2]!.host}`)}/state`;
      const message = await sub.waitFor((m) => m.topic === topic && JSON.parse(m.payload).assessment !== undefined, 'S9 state with assessment');
      const state = JSON.parse(message.payload) as { model: string; assessment: { recommendation: string; power_price_usd_per_kwh: number } };
      expect(state.model).toBe('Antminer S9');
      expect(state.assessment.power_price_usd_per_kwh).toBe(0.06);
      expect(['mine', 'curtail', 'replace']).toContain(state.assessment.recommendation);
    } finally {
      await sub.client.endAsync();
    }
  });

  it('a power-price signal over MQTT overrides the configured price, and a demand-response cap curtails', async () => {
    const pub = await Recorder.connect(broker.url, `${PREFIX}/site`);
    try {
      await pub.client.publishAsync(`${PREFIX}/signals/power_price`, JSON.stringify({ usd_per_kwh: 0.2 }), { qos: 1 });
      await eventually(() => (economics.inputs()?.power_price_usd_per_kwh?.value === 0.2 ? true : undefined), 'price override applied');
      expect(economics.assessments().every((a) => a.power_price_usd_per_kwh === 0.2)).toBe(true);

      await pub.client.publishAsync(`${PREFIX}/signals/demand_response`, JSON.stringify({ curtail: true, target_kw: 0 }), { qos: 1 });
      await eventually(() => (economics.sitePlan()?.planned_kw === 0 ? true : undefined), 'plan curtailed to the demand-response target');
      const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
      expect(metrics).toMatch(/^potencia_power_price_usd_per_kwh\{site="wired"\} 0\.2$/m);
      expect(metrics).not.toMatch(/potencia_device_planned_running\{[^}]*\} 1/);
    } finally {
      await pub.client.endAsync();
    }
  });
});
