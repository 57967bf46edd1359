/** What a message is, for metrics and for telling which messages may replace each other. */
export type TopicKind = 'status' | 'state' | 'event' | 'site' | 'discovery';
export const TOPIC_KINDS: readonly TopicKind[] = ['status', 'state', 'event', 'site', 'discovery'];

export type Qos = 0 | 1 | 2;

export interface OutboundMessage {
  readonly topic: string;
  readonly payload: string;
  readonly qos: Qos;
  readonly retain: boolean;
  readonly kind: TopicKind;
  /**
   * Messages with the same key replace each other while they wait (a device's state, the site totals,
   * a discovery config): only the latest needs to reach the broker. Events have none.
   */
  readonly key?: string;
}

export interface QueueLimits {
  maxMessages: number;
  maxBytes: number;
}

interface Slot {
  message: OutboundMessage;
  bytes: number;
}

export function messageBytes(message: OutboundMessage): number {
  return Buffer.byteLength(message.topic) + Buffer.byteLength(message.payload);
}

/**
 * Messages waiting for the broker, oldest first, bounded by count and bytes. A keyed message replaces
 * the waiting one with its key in place (keeping its turn); a message that does not fit is refused and
 * handed to `onDrop`, so what waits is never silently lost and what overflows is always counted.
 */
export class OutboundQueue {
  /** A ring would save the occasional array compaction; an array with a head index is simpler and O(1) amortised. */
  #slots: (Slot | undefined)[] = [];
  #head = 0;
  #count = 0;
  #bytes = 0;
  readonly #byKey = new Map<string, Slot>();

  constructor(
    private readonly limits: QueueLimits,
    private readonly onDrop: (message: OutboundMessage) => void = () => {},
  ) {}

  get size(): number {
    return this.#count;
  }

  get bytes(): number {
    return this.#bytes;
  }

  hasKey(key: string): boolean {
    return this.#byKey.has(key);
  }

  /** Queues a message; false when it did not fit and was dropped. */
  push(message: OutboundMessage): boolean {
    const bytes = messageBytes(message);
    const waiting = message.key === undefined ? undefined : this.#byKey.get(message.key);
    if (waiting) {
      if (this.#bytes - waiting.bytes + bytes > this.limits.maxBytes) {
        this.onDrop(message);
        return false;
      }
      this.#bytes += bytes - waiting.bytes;
      waiting.message = message;
      waiting.bytes = bytes;
      return true;
    }
    if (this.#count + 1 > this.limits.maxMessages || this.#bytes + bytes > this.limits.maxBytes) {
      this.onDrop(message);
      return false;
    }
    this.#append(message, bytes);
    return true;
  }

  /**
   * Puts back a message that was handed out but not delivered (the connection dropped), at the front
   * so order holds. It was already accepted, so it is never refused here (the queue may go over its
   * bound by the messages that were in flight); it is discarded when a newer one with its key waits.
   */
  requeue(message: OutboundMessage): void {
    if (message.key !== undefined && this.#byKey.has(message.key)) return;
    const slot: Slot = { message, bytes: messageBytes(message) };
    if (this.#head > 0) this.#slots[--this.#head] = slot;
    else this.#slots.unshift(slot);
    this.#count++;
    this.#bytes += slot.bytes;
    if (message.key !== undefined) this.#byKey.set(message.key, slot);
  }

  shift(): OutboundMessage | undefined {
    while (this.#head < this.#slots.length) {
      const slot = this.#slots[this.#head];
      this.#slots[this.#head++] = undefined;
      if (slot === undefined) continue;
      this.#count--;
      this.#bytes -= slot.bytes;
      if (slot.message.key !== undefined) this.#byKey.delete(slot.message.key);
      this.#compact();
      return slot.message;
    }
    return undefined;
  }

  #append(message: OutboundMessage, bytes: number): void {
    const slot: Slot = { message, bytes };
    this.#slots.push(slot);
    this.#count++;
    this.#bytes += bytes;
    if (message.key !== undefined) this.#byKey.set(message.key, slot);
  }

  #compact(): void {
    if (this.#head === this.#slots.length) {
      this.#slots = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head);
      this.#head = 0;
    }
  }
}
