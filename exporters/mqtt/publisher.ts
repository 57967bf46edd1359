import { EventEmitter } from 'node:events';
import type { Logger } from '../../agent/log.js';
import { LogLimiter } from '../../agent/log-limit.js';
import type { DeviceStoreView } from '../../agent/contracts/part.js';
import type { MqttConfig } from '../../config/mqtt-schema.js';
import type { EconomicsView } from './change.js';
import { MqttConnection } from './connection.js';
import type { MqttMetrics } from './metrics.js';
import { ChangePlanner } from './planner.js';
import { Pump } from './pump.js';
import { OutboundQueue, type OutboundMessage } from './queue.js';
import { SignalState, type SignalName } from './signals.js';
import { REAL_TIMERS, withTimeout, type PublisherTimers } from './timers.js';
import { defaultTopicPrefix, siteOf, topicLayout, topicMatches, type TopicLayout } from './topics.js';

export interface MqttPublisherOptions {
  config: MqttConfig;
  /** The agent's labels: `site` names the default topic prefix. */
  labels: Readonly<Record<string, string>>;
  store: DeviceStoreView;
  /** Counts kept across publishers, read by the agent's exporter. */
  metrics: MqttMetrics;
  logger: Logger;
  /** Where signals land; pass one shared with economics. A new one by default. */
  signals?: SignalState;
  /** Adds `assessment` to device state and `plan` to site totals when present. */
  economics?: EconomicsView;
  version?: string;
  timers?: PublisherTimers;
  /** Site totals are recomputed at most this often (they sum the whole store). Default 1 s. */
  siteIntervalMs?: number;
  /** Messages handed to the client and not yet acknowledged. Default 64. */
  maxInFlight?: number;
  /** The whole of stop(): drain, `offline`, disconnect. Default 2 s, inside the agent's 5 s SIGTERM budget. */
  stopBudgetMs?: number;
}

export interface MqttPublisherEvents {
  connect: [];
  disconnect: [];
  /** The queue and the republish backlog are empty and nothing is in flight. */
  idle: [];
  /** A signal message was accepted or refused. */
  signal: [name: SignalName, accepted: boolean, error?: string];
}

/**
 * Publishes the store to an MQTT broker and reads signals from it: the planner decides what the
 * broker must hear, a bounded queue holds it, the pump feeds it to the connection.
 */
export class MqttPublisher extends EventEmitter<MqttPublisherEvents> {
  readonly signals: SignalState;
  readonly topics: TopicLayout;
  readonly site: string;
  readonly #opts: MqttPublisherOptions;
  readonly #config: MqttConfig;
  readonly #timers: PublisherTimers;
  readonly #metrics: MqttMetrics;
  readonly #queue: OutboundQueue;
  readonly #connection: MqttConnection;
  readonly #planner: ChangePlanner;
  readonly #pump: Pump;
  #stopping = false;
  #started = false;
  #heartbeatTimer: unknown;
  readonly #unsubscribe: (() => void)[] = [];
  /** Any client of the broker may publish signals at any rate: their rejections are logged a few a minute. */
  readonly #signalLog: LogLimiter;

