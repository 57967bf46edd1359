import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The fake nvidia-smi executable. It is plain JavaScript that ships as is (not compiled), so from
 * dist/simulator/nvidia-smi/ it is found three levels up, back in the source tree.
 */
export function fakeNvidiaSmiPath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [resolve(here, 'fake-nvidia-smi.mjs'), resolve(here, '..', '..', '..', 'simulator', 'nvidia-smi', 'fake-nvidia-smi.mjs')];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error(`fake nvidia-smi not found (looked at ${candidates.join(', ')})`);
  return found;
}

export interface FakeGpuNode {
  name: string;
  profile: 'h100' | 'a100' | 'rtx4090';
  gpus: number;
  labels?: Record<string, string>;
}

/** The demo's GPU nodes: an HGX H100 box and a GeForce rig. */
export const DEMO_GPU_NODES: readonly FakeGpuNode[] = [
  { name: 'gpu-h100-01', profile: 'h100', gpus: 8, labels: { room: 'hall-gpu', rack: 'g01' } },
  { name: 'gpu-4090-01', profile: 'rtx4090', gpus: 4, labels: { room: 'hall-gpu', rack: 'g02' } },
];

/**
 * Config `targets:` entries polling fake GPU nodes: `nvidia-smi://NODE/path/to/fake` with a
 * command_prefix of `env` that picks the node's profile, the way a real deployment's prefix would be
 * `kubectl exec NODE --`.
 */
export function fakeGpuTargets(nodes: readonly FakeGpuNode[] = DEMO_GPU_NODES, fake = fakeNvidiaSmiPath()) {
  return nodes.map((node) => ({
    url: `nvidia-smi://${node.name}${fake}`,
    command_prefix: ['env', `POTENCIA_FAKE_GPU_PROFILE=${node.profile}`, `POTENCIA_FAKE_GPU_COUNT=${node.gpus}`, `POTENCIA_FAKE_GPU_NODE=${node.name}`],
    labels: node.labels ?? {},
  }));
}
