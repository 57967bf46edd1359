import type { ErrorReason } from '../../agent/snapshot.js';
import type { Target } from '../contract.js';

/** The binary asked for when the URL names none: found on PATH, locally or on the remote host. */
export const DEFAULT_BINARY = 'nvidia-smi';

/** Where nvidia-smi runs for one target and how it is reached. */
export interface NvidiaNode {
  transport: 'local' | 'ssh';
  /** The node's name or address: `localhost` for the agent's own machine. */
  host: string;
  /** ssh port; absent: ssh's own choice (its config, else 22). */
  port?: number;
  user?: string;
  binary: string;
  /** Words before the binary: run locally for `nvidia-smi://`, on the remote host for `nvidia-smi+ssh://`. */
  commandPrefix: readonly string[];
  sshOptions: readonly string[];
}

export function nvidiaNodeOf(target: Target): NvidiaNode {
  const node: NvidiaNode = {
    transport: target.scheme === 'nvidia-smi+ssh' ? 'ssh' : 'local',
    host: target.host,
    binary: target.path ?? DEFAULT_BINARY,
    commandPrefix: target.commandPrefix ?? [],
    sshOptions: target.sshOptions ?? [],
  };
  if (target.port > 0) node.port = target.port;
  if (target.userinfo !== undefined) node.user = target.userinfo;
  return node;
}

/**
 * Why this node cannot be polled as configured, if it cannot: a `nvidia-smi://NAME` target runs the
 * command locally, so naming another node only makes sense with a command_prefix that reaches it
 * (`kubectl exec NAME --`), else the readings would be this machine's under NAME's name.
 */
export function nodeProblem(node: NvidiaNode): string | undefined {
  if (node.transport === 'local' && node.host !== 'localhost' && node.commandPrefix.length === 0) {
    return `nvidia-smi://${node.host} names another node but has no command_prefix to reach it (e.g. ["kubectl", "exec", "${node.host}", "--"]); use nvidia-smi+ssh://${node.host} for ssh`;
  }
  return undefined;
}

/** The argv that runs nvidia-smi with `args` on the node. */
export function commandLine(node: NvidiaNode, args: readonly string[], timeoutMs: number): string[] {
  const nvidiaSmi = [...node.commandPrefix, node.binary, ...args];
  if (node.transport === 'local') return nvidiaSmi;
  // ssh gives up on connecting well inside the poll's deadline, so a dead host reads as unreachable
  // with ssh's own words rather than as a killed command.
  const connectTimeoutS = Math.max(1, Math.floor(timeoutMs / 2000));
  return [
    'ssh',
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${connectTimeoutS}`,
    ...(node.port !== undefined ? ['-p', String(node.port)] : []),
    ...node.sshOptions,
    node.user !== undefined ? `${node.user}@${node.host}` : node.host,
    '--',
    // The remote side hands the words to a shell: quote any with characters it would interpret.
    ...nvidiaSmi.map(shellQuote),
  ];
}

export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The reason for ssh's own failure (exit status 255), from its message; `exec` when it is not a network fault. */
export function sshFailureReason(stderr: string): ErrorReason {
  if (/timed out/i.test(stderr)) return 'timeout';
  if (/connection refused/i.test(stderr)) return 'refused';
  if (/could not resolve|no route to host|network is unreachable|name or service not known/i.test(stderr)) return 'unreachable';
  if (/connection reset|connection closed/i.test(stderr)) return 'reset';
  return 'exec';
}
