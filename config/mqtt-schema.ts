import { z } from 'zod';
import { durationSchema } from './duration.js';

/**
 * The `mqtt:` section: a broker that carries telemetry out of a farm behind NAT and demand-response /
 * power-price signals in. Files (TLS material, the password file) are read when the publisher starts,
 * so a rotated certificate is picked up by a reload.
 */

const BROKER_SCHEMES = ['mqtt:', 'mqtts:', 'tcp:', 'ssl:', 'tls:', 'ws:', 'wss:'];
const TLS_SCHEMES = ['mqtts:', 'ssl:', 'tls:', 'wss:'];

/** A topic we publish under: no wildcards, no NUL, no empty first or last level. */
const topicNameSchema = z
  .string()
  .min(1)
  .max(32_767)
  .refine((t) => !/[+#\u0000]/.test(t), { message: 'a topic to publish to may not contain "+", "#" or NUL' })
  .refine((t) => !t.startsWith('/') && !t.endsWith('/'), { message: 'no leading or trailing "/" (it makes an empty topic level)' });

/** A topic we subscribe to: wildcards only as whole levels ("+" anywhere, "#" last). */
const topicFilterSchema = z
  .string()
  .min(1)
  .max(32_767)
  .refine(
    (t) =>
      !t.includes('\u0000') && t.split('/').every((level, i, all) => (!level.includes('+') || level === '+') && (!level.includes('#') || (level === '#' && i === all.length - 1))),
    { message: 'wildcards must fill a whole level: "+" for one level, "#" only as the last level' },
  );

const qosSchema = z.union([z.literal(0), z.literal(1), z.literal(2)]);

const tlsSchema = z
  .strictObject({
    ca: z.string().min(1).optional().describe('PEM file of the CA that signed the broker certificate; omit to trust the system CAs.'),
    cert: z.string().min(1).optional().describe('PEM client certificate file, for brokers that require one (give key too).'),
    key: z.string().min(1).optional().describe('PEM private key file of the client certificate.'),
    reject_unauthorized: z.boolean().default(true).describe('Refuse a broker certificate that does not verify; turn off only for a lab broker.'),
    servername: z.string().min(1).optional().describe('Name to verify the broker certificate against (SNI), when it differs from the URL host.'),
  })
  .superRefine((tls, ctx) => {
    if ((tls.cert === undefined) !== (tls.key === undefined))
      ctx.addIssue({ code: 'custom', path: [tls.cert === undefined ? 'cert' : 'key'], message: 'a client certificate needs both cert and key' });
  })
  .describe('TLS for mqtts:// brokers. Paths are absolute or relative to the working directory.');

export const mqttSchema = z
  .strictObject({
    url: z
      .string()
      .refine((u) => URL.canParse(u) && BROKER_SCHEMES.includes(new URL(u).protocol) && new URL(u).hostname !== '', {
        message: 'expected a broker URL like mqtt://broker:1883 or mqtts://broker:8883 (also tcp, ssl, ws, wss)',
      })
      .describe('Broker URL: mqtt://HOST[:1883] or mqtts://HOST[:8883] (TLS).'),
    client_id: z.string().min(1).max(128).optional().describe('MQTT client id; default potencia-<hostname>. Two agents with one id knock each other off the broker.'),
    protocol_version: z
      .union([z.literal(4), z.literal(5)])
      .default(4)
      .describe('4 for MQTT 3.1.1, 5 for MQTT 5.'),
    username: z.string().min(1).optional().describe('Broker user name.'),
    password: z.string().optional().describe('Broker password; write "${file:/etc/potencia/mqtt-password}" rather than the secret itself.'),
    password_file: z.string().min(1).optional().describe('File holding the broker password (trailing newline ignored), read at start; instead of password.'),
    tls: tlsSchema.optional(),
    keepalive: durationSchema.prefault('30s').describe('MQTT keepalive: the broker sends the last will when it hears nothing for 1.5x this.'),
    connect_timeout: durationSchema.prefault('10s').describe('Give up one connection attempt after this long.'),
    reconnect: z
      .strictObject({
        initial: durationSchema.prefault('1s').describe('Wait before the first reconnection attempt; doubles after each failure.'),
        max: durationSchema.prefault('60s').describe('Longest wait between attempts.'),
      })
      .prefault({})
      .describe('Reconnection backoff.'),
    topic_prefix: topicNameSchema.optional().describe('Topics live under this prefix; default potencia/<site> (the "site" label, else "default").'),
    qos: qosSchema.default(1).describe('QoS of state, site and event messages (status and signals always use 1).'),
    retain: z.boolean().default(true).describe('Retain device state and site totals, so a new subscriber sees the farm at once. Status is always retained, events never.'),
    heartbeat: durationSchema.prefault('5m').describe('Republish a device whose state has not changed for this long, so subscribers can tell "unchanged" from "agent gone".'),
    deadband_ratio: z
      .number()
      .min(0)
      .max(1)
      .default(0.02)
      .describe('Hashrate or power must move by more than this share of the last published value to count as a change (0.02 = 2%).'),
    queue: z
      .strictObject({
        max_messages: z.number().int().min(1).max(10_000_000).default(20_000).describe('Messages that may wait while the broker is unreachable; the rest are dropped and counted.'),
        max_bytes: z
          .number()
          .int()
          .min(1024)
          .max(4 * 1024 * 1024 * 1024)
          .default(32 * 1024 * 1024)
          .describe('Bytes (topic plus payload) that may wait while the broker is unreachable.'),
      })
      .prefault({})
      .describe('The outage queue. Device state is coalesced: only the latest state per device waits.'),
    home_assistant: z
      .strictObject({
        enabled: z.boolean().default(false).describe('Publish Home Assistant MQTT discovery configs (hashrate, power, temperature, efficiency, recommendation per device).'),
        discovery_prefix: topicNameSchema.default('homeassistant').describe("Home Assistant's discovery prefix."),
      })
      .prefault({})
      .describe('Home Assistant MQTT discovery.'),
    signals: z
      .strictObject({
        enabled: z.boolean().default(true).describe('Subscribe to the signal topics.'),
        demand_response_topic: topicFilterSchema
          .optional()
          .describe('Demand-response requests, e.g. {"curtail": true, "target_kw": 300}; default <prefix>/signals/demand_response.'),
        power_price_topic: topicFilterSchema.optional().describe('Power price overrides, e.g. {"usd_per_kwh": 0.071}; default <prefix>/signals/power_price.'),
      })
      .prefault({})
      .describe('Signals in. The agent only records them (for economics); it never commands a miner because of one.'),
  })
  .superRefine((m, ctx) => {
    if (m.password !== undefined && m.password_file !== undefined) ctx.addIssue({ code: 'custom', path: ['password_file'], message: 'give password or password_file, not both' });
    if ((m.password !== undefined || m.password_file !== undefined) && m.username === undefined) {
      ctx.addIssue({ code: 'custom', path: ['username'], message: 'a password needs a username' });
    }
    if (m.tls !== undefined && URL.canParse(m.url) && !TLS_SCHEMES.includes(new URL(m.url).protocol)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'tls settings need a TLS URL (mqtts:// or wss://)' });
    }
    if (typeof m.reconnect.initial === 'number' && typeof m.reconnect.max === 'number' && m.reconnect.initial > m.reconnect.max) {
      ctx.addIssue({ code: 'custom', path: ['reconnect', 'initial'], message: 'must not exceed reconnect.max' });
    }
    if (typeof m.keepalive === 'number' && (m.keepalive < 1000 || m.keepalive > 65_535_000)) {
      ctx.addIssue({ code: 'custom', path: ['keepalive'], message: 'must be between 1s and 65535s (MQTT carries it in whole seconds)' });
    }
  })
  .describe('MQTT: telemetry out (status, device state, events, site totals, Home Assistant discovery) and signals in.');

export type MqttConfigInput = z.input<typeof mqttSchema>;
export type MqttConfig = z.output<typeof mqttSchema>;
