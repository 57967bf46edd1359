/**
 * Issue 13, findings 4, 8, 9 and 10 for GPU nodes: an nvidia-smi that lies, run as a real process per
 * poll (a shell script printing what a broken driver or a hostile node prints), read by the real collector.
 */
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectOnce } from '../agent/scheduler.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import type { Target } from '../collectors/contract.js';
import { NvidiaSmiCollector, type NvidiaCollectorOptions } from '../collectors/nvidia/collector.js';

const dir = mkdtempSync(join(tmpdir(), 'potencia-hostile-nvidia-'));
let scripts = 0;

/** A row in BASELINE_FIELDS order (the collector falls back to them when --help-query-gpu lists nothing). */
function row(index: number, uuid: string, overrides: { name?: string; power?: string; temperature?: string; utilization?: string } = {}): string {
  const { name = 'NVIDIA H100 80GB HBM3', power = '612.40', temperature = '61', utilization = '87' } = overrides;
  return [index, uuid, name, `00000000:${10 + index}:00.0`, '570.133.20', utilization, '30', '40960', '81559', temperature, power, '700.00', '1980', '2619', 'P0', '[N/A]']
    .map(String)
    .join(', ');
}

/** An nvidia-smi that prints `stdout` and exits with `status` for every query. */
function fakeSmi(stdout: string, status = 0): Target {
  const out = join(dir, `out-${++scripts}.txt`);
  writeFileSync(out, stdout);
  const path = join(dir, `nvidia-smi-${scripts}`);
  writeFileSync(path, `#!/bin/sh\nif [ "$1" = "--help-query-gpu" ]; then exit 0; fi\ncat '${out}'\nexit ${status}\n`);
  chmodSync(path, 0o755);
  return { url: `nvidia-smi://${path}`, scheme: 'nvidia-smi', host: 'localhost', port: 0, path, labels: {}, intervalMs: 30_000, timeoutMs: 5_000 };
}

async function poll(target: Target, options: NvidiaCollectorOptions = {}): Promise<DeviceSnapshot[]> {
  return collectOnce(new NvidiaSmiCollector(target, options), new AbortController().signal);
}

const GOOD = 'GPU-14636a4a-2d2c-c6c2-7cb1-2af0ebabd589';

describe('hostile nvidia-smi output', () => {
  it('finding 8: a UUID that reads like another device id stays under its node, and cannot claim a miner', async () => {
    const [s] = await poll(fakeSmi(`${row(0, 'asic/127.62.0.1')}\n`));
    expect(s!.id).toBe('gpu/localhost/asic/127.62.0.1');
    expect(s!.gpu!.uuid).toBe('asic/127.62.0.1');
    const [normal] = await poll(fakeSmi(`${row(0, GOOD)}\n`));
    expect(normal!.id).toBe(`gpu/localhost/${GOOD}`);
  });

  it('finding 8: two GPUs with one UUID are both reported, the second flagged', async () => {
    const snapshots = await poll(fakeSmi(`${row(0, GOOD)}\n${row(1, GOOD)}\n`));
    expect(snapshots.map((s) => [s.id, s.up, s.gpu!.index])).toEqual([
      [`gpu/localhost/${GOOD}`, true, 0],
      [`gpu/localhost/${GOOD}/index1`, true, 1],
    ]);
    expect(snapshots[0]!.error).toBeUndefined();
    expect(snapshots[1]!.error).toBe('duplicate GPU UUID: GPU 0 reports the same UUID');
  });

  it('finding 4: 20,000 rows are not 20,000 devices: the node keeps its cap', async () => {
    const rows: string[] = [];
    for (let i = 0; i < 20_000; i++) rows.push(row(i, `GPU-${String(i).padStart(8, '0')}-0000-0000-0000-000000000000`));
    const cut: [string, string, number | undefined][] = [];
    const snapshots = await poll(fakeSmi(`${rows.join('\n')}\n`), { reject: (field, reason, n) => cut.push([field, reason, n]) });
    expect(snapshots).toHaveLength(64);
    expect(cut).toEqual([['devices', 'over_limit', 20_000 - 64]]);
    expect(await poll(fakeSmi(`${rows.slice(0, 10).join('\n')}\n`), { maxDevices: 4 })).toHaveLength(4);
  });

  it('finding 10: a row with a comma in the name or a missing column marks that GPU down (malformed), the others stay up', async () => {
    const broken = `${row(0, GOOD)}\n${row(1, 'GPU-bbbbbbbb-0000-0000-0000-000000000001', { name: 'NVIDIA H100, rev 2' })}\n${row(2, 'GPU-cccccccc-0000-0000-0000-000000000002').replace(', 612.40', '')}\n`;
    const snapshots = await poll(fakeSmi(broken));
    expect(snapshots.map((s) => [s.id, s.up, s.error_reason])).toEqual([
      [`gpu/localhost/${GOOD}`, true, undefined],
      ['gpu/localhost/GPU-bbbbbbbb-0000-0000-0000-000000000001', false, 'malformed'],
      ['gpu/localhost/GPU-cccccccc-0000-0000-0000-000000000002', false, 'malformed'],
    ]);
    expect(snapshots[1]!.error).toMatch(/^nvidia-smi row has 17 cells, 16 expected: 1, GPU-bbbbbbbb/);
    expect(snapshots[2]!.error).toMatch(/^nvidia-smi row has 15 cells, 16 expected/);
  });

  it('finding 10: "Failed to initialize NVML" (status 3) marks the node down (exec), even beside rows', async () => {
    const [alone] = await poll(fakeSmi('Failed to initialize NVML: Unknown Error\n', 3));
    expect(alone).toMatchObject({ id: 'gpu/localhost', up: false, error_reason: 'exec' });
    expect(alone!.error).toBe('nvidia-smi exited with status 3: Failed to initialize NVML: Unknown Error');
    const beside = await poll(fakeSmi(`${row(0, GOOD)}\nFailed to initialize NVML: Unknown Error\n`, 3));
    expect(beside.map((s) => [s.up, s.error_reason])).toEqual([[false, 'exec']]);
  });

  it('a node printing new UUIDs every poll keeps no more GPUs in memory than its cap', async () => {
    const path = fakeSmi('').path!;
    const collector = new NvidiaSmiCollector({ ...fakeSmi(''), path, url: `nvidia-smi://${path}` }, { maxDevices: 2 });
    let last: DeviceSnapshot[] = [];
    for (let round = 0; round < 5; round++) {
      writeFileSync(path, `#!/bin/sh\nif [ "$1" = "--help-query-gpu" ]; then exit 0; fi\necho '${row(0, `GPU-${round}a`)}'\necho '${row(1, `GPU-${round}b`)}'\n`);
      last = await collectOnce(collector, new AbortController().signal, last);
    }
    // The two GPUs of this poll, and none of the eight that came before them.
    expect(last.map((s) => [s.id, s.up])).toEqual([
      ['gpu/localhost/GPU-4a', true],
      ['gpu/localhost/GPU-4b', true],
    ]);
  });

  it('finding 9: 1e11 W, 1e11 °C and a negative utilisation are absent, never ±Inf', async () => {
    const [s] = await poll(fakeSmi(`${row(0, GOOD, { power: '99999999999', temperature: '99999999999', utilization: '-50' })}\n`));
    expect(s!.up).toBe(true);
    expect(s!.power_w).toBeUndefined();
    expect(s!.power_by_source_w).toBeUndefined();
    expect(s!.temperatures_c).toEqual({});
    expect(s!.gpu!.utilization_ratio).toBeUndefined();
    expect(s!.gpu!.memory_utilization_ratio).toBe(0.3);
  });
});
