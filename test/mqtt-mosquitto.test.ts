import { once } from 'node:events';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../agent/log.js';
import { DeviceStore } from '../agent/state.js';
import { MqttMetrics } from '../exporters/mqtt/metrics.js';
import { mqttSchema, type MqttConfigInput } from '../config/mqtt-schema.js';
import { MqttPublisher } from '../exporters/mqtt/publisher.js';
import { startFarm, type Farm } from '../simulator/farm.js';
import { CLI, eventually, findTool, freeLoopbackBlock, freePort, makeCertificates, spawnProcess, tcpGate, type Spawned } from './helpers.js';
import { asicSnapshot, Recorder } from './mqtt-support.js';

const mosquittoBin = findTool('mosquitto');
const opensslBin = findTool('openssl');
const passwdBin = findTool('mosquitto_passwd');

const stateTopic = (prefix: string, id: string) => `${prefix}/devices/${encodeURIComponent(id)}/state`;

/** A real mosquitto (Debian package) with a generated config; persistence off, so a restart forgets every retained message. */
async function startMosquitto(dir: string, name: string, port: number, listener: string[] = []): Promise<Spawned> {
  const conf = join(dir, `${name}.conf`);
  writeFileSync(
    conf,
    [`listener ${port} 127.0.0.1`, ...listener, 'persistence false', `user ${userInfo().username}`, 'log_dest stderr', 'log_type error', 'log_type warning', ''].join('\n'),
  );
  if (!listener.some((l) => l.startsWith('allow_anonymous') || l.startsWith('password_file'))) writeFileSync(conf, 'allow_anonymous true\n', { flag: 'a' });
  const broker = spawnProcess(mosquittoBin!, ['-c', conf]);
  await eventually(
    () =>
      new Promise<boolean | undefined>((resolve) => {
        if (broker.child.exitCode !== null) throw new Error(`mosquitto exited: ${broker.output()}`);
        const socket = connect(port, '127.0.0.1', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(undefined));
      }),
    `mosquitto listening on ${port}`,
  );
  return broker;
}

async function stopProcess(p: Spawned | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}

