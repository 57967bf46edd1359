import { constants as fsConstants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createSecureContext, type SecureContextOptions, type SecureVersion } from 'node:tls';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../agent/log.js';
import { ConfigError } from '../../config/load.js';
import { type ClientAuthType, type TlsVersionName, webConfigSchema } from '../../config/web-schema.js';
import { BasicAuth } from './basic-auth.js';

/** A web config, a certificate or a key is a few KB; past this the file is refused unread. */
const MAX_FILE_BYTES = 1024 * 1024;

const SECURE_VERSIONS: Record<TlsVersionName, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

export interface TlsMaterial {
  /** cert, key, ca and versions: what `setSecureContext` takes, so new certificates apply to new connections. */
  readonly context: SecureContextOptions;
  readonly clientAuth: ClientAuthType;
}

/** What the web config asks of the HTTP server; nothing when there is no file. */
export interface WebSecurity {
  readonly tls?: TlsMaterial | undefined;
  readonly auth?: BasicAuth | undefined;
}

interface LoadedWebConfig {
  readonly security: WebSecurity;
  /** The config file and every file it names: a change to any of them reloads. */
  readonly files: readonly string[];
}

/**
 * A web config that cannot be used: a ConfigError (so the CLI prints it as one, exit 2) whose
 * `summary` is one line naming the file and each problem, for the log.
 */
export class WebConfigError extends ConfigError {
  constructor(path: string, problems: string[]) {
    super(`web config ${path}`, problems);
  }

  get summary(): string {
    return `${this.source}: ${this.problems.join('; ')}`;
  }
}

/** Reads and checks the web config and the certificates it names; throws a WebConfigError that says what is wrong. */
export async function loadWebConfig(path: string): Promise<LoadedWebConfig> {
  const text = (await readBoundedFile(path, undefined)).toString('utf8');
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new WebConfigError(path, [`not valid YAML: ${firstLine(err)}`]);
  }
  const parsed = webConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new WebConfigError(
      path,
      parsed.error.issues.map((i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`),
    );
  }
  const config = parsed.data;
  // Paths in the file are relative to it, as exporter-toolkit reads them.
  const near = (file: string) => resolve(dirname(path), file);
  const files = [path];
  let tls: TlsMaterial | undefined;
  const tlsConfig = config.tls_server_config;
  if (tlsConfig) {
    const certFile = near(tlsConfig.cert_file);
    const keyFile = near(tlsConfig.key_file);
    const caFile = tlsConfig.client_ca_file === undefined ? undefined : near(tlsConfig.client_ca_file);
    files.push(certFile, keyFile, ...(caFile ? [caFile] : []));
    const context: SecureContextOptions = {
      cert: await readBoundedFile(certFile, 'tls_server_config.cert_file', path),
      key: await readBoundedFile(keyFile, 'tls_server_config.key_file', path),
      ...(caFile && { ca: await readBoundedFile(caFile, 'tls_server_config.client_ca_file', path) }),
      minVersion: SECURE_VERSIONS[tlsConfig.min_version],
      maxVersion: SECURE_VERSIONS[tlsConfig.max_version],
    };
    try {
      createSecureContext(context);
    } catch (err) {
      // OpenSSL's words ("key values mismatch") without the key material.
      throw new WebConfigError(path, [`tls_server_config: ${firstLine(err)}`]);
    }
    tls = { context, clientAuth: tlsConfig.client_auth_type };
  }
  const users = config.basic_auth_users;
  const auth = users && Object.keys(users).length > 0 ? new BasicAuth(users) : undefined;
  return { security: { tls, auth }, files };
}

/** `what` names the key that gave the path (undefined for the web config itself); `configPath` is the web config. */
async function readBoundedFile(path: string, what: string | undefined, configPath = path): Promise<Buffer> {
  const problem = (reason: string) => new WebConfigError(configPath, [what === undefined ? reason : `${what} ${path}: ${reason}`]);
  // O_NONBLOCK: a FIFO put where a file should be must not hang the event loop's thread pool.
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK);
  } catch (err) {
    throw problem(`cannot read it (${(err as NodeJS.ErrnoException).code ?? firstLine(err)})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw problem('not a regular file');
    if (info.size > MAX_FILE_BYTES) throw problem(`larger than ${MAX_FILE_BYTES} bytes`);
    const buffer = Buffer.alloc(info.size);
    const { bytesRead } = await handle.read(buffer, 0, info.size, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
}

/** A file's identity for change detection: a rotated certificate changes at least one of these. */
async function fingerprint(files: readonly string[]): Promise<string> {
  const parts = await Promise.all(
    files.map(async (file) => {
      try {
        const s = await stat(file);
        return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
      } catch {
        return 'missing';
      }
    }),
  );
  return parts.join('|');
}

export interface WebConfigWatcherOptions {
  readonly path: string;
  readonly logger?: Logger | undefined;
  /** How often the files are looked at (a stat each); certificate rotation needs no signal. */
  readonly checkEveryMs?: number;
  /** Called with the new security after the files changed and loaded; a failed load keeps the old one. */
  readonly onChange: (security: WebSecurity) => void;
}

/**
 * Keeps a web config current: loads it, then re-reads it whenever it or a file it names changes (and on
 * `reload()`, which SIGHUP reaches through the part). A file that no longer loads is logged and the
 * last good security stays in force, so a half-written certificate never opens the server.
 */
export class WebConfigWatcher {
  #security: WebSecurity;
  #files: readonly string[];
  #fingerprint: string;
  #timer: NodeJS.Timeout | undefined;
  #checking: Promise<void> | undefined;

  private constructor(
    private readonly opts: WebConfigWatcherOptions,
    loaded: LoadedWebConfig,
    print: string,
  ) {
    this.#security = loaded.security;
    this.#files = loaded.files;
    this.#fingerprint = print;
  }

  static async start(opts: WebConfigWatcherOptions): Promise<WebConfigWatcher> {
    const loaded = await loadWebConfig(opts.path);
    const watcher = new WebConfigWatcher(opts, loaded, await fingerprint(loaded.files));
    watcher.#timer = setInterval(() => void watcher.check(), opts.checkEveryMs ?? 5_000);
    watcher.#timer.unref();
    return watcher;
  }

  get security(): WebSecurity {
    return this.#security;
  }

  /** Re-reads the files if they changed since the last load (or always, when forced). */
  check(force = false): Promise<void> {
    this.#checking ??= this.#check(force).finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(force: boolean): Promise<void> {
    const print = await fingerprint(this.#files);
    if (!force && print === this.#fingerprint) return;
    try {
      const loaded = await loadWebConfig(this.opts.path);
      this.#security = loaded.security;
      this.#files = loaded.files;
      this.#fingerprint = await fingerprint(loaded.files);
      this.opts.logger?.info({ web_config_file: this.opts.path, tls: loaded.security.tls !== undefined, basic_auth: loaded.security.auth !== undefined }, 'web config reloaded');
      this.opts.onChange(loaded.security);
    } catch (err) {
      // Remember the broken state so it is logged once, not at every check; a fix changes it again.
      this.#fingerprint = print;
      const message = err instanceof WebConfigError ? err.summary : firstLine(err);
      this.opts.logger?.error({ err: { message } }, 'web config not reloaded; keeping the last good one');
    }
  }

  close(): void {
    clearInterval(this.#timer);
  }
}
