import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { DeviceStore } from '../agent/state.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { DEVICE_FAMILIES } from '../exporters/prometheus/families.js';
import { DeviceMetricsRenderer } from '../exporters/prometheus/renderer.js';
import { TextBuffer } from '../exporters/prometheus/text-buffer.js';
import { escapeLabelValue, formatValue, sanitizeLabelName } from '../exporters/prometheus/text-format.js';
import { antminer, downWhatsminer } from './fixtures/prometheus/snapshots.js';
import { REPO_ROOT } from './helpers.js';

const GOLDEN = path.join(REPO_ROOT, 'exporters', 'prometheus', 'testdata', 'two-devices.prom');

function render(...snapshots: DeviceSnapshot[]): string {
  const store = new DeviceStore();
  for (const s of snapshots) store.upsert(s);
  return new DeviceMetricsRenderer(store).render();
}

function samples(text: string): string[] {
  return text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

describe('DeviceMetricsRenderer', () => {
  it('renders two devices exactly as the golden exposition file', () => {
    const text = render(antminer(), downWhatsminer());
    // Regenerate after an intended change with UPDATE_GOLDEN=1, then review the diff.
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, text);
    expect(text).toBe(readFileSync(GOLDEN, 'utf8'));
  });

  it('writes HELP and TYPE once per family, before its samples, and only for families with samples', () => {
    const text = render(antminer(), downWhatsminer(), antminer({ id: 'asic/10.0.1.16' }));
    const lines = text.split('\n').filter((l) => l !== '');
    const seenFamilies: string[] = [];
    let current = '';
    for (const line of lines) {
      const help = /^# HELP (\S+) /.exec(line);
      if (help) {
        expect(seenFamilies).not.toContain(help[1]);
        seenFamilies.push(help[1]!);
        current = help[1]!;
        continue;
      }
      if (line.startsWith('# TYPE ')) {
        expect(line.split(' ')[2]).toBe(current);
        continue;
      }
      expect(line.startsWith(`${current}{`), line).toBe(true);
    }
    // The down device alone reports no hashrate: a fleet of only down devices has no hashrate family at all.
    expect(render(downWhatsminer())).not.toContain('potencia_miner_hashrate_hashes_per_second');
    expect(seenFamilies).toContain('potencia_device_error');
  });

  it('gives every series the same operator label names, filling missing ones with ""', () => {
    const text = render(antminer(), downWhatsminer());
    for (const line of samples(text)) {
      expect(line, line).toMatch(/^[a-z_]+\{device="[^"]+",rack="[^"]*",room="(?:[^"\\]|\\.)*",site="dal1"[,}]/);
    }
    expect(text).toContain('potencia_device_up{device="asic/10.0.2.7",rack="",room="hall \\"A\\"",site="dal1"} 0');
  });

  it('escapes backslash, double quote and line feed in label values', () => {
    const text = render(
      antminer({
        id: 'asic\\odd"one',
        labels: { site: 'line1\nline2', rack: 'C:\\racks\\"r1"' },
        temperatures_c: { 'in"let\\\n': 20 },
      }),
    );
    expect(text).toContain('potencia_device_up{device="asic\\\\odd\\"one",rack="C:\\\\racks\\\\\\"r1\\"",site="line1\\nline2"} 1\n');
    expect(text).toContain(',sensor="in\\"let\\\\\\n"} 20\n');
    // No raw line feed inside a sample: every line is a comment or a complete sample.
    for (const line of samples(text)) expect(line).toMatch(/^[a-z_]+\{.*\} \S+$/);
  });

  it('labels each device with the algorithm its hashrate is in: its own, else sha256', () => {
    const kadena = antminer({ id: 'asic/10.0.3.1', vendor: 'Goldshell', model: 'Goldshell KD6', algorithm: 'blake2s' });
    const unnamed = antminer({ id: 'asic/10.0.3.2', vendor: 'Goldshell', model: 'Goldshell XX', algorithm: 'unknown' });
    const pdu = antminer({ id: 'pdu/10.0.9.1', kind: 'pdu', vendor: 'APC', model: 'AP8959' });
    const info = samples(render(antminer(), kadena, unnamed, pdu)).filter((l) => l.startsWith('potencia_device_info{'));
    // A PDU hashes nothing: its label is empty, so no join on algorithm picks it either way.
    expect(info.map((l) => /,algorithm="([^"]*)",/.exec(l)?.[1])).toEqual(['sha256', 'blake2s', 'unknown', '']);
    // An operator label may not shadow it, or a join on algorithm="sha256" would read the operator's value.
    expect(render(antminer({ labels: { algorithm: 'mine' } }))).toContain(',label_algorithm="mine"');
  });

  it('sanitizes operator label names and renames the ones the families use themselves', () => {
    const text = render(antminer({ labels: { 'rack-id': 'r1', '9th': 'x', sensor: 'mine', __meta: 'm' } }));
    expect(text).toContain('potencia_device_up{device="asic/10.0.1.15",_9th="x",label__meta="m",label_sensor="mine",rack_id="r1"} 1\n');
    expect(sanitizeLabelName('a.b/c')).toBe('a_b_c');
  });

  it('drops every series of a device that disappeared from the store', () => {
    const store = new DeviceStore();
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    const renderer = new DeviceMetricsRenderer(store);
    expect(renderer.render()).toContain('device="asic/10.0.1.15"');

    store.remove('asic/10.0.1.15');
    const after = renderer.render();
    expect(after).not.toContain('asic/10.0.1.15');
    expect(samples(after).length).toBeGreaterThan(0);
    // The rack label came only from the removed device: it leaves with it.
    expect(after).not.toContain('rack=');
    expect(renderer.operatorLabelNames).toEqual(['room', 'site']);

    store.expire(Date.parse('2025-01-02T00:00:00Z'), 60_000);
    expect(renderer.render()).toBe('');
  });

  it('re-renders a device that changed and reuses nothing stale', () => {
    const store = new DeviceStore();
    store.upsert(antminer());
    store.upsert(downWhatsminer());
    const renderer = new DeviceMetricsRenderer(store);
    const out = new TextBuffer();
    renderer.writeTo(out);
    expect(out.toString()).toContain('potencia_device_fan_speed_rpm{device="asic/10.0.1.15",rack="r12",room="",site="dal1",fan="1"} 5580\n');

    store.upsert(antminer({ fans_rpm: [6000], labels: { site: 'dal2', rack: 'r12' }, up: false }));
    out.reset();
    renderer.writeTo(out);
    const text = out.toString();
    // Rendered when the reading arrived, not by the scrape.
    expect(renderer.stats).toMatchObject({ devices: 2, changed: 1, renderedAtScrape: 0 });
    expect(text).toContain('potencia_device_fan_speed_rpm{device="asic/10.0.1.15",rack="r12",room="",site="dal2",fan="0"} 6000\n');
    expect(text).not.toContain('fan="1"');
    expect(text).toContain('potencia_device_up{device="asic/10.0.1.15",rack="r12",room="",site="dal2"} 0\n');

    renderer.render();
    expect(renderer.stats).toMatchObject({ devices: 2, changed: 0, renderedAtScrape: 0 });
  });

  it('re-prefixes every device when a label name first appears on one of them', () => {
    const store = new DeviceStore();
    store.upsert(downWhatsminer({ labels: { site: 'dal1' } }));
    const renderer = new DeviceMetricsRenderer(store);
    expect(renderer.render()).toContain('potencia_device_up{device="asic/10.0.2.7",site="dal1"} 0');

    store.upsert(antminer({ labels: { site: 'dal1', row: '3' } }));
    const text = renderer.render();
    expect(text).toContain('potencia_device_up{device="asic/10.0.2.7",row="",site="dal1"} 0');
    expect(text).toContain('potencia_device_up{device="asic/10.0.1.15",row="3",site="dal1"} 1');
  });

  it('exposes board status as a state set and power per source only when several sources exist', () => {
    const text = render(antminer());
    expect(text).toContain('potencia_miner_board_status{device="asic/10.0.1.15",rack="r12",site="dal1",board="1",status="ok"} 0\n');
    expect(text).toContain('potencia_miner_board_status{device="asic/10.0.1.15",rack="r12",site="dal1",board="1",status="degraded"} 1\n');
    expect(text).toContain('potencia_miner_board_status{device="asic/10.0.1.15",rack="r12",site="dal1",board="1",status="dead"} 0\n');
    expect(text).toContain('potencia_device_power_by_source_watts{device="asic/10.0.1.15",rack="r12",site="dal1",source="reported"} 3250\n');

    const single = render(antminer({ power_by_source_w: { reported: 3250 }, power_source: 'reported', power_w: 3250 }));
    expect(single).not.toContain('potencia_device_power_by_source_watts');
    expect(single).toContain('potencia_device_power_watts{device="asic/10.0.1.15",rack="r12",site="dal1",source="reported"} 3250\n');
  });

  it('has one HELP per family name, and J/TH named in the efficiency HELP', () => {
    const names = DEVICE_FAMILIES.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of DEVICE_FAMILIES) expect(f.name.endsWith('_total')).toBe(f.type === 'counter');
    expect(DEVICE_FAMILIES.find((f) => f.name === 'potencia_device_efficiency_joules_per_terahash')?.help).toContain('J/TH');
  });
});

