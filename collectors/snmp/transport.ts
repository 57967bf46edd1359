import snmp, { type Session, type SessionOptions, type User, type Varbind } from 'net-snmp';
import { PollError } from '../../agent/snapshot.js';
import type { SnmpV3Credential } from '../../config/snmp-schema.js';
import type { SnmpTransport, SnmpValue, SnmpVarbind } from './types.js';

/** A failed SNMP exchange: `reason` is the bounded code, `message` the sentence (never a secret). */
export class SnmpError extends PollError {
  override readonly name = 'SnmpError';
}

export type SnmpAuth = { version: '1' | '2c'; community: string } | { version: '3'; credential: SnmpV3Credential };

export interface NetSnmpTransportOptions {
  host: string;
  port: number;
  auth: SnmpAuth;
  /** Per request, each retry included. */
  requestTimeoutMs: number;
  retries: number;
  /** GETBULK max-repetitions while walking. */
  maxRepetitions: number;
  /** SNMPv3 context name (empty on most devices); also how snmpsim picks a recording. */
  context?: string;
  signal?: AbortSignal;
}

const AUTH_PROTOCOLS = {
  md5: snmp.AuthProtocols.md5,
  sha: snmp.AuthProtocols.sha,
  sha224: snmp.AuthProtocols.sha224,
  sha256: snmp.AuthProtocols.sha256,
  sha384: snmp.AuthProtocols.sha384,
  sha512: snmp.AuthProtocols.sha512,
} as const;
const PRIV_PROTOCOLS = { des: snmp.PrivProtocols.des, aes: snmp.PrivProtocols.aes, aes256b: snmp.PrivProtocols.aes256b, aes256r: snmp.PrivProtocols.aes256r } as const;

/** The most varbinds one walk may return: a bound so a looping agent cannot exhaust memory. */
const MAX_WALK_VARBINDS = 20_000;

/** SnmpTransport over net-snmp's UDP session; one per poll, closed when the poll ends. */
export function createNetSnmpTransport(options: NetSnmpTransportOptions): SnmpTransport {
  const sessionOptions: SessionOptions = {
    port: options.port,
    retries: options.retries,
    timeout: Math.max(50, options.requestTimeoutMs),
    transport: options.host.includes(':') ? 'udp6' : 'udp4',
    context: options.context ?? (options.auth.version === '3' ? options.auth.credential.context : undefined) ?? '',
  };
  let session: Session;
  if (options.auth.version === '3') {
    const cred = options.auth.credential;
    const level = cred.level ?? (cred.priv_password ? 'authPriv' : cred.auth_password ? 'authNoPriv' : 'noAuthNoPriv');
    const user: User = { name: cred.user, level: snmp.SecurityLevel[level] };
    if (level !== 'noAuthNoPriv') {
      user.authProtocol = AUTH_PROTOCOLS[cred.auth_protocol];
      user.authKey = cred.auth_password!;
    }
    if (level === 'authPriv') {
      user.privProtocol = PRIV_PROTOCOLS[cred.priv_protocol];
      user.privKey = cred.priv_password!;
    }
    session = snmp.createV3Session(options.host, user, sessionOptions);
  } else {
    sessionOptions.version = options.auth.version === '1' ? snmp.Version1 : snmp.Version2c;
    session = snmp.createSession(options.host, options.auth.community, sessionOptions);
  }
  let socketError: Error | undefined;
  session.on('error', (err) => {
    socketError = err;
    session.cancelRequests(err);
  });
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    session.cancelRequests(new SnmpError('timeout', 'poll aborted'));
    try {
      session.close();
    } catch {
      // already closed by a socket error
    }
  };
  const onAbort = () => close();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const guard = <T>(run: (resolve: (value: T) => void, reject: (err: unknown) => void) => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (closed || options.signal?.aborted) return reject(new SnmpError('timeout', 'poll aborted before the request was sent'));
      run(resolve, (err) => reject(toSnmpError(err, socketError)));
    });

  return {
    get(oids) {
      return guard<SnmpVarbind[]>((resolve, reject) => {
        session.get([...oids], (error, varbinds) => {
          if (error) return reject(error);
          resolve(decodeVarbinds(varbinds));
        });
      });
    },
    walk(oid) {
      return guard<SnmpVarbind[]>((resolve, reject) => {
        const out: SnmpVarbind[] = [];
        let overflow = false;
        session.subtree(
          oid,
          options.maxRepetitions,
          (varbinds) => {
            out.push(...decodeVarbinds(varbinds));
            if (out.length > MAX_WALK_VARBINDS) {
              overflow = true;
              return true;
            }
            return false;
          },
          (error) => {
            if (error) return reject(error);
            if (overflow) return reject(new SnmpError('too_large', `walk of ${oid} returned more than ${MAX_WALK_VARBINDS} values`));
            resolve(out);
          },
        );
      });
    },
    close() {
      options.signal?.removeEventListener('abort', onAbort);
      close();
    },
  };
}

function toSnmpError(err: unknown, socketError: Error | undefined): SnmpError {
  if (err instanceof SnmpError) return err;
  if (err instanceof snmp.RequestTimedOutError) return new SnmpError('timeout', 'no SNMP reply in time (wrong community, user or port, or the agent is down)');
  const e = (socketError ?? err) as NodeJS.ErrnoException;
  if (e.code === 'ECONNREFUSED') return new SnmpError('refused', 'SNMP port refused (ICMP port unreachable)');
  if (e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return new SnmpError('unreachable', `host unreachable: ${e.code}`);
  if (err instanceof snmp.RequestFailedError) return new SnmpError('api_error', `agent answered with an error: ${err.message}`);
  if (err instanceof snmp.ResponseInvalidError) {
    // SNMPv3 reports (unknown user, wrong digest, decryption error) arrive as invalid responses.
    return new SnmpError('api_error', `agent rejected the request: ${err.message}`);
  }
  return new SnmpError('other', e instanceof Error ? e.message : String(e));
}

function decodeVarbinds(varbinds: readonly Varbind[]): SnmpVarbind[] {
  const out: SnmpVarbind[] = [];
  for (const vb of varbinds) {
    if (snmp.isVarbindError(vb)) continue;
    const value = decodeValue(vb.type, vb.value);
    if (value !== undefined) out.push({ oid: vb.oid, value });
  }
  return out;
}

const T = snmp.ObjectType;

function decodeValue(type: number, value: unknown): SnmpValue | undefined {
  switch (type) {
    case T.Integer:
    case T.Counter:
    case T.Gauge:
    case T.TimeTicks:
      return typeof value === 'number' ? value : undefined;
    case T.Boolean:
      return value ? 1 : 0;
    case T.Counter64:
      return Buffer.isBuffer(value) ? counter64(value) : typeof value === 'number' ? value : undefined;
    case T.OctetString:
      return Buffer.isBuffer(value) ? value.toString('utf8').replace(/\0+$/, '') : typeof value === 'string' ? value : undefined;
    case T.OID:
    case T.IpAddress:
      return typeof value === 'string' ? value : undefined;
    default:
      return undefined;
  }
}

function counter64(bytes: Buffer): number {
  let n = 0n;
  for (const byte of bytes) n = (n << 8n) | BigInt(byte);
  return Number(n);
}
