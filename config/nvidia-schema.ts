import { z } from 'zod';
import { parseTargetUrl } from '../collectors/target.js';
import { TargetError } from '../collectors/contract.js';

/**
 * Per-target options of nvidia-smi targets, as fields of a `targets:` entry:
 *
 *   - url: nvidia-smi://gpu-node-1
 *     command_prefix: [kubectl, exec, -n, gpu-operator, nvidia-driver-gpu-node-1, --]
 *   - url: nvidia-smi+ssh://potencia@10.0.5.11
 *     ssh_options: [-i, /etc/potencia/id_ed25519, -o, StrictHostKeyChecking=accept-new]
 */

const word = z.string().min(1, 'an empty word is not an argument');

export const commandPrefixSchema = z
  .array(word)
  .min(1)
  .max(32)
  .describe(
    'nvidia-smi targets: words run before nvidia-smi, e.g. ["kubectl", "exec", "gpu-node-1", "--"] or ["sudo", "-n"]. Run locally for nvidia-smi://, on the remote host for nvidia-smi+ssh://. Required for nvidia-smi://NODE, which names a node the agent does not run on.',
  );

export const sshOptionsSchema = z
  .array(word)
  .max(32)
  .describe(
    'nvidia-smi+ssh targets: extra arguments for ssh before the host, e.g. ["-i", "/etc/potencia/id_ed25519"]. The agent always passes -o BatchMode=yes (no password prompts) and a ConnectTimeout of half the poll timeout.',
  );

/** Checks that a target entry's nvidia-smi options fit its URL; every problem is reported at the option's path. */
export function checkNvidiaTargetOptions(
  target: { url: string; command_prefix?: readonly string[] | undefined; ssh_options?: readonly string[] | undefined },
  ctx: z.RefinementCtx,
): void {
  let parsed: ReturnType<typeof parseTargetUrl>;
  try {
    parsed = parseTargetUrl(target.url);
  } catch (err) {
    if (err instanceof TargetError) return; // the url field reports it
    throw err;
  }
  const isNvidia = parsed.scheme === 'nvidia-smi' || parsed.scheme === 'nvidia-smi+ssh';
  if (target.command_prefix !== undefined && !isNvidia) {
    ctx.addIssue({ code: 'custom', path: ['command_prefix'], message: 'only nvidia-smi:// and nvidia-smi+ssh:// targets run a command' });
  }
  if (target.ssh_options !== undefined && parsed.scheme !== 'nvidia-smi+ssh') {
    ctx.addIssue({ code: 'custom', path: ['ssh_options'], message: 'only nvidia-smi+ssh:// targets use ssh' });
  }
  const node = parsed.hosts[0];
  if (parsed.scheme === 'nvidia-smi' && node !== 'localhost' && target.command_prefix === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['command_prefix'],
      message: `nvidia-smi://${node} names another node: give the command_prefix that reaches it (e.g. [kubectl, exec, ${node}, --]) or use nvidia-smi+ssh://${node}`,
    });
  }
}
