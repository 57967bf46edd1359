import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { DeviceAssessment } from '../../agent/economics/index.js';
import type { Logger } from '../../agent/log.js';
import type { DeviceSnapshot } from '../../agent/snapshot.js';
import type { DeviceChange, DeviceStoreView } from '../../agent/contracts/part.js';
import type { MqttConfig } from '../../config/mqtt-schema.js';
import {
  meaningfulAssessmentChange,
  meaningfulChange,
  readingEvents,
  recommendationEvent,
  siteTotals,
  type DeviceEvent,
  type EconomicsView,
  type PublishedState,
} from './change.js';
import { discoverySignature, homeAssistantDiscovery, sensorsFor, discoveryTopic } from './home-assistant.js';
import type { MqttMetrics } from './metrics.js';
import { OutboundQueue, type OutboundMessage, type Qos } from './queue.js';
import { SignalState, type SignalName } from './signals.js';
import { defaultTopicPrefix, siteOf, topicLayout, topicMatches, type TopicLayout } from './topics.js';

/** The clock the publisher's own timers run on; tests pass a manual one. */
export interface PublisherTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

const REAL_TIMERS: PublisherTimers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (h) => clearInterval(h as NodeJS.Timeout),
};

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

interface DeviceTrack {
  /** The state last queued or sent: change detection compares against it, so a slow drift adds up. */
  state?: DeviceSnapshot;
  assessment?: DeviceAssessment;
  /** Whether the assessment was read before: the first reading of one is no change to report. */
  assessed?: boolean;
  lastSentAt: number;
  discovery?: string;
}

interface InFlight {
  message: OutboundMessage;
}

const STATE_KEY = 'state:';

