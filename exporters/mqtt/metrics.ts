import { Counter, Gauge, type Registry } from 'prom-client';
import { SIGNAL_NAMES, type SignalName } from './signals.js';
import { TOPIC_KINDS, type TopicKind } from './queue.js';

/** Live figures the gauges read at scrape time. */
export interface MqttGaugeSource {
  connected(): boolean;
  queueMessages(): number;
  queueBytes(): number;
}

/**
 * The publisher's series in the agent's registry. Built once per registry: a publisher restarted by a
 * config reload takes over the same series (prom-client refuses a second registration of a name).
 */
export class MqttMetrics {
  readonly published: Counter<'topic_kind'>;
  readonly dropped: Counter<'topic_kind'>;
  readonly signals: Counter<'signal' | 'result'>;
  readonly connects: Counter;
  source: MqttGaugeSource | undefined;

  private constructor(registry: Registry) {
    const registers = [registry];
    this.published = new Counter({
      name: 'potencia_mqtt_published_messages_total',
      help: 'MQTT messages the broker accepted (QoS 0: written to the socket), by topic kind (status, state, event, site, discovery).',
      labelNames: ['topic_kind'],
      registers,
    });
    this.dropped = new Counter({
      name: 'potencia_mqtt_dropped_messages_total',
      help: 'MQTT messages dropped because the outage queue was full (mqtt.queue.max_messages / max_bytes), by topic kind.',
      labelNames: ['topic_kind'],
      registers,
    });
    this.signals = new Counter({
      name: 'potencia_mqtt_signal_messages_total',
      help: 'Signal messages received, by signal (demand_response, power_price) and result (accepted, rejected).',
      labelNames: ['signal', 'result'],
      registers,
    });
    this.connects = new Counter({ name: 'potencia_mqtt_connects_total', help: 'Successful connections to the MQTT broker (the first one and every reconnection).', registers });
    const metrics = this;
    new Gauge({
      name: 'potencia_mqtt_connected',
      help: '1 while connected to the MQTT broker, else 0.',
      registers,
      collect() {
        this.set(metrics.source?.connected() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'potencia_mqtt_queue_messages',
      help: 'MQTT messages waiting to be sent (they pile up while the broker is unreachable).',
      registers,
      collect() {
        this.set(metrics.source?.queueMessages() ?? 0);
      },
    });
    new Gauge({
      name: 'potencia_mqtt_queue_bytes',
      help: 'Bytes (topic plus payload) of the MQTT messages waiting to be sent.',
      registers,
      collect() {
        this.set(metrics.source?.queueBytes() ?? 0);
      },
    });
    for (const topic_kind of TOPIC_KINDS) {
      this.published.inc({ topic_kind }, 0);
      this.dropped.inc({ topic_kind }, 0);
    }
    for (const signal of SIGNAL_NAMES) for (const result of ['accepted', 'rejected']) this.signals.inc({ signal, result }, 0);
  }

  static #byRegistry = new WeakMap<Registry, MqttMetrics>();

  static for(registry: Registry): MqttMetrics {
    let metrics = MqttMetrics.#byRegistry.get(registry);
    if (!metrics) {
      metrics = new MqttMetrics(registry);
      MqttMetrics.#byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  countPublished(kind: TopicKind): void {
    this.published.inc({ topic_kind: kind });
  }

  countDropped(kind: TopicKind): void {
    this.dropped.inc({ topic_kind: kind });
  }

  countSignal(signal: SignalName, accepted: boolean): void {
    this.signals.inc({ signal, result: accepted ? 'accepted' : 'rejected' });
  }
}
