import type { DeviceChange, DeviceChangeListener, DeviceRemovalReason, DeviceStoreView, StoredDevice } from './contracts/part.js';
import type { DeviceSnapshot } from './snapshot.js';

export interface DeviceStoreOptions {
  /** Where a listener's exception goes; a faulty consumer must not stop the store from recording readings. */
  onListenerError?: (err: unknown, change: DeviceChange) => void;
}

/**
 * Latest snapshot per device id. Every operation is O(1) per device touched, except `expire` and
 * `removeTarget`, which scan once (they run once per interval, not per reading).
 */
export class DeviceStore implements DeviceStoreView {
  readonly #devices = new Map<string, StoredDevice>();
  readonly #listeners = new Set<DeviceChangeListener>();
  readonly #onListenerError: (err: unknown, change: DeviceChange) => void;
  #sequence = 0;

  constructor(options: DeviceStoreOptions = {}) {
    this.#onListenerError = options.onListenerError ?? ((err) => process.emitWarning(`DeviceStore change listener threw: ${err instanceof Error ? err.message : String(err)}`));
  }

  get size(): number {
    return this.#devices.size;
  }

  /**
   * Bumped on every change (upsert or removal), so a consumer can tell in O(1) that nothing at all
   * changed since it last looked.
   */
  get generation(): number {
    return this.#sequence;
  }

  /** Records a reading; throws on an `observed_at` that is not a date, since expiry would never remove it. */
  upsert(snapshot: DeviceSnapshot): StoredDevice {
    const observedAtMs = Date.parse(snapshot.observed_at);
    if (Number.isNaN(observedAtMs)) {
      throw new TypeError(`device ${snapshot.id}: observed_at "${snapshot.observed_at}" is not an ISO 8601 time`);
    }
    const previous = this.#devices.get(snapshot.id);
    if (previous) keepUnchangedStrings(snapshot, previous.snapshot);
    const device: StoredDevice = { snapshot, observedAtMs, version: ++this.#sequence };
    this.#devices.set(snapshot.id, device);
    if (this.#listeners.size > 0) this.#emit({ type: 'upsert', device, previous });
    return device;
  }

  get(id: string): DeviceSnapshot | undefined {
    return this.#devices.get(id)?.snapshot;
  }

  /** The stored entry with its version and numeric time, for consumers that cache per device. */
  entry(id: string): StoredDevice | undefined {
    return this.#devices.get(id);
  }

  has(id: string): boolean {
    return this.#devices.has(id);
  }

  /** Snapshots in first-seen order. */
  *values(): IterableIterator<DeviceSnapshot> {
    for (const device of this.#devices.values()) yield device.snapshot;
  }

  /** Entries in first-seen order. */
  entries(): IterableIterator<StoredDevice> {
    return this.#devices.values();
  }

  remove(id: string, reason: DeviceRemovalReason = 'removed'): boolean {
    const device = this.#devices.get(id);
    if (!device) return false;
    this.#delete(device, reason);
    return true;
  }

  /** Drops every device read from a target that left the config; returns their ids. */
  removeTarget(targetUrl: string): string[] {
    const removed: StoredDevice[] = [];
    for (const device of this.#devices.values()) {
      if (device.snapshot.target === targetUrl) removed.push(device);
    }
    for (const device of removed) this.#delete(device, 'target_removed');
    return removed.map((d) => d.snapshot.id);
  }

  /**
   * Drops devices whose latest reading is older than `maxAgeMs` at `nowMs`, so their series vanish
   * instead of freezing at the last value; returns their ids.
   */
  expire(nowMs: number, maxAgeMs: number): string[] {
    const cutoff = nowMs - maxAgeMs;
    const expired: StoredDevice[] = [];
    for (const device of this.#devices.values()) {
      if (device.observedAtMs < cutoff) expired.push(device);
    }
    for (const device of expired) this.#delete(device, 'expired');
    return expired.map((d) => d.snapshot.id);
  }

  /** Calls `listener` after every change; returns the function that unsubscribes it. */
  onChange(listener: DeviceChangeListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  #delete(device: StoredDevice, reason: DeviceRemovalReason): void {
    this.#devices.delete(device.snapshot.id);
    this.#sequence++;
    if (this.#listeners.size > 0) this.#emit({ type: 'remove', device, reason });
  }

  #emit(change: DeviceChange): void {
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.#onListenerError(err, change);
      }
    }
  }
}

/**
 * Points `snapshot`'s text readings that equal the previous reading's at the previous copies. Most polls
 * repeat the firmware, model, pool URLs and users as fresh strings; a stored reading holding them would
 * carry them into the old generation on every poll (about a seventh of what a poll leaves behind),
 * where the old copies already are. Equal strings cannot be told apart, so nothing else changes.
 */
function keepUnchangedStrings(snapshot: DeviceSnapshot, previous: DeviceSnapshot): void {
  if (snapshot.vendor !== undefined && snapshot.vendor === previous.vendor) snapshot.vendor = previous.vendor;
  if (snapshot.model !== undefined && snapshot.model === previous.model) snapshot.model = previous.model;
  if (snapshot.firmware !== undefined && snapshot.firmware === previous.firmware) snapshot.firmware = previous.firmware;
  if (snapshot.serial !== undefined && snapshot.serial === previous.serial) snapshot.serial = previous.serial;
  if (snapshot.mac !== undefined && snapshot.mac === previous.mac) snapshot.mac = previous.mac;
  if (snapshot.error !== undefined && snapshot.error === previous.error) snapshot.error = previous.error;
  const pools = snapshot.pools;
  const before = previous.pools;
  if (pools === undefined || before === undefined) return;
  for (let i = 0; i < pools.length && i < before.length; i++) {
    const pool = pools[i]!;
    const was = before[i]!;
    if (pool.url === was.url) pool.url = was.url;
    if (pool.user !== undefined && pool.user === was.user) pool.user = was.user;
    if (pool.status !== undefined && pool.status === was.status) pool.status = was.status;
  }
}