describe.skipIf(!mosquittoBin)('MQTT against a real mosquitto', () => {
  let dir: string;
  const cleanup: (() => Promise<unknown>)[] = [];
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'potencia-mosquitto-'));
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  function newPublisher(config: MqttConfigInput, store: DeviceStore, site = 'it'): MqttPublisher {
    const p = new MqttPublisher({
      config: mqttSchema.parse({ client_id: `potencia-it-${Math.random().toString(16).slice(2)}`, ...config }),
      labels: { site },
      store,
      metrics: new MqttMetrics(),
      logger: silentLogger,
      siteIntervalMs: 3_600_000,
    });
    cleanup.push(() => p.stop());
    return p;
  }

  describe('`potencia run` taking the broker from its config', () => {
    let farm: Farm;
    beforeAll(async () => {
      farm = await startFarm({ devices: 3, seed: 5, mode: 'address', host: (await freeLoopbackBlock()).host(1), failures: false });
    });
    afterAll(async () => {
      await farm?.stop();
    });

    it('retains status and device state (MQTT 5) and the broker delivers the last will when the agent dies', async () => {
      const port = await freePort();
      const broker = await startMosquitto(dir, 'run', port);
      cleanup.push(() => stopProcess(broker));
      const url = `mqtt://127.0.0.1:${port}`;
      const prefix = 'potencia/it-run';
      const watcher = await Recorder.connect(url, `${prefix}/status`, { protocolVersion: 5 });
      cleanup.push(() => watcher.close());
      const configPath = join(dir, 'run.yaml');
      writeFileSync(
        configPath,
        [
          'agent: { listen: "127.0.0.1:0" }',
          'labels: { site: it-run }',
          'polling: { interval: 2s, timeout: 1500ms }',
          'targets:',
          `  - url: cgminer://${farm.miners[0]!.host}-${farm.miners[2]!.host}`,
          'mqtt:',
          `  url: ${url}`,
          '  protocol_version: 5',
          '  keepalive: 2s',
          '',
        ].join('\n'),
      );
      const agent = spawnProcess(process.execPath, [CLI, 'run', '--config', configPath]);
      cleanup.push(() => stopProcess(agent, 'SIGKILL'));
      await watcher.waitFor((m) => m.payload === 'online', `online (agent: ${agent.output().slice(-400)})`, 0, 20_000);

      const ids = farm.miners.map((m) => `asic/${m.host}`);
      const live = await Recorder.connect(url, `${prefix}/devices/#`, { protocolVersion: 5 });
      cleanup.push(() => live.close());
      // A loaded CI machine may time out a first poll; the state that follows it replaces it.
      for (const id of ids) await live.waitFor((m) => m.topic === stateTopic(prefix, id) && JSON.parse(m.payload).up, `state of ${id}`, 0, 20_000);
      const late = await Recorder.connect(url, `${prefix}/#`, { protocolVersion: 5 });
      cleanup.push(() => late.close());
      for (const id of ids) {
        const state = await late.waitFor((m) => m.topic === stateTopic(prefix, id), `retained state of ${id}`);
        expect(state.retain).toBe(true);
        expect(JSON.parse(state.payload)).toMatchObject({ id, kind: 'asic', up: true, model: expect.any(String), labels: { site: 'it-run' } });
      }
      expect(late.on(`${prefix}/status`)[0]).toEqual({ topic: `${prefix}/status`, payload: 'online', retain: true });

      const from = watcher.messages.length;
      agent.child.kill('SIGKILL'); // no DISCONNECT: the broker must send the will
      await agent.exited;
      await watcher.waitFor((m) => m.payload === 'offline', 'the last will', from);
      const after = await Recorder.connect(url, `${prefix}/status`);
      cleanup.push(() => after.close());
      expect((await after.waitFor(() => true, 'retained status')).payload).toBe('offline');
    });
  });

  it("`potencia demo --mqtt` publishes the demo farm: status, every miner's state with its assessment, and the site", async () => {
    const port = await freePort();
    const broker = await startMosquitto(dir, 'demo', port);
    cleanup.push(() => stopProcess(broker));
    const url = `mqtt://127.0.0.1:${port}`;
    const sub = await Recorder.connect(url, 'potencia/demo/#');
    cleanup.push(() => sub.close());
    const farmBlock = await freeLoopbackBlock();
    const demo = spawnProcess(process.execPath, [
      CLI,
      'demo',
      '--devices',
      '3',
      '--farm-host',
      farmBlock.host(1),
      '--listen',
      `127.0.0.1:${await freePort()}`,
      '--interval',
      '2s',
      '--mqtt',
      url,
    ]);
    cleanup.push(() => stopProcess(demo));
    await sub.waitFor((m) => m.topic === 'potencia/demo/status' && m.payload === 'online', `online (demo: ${demo.output().slice(-400)})`, 0, 20_000);
    for (const host of [farmBlock.host(1), farmBlock.host(2), farmBlock.host(3)]) {
      const state = await sub.waitFor(
        (m) => m.topic === stateTopic('potencia/demo', `asic/${host}`) && JSON.parse(m.payload).assessment !== undefined,
        `state of ${host}`,
        0,
        20_000,
      );
      expect(JSON.parse(state.payload)).toMatchObject({ id: `asic/${host}`, up: true, labels: { site: 'demo' } });
    }
    const site = await sub.waitFor((m) => m.topic === 'potencia/demo/site', 'site totals', 0, 20_000);
    expect(JSON.parse(site.payload)).toMatchObject({ site: 'demo', devices: expect.any(Number) });
  });

  it('loses nothing below the bound across a broker restart and republishes retained state to the fresh broker', async () => {
    const port = await freePort();
    let broker = await startMosquitto(dir, 'restart', port);
    cleanup.push(() => stopProcess(broker));
    const relay = await tcpGate(port);
    cleanup.push(() => relay.close());
    const store = new DeviceStore();
    const ids = [1, 2, 3, 4, 5].map((i) => `asic/10.0.7.${i}`);
    for (const id of ids) store.upsert(asicSnapshot(id));
    const p = newPublisher({ url: `mqtt://127.0.0.1:${relay.port}`, reconnect: { initial: '50ms', max: '200ms' }, queue: { max_messages: 10 } }, store);
    const prefix = 'potencia/it';
    const idle = once(p, 'idle');
    p.start();
    await idle;

    relay.open = false;
    const lost = once(p, 'disconnect');
    await stopProcess(broker);
    await lost;
    // During the outage: every device changes three times (coalesced to one state each), three go down (three events).
    for (const [i, id] of ids.entries()) {
      for (const hashrate of [100e12, 95e12, 90e12 + i]) store.upsert(asicSnapshot(id, { hashrate_hs: hashrate }));
    }
    for (const id of ids.slice(0, 3)) store.upsert(asicSnapshot(id, { up: false, error: 'connection timed out', error_reason: 'timeout', hashrate_hs: undefined }));
    expect(p.queueSize).toBe(8);

    broker = await startMosquitto(dir, 'restart', port);
    const sub = await Recorder.connect(`mqtt://127.0.0.1:${port}`, `${prefix}/#`);
    cleanup.push(() => sub.close());
    const back = once(p, 'idle');
    relay.open = true;
    await back;
    await sub.waitFor((m) => m.topic === `${prefix}/site`, 'site totals');
    const events = sub.on(`${prefix}/events`).map((m) => JSON.parse(m.payload));
    expect(events.map((e) => [e.type, e.device])).toEqual(ids.slice(0, 3).map((id) => ['device_down', id]));
    for (const [i, id] of ids.entries()) {
      const states = sub.on(stateTopic(prefix, id)).map((m) => JSON.parse(m.payload));
      expect(states, id).toHaveLength(1);
      expect(states[0].up, id).toBe(i >= 3);
      if (i >= 3) expect(states[0].hashrate_hs).toBe(90e12 + i);
    }
    // The fresh broker had no retained messages: what a newcomer sees now, the agent republished.
    const late = await Recorder.connect(`mqtt://127.0.0.1:${port}`, `${prefix}/#`);
    cleanup.push(() => late.close());
    await late.waitFor((m) => m.topic === `${prefix}/site`, 'retained site');
    for (const id of ids) expect(late.on(stateTopic(prefix, id)), id).toHaveLength(1);
    expect(late.on(`${prefix}/status`).map((m) => m.payload)).toEqual(['online']);
    await p.stop();
  });

  it.skipIf(!opensslBin || !passwdBin)('connects over TLS with a client certificate and a password from a file', async () => {
    const run = (cmd: string, args: string[]) => {
      const r = spawnSync(cmd, args, { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    };
    makeCertificates(opensslBin!, dir, 'ca', [
      { name: 'server', cn: 'localhost', server: true },
      { name: 'client', cn: 'potencia-agent' },
    ]);
    run(passwdBin!, ['-c', '-b', join(dir, 'passwords'), 'agent', 'correct horse']);
    writeFileSync(join(dir, 'agent-password'), 'correct horse\n');
    const port = await freePort();
    const broker = await startMosquitto(dir, 'tls', port, [
      `cafile ${join(dir, 'ca.crt')}`,
      `certfile ${join(dir, 'server.crt')}`,
      `keyfile ${join(dir, 'server.key')}`,
      'require_certificate true',
      'allow_anonymous false',
      `password_file ${join(dir, 'passwords')}`,
    ]);
    cleanup.push(() => stopProcess(broker));
    const tls = { ca: join(dir, 'ca.crt'), cert: join(dir, 'client.crt'), key: join(dir, 'client.key') };
    const store = new DeviceStore();
    store.upsert(asicSnapshot('asic/10.0.8.1'));
    const p = newPublisher({ url: `mqtts://127.0.0.1:${port}`, protocol_version: 5, username: 'agent', password_file: join(dir, 'agent-password'), tls }, store, 'tls-farm');
    const connected = once(p, 'connect');
    p.start();
    await connected;
    const sub = await Recorder.connect(`mqtts://127.0.0.1:${port}`, 'potencia/tls-farm/#', {
      protocolVersion: 5,
      username: 'agent',
      password: 'correct horse',
      ca: readFileSync(tls.ca),
      cert: readFileSync(tls.cert),
      key: readFileSync(tls.key),
    });
    cleanup.push(() => sub.close());
    const state = await sub.waitFor((m) => m.topic === stateTopic('potencia/tls-farm', 'asic/10.0.8.1'), 'state over TLS');
    expect(JSON.parse(state.payload).id).toBe('asic/10.0.8.1');
    // The broker really checks the password: a wrong one is refused.
    await expect(
      Recorder.connect(`mqtts://127.0.0.1:${port}`, '#', {
        username: 'agent',
        password: 'wrong',
        ca: readFileSync(tls.ca),
        cert: readFileSync(tls.cert),
        key: readFileSync(tls.key),
      }),
    ).rejects.toThrow(/Not authorized|Bad username or password/i);
  });
});