describe('text format values', () => {
  it('spells special values and integers as Prometheus reads them', () => {
    expect(formatValue(NaN)).toBe('NaN');
    expect(formatValue(Infinity)).toBe('+Inf');
    expect(formatValue(-Infinity)).toBe('-Inf');
    expect(formatValue(-0)).toBe('0');
    expect(formatValue(42)).toBe('42');
    expect(formatValue(-7)).toBe('-7');
    expect(formatValue(0.25)).toBe('0.25');
    expect(formatValue(1e21)).toBe('1e+21');
    for (const n of [2 ** 31, -(2 ** 31) - 1, 110e12, 1_000_000_005, -5_000_000_000_123, Number.MAX_SAFE_INTEGER, 1.5e15 + 0.5]) {
      expect(formatValue(n)).toBe(String(n));
    }
  });

  it('leaves plain label values alone and escapes the three reserved characters', () => {
    const plain = 'rack 12 / Zürich';
    expect(escapeLabelValue(plain)).toBe(plain);
    expect(escapeLabelValue('a\\b"c\nd')).toBe('a\\\\b\\"c\\nd');
  });

  it('keeps non-ASCII text intact through the byte buffer', () => {
    const text = render(antminer({ labels: { site: 'Zürich', rack: '東京' } }));
    expect(text).toContain('site="Zürich"');
    expect(text).toContain('rack="東京"');
  });
});
