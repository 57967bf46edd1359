import type { SelfMetricFamily, SelfMetricSample } from '../../agent/contracts/part.js';
import { SIGNAL_NAMES, type SignalName } from './signals.js';
import { TOPIC_KINDS, type TopicKind } from './queue.js';

/** Live figures the gauges read at scrape time. */
export interface MqttGaugeSource {
  connected(): boolean;
  queueMessages(): number;
  queueBytes(): number;
}

const SIGNAL_RESULTS = ['accepted', 'rejected'] as const;

/**
 * The publisher's counts, as plain numbers the agent's exporter reads at scrape. Made once per MQTT
 * part: a publisher restarted by a config reload takes over the same counts.
 */
export class MqttMetrics {
  readonly #published = new Map<TopicKind, number>(TOPIC_KINDS.map((kind) => [kind, 0]));
  readonly #dropped = new Map<TopicKind, number>(TOPIC_KINDS.map((kind) => [kind, 0]));
  readonly #signals = new Map<string, number>();
  #connects = 0;
  source: MqttGaugeSource | undefined;

  countPublished(kind: TopicKind): void {
    this.#published.set(kind, (this.#published.get(kind) ?? 0) + 1);
  }

  countDropped(kind: TopicKind): void {
    this.#dropped.set(kind, (this.#dropped.get(kind) ?? 0) + 1);
  }

  countSignal(signal: SignalName, accepted: boolean): void {
    const key = `${signal}\u0000${accepted ? 'accepted' : 'rejected'}`;
    this.#signals.set(key, (this.#signals.get(key) ?? 0) + 1);
  }

  countConnect(): void {
    this.#connects++;
  }

  families(): SelfMetricFamily[] {
    const byKind = (counts: ReadonlyMap<TopicKind, number>) => () => [...counts].map(([topic_kind, value]) => ({ labels: { topic_kind }, value }));
    const gauge = (read: (source: MqttGaugeSource) => number) => (): SelfMetricSample[] => [{ value: this.source ? read(this.source) : 0 }];
    return [
      {
        name: 'potencia_mqtt_published_messages_total',
        help: 'MQTT messages the broker accepted (QoS 0: written to the socket), by topic kind (status, state, event, site, discovery).',
        type: 'counter',
        samples: byKind(this.#published),
      },
      {
        name: 'potencia_mqtt_dropped_messages_total',
        help: 'MQTT messages dropped because the outage queue was full (mqtt.queue.max_messages / max_bytes), by topic kind.',
        type: 'counter',
        samples: byKind(this.#dropped),
      },
      {
        name: 'potencia_mqtt_signal_messages_total',
        help: 'Signal messages received, by signal (demand_response, power_price) and result (accepted, rejected).',
        type: 'counter',
        samples: () =>
          SIGNAL_NAMES.flatMap((signal) => SIGNAL_RESULTS.map((result) => ({ labels: { signal, result }, value: this.#signals.get(`${signal}\u0000${result}`) ?? 0 }))),
      },
      {
        name: 'potencia_mqtt_connects_total',
        help: 'Successful connections to the MQTT broker (the first one and every reconnection).',
        type: 'counter',
        samples: () => [{ value: this.#connects }],
      },
      { name: 'potencia_mqtt_connected', help: '1 while connected to the MQTT broker, else 0.', type: 'gauge', samples: gauge((s) => (s.connected() ? 1 : 0)) },
      {
        name: 'potencia_mqtt_queue_messages',
        help: 'MQTT messages waiting to be sent (they pile up while the broker is unreachable).',
        type: 'gauge',
        samples: gauge((s) => s.queueMessages()),
      },
      { name: 'potencia_mqtt_queue_bytes', help: 'Bytes (topic plus payload) of the MQTT messages waiting to be sent.', type: 'gauge', samples: gauge((s) => s.queueBytes()) },
    ];
  }
}
