#!/usr/bin/env node
// The Docker HEALTHCHECK: exit 0 when the agent's /healthz answers 200, else 1. It finds the address
// the agent serves on as the agent chose it: POTENCIA_PORT if set, else `--listen` or the config's
// `agent.listen` from the agent's command line (PID 1's, under tini), else port 9785. /healthz needs no
// credentials, and an agent with TLS is asked over HTTPS without checking its certificate: this only
// asks whether the process on this machine answers.
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const DEFAULT_PORT = 9785;
const TIMEOUT_MS = 4_000;

function commandLine() {
  try {
    return readFileSync(process.env.POTENCIA_CMDLINE_FILE ?? '/proc/1/cmdline', 'utf8').split('\0');
  } catch {
    return [];
  }
}

function flag(args, name) {
  const i = args.indexOf(name);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`${name}=`))?.slice(name.length + 1);
}

/** HOST:PORT as agent.listen writes it; a wildcard host is asked on loopback. */
function address(listen) {
  const i = listen.lastIndexOf(':');
  const port = Number(listen.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return { host: host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host, port };
}

async function target() {
  if (process.env.POTENCIA_PORT) return { host: '127.0.0.1', port: Number(process.env.POTENCIA_PORT) };
  const args = commandLine();
  const listen = flag(args, '--listen');
  if (listen) return address(listen) ?? { host: '127.0.0.1', port: DEFAULT_PORT };
  const config = flag(args, '--config') ?? process.env.POTENCIA_CONFIG;
  if (config) {
    try {
      const { parse } = await import('yaml');
      const configured = parse(readFileSync(config, 'utf8'))?.agent?.listen;
      if (typeof configured === 'string' && !configured.includes('${')) return address(configured) ?? { host: '127.0.0.1', port: DEFAULT_PORT };
    } catch {
      // An unreadable config: the agent would not be running with it either; ask the default port.
    }
  }
  return { host: '127.0.0.1', port: DEFAULT_PORT };
}

function probe(request, { host, port }, extra = {}) {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/healthz', timeout: TIMEOUT_MS, ...extra }, (res) => {
      res.resume();
      resolve({ status: res.statusCode });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err) => resolve({ error: err }));
    req.end();
  });
}

const where = await target();
let answer = await probe(httpRequest, where);
// A TLS server hangs up on plain HTTP: ask again over HTTPS.
if (answer.error && answer.error.code !== 'ECONNREFUSED') answer = await probe(httpsRequest, where, { rejectUnauthorized: false });
if (answer.status === 200) process.exit(0);
console.error(`potencia healthcheck: ${where.host}:${where.port}/healthz ${answer.status ? `answered ${answer.status}` : `failed: ${answer.error.message}`}`);
process.exit(1);
