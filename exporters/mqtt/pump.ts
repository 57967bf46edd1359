import type { MqttClient } from 'mqtt';
import type { MqttMetrics } from './metrics.js';
import type { OutboundMessage, OutboundQueue, Qos } from './queue.js';

/** Messages that are due but not queued, rendered only when the pump takes them (so they carry the store as it is then). */
export interface Backlog {
  next(): OutboundMessage | undefined;
  readonly empty: boolean;
  /** A message left the queue: the backlog drops whatever it would repeat. */
  taken(message: OutboundMessage): void;
  /** A message goes to the client now. */
  sending(message: OutboundMessage): void;
}

/** The connection as the pump sees it. */
export interface Link {
  readonly connected: boolean;
  readonly client: MqttClient | undefined;
}

interface InFlight {
  message: OutboundMessage;
}

/**
 * Moves messages from the queue, then the backlog, to the client, keeping at most `maxInFlight`
 * unacknowledged, so nothing waits inside mqtt.js where it could not be bounded or counted.
 */
export class Pump {
  readonly #queue: OutboundQueue;
  readonly #backlog: Backlog;
  readonly #link: Link;
  readonly #maxInFlight: number;
  readonly #metrics: MqttMetrics;
  readonly #onIdle: () => void;
  readonly #inFlight = new Set<InFlight>();

  constructor(queue: OutboundQueue, backlog: Backlog, link: Link, maxInFlight: number, metrics: MqttMetrics, onIdle: () => void) {
    this.#queue = queue;
    this.#backlog = backlog;
    this.#link = link;
    this.#maxInFlight = maxInFlight;
    this.#metrics = metrics;
    this.#onIdle = onIdle;
  }

  /** Nothing queued, due or in flight. */
  get idle(): boolean {
    return this.#inFlight.size === 0 && this.#queue.size === 0 && this.#backlog.empty;
  }

  push(message: OutboundMessage): void {
    this.#queue.push(message);
    this.run();
  }

  /** Sends while the link is up and there is room in flight; calls onIdle when everything has gone. */
  run(): void {
    const client = this.#link.client;
    while (this.#link.connected && client && this.#inFlight.size < this.#maxInFlight) {
      const message = this.#next();
      if (!message) break;
      this.#send(client, message);
    }
    if (this.#link.connected && this.idle) this.#onIdle();
  }

  /** After the connection dropped: what the broker did not acknowledge goes back to the front of the queue, in order (QoS 1 may deliver it twice). Returns how many. */
  requeueInFlight(): number {
    const unacked = [...this.#inFlight].reverse();
    this.#inFlight.clear();
    for (const { message } of unacked) this.#queue.requeue(message);
    return unacked.length;
  }

  #next(): OutboundMessage | undefined {
    const queued = this.#queue.shift();
    if (queued) {
      this.#backlog.taken(queued);
      return queued;
    }
    return this.#backlog.next();
  }

  #send(client: MqttClient, message: OutboundMessage): void {
    const entry: InFlight = { message };
    this.#inFlight.add(entry);
    this.#backlog.sending(message);
    client.publish(message.topic, message.payload, { qos: message.qos as Qos, retain: message.retain }, (err) => {
      // Already requeued when the connection dropped: a late callback from the old connection changes nothing.
      if (!this.#inFlight.delete(entry)) return;
      if (err) this.#queue.requeue(message);
      else this.#metrics.countPublished(message.kind);
      if (!err || this.#link.connected) this.run();
    });
  }
}