  constructor(opts: MqttPublisherOptions) {
    super();
    this.#opts = opts;
    this.#signalLog = new LogLimiter(opts.logger);
    this.#config = opts.config;
    this.#timers = opts.timers ?? REAL_TIMERS;
    this.site = siteOf(opts.labels);
    this.topics = topicLayout(opts.config.topic_prefix ?? defaultTopicPrefix(this.site), opts.config.signals);
    this.signals = opts.signals ?? new SignalState();
    this.#metrics = opts.metrics;
    const queue = new OutboundQueue({ maxMessages: opts.config.queue.max_messages, maxBytes: opts.config.queue.max_bytes }, (dropped) => {
      this.#metrics.countDropped(dropped.kind);
      opts.logger.debug({ topic: dropped.topic, kind: dropped.kind }, 'MQTT queue full; message dropped');
    });
    this.#queue = queue;
    this.#connection = new MqttConnection({
      config: opts.config,
      topics: this.topics,
      logger: opts.logger,
      metrics: this.#metrics,
      timers: this.#timers,
      waiting: () => queue.size,
      events: {
        connected: () => {
          this.#planner.republishAll();
          this.emit('connect');
          this.#pump.run();
        },
        lost: () => this.#pump.requeueInFlight(),
        disconnected: () => this.emit('disconnect'),
        message: (topic, payload) => this.#onMessage(topic, payload),
      },
    });
    this.#planner = new ChangePlanner({
      config: opts.config,
      topics: this.topics,
      site: this.site,
      store: opts.store,
      ...(opts.economics && { economics: opts.economics }),
      ...(opts.version !== undefined && { version: opts.version }),
      timers: this.#timers,
      siteIntervalMs: opts.siteIntervalMs ?? 1000,
      enqueue: (message) => this.#enqueue(message),
      queued: (key) => queue.hasKey(key),
    });
    this.#pump = new Pump(queue, this.#planner, this.#connection, opts.maxInFlight ?? 64, this.#metrics, () => this.emit('idle'));
  }

  get connected(): boolean {
    return this.#connection.connected;
  }

  get queueSize(): number {
    return this.#queue.size;
  }

  get queueBytes(): number {
    return this.#queue.bytes;
  }

  /** Starts connecting and returns at once: a broker that is down must not hold up the agent. Throws on unreadable TLS or password files. */
  start(): void {
    if (this.#started) return;
    this.#connection.open();
    this.#started = true;
    this.#metrics.source = { connected: () => this.#connection.connected, queueMessages: () => this.#queue.size, queueBytes: () => this.#queue.bytes };
    this.#unsubscribe.push(this.#opts.store.onChange((change) => this.#planner.onStoreChange(change)));
    if (this.#opts.economics) this.#unsubscribe.push(this.#opts.economics.onChange((ids) => this.#planner.onAssessments(ids)));
    const heartbeat = this.#config.heartbeat;
    // Checked four times per heartbeat, so a device is republished at most 1.25 heartbeats after its last message.
    this.#heartbeatTimer = this.#timers.setInterval(() => this.#heartbeat(), Math.max(250, Math.floor(heartbeat / 4)));
  }

  /** Sends what waits (briefly), publishes `offline`, disconnects; bounded by stopBudgetMs. */
  async stop(): Promise<void> {
    if (!this.#started || this.#stopping) return;
    this.#stopping = true;
    const deadline = Date.now() + (this.#opts.stopBudgetMs ?? 2000);
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#signalLog.stop();
    this.#timers.clearInterval(this.#heartbeatTimer);
    this.#planner.stop();
    await this.#connection.close(deadline, (ms) => this.#waitIdle(ms));
  }

  #onMessage(topic: string, payload: Buffer): void {
    const name: SignalName | undefined = topicMatches(this.topics.demandResponse, topic)
      ? 'demand_response'
      : topicMatches(this.topics.powerPrice, topic)
        ? 'power_price'
        : undefined;
    if (name === undefined) return;
    const result = this.signals.accept(name, payload, topic);
    this.#metrics.countSignal(name, result.ok);
    if (result.ok) this.#opts.logger.info({ signal: name, topic, cleared: result.cleared, value: result.cleared ? undefined : this.signals.current()[name] }, 'signal received');
    else
      this.#signalLog.warn(`invalid:${name}`, { signal: name, topic, error: result.error, payload: payload.subarray(0, 200).toString('utf8') }, 'invalid signal message ignored');
    this.emit('signal', name, result.ok, result.ok ? undefined : result.error);
  }

  #enqueue(message: OutboundMessage): void {
    if (this.#stopping) return;
    this.#pump.push(message);
  }

  #heartbeat(): void {
    if (!this.#connection.connected) return; // reconnecting republishes everything anyway
    if (this.#planner.heartbeatDue()) this.#pump.run();
  }

  async #waitIdle(ms: number): Promise<void> {
    if (ms <= 0 || this.#pump.idle) return;
    await withTimeout(new Promise<void>((resolve) => this.once('idle', resolve)), ms);
  }
}
