import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import type { PublisherTimers } from '../exporters/mqtt/timers.js';

/** Shared by the MQTT tests: an in-process broker, a recording subscriber, a manual clock, snapshots. */

export interface Received {
  topic: string;
  payload: string;
  retain: boolean;
}

export interface InProcessBroker {
  broker: Aedes;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** An aedes broker on a real loopback TCP socket; `port` reuses a port (a restarted broker). */
export async function startAedes(options: Partial<AedesOptions> = {}, port = 0): Promise<InProcessBroker> {
  const broker = await Aedes.createBroker(options);
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    broker.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    broker,
    port: bound,
    url: `mqtt://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        broker.close(() => server.close(() => resolve()));
      }),
  };
}

/** A subscriber that keeps every message it gets and lets a test wait for one, event-driven. */
export class Recorder {
  readonly messages: Received[] = [];
  readonly #waiters = new Set<() => void>();

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      this.messages.push({ topic, payload: payload.toString('utf8'), retain: packet.retain });
      for (const wake of this.#waiters) wake();
    });
  }

  static async connect(url: string, filter: string | string[] = '#', options: IClientOptions = {}): Promise<Recorder> {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `rec-${Math.random().toString(16).slice(2)}`, ...options });
    const recorder = new Recorder(client);
    await client.subscribeAsync(filter, { qos: 1 });
    return recorder;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  /** Resolves with the first message (from index `from` on) that matches; fails after `timeoutMs`. */
  waitFor(match: (m: Received) => boolean, what: string, from = 0, timeoutMs = 10_000): Promise<Received> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.messages.slice(from).find(match);
        if (!found) return false;
        cleanup();
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(this.messages.slice(from).map((m) => `${m.topic} ${m.payload.slice(0, 80)}`))}`));
      }, timeoutMs);
      const wake = () => void check();
      const cleanup = () => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
      };
      this.#waiters.add(wake);
      check();
    });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** A clock that only moves when the test says so. */
export class ManualTimers implements PublisherTimers {
  #now = Date.parse('2025-07-01T12:00:00Z');
  #next = 1;
  readonly #timers = new Map<number, { at: number; every?: number; fn: () => void }>();

  now(): number {
    return this.#now;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  setInterval(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.#now + ms, every: ms, fn });
    return id;
  }
  clearInterval(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward, firing every timer that falls due, in time order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let dueId: number | undefined;
      let due: { at: number; every?: number; fn: () => void } | undefined;
      for (const [id, t] of this.#timers) if (t.at <= end && (due === undefined || t.at < due.at)) [dueId, due] = [id, t];
      if (due === undefined || dueId === undefined) break;
      this.#now = due.at;
      if (due.every !== undefined) due.at += due.every;
      else this.#timers.delete(dueId);
      due.fn();
    }
    this.#now = end;
  }
}

export function asicSnapshot(id: string, overrides: Partial<DeviceSnapshot> = {}): DeviceSnapshot {
  const address = id.split('/').pop()!;
  return {
    id,
    kind: 'asic',
    target: `cgminer://${address}:4028`,
    address,
    labels: { site: 'farm-1', rack: 'r1' },
    vendor: 'Bitmain',
    model: 'Antminer S19 Pro',
    firmware: '2021.07.20',
    up: true,
    observed_at: new Date().toISOString(),
    hashrate_hs: 110e12,
    nominal_hashrate_hs: 110e12,
    power_w: 3250,
    power_source: 'estimated',
    temperatures_c: { chip_max: 78, board0_chip: 76 },
    fans_rpm: [5400, 5520],
    ...overrides,
  };
}
