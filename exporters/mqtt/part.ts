import type { ExporterPart } from '../../agent/contracts/exporter.js';
import type { AgentContext } from '../../agent/contracts/part.js';
import type { Config } from '../../config/schema.js';
import type { MqttConfig } from '../../config/mqtt-schema.js';
import type { EconomicsView } from './change.js';
import type { MqttPublisher } from './publisher.js';
import { MqttMetrics } from './metrics.js';
import { SignalState, type SignalSource } from './signals.js';
import { siteOf } from './topics.js';

/** What other parts share with the MQTT part; the economics wiring passes both. */
export interface MqttPartDeps {
  /** Where incoming signals land; share one with economics so it reads the curtailment target and price override. */
  signals?: SignalState;
  /** The assessments and site plan to publish. */
  economics?: EconomicsView;
}

/**
 * The agent part that runs the MQTT publisher. mqtt.js is loaded only when the part starts, so
 * commands without a broker never pay for it. A reload with a changed `mqtt:` section (or site)
 * reconnects with the new settings; the signals survive it.
 */
export class MqttPart implements ExporterPart {
  readonly name = 'mqtt';
  readonly signals: SignalSource;
  readonly #signals: SignalState;
  readonly #economics: EconomicsView | undefined;
  #config: MqttConfig | undefined;
  #site: string;
  #ctx: AgentContext | undefined;
  #publisher: MqttPublisher | undefined;
  readonly #metrics = new MqttMetrics();

  constructor(config: MqttConfig, labels: Readonly<Record<string, string>>, deps: MqttPartDeps = {}) {
    this.#config = config;
    this.#site = siteOf(labels);
    this.#signals = deps.signals ?? new SignalState();
    this.signals = this.#signals;
    this.#economics = deps.economics;
  }

  /** The running publisher (for tests and diagnostics); undefined while stopped. */
  get publisher(): MqttPublisher | undefined {
    return this.#publisher;
  }

  async start(ctx: AgentContext): Promise<void> {
    this.#ctx = ctx;
    for (const family of this.#metrics.families()) ctx.selfMetrics.add(family);
    await this.#startPublisher(ctx.config());
  }

  async applyConfig(next: Config): Promise<void> {
    if (JSON.stringify(next.mqtt) === JSON.stringify(this.#config) && siteOf(next.labels) === this.#site) return;
    await this.#publisher?.stop();
    this.#publisher = undefined;
    this.#config = next.mqtt;
    this.#site = siteOf(next.labels);
    if (!this.#ctx) return;
    if (!next.mqtt) {
      this.#ctx.logger.info('mqtt section removed from the config; MQTT publisher stopped');
      return;
    }
    try {
      await this.#startPublisher(next);
    } catch (err) {
      // A reload must not take the agent down: the new settings are reported and MQTT stays off until fixed.
      this.#ctx.logger.error({ err: { message: (err as Error).message } }, 'cannot start the MQTT publisher with the reloaded config');
    }
  }

  async stop(): Promise<void> {
    await this.#publisher?.stop();
    this.#publisher = undefined;
  }

  async #startPublisher(config: Config): Promise<void> {
    const ctx = this.#ctx!;
    const mqtt = config.mqtt ?? this.#config;
    if (!mqtt) return;
    const { MqttPublisher } = await import('./publisher.js');
    const publisher = new MqttPublisher({
      config: mqtt,
      labels: config.labels,
      store: ctx.store,
      metrics: this.#metrics,
      logger: ctx.logger.child({ part: 'mqtt' }),
      signals: this.#signals,
      ...(this.#economics && { economics: this.#economics }),
    });
    publisher.start();
    this.#publisher = publisher;
  }
}
