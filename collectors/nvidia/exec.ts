import { spawn } from 'node:child_process';
import { PollError } from '../../agent/snapshot.js';

/** Why a command gave no usable output: `reason` is the bounded code, `message` the sentence (with stderr when there is one). */
export class ExecError extends PollError {
  override readonly name = 'ExecError';
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; null when the process ended on a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ExecOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** stdout plus stderr beyond this kills the command (too_large). */
  maxOutputBytes?: number;
  env?: NodeJS.ProcessEnv;
}

/** How long stdout/stderr may stay open after the process exited, e.g. held by a backgrounded grandchild. */
const PIPE_GRACE_MS = 250;
const GROUPS_SUPPORTED = process.platform !== 'win32';

/**
 * Runs argv[0] with the rest as arguments (no shell) and resolves with its output and exit status,
 * whatever the status. Rejects only when there is no status to give: the command could not start
 * (exec), ran past the deadline (timeout), printed more than the cap (too_large) or was aborted.
 *
 * The command runs in its own process group and a deadline kills the whole group with SIGKILL: a hung
 * nvidia-smi sits in an uninterruptible driver call and ignores SIGTERM, and a wrapper (a shell script,
 * `ssh`, `kubectl exec`) must not leave its child behind.
 */
export function runCommand(argv: readonly string[], options: ExecOptions): Promise<ExecResult> {
  const [command, ...args] = argv;
  if (command === undefined) return Promise.reject(new ExecError('exec', 'empty command line'));
  return new Promise((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(new ExecError('other', `${command}: not started, the poll was aborted`));
      return;
    }
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: GROUPS_SUPPORTED, env: options.env ?? process.env });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let graceTimer: NodeJS.Timeout | undefined;

    const killGroup = () => {
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        try {
          if (GROUPS_SUPPORTED) process.kill(-child.pid, 'SIGKILL');
          else child.kill('SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }
      // Pipes held open by a process outside the group must not keep this poll alive.
      child.stdout?.destroy();
      child.stderr?.destroy();
    };
    const cleanup = () => {
      clearTimeout(deadline);
      clearTimeout(graceTimer);
      options.signal?.removeEventListener('abort', onAbort);
    };
    const fail = (err: ExecError) => {
      if (settled) return;
      settled = true;
      cleanup();
      killGroup();
      reject(err);
    };
    const finish = () => {
      if (settled || exit === undefined) return;
      settled = true;
      cleanup();
      killGroup();
      resolve({ stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), ...exit });
    };
    const onAbort = () => fail(new ExecError('other', `${command}: aborted`));
    const deadline = setTimeout(() => fail(new ExecError('timeout', `${command} did not finish within ${options.timeoutMs} ms; its process group was killed`)), options.timeoutMs);
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (options.maxOutputBytes !== undefined && bytes > options.maxOutputBytes) {
        fail(new ExecError('too_large', `${command} printed more than ${options.maxOutputBytes} bytes; killed`));
        return;
      }
      into.push(chunk);
    };
    child.stdout!.on('data', collect(stdout));
    child.stderr!.on('data', collect(stderr));
    child.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'ENOENT' ? 'not found (is it installed and on PATH?)' : err.code === 'EACCES' ? 'not executable (permission denied)' : err.message;
      fail(new ExecError('exec', `cannot run ${command}: ${why}`));
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      graceTimer = setTimeout(finish, PIPE_GRACE_MS);
    });
    child.once('close', (code, signal) => {
      exit ??= { code, signal };
      finish();
    });
  });
}
