import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeviceAssessment, SitePlan } from '../agent/economics/index.js';
import type { PlannedDevice } from '../agent/economics/types.js';
import { MqttMetrics } from '../exporters/mqtt/metrics.js';
import { createAgent } from '../agent/compose.js';
import { createLogger, silentLogger } from '../agent/log.js';
import { configSchema } from '../config/schema.js';
import { MqttPart } from '../exporters/mqtt/part.js';
import { DeviceStore } from '../agent/state.js';
import { mqttSchema, type MqttConfigInput } from '../config/mqtt-schema.js';
import type { EconomicsView } from '../exporters/mqtt/change.js';
import { MqttPublisher, type MqttPublisherOptions } from '../exporters/mqtt/publisher.js';
import { decodeTopicLevel } from '../exporters/mqtt/topics.js';
import { asicSnapshot, ManualTimers, Recorder, startAedes, type InProcessBroker } from './mqtt-support.js';

const PREFIX = 'potencia/farm-1';
const A = 'asic/10.0.1.15';
const B = 'asic/10.0.1.16';
const stateTopic = (id: string) => `${PREFIX}/devices/${encodeURIComponent(id)}/state`;

/** The publisher against an in-process aedes broker over loopback TCP (MQTT 3.1.1: aedes does not speak 5). */
describe('MQTT publisher (aedes)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function broker(): Promise<InProcessBroker> {
    const b = await startAedes();
    cleanup.push(() => b.close());
    return b;
  }

  async function recorder(url: string, filter: string | string[] = '#'): Promise<Recorder> {
    const r = await Recorder.connect(url, filter);
    cleanup.push(() => r.close());
    return r;
  }

  function publisher(url: string, store: DeviceStore, config: Partial<MqttConfigInput> = {}, extra: Partial<MqttPublisherOptions> = {}) {
    const metrics = new MqttMetrics();
    const p = new MqttPublisher({
      config: mqttSchema.parse({ url, client_id: `agent-${Math.random().toString(16).slice(2)}`, reconnect: { initial: '20ms', max: '100ms' }, ...config }),
      labels: { site: 'farm-1' },
      store,
      metrics,
      logger: silentLogger,
      siteIntervalMs: 5,
      ...extra,
    });
    cleanup.push(() => p.stop());
    return { p, metrics };
  }

  async function started(p: MqttPublisher): Promise<void> {
    const idle = once(p, 'idle');
    p.start();
    await idle;
  }

  async function metric(metrics: MqttMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
    const family = metrics.families().find((f) => f.name === name)!;
    const sample = [...family.samples()].find((s) => Object.entries(labels).every(([k, l]) => s.labels?.[k] === l));
    return sample?.value ?? NaN;
  }

  it('refuses a password or TLS file that is not a regular file, naming it and never hanging on it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'potencia-mqtt-'));
    const { p } = publisher('mqtt://127.0.0.1:1', new DeviceStore(), { username: 'agent', password_file: dir });
    expect(() => p.start()).toThrow(/MQTT password file .* is a directory; only a regular file is read/);
    const big = join(dir, 'ca.pem');
    writeFileSync(big, Buffer.alloc(65 * 1024, 0x41));
    const { p: withCa } = publisher('mqtts://127.0.0.1:1', new DeviceStore(), { tls: { ca: big } });
    expect(() => withCa.start()).toThrow(/MQTT CA file .* is larger than/);
  });

  it('retains status, each device state (the /api/devices JSON) and the site totals for a later subscriber', async () => {
    const b = await broker();
    const store = new DeviceStore();
    const snapA = store.upsert(asicSnapshot(A)).snapshot;
    store.upsert(asicSnapshot(B, { up: false, error: 'connection refused', error_reason: 'refused', hashrate_hs: undefined, power_w: undefined }));
    const { p, metrics } = publisher(b.url, store);
    await started(p);
    const late = await recorder(b.url, `${PREFIX}/#`);
    const site = await late.waitFor((m) => m.topic === `${PREFIX}/site`, 'retained site');
    await late.waitFor((m) => m.topic === stateTopic(B), 'retained state of B');
    expect(late.on(`${PREFIX}/status`)).toEqual([{ topic: `${PREFIX}/status`, payload: 'online', retain: true }]);
    const [stateA] = late.on(stateTopic(A));
    expect(stateA!.retain).toBe(true);
    expect(JSON.parse(stateA!.payload)).toEqual(JSON.parse(JSON.stringify(snapA)));
    expect(JSON.parse(site.payload)).toMatchObject({ site: 'farm-1', devices: 2, up: 1, hashrate_hs: 110e12, power_w: 3250 });
    for (const m of late.messages) {
      expect(m.topic).not.toMatch(/[+#]/);
      const level = m.topic.split('/')[3];
      if (m.topic.endsWith('/state')) expect([A, B]).toContain(decodeTopicLevel(level!));
    }
    expect(await metric(metrics, 'potencia_mqtt_connected')).toBe(1);
    expect(await metric(metrics, 'potencia_mqtt_published_messages_total', { topic_kind: 'state' })).toBe(2);
    expect(await metric(metrics, 'potencia_mqtt_published_messages_total', { topic_kind: 'status' })).toBe(1);
    expect(await metric(metrics, 'potencia_mqtt_queue_messages')).toBe(0);
  });

  it('publishes device state and down events without pool passwords or credentials from stderr', async () => {
    const b = await broker();
    const store = new DeviceStore();
    store.upsert(asicSnapshot(A, { pools: [{ url: 'stratum+tcp://acct.rig1:hunter2@pool.example.com:3333', user: 'acct.rig1' }] }));
    const { p } = publisher(b.url, store);
    await started(p);
    const r = await recorder(b.url, `${PREFIX}/#`);
    const state = await r.waitFor((m) => m.topic === stateTopic(A), 'state of A');
    expect(state.payload).not.toContain('hunter2');
    expect(JSON.parse(state.payload).pools[0].url).toBe('stratum+tcp://acct.rig1:<secret>@pool.example.com:3333');
    store.upsert(asicSnapshot(A, { up: false, error_reason: 'exec', error: 'ssh: token=abc123secret denied', hashrate_hs: undefined }));
    const down = await r.waitFor((m) => m.topic === `${PREFIX}/events` && m.payload.includes('device_down'), 'down event');
    expect(JSON.parse(down.payload).error).toBe('ssh: token=<secret> denied');
    const downState = await r.waitFor((m) => m.topic === stateTopic(A) && m.payload.includes('"up":false'), 'down state');
    expect(downState.payload).not.toContain('abc123secret');
  });

  it('publishes a device only when a meaningful field changes, with events for down, up, alerts and removal', async () => {
    const b = await broker();
    const store = new DeviceStore();
    store.upsert(asicSnapshot(A));
    store.upsert(asicSnapshot(B));
    const { p } = publisher(b.url, store);
    await started(p);
    const sub = await recorder(b.url, [`${PREFIX}/devices/#`, `${PREFIX}/events`]);
    await sub.waitFor((m) => m.topic === stateTopic(B), 'retained state of B'); // the retained replay is in
    const from = sub.messages.length;
    // Only the time and a 1% hashrate wobble: nothing to publish.
    store.upsert(asicSnapshot(A, { observed_at: new Date(Date.now() + 30_000).toISOString(), hashrate_hs: 111e12 }));
    // One connection keeps order: once B's change arrives, a message for A would have arrived before it.
    store.upsert(asicSnapshot(B, { hashrate_hs: 80e12 }));
    await sub.waitFor((m) => m.topic === stateTopic(B) && JSON.parse(m.payload).hashrate_hs === 80e12, 'B changed', from);
    expect(sub.messages.slice(from).filter((m) => m.topic === stateTopic(A))).toEqual([]);

    store.upsert(asicSnapshot(A, { hashrate_hs: 100e12 }));
    const changed = await sub.waitFor((m) => m.topic === stateTopic(A), 'A beyond the deadband', from);
    expect(JSON.parse(changed.payload).hashrate_hs).toBe(100e12);

    const mark = sub.messages.length;
    store.upsert(asicSnapshot(A, { up: false, error: 'connection refused', error_reason: 'refused', hashrate_hs: undefined }));
    store.upsert(asicSnapshot(A));
    store.upsert(asicSnapshot(A, { error: 'board 2 missing' }));
    store.remove(B, 'expired');
    await sub.waitFor((m) => m.topic === `${PREFIX}/events` && m.payload.includes('device_removed'), 'removal event', mark);
    const events = sub.messages
      .slice(mark)
      .filter((m) => m.topic === `${PREFIX}/events`)
      .map((m) => JSON.parse(m.payload));
    expect(events.map((e) => [e.type, e.device])).toEqual([
      ['device_down', A],
      ['device_up', A],
      ['alert_changed', A],
      ['device_removed', B],
    ]);
    expect(events[0]).toMatchObject({ error: 'connection refused', error_reason: 'refused' });
    expect(events[2]).toMatchObject({ alert: 'board 2 missing' });
    expect(events[3]).toMatchObject({ reason: 'expired' });
    expect(
      sub.messages
        .slice(mark)
        .filter((m) => m.topic === `${PREFIX}/events`)
        .every((m) => !m.retain),
    ).toBe(true);
    // The removed device's retained state is deleted (an empty retained payload).
    await sub.waitFor((m) => m.topic === stateTopic(B) && m.payload === '', 'retained state of B cleared', mark);
    const late = await recorder(b.url, `${PREFIX}/devices/#`);
    await late.waitFor((m) => m.topic === stateTopic(A) && JSON.parse(m.payload).error === 'board 2 missing', 'A retained');
    expect(late.on(stateTopic(B))).toEqual([]);
  });

  it('republishes an unchanged device once per heartbeat, not before', async () => {
    const b = await broker();
    const store = new DeviceStore();
    store.upsert(asicSnapshot(A));
    store.upsert(asicSnapshot(B));
    const timers = new ManualTimers();
    const { p } = publisher(b.url, store, { heartbeat: '60s' }, { timers });
    await started(p);
    const sub = await recorder(b.url, `${PREFIX}/devices/#`);
    await sub.waitFor((m) => m.topic === stateTopic(B), 'retained replay');
    const from = sub.messages.length;
    timers.advance(30_000);
    // B changes at t=30s; A stays the same.
    store.upsert(asicSnapshot(B, { power_w: 2000 }));
    await sub.waitFor((m) => m.topic === stateTopic(B), 'B changed', from);
    timers.advance(15_000);
    store.upsert(asicSnapshot(B, { power_w: 1000 }));
    await sub.waitFor((m) => m.topic === stateTopic(B) && JSON.parse(m.payload).power_w === 1000, 'B changed again', from);
    expect(sub.messages.slice(from).filter((m) => m.topic === stateTopic(A))).toEqual([]);
    timers.advance(15_000); // t = 60 s: A is due, B (changed at 45 s) is not
    const beat = await sub.waitFor((m) => m.topic === stateTopic(A), 'heartbeat of A', from);
    expect(beat.payload).toBe(JSON.stringify(store.get(A)));
    store.upsert(asicSnapshot(B, { power_w: 500 })); // a marker behind the heartbeat on the same connection
    await sub.waitFor((m) => m.topic === stateTopic(B) && JSON.parse(m.payload).power_w === 500, 'marker', from);
    expect(sub.messages.slice(from).filter((m) => m.topic === stateTopic(A))).toHaveLength(1);
  });

  it('queues while the broker is down: coalesces device state, drops and counts past the bound, republishes retained state after the restart', async () => {
    let b = await startAedes();
    const port = b.port;
    const store = new DeviceStore();
    const ids = [A, B, 'asic/10.0.1.17', 'asic/10.0.1.18'];
    for (const id of ids) store.upsert(asicSnapshot(id));
    // Site totals only from the republish after connecting, so the queue's content is exact.
    const { p, metrics } = publisher(b.url, store, { queue: { max_messages: 4, max_bytes: 1024 * 1024 } }, { siteIntervalMs: 3_600_000 });
    await started(p);
    const lost = once(p, 'disconnect');
    await b.close();
    await lost;

    for (const hashrate of [90e12, 80e12, 70e12]) store.upsert(asicSnapshot(A, { hashrate_hs: hashrate })); // 1 message, coalesced
    const down = (id: string) => asicSnapshot(id, { up: false, error: 'connection refused', error_reason: 'refused', hashrate_hs: undefined, power_w: undefined });
    store.upsert(down(ids[1]!)); // event + state: 3 waiting
    store.upsert(down(ids[2]!)); // event: 4 waiting; its state overflows
    store.upsert(down(ids[3]!)); // event and state overflow
    expect(p.queueSize).toBe(4);
    expect(await metric(metrics, 'potencia_mqtt_queue_messages')).toBe(4);
    expect(await metric(metrics, 'potencia_mqtt_dropped_messages_total', { topic_kind: 'state' })).toBe(2);
    expect(await metric(metrics, 'potencia_mqtt_dropped_messages_total', { topic_kind: 'event' })).toBe(1);
    expect(await metric(metrics, 'potencia_mqtt_connected')).toBe(0);

    // A fresh broker (no persistence: nothing retained survives) on the same port, holding the agent
    // back until the subscriber is in, so every message it sends is seen.
    let admit!: () => void;
    const admitted = new Promise<void>((resolve) => (admit = resolve));
    b = await startAedes({ preConnect: (_client, packet, done) => void (packet.clientId.startsWith('agent-') ? admitted.then(() => done(null, true)) : done(null, true)) }, port);
    cleanup.push(() => b.close());
    const sub = await recorder(b.url, `${PREFIX}/#`);
    expect(sub.messages).toEqual([]);
    const idle = once(p, 'idle');
    admit();
    await idle;
    await sub.waitFor((m) => m.topic === `${PREFIX}/site`, 'site totals after the republish');
    const states = ids.map((id) => sub.on(stateTopic(id)));
    expect(states.map((s) => s.length)).toEqual([1, 1, 1, 1]);
    expect(JSON.parse(states[0]![0]!.payload).hashrate_hs).toBe(70e12);
    // The states that overflowed are not lost: they are rendered from the store on reconnect.
    for (const [i, s] of states.entries()) expect(JSON.parse(s[0]!.payload).up, ids[i]).toBe(i === 0);
    const events = sub.on(`${PREFIX}/events`).map((m) => JSON.parse(m.payload));
    expect(events.map((e) => [e.type, e.device])).toEqual([
      ['device_down', ids[1]],
      ['device_down', ids[2]],
    ]);
    expect(sub.on(`${PREFIX}/status`).map((m) => m.payload)).toEqual(['online']);
    expect(JSON.parse(sub.on(`${PREFIX}/site`)[0]!.payload)).toMatchObject({ devices: 4, up: 1, hashrate_hs: 70e12 });
    expect(await metric(metrics, 'potencia_mqtt_connects_total')).toBe(2);
    expect(await metric(metrics, 'potencia_mqtt_queue_messages')).toBe(0);
    await p.stop(); // before the broker's cleanup, or stop would wait out its budget on a dying connection
  });

  it('publishes `offline` on a clean stop, within its budget', async () => {
    const b = await broker();
    const store = new DeviceStore();
    store.upsert(asicSnapshot(A));
    const { p } = publisher(b.url, store);
    await started(p);
    const sub = await recorder(b.url, `${PREFIX}/status`);
    await sub.waitFor((m) => m.payload === 'online', 'online');
    const t0 = performance.now();
    await p.stop();
    expect(performance.now() - t0).toBeLessThan(2000);
    await sub.waitFor((m) => m.payload === 'offline', 'offline');
    const late = await recorder(b.url, `${PREFIX}/status`);
    expect((await late.waitFor(() => true, 'retained status')).payload).toBe('offline');
  });

  it('takes signals from their topics, validates them and counts the bad ones', async () => {
    const b = await broker();
    const store = new DeviceStore();
    const { p, metrics } = publisher(b.url, store, { signals: { power_price_topic: 'grid/+/price' } });
    await started(p);
    const sender = await recorder(b.url, 'nothing');
    // Subscriptions are made right after connecting; wait until the broker has them.
    const signal = () => once(p, 'signal') as Promise<[string, boolean, string | undefined]>;
    let next = signal();
    await sender.client.publishAsync(`${PREFIX}/signals/demand_response`, '{"curtail": true, "target_kw": 300}', { qos: 1, retain: true });
    expect(await next).toEqual(['demand_response', true, undefined]);
    next = signal();
    await sender.client.publishAsync(`${PREFIX}/signals/demand_response`, '{"curtail": "maybe"}', { qos: 1 });
    expect((await next).slice(0, 2)).toEqual(['demand_response', false]);
    next = signal();
    await sender.client.publishAsync('grid/ercot/price', '{"usd_per_kwh": 0.071}', { qos: 1 });
    expect(await next).toEqual(['power_price', true, undefined]);
    next = signal();
    await sender.client.publishAsync('grid/ercot/price', 'garbage', { qos: 1 });
    expect((await next).slice(0, 2)).toEqual(['power_price', false]);
    const current = p.signals.current();
    expect(current.demand_response).toMatchObject({ curtail: true, target_kw: 300, topic: `${PREFIX}/signals/demand_response` });
    expect(current.power_price).toMatchObject({ usd_per_kwh: 0.071, topic: 'grid/ercot/price' });
    expect(await metric(metrics, 'potencia_mqtt_signal_messages_total', { signal: 'demand_response', result: 'rejected' })).toBe(1);
    expect(await metric(metrics, 'potencia_mqtt_signal_messages_total', { signal: 'power_price', result: 'accepted' })).toBe(1);
  });

  it('writes a bounded log however many bad signals a client floods in, and still counts every one', async () => {
    const b = await broker();
    let bytes = 0;
    let lines = 0;
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        lines += chunk.toString().split('\n').length - 1;
        done();
      },
    });
    const { p, metrics } = publisher(b.url, new DeviceStore(), {}, { logger: createLogger({ level: 'info', destination }) });
    await started(p);
    const sender = await recorder(b.url, 'nothing');
    const flood = 5000;
    let rejected = 0;
    const all = new Promise<void>((done) => p.on('signal', (_name, ok) => !ok && ++rejected === flood && done()));
    for (let i = 0; i < flood; i++) sender.client.publish(`${PREFIX}/signals/demand_response`, `{"curtail": "maybe ${i}"}`, { qos: 0 });
    await all;
    expect(await metric(metrics, 'potencia_mqtt_signal_messages_total', { signal: 'demand_response', result: 'rejected' })).toBe(flood);
    // Ten lines of the burst; the count of the rest comes in one summary line a minute later.
    expect(lines).toBeLessThanOrEqual(12);
    expect(bytes).toBeLessThan(12 * 1024);
  });

  it('announces devices to Home Assistant ahead of their state and removes them when they go', async () => {
    const b = await broker();
    const store = new DeviceStore();
    store.upsert(asicSnapshot(A));
    const { p } = publisher(b.url, store, { home_assistant: { enabled: true } });
    const sub = await recorder(b.url, ['homeassistant/#', `${PREFIX}/devices/#`]);
    await started(p);
    const node = 'homeassistant/sensor/potencia_farm-1_asic_10_0_1_15';
    await sub.waitFor((m) => m.topic === stateTopic(A), 'state');
    const order = sub.messages.map((m) => m.topic);
    expect(order.slice(0, 6)).toEqual([...['hashrate', 'power', 'temperature', 'efficiency', 'recommendation'].map((s) => `${node}/${s}/config`), stateTopic(A)]);
    const power = JSON.parse(sub.on(`${node}/power/config`)[0]!.payload);
    expect(power).toMatchObject({ state_topic: stateTopic(A), device_class: 'power', unit_of_measurement: 'W', unique_id: 'potencia_farm-1_asic_10_0_1_15_power' });
    // A new device is announced as it appears; a device that vanishes is removed from HA.
    const mark = sub.messages.length;
    store.upsert(asicSnapshot(B));
    store.remove(A, 'target_removed');
    await sub.waitFor((m) => m.topic === `${node}/recommendation/config` && m.payload === '', 'HA removal', mark);
    expect(sub.messages.slice(mark).filter((m) => m.topic.startsWith('homeassistant/sensor/potencia_farm-1_asic_10_0_1_16/'))).toHaveLength(5);
    const late = await recorder(b.url, 'homeassistant/#');
    await late.waitFor((m) => m.topic.includes('asic_10_0_1_16/recommendation'), 'retained HA configs');
    expect(late.messages.every((m) => m.retain && !m.topic.includes('asic_10_0_1_15'))).toBe(true);
  });

  it('adds the economics assessment to state, the plan to site, and reports recommendation changes', async () => {
    const b = await broker();
    const store = new DeviceStore();
    store.upsert(asicSnapshot(A));
    const assessments = new Map<string, DeviceAssessment>([[A, { device_id: A, recommendation: 'mine', reason: 'margin $3.10/day', stale: false } as DeviceAssessment]]);
    const listeners = new Set<(ids: readonly string[] | undefined) => void>();
    const plan = { planned_kw: 3.25, devices: [], stale: false } as unknown as SitePlan;
    const planned = new Map<string, PlannedDevice>([[A, { device_id: A, activity: 'mining', power_kw: 3.25, curtailed_by_cap: false, reason: 'margin $3.10/day' }]]);
    const economics: EconomicsView = {
      assessment: (id) => assessments.get(id),
      get: (id) => ({ assessment: assessments.get(id)!, planned: planned.get(id) }),
      sitePlan: () => plan,
      onChange: (l) => {
        listeners.add(l);
        return () => listeners.delete(l);
      },
    };
    const { p } = publisher(b.url, store, {}, { economics });
    await started(p);
    const sub = await recorder(b.url, `${PREFIX}/#`);
    const site = await sub.waitFor((m) => m.topic === `${PREFIX}/site`, 'site');
    expect(JSON.parse(site.payload).plan).toEqual(plan);
    const state = await sub.waitFor((m) => m.topic === stateTopic(A), 'state');
    expect(JSON.parse(state.payload).assessment).toMatchObject({ recommendation: 'mine' });
    expect(JSON.parse(state.payload).planned).toMatchObject({ activity: 'mining' });
    // A new planned activity alone is a new state (an agent of a split site learns it from the planner).
    let mark = sub.messages.length;
    planned.set(A, { ...planned.get(A)!, activity: 'curtailed', curtailed_by_cap: true });
    for (const l of listeners) l([A]);
    const curtailed = await sub.waitFor((m) => m.topic === stateTopic(A), 'state with the new planned activity', mark);
    expect(JSON.parse(curtailed.payload).planned).toMatchObject({ activity: 'curtailed', curtailed_by_cap: true });
    mark = sub.messages.length;
    assessments.set(A, { device_id: A, recommendation: 'curtail', reason: 'loses $0.40/day', stale: false } as DeviceAssessment);
    for (const l of listeners) l([A]);
    const event = await sub.waitFor((m) => m.topic === `${PREFIX}/events`, 'recommendation event', mark);
    expect(JSON.parse(event.payload)).toMatchObject({ type: 'recommendation_changed', device: A, recommendation: 'curtail', previous: 'mine', reason: 'loses $0.40/day' });
    const updated = await sub.waitFor((m) => m.topic === stateTopic(A), 'state with the new assessment', mark);
    expect(JSON.parse(updated.payload).assessment.recommendation).toBe('curtail');
  });

  it('runs as an agent part from the config: metrics on /metrics, a reload moves it to the new prefix, stop says offline', async () => {
    const b = await broker();
    const sub = await recorder(b.url, ['potencia/+/status', 'elsewhere/status']);
    const config = configSchema.parse({ agent: { listen: '127.0.0.1:0' }, labels: { site: 'farm-1' }, mqtt: { url: b.url } });
    const agent = createAgent({ config, logger: silentLogger });
    const parts = (agent as unknown as { parts: unknown[] }).parts;
    expect(parts.some((part) => part instanceof MqttPart)).toBe(true);
    await agent.start();
    cleanup.push(() => agent.stop());
    await sub.waitFor((m) => m.topic === `${PREFIX}/status` && m.payload === 'online', 'online');
    const metrics = await (await fetch(`http://127.0.0.1:${agent.port}/metrics`)).text();
    expect(metrics).toMatch(/^potencia_mqtt_connected 1$/m);
    expect(metrics).toMatch(/^potencia_mqtt_dropped_messages_total\{topic_kind="state"\} 0$/m);
    await agent.applyConfig({ ...config, mqtt: mqttSchema.parse({ url: b.url, topic_prefix: 'elsewhere' }) });
    await sub.waitFor((m) => m.topic === `${PREFIX}/status` && m.payload === 'offline', 'old prefix offline');
    await sub.waitFor((m) => m.topic === 'elsewhere/status' && m.payload === 'online', 'new prefix online');
    const from = sub.messages.length;
    await agent.stop();
    await sub.waitFor((m) => m.topic === 'elsewhere/status' && m.payload === 'offline', 'offline on stop', from);
  });
});
