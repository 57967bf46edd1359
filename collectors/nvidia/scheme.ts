import { isIPv6 } from 'node:net';
import { decodeComponent, redactUserinfo, TargetError, urlHost, type ParsedTargetUrl, type TargetSchemeDescriptor } from '../contract.js';
import { createNvidiaCollector } from './collector.js';

type NvidiaScheme = 'nvidia-smi' | 'nvidia-smi+ssh';

const NVIDIA_SMI_URL = /^(nvidia-smi(?:\+ssh)?):(?:\/\/(?:([^@/?#]*)@)?(\[[^\]/?#]*\]|[^/:?#]*)(?::(\d{1,5}))?(\/[^?#]*)?)?$/i;
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `nvidia-smi:` (this machine, nvidia-smi from PATH), `nvidia-smi:///opt/nvidia/bin/nvidia-smi` (a named
 * binary), `nvidia-smi://NODE[/PATH]` (a node reached through the target's command_prefix, e.g.
 * kubectl exec) and `nvidia-smi+ssh://[USER@]HOST[:PORT][/PATH]`. One node per URL: no ranges, since
 * each node is reached its own way.
 */
function parseNvidiaSmiUrl<S extends NvidiaScheme>(expected: S, url: string): ParsedTargetUrl<S> {
  if (/[?#]/.test(url)) throw new TargetError(`"${redactUserinfo(url)}": nvidia-smi URLs take no parameters; per-target options (command_prefix, ssh_options) go in the config`);
  const m = NVIDIA_SMI_URL.exec(url);
  if (!m || m[1]!.toLowerCase() !== expected)
    throw new TargetError(`"${redactUserinfo(url)}" is not a URL like nvidia-smi:, nvidia-smi:///opt/bin/nvidia-smi or nvidia-smi+ssh://user@gpu-node-1`);
  const scheme: NvidiaScheme = expected;
  const userinfo = m[2] === undefined ? undefined : decodeComponent(m[2], url);
  // An IPv6 node leaves its brackets here, as ssh wants it (`user@fd00::15`); canonicalUrl puts them back.
  const bracketed = m[3]?.startsWith('[') === true;
  const host = bracketed ? m[3]!.slice(1, -1) : (m[3] ?? '');
  if (bracketed && !isIPv6(host)) throw new TargetError(`"${redactUserinfo(url)}": "${m[3]}" is not an IPv6 address in brackets like [fd00::15]`);
  if (scheme === 'nvidia-smi' && (userinfo !== undefined || m[4] !== undefined)) {
    throw new TargetError(`"${redactUserinfo(url)}": nvidia-smi:// runs the command locally and takes no user or port; use nvidia-smi+ssh://USER@HOST:PORT`);
  }
  if (scheme === 'nvidia-smi+ssh' && host === '') throw new TargetError(`"${redactUserinfo(url)}" has no host`);
  if (host !== '' && !bracketed && !NODE_NAME.test(host)) throw new TargetError(`"${redactUserinfo(url)}": "${host}" is not a host name or address`);
  if (/^[\d.]+-[\d.]+$/.test(host)) throw new TargetError(`"${redactUserinfo(url)}": nvidia-smi targets name one node each, not a range`);
  const port = m[4] === undefined ? 0 : Number(m[4]);
  if (m[4] !== undefined && (port < 1 || port > 65535)) throw new TargetError(`port ${port} out of range in "${redactUserinfo(url)}"`);
  const parsed: ParsedTargetUrl<S> = { scheme: expected, hosts: [host || 'localhost'], port };
  if (userinfo !== undefined) parsed.userinfo = userinfo;
  const path = m[5] === undefined || m[5] === '/' ? undefined : decodeComponent(m[5], url);
  if (path !== undefined) parsed.path = path;
  return parsed;
}

/** Runs nvidia-smi on this machine, or on a node through the target's command_prefix (kubectl exec, sudo). */
export const nvidiaSmiScheme: TargetSchemeDescriptor<'nvidia-smi'> = {
  name: 'nvidia-smi',
  defaultPort: 0,
  params: {},
  takesUserinfo: false,
  kinds: ['gpu'],
  parse: (url) => parseNvidiaSmiUrl('nvidia-smi', url),
  canonicalUrl(host, _port, _params, path) {
    const tail = path === undefined ? '' : encodeURI(path);
    return host === 'localhost' && tail === '' ? 'nvidia-smi:' : `nvidia-smi://${host === 'localhost' ? '' : urlHost(host)}${tail}`;
  },
  create: createNvidiaCollector,
};

/** Runs nvidia-smi on another host over ssh; ssh picks the port from its config when the URL has none, else 22. */
export const nvidiaSmiSshScheme: TargetSchemeDescriptor<'nvidia-smi+ssh'> = {
  name: 'nvidia-smi+ssh',
  defaultPort: 0,
  params: {},
  takesUserinfo: true,
  kinds: ['gpu'],
  parse: (url) => parseNvidiaSmiUrl('nvidia-smi+ssh', url),
  canonicalUrl(host, port, _params, path) {
    return `nvidia-smi+ssh://${urlHost(host)}${port > 0 ? `:${port}` : ''}${path === undefined ? '' : encodeURI(path)}`;
  },
  create: createNvidiaCollector,
};