/**
 * Publishes the store to an MQTT broker and reads signals from it. It owns one connection at a time
 * (a fresh client per attempt, with bounded exponential backoff between attempts) and a bounded
 * queue in front of it, so nothing waits inside mqtt.js where it could not be bounded or counted.
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
  readonly #tracks = new Map<string, DeviceTrack>();
  /** Devices to (re)publish from the store as they are when sent: after a connect, and heartbeats. */
  readonly #due = new Set<string>();
  /** Messages rendered from the backlog that must go out together (discovery configs before their state). */
  readonly #pending: OutboundMessage[] = [];
  #siteDue = false;
  readonly #inFlight = new Set<InFlight>();
  readonly #maxInFlight: number;
  #client: MqttClient | undefined;
  #connected = false;
  #stopping = false;
  #started = false;
  #failures = 0;
  #disconnectedSince: number | undefined;
  #reconnectTimer: unknown;
  #heartbeatTimer: unknown;
  #siteTimer: unknown;
  readonly #unsubscribe: (() => void)[] = [];

  constructor(opts: MqttPublisherOptions) {
    super();
    this.#opts = opts;
    this.#config = opts.config;
    this.#timers = opts.timers ?? REAL_TIMERS;
    this.#maxInFlight = opts.maxInFlight ?? 64;
    this.site = siteOf(opts.labels);
    this.topics = topicLayout(opts.config.topic_prefix ?? defaultTopicPrefix(this.site), opts.config.signals);
    this.signals = opts.signals ?? new SignalState();
    this.#metrics = opts.metrics;
    this.#queue = new OutboundQueue({ maxMessages: opts.config.queue.max_messages, maxBytes: opts.config.queue.max_bytes }, (dropped) => {
      this.#metrics.countDropped(dropped.kind);
      opts.logger.debug({ topic: dropped.topic, kind: dropped.kind }, 'MQTT queue full; message dropped');
    });
  }

  get connected(): boolean {
    return this.#connected;
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
    const clientOptions = this.#clientOptions();
    this.#started = true;
    this.#metrics.source = { connected: () => this.#connected, queueMessages: () => this.#queue.size, queueBytes: () => this.#queue.bytes };
    this.#unsubscribe.push(this.#opts.store.onChange((change) => this.#onStoreChange(change)));
    if (this.#opts.economics) this.#unsubscribe.push(this.#opts.economics.onChange((ids) => this.#onAssessments(ids)));
    const heartbeat = this.#config.heartbeat;
    // Checked four times per heartbeat, so a device is republished at most 1.25 heartbeats after its last message.
    this.#heartbeatTimer = this.#timers.setInterval(() => this.#heartbeat(), Math.max(250, Math.floor(heartbeat / 4)));
    this.#connect(clientOptions);
  }

  /** Sends what waits (briefly), publishes `offline`, disconnects; bounded by stopBudgetMs. */
  async stop(): Promise<void> {
    if (!this.#started || this.#stopping) return;
    this.#stopping = true;
    const deadline = Date.now() + (this.#opts.stopBudgetMs ?? 2000);
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#timers.clearInterval(this.#heartbeatTimer);
    this.#timers.clearTimeout(this.#reconnectTimer);
    this.#timers.clearTimeout(this.#siteTimer);
    const client = this.#client;
    if (client === undefined) return;
    if (this.#connected) {
      await this.#waitIdle(deadline - Date.now() - 800);
      await withTimeout(
        new Promise<void>((resolve) => client.publish(this.topics.status, 'offline', { qos: 1, retain: true }, () => resolve())),
        deadline - Date.now() - 300,
      );
      this.#metrics.countPublished('status');
      await withTimeout(client.endAsync(), deadline - Date.now());
    }
    this.#connected = false;
    client.end(true);
    this.#client = undefined;
    this.#opts.logger.info({ broker: redactUrl(this.#config.url), unsent: this.#queue.size }, 'MQTT publisher stopped');
  }

  #clientOptions(): IClientOptions {
    const c = this.#config;
    const password = c.password_file !== undefined ? readFileSync(c.password_file, 'utf8').replace(/\r?\n$/, '') : c.password;
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
        ...(tls.ca !== undefined && { ca: readFileSync(tls.ca) }),
        ...(tls.cert !== undefined && { cert: readFileSync(tls.cert) }),
        ...(tls.key !== undefined && { key: readFileSync(tls.key) }),
        rejectUnauthorized: tls.reject_unauthorized,
        ...(tls.servername !== undefined && { servername: tls.servername }),
      }),
      will: { topic: this.topics.status, payload: Buffer.from('offline'), qos: 1, retain: true },
    };
  }

  #connect(options: IClientOptions): void {
    const client = mqtt.connect(this.#config.url, options);
    this.#client = client;
    let closed = false;
    client.on('connect', () => {
      if (this.#client === client && !this.#stopping) this.#onConnected(client);
    });
    client.on('message', (topic, payload) => this.#onMessage(topic, payload));
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
    this.#connected = true;
    this.#metrics.countConnect();
    this.#opts.logger.info(
      { broker: redactUrl(this.#config.url), waiting: this.#queue.size, ...(this.#disconnectedSince !== undefined && { outage_s: Math.round((Date.now() - this.#disconnectedSince) / 1000) }) },
      'MQTT connected',
    );
    this.#failures = 0;
    this.#disconnectedSince = undefined;
    client.publish(this.topics.status, 'online', { qos: 1, retain: true }, (err) => {
      if (!err) this.#metrics.countPublished('status');
    });
    const signals = this.#config.signals;
    if (signals.enabled) {
      client.subscribe({ [this.topics.demandResponse]: { qos: 1 }, [this.topics.powerPrice]: { qos: 1 } }, (err) => {
        if (err) this.#opts.logger.warn({ err: { message: err.message } }, 'MQTT: cannot subscribe to the signal topics');
      });
    }
    // The broker may have lost its retained messages (restart without persistence): everything is republished.
    for (const id of this.#storeIds()) this.#due.add(id);
    this.#siteDue = true;
    this.emit('connect');
    this.#pump();
  }

  #onClosed(client: MqttClient, options: IClientOptions): void {
    const wasConnected = this.#connected;
    this.#connected = false;
    this.#disconnectedSince ??= Date.now();
    // What the broker did not acknowledge goes back to the front of the queue, in order; QoS 1 may deliver it twice.
    const unacked = [...this.#inFlight].reverse();
    this.#inFlight.clear();
    for (const { message } of unacked) this.#queue.requeue(message);
    client.end(true);
    if (wasConnected) {
      this.#opts.logger.warn({ broker: redactUrl(this.#config.url), requeued: unacked.length }, 'MQTT connection lost; queueing until it is back');
      this.emit('disconnect');
    }
    const { initial, max } = this.#config.reconnect;
    const delay = Math.min(max, initial * 2 ** Math.min(this.#failures, 30));
    this.#failures++;
    // Up to 10% jitter, so a fleet of agents behind one broker does not reconnect in lockstep.
    this.#reconnectTimer = this.#timers.setTimeout(() => {
      if (!this.#stopping) this.#connect(options);
    }, delay * (1 + Math.random() * 0.1));
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
    else this.#opts.logger.warn({ signal: name, topic, error: result.error, payload: payload.subarray(0, 200).toString('utf8') }, 'invalid signal message ignored');
    this.emit('signal', name, result.ok, result.ok ? undefined : result.error);
  }

  #storeIds(): Iterable<string> {
    const ids: string[] = [];
    for (const entry of this.#opts.store.entries()) ids.push(entry.snapshot.id);
    return ids;
  }

  #onStoreChange(change: DeviceChange): void {
    const snapshot = change.device.snapshot;
    const id = snapshot.id;
    if (change.type === 'remove') {
      this.#tracks.delete(id);
      this.#due.delete(id);
      this.#event({ type: 'device_removed', device: id, at: new Date(this.#timers.now()).toISOString(), reason: change.reason });
      // An empty retained payload deletes the retained message, so a vanished device does not linger on the broker.
      if (this.#config.retain) this.#enqueue({ topic: this.topics.deviceState(id), payload: '', qos: this.#config.qos, retain: true, kind: 'state', key: STATE_KEY + id });
      if (this.#config.home_assistant.enabled) {
        for (const sensor of sensorsFor(snapshot.kind)) {
          const topic = discoveryTopic(this.#config.home_assistant.discovery_prefix, this.site, id, sensor);
          this.#enqueue({ topic, payload: '', qos: 1, retain: true, kind: 'discovery', key: `discovery:${topic}` });
        }
      }
      this.#scheduleSite();
      return;
    }
    for (const event of readingEvents(change.previous?.snapshot, snapshot)) this.#event(event);
    const track = this.#track(id);
    this.#queueDiscovery(snapshot, track);
    const assessmentChanged = this.#refreshAssessment(id, track);
    if (meaningfulChange(track.state, snapshot, this.#config.deadband_ratio) || assessmentChanged) {
      this.#enqueue(this.#stateMessage(snapshot, track));
      this.#scheduleSite();
    }
  }

  #onAssessments(ids: readonly string[] | undefined): void {
    const targets = ids ?? [...this.#storeIds()];
    for (const id of targets) {
      const snapshot = this.#opts.store.get(id);
      if (snapshot === undefined) continue;
      const track = this.#track(id);
      if (this.#refreshAssessment(id, track)) this.#enqueue(this.#stateMessage(snapshot, track));
    }
    this.#scheduleSite();
  }

  /** Reads the device's assessment; true when it changed what subscribers act on (and then emits the event). */
  #refreshAssessment(id: string, track: DeviceTrack): boolean {
    const economics = this.#opts.economics;
    if (!economics) return false;
    const next = economics.assessment(id);
    const changed = track.assessed === true && meaningfulAssessmentChange(track.assessment, next);
    if (track.assessed) {
      const event = recommendationEvent(id, track.assessment, next, new Date(this.#timers.now()));
      if (event) this.#event(event);
    }
    track.assessment = next;
    track.assessed = true;
    return changed;
  }

  #track(id: string): DeviceTrack {
    let track = this.#tracks.get(id);
    if (!track) {
      track = { lastSentAt: this.#timers.now() };
      this.#tracks.set(id, track);
    }
    return track;
  }

  #stateMessage(snapshot: DeviceSnapshot, track: DeviceTrack): OutboundMessage {
    track.state = snapshot;
    const assessment = this.#opts.economics?.assessment(snapshot.id);
    const state: PublishedState = assessment === undefined ? snapshot : { ...snapshot, assessment };
    return { topic: this.topics.deviceState(snapshot.id), payload: JSON.stringify(state), qos: this.#config.qos, retain: this.#config.retain, kind: 'state', key: STATE_KEY + snapshot.id };
  }

  #queueDiscovery(snapshot: DeviceSnapshot, track: DeviceTrack): void {
    if (!this.#config.home_assistant.enabled) return;
    const signature = discoverySignature(snapshot);
    if (track.discovery === signature) return;
    track.discovery = signature;
    for (const message of this.#discoveryMessages(snapshot)) this.#enqueue(message);
  }

  #discoveryMessages(snapshot: DeviceSnapshot): OutboundMessage[] {
    return homeAssistantDiscovery(snapshot, {
      discoveryPrefix: this.#config.home_assistant.discovery_prefix,
      site: this.site,
      stateTopic: this.topics.deviceState(snapshot.id),
      statusTopic: this.topics.status,
      ...(this.#opts.version !== undefined && { version: this.#opts.version }),
    }).map(({ topic, config }) => ({ topic, payload: JSON.stringify(config), qos: 1, retain: true, kind: 'discovery', key: `discovery:${topic}` }));
  }

  #event(event: DeviceEvent): void {
    this.#enqueue({ topic: this.topics.events, payload: JSON.stringify(event), qos: this.#config.qos, retain: false, kind: 'event' });
  }

  #enqueue(message: OutboundMessage): void {
    if (this.#stopping) return;
    this.#queue.push(message);
    this.#pump();
  }

  #siteMessage(): OutboundMessage {
    const totals = siteTotals(this.site, this.#opts.store.values(), this.#opts.economics?.sitePlan(), new Date(this.#timers.now()));
    return { topic: this.topics.site, payload: JSON.stringify(totals), qos: this.#config.qos, retain: this.#config.retain, kind: 'site', key: 'site' };
  }

  #scheduleSite(): void {
    if (this.#siteTimer !== undefined || this.#stopping) return;
    this.#siteTimer = this.#timers.setTimeout(() => {
      this.#siteTimer = undefined;
      this.#enqueue(this.#siteMessage());
    }, this.#opts.siteIntervalMs ?? 1000);
  }

  #heartbeat(): void {
    if (!this.#connected) return; // reconnecting republishes everything anyway
    const cutoff = this.#timers.now() - this.#config.heartbeat;
    let any = false;
    for (const [id, track] of this.#tracks) {
      if (track.lastSentAt <= cutoff && !this.#queue.hasKey(STATE_KEY + id)) {
        this.#due.add(id);
        any = true;
      }
    }
    if (any) {
      this.#siteDue = true;
      this.#pump();
    }
  }

  /** The next message from the queue, else from the republish backlog (rendered from the store as it is now). */
  #next(): OutboundMessage | undefined {
    const queued = this.#queue.shift();
    if (queued) {
      if (queued.kind === 'state' && queued.key !== undefined) this.#due.delete(queued.key.slice(STATE_KEY.length));
      return queued;
    }
    const pending = this.#pending.shift();
    if (pending) return pending;
    for (const id of this.#due) {
      this.#due.delete(id);
      const snapshot = this.#opts.store.get(id);
      if (snapshot === undefined) continue;
      const track = this.#track(id);
      this.#refreshAssessment(id, track);
      if (!this.#config.home_assistant.enabled) return this.#stateMessage(snapshot, track);
      // Discovery configs go first, so Home Assistant knows the entities before their state arrives.
      track.discovery = discoverySignature(snapshot);
      this.#pending.push(...this.#discoveryMessages(snapshot), this.#stateMessage(snapshot, track));
      return this.#pending.shift();
    }
    if (this.#siteDue) {
      this.#siteDue = false;
      return this.#siteMessage();
    }
    return undefined;
  }

  #pump(): void {
    const client = this.#client;
    while (this.#connected && client && this.#inFlight.size < this.#maxInFlight) {
      const message = this.#next();
      if (!message) break;
      this.#send(client, message);
    }
    if (this.#connected && this.#inFlight.size === 0 && this.#queue.size === 0 && this.#pending.length === 0 && this.#due.size === 0 && !this.#siteDue) this.emit('idle');
  }

  #send(client: MqttClient, message: OutboundMessage): void {
    const entry: InFlight = { message };
    this.#inFlight.add(entry);
    if (message.kind === 'state' && message.key !== undefined) {
      const track = this.#tracks.get(message.key.slice(STATE_KEY.length));
      if (track) track.lastSentAt = this.#timers.now();
    }
    client.publish(message.topic, message.payload, { qos: message.qos as Qos, retain: message.retain }, (err) => {
      // Already requeued by the close handler: a late callback from the old connection changes nothing.
      if (!this.#inFlight.delete(entry)) return;
      if (err) this.#queue.requeue(message);
      else this.#metrics.countPublished(message.kind);
      if (!err || this.#connected) this.#pump();
    });
  }

  async #waitIdle(ms: number): Promise<void> {
    if (ms <= 0 || (this.#inFlight.size === 0 && this.#queue.size === 0 && this.#pending.length === 0 && this.#due.size === 0)) return;
    await withTimeout(new Promise<void>((resolve) => this.once('idle', resolve)), ms);
  }
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  if (ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise.then(() => undefined, () => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** The broker URL without credentials, for logs. */
export function redactUrl(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  if (u.password) u.password = '<secret>';
  return u.toString();
}
