import { z } from 'zod';

/**
 * Signals that come in over MQTT: demand-response requests and power-price overrides. They are
 * recorded and offered to the rest of the agent (economics reads the curtailment target and the price
 * override); nothing here ever commands a device.
 */

const isoTime = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 time with a zone, e.g. "2025-07-01T18:00:00Z"' });

/** Extra keys a utility or aggregator adds (event ids, program names) are ignored, not refused. */
export const demandResponseMessageSchema = z.object({
  curtail: z.boolean({ error: 'curtail must be true or false' }),
  target_kw: z.number().nonnegative().optional(),
  until: isoTime.optional(),
  reason: z.string().max(500).optional(),
});

export const powerPriceMessageSchema = z.object({
  /** Spot prices go negative; the sign is kept. */
  usd_per_kwh: z.number({ error: 'usd_per_kwh must be a number' }),
  until: isoTime.optional(),
});

export type DemandResponseMessage = z.output<typeof demandResponseMessageSchema>;
export type PowerPriceMessage = z.output<typeof powerPriceMessageSchema>;

interface Received {
  /** ISO 8601 time the agent accepted it. */
  received_at: string;
  topic: string;
}

export type DemandResponseSignal = DemandResponseMessage & Received;
export type PowerPriceSignal = PowerPriceMessage & Received;

export interface Signals {
  readonly demand_response?: DemandResponseSignal;
  readonly power_price?: PowerPriceSignal;
}

export type SignalName = keyof Signals;
export const SIGNAL_NAMES: readonly SignalName[] = ['demand_response', 'power_price'];

/** What the rest of the agent sees of the signals: the latest valid ones, and a change notification. */
export interface SignalSource {
  /** Latest valid signals; one whose `until` has passed at `nowMs` is left out. */
  current(nowMs?: number): Signals;
  /** Called after a signal is set or cleared; returns the unsubscribe function. */
  onChange(listener: (signals: Signals) => void): () => void;
}

export type SignalResult = { ok: true; cleared: boolean } | { ok: false; error: string };

const SCHEMAS = { demand_response: demandResponseMessageSchema, power_price: powerPriceMessageSchema } as const;

/** The latest valid signals. `accept` validates a raw message; a bad one changes nothing. */
export class SignalState implements SignalSource {
  #signals: { demand_response?: DemandResponseSignal; power_price?: PowerPriceSignal } = {};
  readonly #listeners = new Set<(signals: Signals) => void>();

  current(nowMs: number = Date.now()): Signals {
    const out: { demand_response?: DemandResponseSignal; power_price?: PowerPriceSignal } = {};
    for (const name of SIGNAL_NAMES) {
      const signal = this.#signals[name];
      if (signal && (signal.until === undefined || Date.parse(signal.until) > nowMs)) Object.assign(out, { [name]: signal });
    }
    return out;
  }

  onChange(listener: (signals: Signals) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Validates and records one message. An empty payload clears the signal (it is how a retained
   * message is deleted on a broker); anything that is not valid JSON of the right shape is refused
   * with the reason.
   */
  accept(name: SignalName, payload: Buffer | string, topic: string, at: Date = new Date()): SignalResult {
    const text = typeof payload === 'string' ? payload : payload.toString('utf8');
    if (text.trim() === '') {
      const had = this.#signals[name] !== undefined;
      delete this.#signals[name];
      if (had) this.#emit();
      return { ok: true, cleared: true };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      return { ok: false, error: `not JSON: ${(err as Error).message}` };
    }
    const parsed = SCHEMAS[name].safeParse(json);
    if (!parsed.success) {
      return { ok: false, error: parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`).join('; ') };
    }
    Object.assign(this.#signals, { [name]: { ...parsed.data, received_at: at.toISOString(), topic } });
    this.#emit();
    return { ok: true, cleared: false };
  }

  #emit(): void {
    const snapshot = this.current();
    for (const listener of this.#listeners) {
      try {
        listener(snapshot);
      } catch (err) {
        process.emitWarning(`signal listener threw: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
