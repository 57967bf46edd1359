import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DeviceAssessment } from '../agent/economics/index.js';
import { configJsonSchema, parseConfig, ConfigError } from '../config/load.js';
import { mqttSchema } from '../config/mqtt-schema.js';
import { meaningfulChange, readingEvents, recommendationEvent, siteTotals } from '../exporters/mqtt/change.js';
import { homeAssistantDiscovery } from '../exporters/mqtt/home-assistant.js';
import { OutboundQueue, type OutboundMessage } from '../exporters/mqtt/queue.js';
import { SignalState } from '../exporters/mqtt/signals.js';
import { decodeTopicLevel, encodeTopicLevel, homeAssistantId, topicLayout, topicMatches } from '../exporters/mqtt/topics.js';
import { asicSnapshot } from './mqtt-support.js';

describe('topic layout', () => {
  it('percent-encodes device ids so "/" never splits a level and no wildcard is ever produced', () => {
    expect(encodeTopicLevel('asic/10.0.1.15')).toBe('asic%2F10.0.1.15');
    expect(encodeTopicLevel('GPU-5e6f7a8b-0000')).toBe('GPU-5e6f7a8b-0000');
    expect(encodeTopicLevel('aa:bb:cc:dd:ee:ff')).toBe('aa:bb:cc:dd:ee:ff');
    for (const id of ['asic/10.0.1.15', 'odd+id#with/%2F and\u0000nul', 'ünïcode/ok', '%%']) {
      const level = encodeTopicLevel(id);
      expect(level).not.toMatch(/[/+#\u0000]/);
      expect(decodeTopicLevel(level)).toBe(id);
    }
    const topics = topicLayout('potencia/farm-1');
    expect(topics.deviceState('asic/10.0.1.15')).toBe('potencia/farm-1/devices/asic%2F10.0.1.15/state');
    expect([topics.status, topics.events, topics.site, topics.demandResponse, topics.powerPrice]).toEqual([
      'potencia/farm-1/status',
      'potencia/farm-1/events',
      'potencia/farm-1/site',
      'potencia/farm-1/signals/demand_response',
      'potencia/farm-1/signals/power_price',
    ]);
  });

  it('makes Home Assistant ids from [a-zA-Z0-9_-] only', () => {
    expect(homeAssistantId('asic/10.0.1.15')).toBe('asic_10_0_1_15');
    expect(homeAssistantId('farm-1')).toBe('farm-1');
  });

  it('matches topic filters like a broker', () => {
    expect(topicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(topicMatches('a/#', 'a/b/c')).toBe(true);
    expect(topicMatches('a/+', 'a/b/c')).toBe(false);
    expect(topicMatches('a/b', 'a/b')).toBe(true);
    expect(topicMatches('a/b/c', 'a/b')).toBe(false);
  });
});

describe('outbound queue', () => {
  const msg = (topic: string, payload: string, key?: string): OutboundMessage => ({ topic, payload, qos: 1, retain: !!key, kind: key ? 'state' : 'event', ...(key && { key }) });

  it('coalesces keyed messages in place and keeps order', () => {
    const q = new OutboundQueue({ maxMessages: 10, maxBytes: 10_000 });
    q.push(msg('s/a', '1', 'a'));
    q.push(msg('e', 'x'));
    q.push(msg('s/a', '2', 'a'));
    q.push(msg('s/a', '3', 'a'));
    expect(q.size).toBe(2);
    expect(q.bytes).toBe('s/a'.length + 1 + 'e'.length + 1);
    expect(q.shift()!.payload).toBe('3');
    expect(q.shift()!.payload).toBe('x');
    expect(q.shift()).toBeUndefined();
    expect(q.bytes).toBe(0);
  });

  it('refuses what does not fit by count or bytes, counts it, and loses nothing below the bound', () => {
    const dropped: string[] = [];
    const q = new OutboundQueue({ maxMessages: 3, maxBytes: 40 }, (m) => dropped.push(m.payload));
    for (let i = 0; i < 5; i++) q.push(msg('e', `m${i}`));
    expect(dropped).toEqual(['m3', 'm4']);
    expect([q.shift(), q.shift(), q.shift()].map((m) => m!.payload)).toEqual(['m0', 'm1', 'm2']);
    q.push(msg('t', 'x'.repeat(38)));
    q.push(msg('t', 'y'.repeat(2)));
    expect(dropped).toEqual(['m3', 'm4', 'yy']);
    // A coalesced replacement that would burst the byte bound is refused and the older state kept.
    const r = new OutboundQueue({ maxMessages: 3, maxBytes: 20 }, (m) => dropped.push(m.payload));
    r.push(msg('k', 'small', 'k'));
    r.push(msg('k', 'x'.repeat(30), 'k'));
    expect(r.shift()!.payload).toBe('small');
  });

  it('puts back an unacknowledged message at the front unless a newer one with its key waits', () => {
    const q = new OutboundQueue({ maxMessages: 2, maxBytes: 1000 });
    q.push(msg('e', 'b'));
    q.push(msg('e', 'c'));
    q.requeue(msg('e', 'a'));
    expect(q.size).toBe(3);
    q.push(msg('s', 'new', 's'));
    expect(q.size).toBe(3);
    const r = new OutboundQueue({ maxMessages: 5, maxBytes: 1000 });
    r.push(msg('s', 'new', 's'));
    r.requeue(msg('s', 'old', 's'));
    expect([r.shift()?.payload, r.shift()]).toEqual(['new', undefined]);
    expect([q.shift(), q.shift(), q.shift()].map((m) => m!.payload)).toEqual(['a', 'b', 'c']);
  });
});

describe('change detection and events', () => {
  const base = asicSnapshot('asic/10.0.1.15');

  it('ignores observed_at and moves inside the deadband, sees the rest', () => {
    expect(meaningfulChange(undefined, base, 0.02)).toBe(true);
    expect(meaningfulChange(base, { ...base, observed_at: '2030-01-01T00:00:00Z' }, 0.02)).toBe(false);
    expect(meaningfulChange(base, { ...base, hashrate_hs: base.hashrate_hs! * 1.019, power_w: 3300 }, 0.02)).toBe(false);
    expect(meaningfulChange(base, { ...base, hashrate_hs: base.hashrate_hs! * 1.03 }, 0.02)).toBe(true);
    expect(meaningfulChange(base, { ...base, power_w: 3000 }, 0.02)).toBe(true);
    expect(meaningfulChange(base, { ...base, up: false, error: 'connection refused', error_reason: 'refused' }, 0.02)).toBe(true);
    expect(meaningfulChange(base, { ...base, hashrate_hs: undefined }, 0.02)).toBe(true);
    expect(meaningfulChange(base, { ...base, temperatures_c: { chip_max: 79 } }, 0.02)).toBe(false);
    expect(meaningfulChange(base, { ...base, temperatures_c: { chip_max: 85 } }, 0.02)).toBe(true);
  });

  it('reports down, up, alert changes and a device first seen down', () => {
    const down = { ...base, up: false, error: 'connection refused', error_reason: 'refused' as const };
    expect(readingEvents(base, down)).toEqual([{ type: 'device_down', device: base.id, at: down.observed_at, error: 'connection refused', error_reason: 'refused' }]);
    expect(readingEvents(undefined, down)).toHaveLength(1);
    expect(readingEvents(undefined, base)).toEqual([]);
    expect(readingEvents(down, base)).toEqual([{ type: 'device_up', device: base.id, at: base.observed_at }]);
    expect(readingEvents(base, base)).toEqual([]);
    const degraded = { ...base, error: 'board 2 missing' };
    expect(readingEvents(base, degraded)).toEqual([{ type: 'alert_changed', device: base.id, at: degraded.observed_at, alert: 'board 2 missing' }]);
    expect(readingEvents(degraded, base)).toEqual([{ type: 'alert_changed', device: base.id, at: base.observed_at, previous: 'board 2 missing' }]);
  });

  it('reports a recommendation change with its reason', () => {
    const a = { recommendation: 'mine', reason: 'margin $3.10/day' } as DeviceAssessment;
    const b = { recommendation: 'curtail', reason: 'loses $0.40/day at $0.09/kWh' } as DeviceAssessment;
    const at = new Date('2025-07-01T12:00:00Z');
    expect(recommendationEvent('x', a, a, at)).toBeUndefined();
    expect(recommendationEvent('x', a, b, at)).toEqual({
      type: 'recommendation_changed',
      device: 'x',
      at: at.toISOString(),
      recommendation: 'curtail',
      previous: 'mine',
      reason: b.reason,
    });
  });

  it('sums site totals over devices that are up', () => {
    const pdu = { ...base, id: 'pdu-1', kind: 'pdu' as const, hashrate_hs: undefined, power_w: 6250 };
    const totals = siteTotals('farm-1', [base, { ...base, id: 'b', hashrate_hs: 90e12, power_w: 3000 }, { ...base, id: 'c', up: false }, pdu], undefined, new Date(0));
    // The PDU metering both miners is not added to their draw.
    expect(totals).toEqual({ site: 'farm-1', at: new Date(0).toISOString(), devices: 4, up: 3, hashrate_hs: 200e12, power_w: 6250 });
  });
});

describe('signals', () => {
  it('accepts valid demand-response and price messages, refuses bad ones without changing anything', () => {
    const signals = new SignalState();
    const seen: unknown[] = [];
    signals.onChange((s) => seen.push(s));
    const at = new Date('2025-07-01T12:00:00Z');
    expect(signals.accept('demand_response', '{"curtail": true, "target_kw": 300, "event_id": "ercot-42"}', 't/dr', at)).toEqual({ ok: true, cleared: false });
    expect(signals.accept('power_price', Buffer.from('{"usd_per_kwh": -0.012}'), 't/pp', at)).toEqual({ ok: true, cleared: false });
    for (const bad of ['not json', '{"curtail": "yes"}', '{"curtail": true, "target_kw": -5}', '[]', '{"curtail": true, "until": "tomorrow"}']) {
      const result = signals.accept('demand_response', bad, 't/dr', at);
      expect(result.ok, bad).toBe(false);
    }
    expect(signals.accept('power_price', '{"price": 1}', 't/pp', at)).toMatchObject({ ok: false, error: expect.stringContaining('usd_per_kwh') });
    expect(signals.current(at.getTime())).toEqual({
      demand_response: { curtail: true, target_kw: 300, received_at: at.toISOString(), topic: 't/dr' },
      power_price: { usd_per_kwh: -0.012, received_at: at.toISOString(), topic: 't/pp' },
    });
    expect(seen).toHaveLength(2);
    expect(signals.accept('power_price', '', 't/pp', at)).toEqual({ ok: true, cleared: true });
    expect(signals.current(at.getTime()).power_price).toBeUndefined();
  });

  it('leaves out a signal whose `until` has passed', () => {
    const signals = new SignalState();
    signals.accept('demand_response', '{"curtail": true, "until": "2025-07-01T18:00:00Z"}', 't', new Date('2025-07-01T12:00:00Z'));
    expect(signals.current(Date.parse('2025-07-01T17:59:59Z')).demand_response?.curtail).toBe(true);
    expect(signals.current(Date.parse('2025-07-01T18:00:00Z')).demand_response).toBeUndefined();
  });
});

describe('Home Assistant discovery', () => {
  it('publishes the discovery configs Home Assistant reads exactly as exporters/mqtt/testdata/ keeps them', async () => {
    const messages = homeAssistantDiscovery(asicSnapshot('asic/10.0.1.15', { serial: 'SN123' }), {
      discoveryPrefix: 'homeassistant',
      site: 'farm-1',
      stateTopic: 'potencia/farm-1/devices/asic%2F10.0.1.15/state',
      statusTopic: 'potencia/farm-1/status',
      version: '0.1.0',
    });
    const wire = messages.map((m) => ({ topic: m.topic, payload: m.config }));
    await expect(`${JSON.stringify(wire, null, 2)}\n`).toMatchFileSnapshot('../exporters/mqtt/testdata/home-assistant-asic.json');
  });

  it('describes an ASIC with five sensors, correct classes and units, reading the state topic', () => {
    const snapshot = asicSnapshot('asic/10.0.1.15', { serial: 'SN123' });
    const messages = homeAssistantDiscovery(snapshot, {
      discoveryPrefix: 'homeassistant',
      site: 'farm-1',
      stateTopic: 'potencia/farm-1/devices/asic%2F10.0.1.15/state',
      statusTopic: 'potencia/farm-1/status',
    });
    expect(messages.map((m) => m.topic)).toEqual(
      ['hashrate', 'power', 'temperature', 'efficiency', 'recommendation'].map((s) => `homeassistant/sensor/potencia_farm-1_asic_10_0_1_15/${s}/config`),
    );
    const by = Object.fromEntries(messages.map((m) => [m.sensor, m.config]));
    expect(by.power).toMatchObject({ device_class: 'power', unit_of_measurement: 'W', state_class: 'measurement', unique_id: 'potencia_farm-1_asic_10_0_1_15_power' });
    expect(by.temperature).toMatchObject({ device_class: 'temperature', unit_of_measurement: '°C' });
    expect(by.hashrate).toMatchObject({ unit_of_measurement: 'TH/s', state_class: 'measurement' });
    expect(by.hashrate!.device_class).toBeUndefined();
    expect(by.efficiency).toMatchObject({ unit_of_measurement: 'J/TH' });
    expect(by.recommendation).toMatchObject({ device_class: 'enum', options: ['mine', 'lease', 'curtail', 'replace', 'repair'] });
    expect(by.recommendation!.unit_of_measurement).toBeUndefined();
    for (const config of Object.values(by)) {
      expect(config.state_topic).toBe('potencia/farm-1/devices/asic%2F10.0.1.15/state');
      expect(config.device).toEqual({
        identifiers: ['potencia_farm-1_asic_10_0_1_15'],
        name: 'Antminer S19 Pro asic/10.0.1.15',
        manufacturer: 'Bitmain',
        model: 'Antminer S19 Pro',
        sw_version: '2021.07.20',
        serial_number: 'SN123',
        suggested_area: 'farm-1',
      });
      expect(config.availability).toContainEqual({ topic: 'potencia/farm-1/status', payload_available: 'online', payload_not_available: 'offline' });
    }
    // Each template reads a field the state JSON really has.
    expect(by.hashrate!.value_template).toContain('value_json.hashrate_hs');
    expect(by.power!.value_template).toContain('value_json.power_w');
    expect(by.temperature!.value_template).toContain('value_json.temperatures_c');
    expect(by.efficiency!.value_template).toContain('value_json.efficiency_j_per_th');
    expect(by.recommendation!.value_template).toContain('value_json.assessment.recommendation');
    expect(new Set(messages.map((m) => m.config.unique_id)).size).toBe(5);
  });

  it('gives a PDU only power', () => {
    const pdu = { ...asicSnapshot('pdu/10.0.9.1'), kind: 'pdu' as const };
    expect(homeAssistantDiscovery(pdu, { discoveryPrefix: 'ha', site: 's', stateTopic: 't', statusTopic: 'u' }).map((m) => m.sensor)).toEqual(['power']);
  });
});

describe('mqtt config', () => {
  it('fills defaults', () => {
    const c = mqttSchema.parse({ url: 'mqtt://broker:1883' });
    expect(c).toMatchObject({
      protocol_version: 4,
      qos: 1,
      retain: true,
      heartbeat: 300_000,
      keepalive: 30_000,
      reconnect: { initial: 1000, max: 60_000 },
      queue: { max_messages: 20_000, max_bytes: 32 * 1024 * 1024 },
      home_assistant: { enabled: false, discovery_prefix: 'homeassistant' },
      signals: { enabled: true },
    });
  });

  it('says what is wrong, with the path', () => {
    const problems = (input: unknown) => {
      const r = mqttSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(problems({ url: 'http://broker' })[0]).toMatch(/^url: expected a broker URL/);
    expect(problems({ url: 'mqtt://b', username: 'u', password: 'p', password_file: '/x' })).toContain('password_file: give password or password_file, not both');
    expect(problems({ url: 'mqtt://b', password: 'p' })).toContain('username: a password needs a username');
    expect(problems({ url: 'mqtt://b', tls: { ca: '/ca.pem' } })).toContain('tls: tls settings need a TLS URL (mqtts:// or wss://)');
    expect(problems({ url: 'mqtts://b', tls: { cert: '/c.pem' } })).toContain('tls.key: a client certificate needs both cert and key');
    expect(problems({ url: 'mqtt://b', topic_prefix: 'farm/+/x' })[0]).toMatch(/^topic_prefix: .*"\+", "#"/);
    expect(problems({ url: 'mqtt://b', signals: { power_price_topic: 'grid/price#' } })[0]).toMatch(/^signals.power_price_topic: wildcards/);
    expect(problems({ url: 'mqtt://b', protocol_version: 3 })[0]).toMatch(/^protocol_version/);
    expect(problems({ url: 'mqtt://b', qos: 1, bogus: true })[0]).toMatch(/bogus/);
    expect(problems({ url: 'mqtt://b', signals: { demand_response_topic: 'grid/+/dr' } })).toEqual([]);
  });

  it('is a section of the agent config, with the password from a secret file, and in the JSON Schema', () => {
    const dir = mkdtempSync(join(tmpdir(), 'potencia-mqtt-cfg-'));
    writeFileSync(join(dir, 'mqtt-password'), 's3cret\n');
    const text = 'labels: { site: farm-1 }\nmqtt:\n  url: mqtts://broker.example:8883\n  username: farm1\n  password: ${file:mqtt-password}\n  tls: { ca: /etc/ssl/ca.pem }\n';
    const config = parseConfig(text, 'test.yaml', { env: {}, baseDir: dir });
    expect(config.mqtt).toMatchObject({ url: 'mqtts://broker.example:8883', username: 'farm1', password: 's3cret', tls: { ca: '/etc/ssl/ca.pem', reject_unauthorized: true } });
    expect(() => parseConfig('mqtt:\n  url: mqtt://b\n  qos: 3\n', 'bad.yaml', { env: {}, baseDir: dir })).toThrow(ConfigError);
    expect(() => parseConfig('mqtt:\n  url: mqtt://b\n  qos: 3\n', 'bad.yaml', { env: {}, baseDir: dir })).toThrow(/mqtt\.qos: .*\(line 3\)/);
    const schema = configJsonSchema() as { properties: Record<string, { properties?: Record<string, unknown> }> };
    expect(Object.keys(schema.properties.mqtt!.properties!)).toEqual(expect.arrayContaining(['url', 'tls', 'queue', 'home_assistant', 'signals']));
  });
});
