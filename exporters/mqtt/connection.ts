import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '../../agent/log.js';
import { redactUrl } from '../../agent/redact.js';
import type { MqttConfig } from '../../config/mqtt-schema.js';
import type { MqttMetrics } from './metrics.js';
import { withTimeout, type PublisherTimers } from './timers.js';
import type { TopicLayout } from './topics.js';
import { MAX_SECRET_FILE_BYTES, readBoundedFile } from '../../config/bounded-file.js';

/** What the connection tells its owner. */
export interface ConnectionEvents {
  /** Connected: `online` is on its way and the signal topics are subscribed. */
  connected(): void;
  /** The connection dropped: puts back what the broker did not acknowledge, before the old client is ended; returns how many. */
  lost(): number;
  /** A connection that was up dropped; a reconnect is scheduled. */
  disconnected(): void;
  message(topic: string, payload: Buffer): void;
}

export interface MqttConnectionOptions {
  config: MqttConfig;
  topics: TopicLayout;
  logger: Logger;
  metrics: MqttMetrics;
  timers: PublisherTimers;
  /** Messages waiting to be sent, for the logs. */
  waiting(): number;
  events: ConnectionEvents;
}

/**
 * One connection to the broker at a time: a fresh client per attempt, with bounded exponential
 * backoff between attempts, `online`/`offline` on the status topic (the will says `offline` for us
 * when we vanish) and the signal subscriptions.
 */
export class MqttConnection {
  readonly #opts: MqttConnectionOptions;
  readonly #config: MqttConfig;
  #client: MqttClient | undefined;
  #connected = false;
  #stopping = false;
  #failures = 0;
  #disconnectedSince: number | undefined;
  #reconnectTimer: unknown;

  constructor(opts: MqttConnectionOptions) {
    this.#opts = opts;
    this.#config = opts.config;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The current client; messages go to it only while `connected`. */
  get client(): MqttClient | undefined {
    return this.#client;
  }

  /** Starts connecting and returns at once. Throws on unreadable TLS or password files. */
  open(): void {
    this.#connect(this.#clientOptions());
  }

  /** Lets `drain` send what waits (while connected), publishes `offline` and disconnects, by `deadline` (ms since the epoch). */
  async close(deadline: number, drain: (ms: number) => Promise<void>): Promise<void> {
    this.#stopping = true;
    this.#opts.timers.clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    if (client === undefined) return;
    if (this.#connected) {
      await drain(deadline - Date.now() - 800);
      await withTimeout(
        new Promise<void>((resolve) => client.publish(this.#opts.topics.status, 'offline', { qos: 1, retain: true }, () => resolve())),
        deadline - Date.now() - 300,
      );
      this.#opts.metrics.countPublished('status');
      await withTimeout(client.endAsync(), deadline - Date.now());
    }
    this.#connected = false;
    client.end(true);
    this.#client = undefined;
    this.#opts.logger.info({ broker: redactUrl(this.#config.url), unsent: this.#opts.waiting() }, 'MQTT publisher stopped');
  }

  #clientOptions(): IClientOptions {
    const c = this.#config;
    // Bounded and regular files only, as the config's own secrets: a FIFO or /dev/zero must not hang or grow the agent.
    const password = c.password_file !== undefined ? readBoundedFile(c.password_file, MAX_SECRET_FILE_BYTES, 'MQTT password file').replace(/\r?\n$/, '') : c.password;
    const tls = c.tls;
    return {
      protocolVersion: c.protocol_version,
      clientId: c.client_id ?? `potencia-${hostname()}`,
      clean: true,
      keepalive: Math.round(c.keepalive / 1000),
      connectTimeout: c.connect_timeout,
      // Reconnection is ours (backoff, a fresh client per attempt); mqtt.js's own would retry at a fixed period.
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      ...(c.username !== undefined && { username: c.username }),
      ...(password !== undefined && { password }),
      ...(tls && {
        ...(tls.ca !== undefined && { ca: readBoundedFile(tls.ca, MAX_SECRET_FILE_BYTES, 'MQTT CA file') }),
        ...(tls.cert !== undefined && { cert: readBoundedFile(tls.cert, MAX_SECRET_FILE_BYTES, 'MQTT certificate file') }),
        ...(tls.key !== undefined && { key: readBoundedFile(tls.key, MAX_SECRET_FILE_BYTES, 'MQTT key file') }),
        rejectUnauthorized: tls.reject_unauthorized,
        ...(tls.servername !== undefined && { servername: tls.servername }),
      }),
      will: { topic: this.#opts.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
  }

  #connect(options: IClientOptions): void {
    const client = mqtt.connect(this.#config.url, options);
    this.#client = client;
    let closed = false;
    client.on('connect', () => {
      if (this.#client === client && !this.#stopping) this.#onConnected(client);
    });
    client.on('message', (topic, payload) => this.#opts.events.message(topic, payload));
    client.on('error', (err) => {
      const log = this.#failures === 0 ? this.#opts.logger.warn.bind(this.#opts.logger) : this.#opts.logger.debug.bind(this.#opts.logger);
      log({ err: { message: err.message, code: (err as NodeJS.ErrnoException).code }, broker: redactUrl(this.#config.url) }, 'MQTT connection error');
    });
    client.on('close', () => {
      if (closed) return;
      closed = true;
      if (this.#client !== client || this.#stopping) return;
      this.#onClosed(client, options);
    });
  }

  #onConnected(client: MqttClient): void {
    const { topics, logger, metrics } = this.#opts;
    this.#connected = true;
    metrics.countConnect();
    logger.info(
      {
        broker: redactUrl(this.#config.url),
        waiting: this.#opts.waiting(),
        ...(this.#disconnectedSince !== undefined && { outage_s: Math.round((Date.now() - this.#disconnectedSince) / 1000) }),
      },
      'MQTT connected',
    );
    this.#failures = 0;
    this.#disconnectedSince = undefined;
    client.publish(topics.status, 'online', { qos: 1, retain: true }, (err) => {
      if (!err) metrics.countPublished('status');
    });
    if (this.#config.signals.enabled) {
      client.subscribe({ [topics.demandResponse]: { qos: 1 }, [topics.powerPrice]: { qos: 1 } }, (err) => {
        if (err) logger.warn({ err: { message: err.message } }, 'MQTT: cannot subscribe to the signal topics');
      });
    }
    this.#opts.events.connected();
  }

  #onClosed(client: MqttClient, options: IClientOptions): void {
    const wasConnected = this.#connected;
    this.#connected = false;
    this.#disconnectedSince ??= Date.now();
    const requeued = this.#opts.events.lost();
    client.end(true);
    if (wasConnected) {
      this.#opts.logger.warn({ broker: redactUrl(this.#config.url), requeued }, 'MQTT connection lost; queueing until it is back');
      this.#opts.events.disconnected();
    }
    const { initial, max } = this.#config.reconnect;
    const delay = Math.min(max, initial * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    // Up to 10% jitter, so a fleet of agents behind one broker does not reconnect in lockstep.
    this.#reconnectTimer = this.#opts.timers.setTimeout(
      () => {
        if (!this.#stopping) this.#connect(options);
      },
      delay * (1 + Math.random() * 0.1),
    );
  }
}
