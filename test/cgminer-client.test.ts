import { readFileSync } from 'node:fs';
import { collectOnce } from '../agent/scheduler.js';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CgminerError, cgminerRequest, createCgminerCollector, pollCgminer } from '../collectors/cgminer/index.js';
import type { Target } from '../collectors/contract.js';
import { cgminerTestdata } from './helpers.js';

const fixture = (name: string) => readFileSync(cgminerTestdata(name), 'utf8');

interface Peer {
  port: number;
  /** Every request received, in order, as the command sent. */
  commands: string[];
  /** Resolves once the client's socket has closed on the peer's side. */
  clientClosed: Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback CGMiner stand-in: `answer` gets each parsed request and the socket to reply on. */
async function peer(answer: (request: { command: string; parameter?: string }, socket: Socket) => void): Promise<Peer> {
  const commands: string[] = [];
  let markClosed!: () => void;
  const clientClosed = new Promise<void>((r) => (markClosed = r));
  const server = createServer((socket) => {
    let buffered = '';
    socket.on('error', () => {});
    socket.on('close', () => markClosed());
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      let request: { command: string; parameter?: string };
      try {
        request = JSON.parse(buffered);
      } catch {
        return;
      }
      buffered = '';
      commands.push(request.command);
      answer(request, socket);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (typeof address !== 'object' || !address) throw new Error('no address');
  return { port: address.port, commands, clientClosed };
}

async function rejection(p: Promise<unknown>): Promise<CgminerError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CgminerError);
  return err as CgminerError;
}

const base = { host: '127.0.0.1', timeoutMs: 2_000 };

describe('cgminerRequest over TCP', () => {
  it('sends the JSON request and reads up to the NUL even if the socket stays open', async () => {
    const p = await peer((_req, s) => s.write('{"STATUS":[{"STATUS":"S"}],"id":1}\0'));
    const text = await cgminerRequest({ ...base, port: p.port, command: 'summary' });
    expect(text).toBe('{"STATUS":[{"STATUS":"S"}],"id":1}');
    expect(p.commands).toEqual(['summary']);
    await p.clientClosed; // the client hangs up itself: cgminer serves one client at a time
  });

  it('sends the parameter when given', async () => {
    let seen: unknown;
    const p = await peer((req, s) => {
      seen = req;
      s.end('{"STATUS":[{"STATUS":"S"}]}\0');
    });
    await cgminerRequest({ ...base, port: p.port, command: 'devdetails', parameter: '0' });
    expect(seen).toEqual({ command: 'devdetails', parameter: '0' });
  });

  it('ends a newline-terminated reply (bOSminer) without waiting for EOF, across chunks', async () => {
    const p = await peer((_req, s) => {
      s.write('{"STATUS":[{"STATUS":"S","Msg":"a\\nb"}],');
      setImmediate(() => s.write('"id":1}\n'));
    });
    const text = await cgminerRequest({ ...base, port: p.port, command: 'summary' });
    expect(JSON.parse(text)).toEqual({ STATUS: [{ STATUS: 'S', Msg: 'a\nb' }], id: 1 });
  });

  it('accepts a reply ended by EOF', async () => {
    const p = await peer((_req, s) => s.end('{"id":1}'));
    expect(await cgminerRequest({ ...base, port: p.port, command: 'version' })).toBe('{"id":1}');
  });

  it('keeps concurrent replies apart when they arrive in interleaved chunks, larger than one read and split inside a UTF-8 character', async () => {
    // Every socket reads into one shared buffer; each read must be copied out before the next lands.
    const reply = (tag: string) => JSON.stringify({ STATUS: [{ STATUS: 'S', Msg: `${tag} grüße` }], pad: tag.repeat(40_000) });
    const bytes = { a: Buffer.from(reply('a')), b: Buffer.from(reply('b')) };
    const cut = (b: Buffer) => [b.subarray(0, b.indexOf('ü') + 1), b.subarray(b.indexOf('ü') + 1, 70_000), b.subarray(70_000)];
    const parts = { a: cut(bytes.a), b: cut(bytes.b) };
    const sockets: Partial<Record<'a' | 'b', Socket>> = {};
    const p = await peer((req, s) => {
      sockets[req.command as 'a' | 'b'] = s;
      if (!sockets.a || !sockets.b) return;
      // a1 b1 a2 b2 a3 b3, each after the previous has been read.
      const order: (() => unknown)[] = [0, 1, 2].flatMap((i) => [() => sockets.a!.write(parts.a[i]!), () => sockets.b!.write(parts.b[i]!)]);
      order.push(
        () => sockets.a!.end('\0'),
        () => sockets.b!.end(),
      );
      const next = () => {
        const step = order.shift();
        if (step)
          setTimeout(() => {
            step();
            next();
          }, 5);
      };
      next();
    });
    const [a, b] = await Promise.all([cgminerRequest({ ...base, port: p.port, command: 'a' }), cgminerRequest({ ...base, port: p.port, command: 'b' })]);
    expect(a).toBe(reply('a'));
    expect(b).toBe(reply('b'));
  });

  it('reports a close without a reply as reset, hinting at api-allow', async () => {
    const p = await peer((_req, s) => s.end());
    const err = await rejection(cgminerRequest({ ...base, port: p.port, command: 'summary' }));
    expect(err.reason).toBe('reset');
    expect(err.message).toContain(`127.0.0.1:${p.port}`);
    expect(err.message).toContain('api-allow');
  });

  it('times out a peer that never replies and closes the socket', async () => {
    const p = await peer(() => {});
    const err = await rejection(cgminerRequest({ ...base, port: p.port, command: 'summary', timeoutMs: 100 }));
    expect(err.reason).toBe('timeout');
    expect(err.message).toMatch(/no complete reply to "summary" within 100 ms/);
    await p.clientClosed;
  });

  it('stops reading past the size cap', async () => {
    const p = await peer((_req, s) => s.write(`{"x":"${'a'.repeat(70_000)}`));
    const err = await rejection(cgminerRequest({ ...base, port: p.port, command: 'stats', maxResponseBytes: 65_536 }));
    expect(err.reason).toBe('too_large');
    expect(err.message).toContain('65536-byte limit');
    await p.clientClosed;
  });

  it('maps a refused connection', async () => {
    const p = await peer(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    const err = await rejection(cgminerRequest({ ...base, port: p.port, command: 'summary' }));
    expect(err.reason).toBe('refused');
    expect(err.message).toContain(`127.0.0.1:${p.port}`);
  });

  it('connects a socket again only after an answered request: each request sends its own command, once', async () => {
    // A socket whose connection failed may still hold its unsent request; connected again, it would send it.
    const gone = await peer(() => {});
    await new Promise((r) => servers.pop()!.close(r));
    expect((await rejection(cgminerRequest({ ...base, port: gone.port, command: 'refused' }))).reason).toBe('refused');
    const p = await peer((req, s) => s.end(`{"STATUS":[{"STATUS":"S"}],"echo":"${req.command}"}\0`));
    for (const command of ['first', 'second', 'third']) {
      expect(await cgminerRequest({ ...base, port: p.port, command, timeoutMs: 500 })).toBe(`{"STATUS":[{"STATUS":"S"}],"echo":"${command}"}`);
    }
    expect(p.commands).toEqual(['first', 'second', 'third']);
  });

  it('aborts on the signal', async () => {
    const p = await peer(() => {});
    const controller = new AbortController();
    const pending = cgminerRequest({ ...base, port: p.port, command: 'summary', signal: controller.signal });
    await new Promise((r) => setImmediate(r));
    controller.abort(new Error('shutting down'));
    const err = await rejection(pending);
    expect(err.message).toMatch(/aborted: shutting down/);
    await p.clientClosed;
  });
});

describe('pollCgminer', () => {
  it('asks summary+stats+pools in one request', async () => {
    const p = await peer((_req, s) => s.end(`${fixture('antminer-s19pro-summary+stats+pools.json')}\0`));
    const reply = await pollCgminer({ ...base, port: p.port });
    expect(p.commands).toEqual(['summary+stats+pools']);
    expect(Object.keys(reply).sort()).toEqual(['pools', 'stats', 'summary']);
  });

  it('falls back to separate requests when the join is refused', async () => {
    const joined = JSON.parse(fixture('antminer-s19pro-summary+stats+pools.json'));
    const p = await peer((req, s) => {
      if (req.command.includes('+')) s.end('{"STATUS":[{"STATUS":"E","When":1,"Code":14,"Msg":"Invalid command"}],"id":1}\0');
      else s.end(`${JSON.stringify(joined[req.command][0])}\0`);
    });
    const reply = await pollCgminer({ ...base, port: p.port });
    expect(p.commands).toEqual(['summary+stats+pools', 'summary', 'stats', 'pools']);
    expect(reply.summary).toEqual(joined.summary[0]);
    expect(reply.pools).toEqual(joined.pools[0]);
    expect(reply.stats).toEqual(joined.stats[0]);
  });
});

describe('pollCgminer with firmware-specific commands', () => {
  const BTMINER_POOLS =
    '{"STATUS":[{"STATUS":"S","When":1761061371,"Code":7,"Msg":"1 Pool(s)","Description":"btminer"}],"POOLS":[{"POOL":0,"URL":"stratum+tcp://btc.pool.example:3333","Status":"Alive","Priority":0,"Accepted":4472,"Rejected":3,"Stale":0,"User":"farm.w1","Stratum Active":true}],"id":1}\0';

  it('reads a Whatsminer that refuses the join and `stats`: single commands, then its extras, nothing reported as a fault', async () => {
    const answers: Record<string, string> = {
      summary: fixture('whatsminer-m50s-summary-escape.txt'),
      pools: BTMINER_POOLS,
      edevs: `${fixture('whatsminer-m50s-edevs-dead-board.json')}\0`,
      devdetails: `${fixture('whatsminer-m50s-devdetails.json')}\0`,
    };
    const p = await peer((req, s) => s.end(answers[req.command] ?? fixture('whatsminer-invalid-cmd.txt')));
    const [snapshot] = await collectOnce(
      createCgminerCollector({ url: `cgminer://127.0.0.1:${p.port}`, scheme: 'cgminer', host: '127.0.0.1', port: p.port, labels: {}, intervalMs: 30_000, timeoutMs: 2_000 }),
      new AbortController().signal,
    );
    // Once summary names btminer, stats (which it refuses) is not asked; summary already holds firmware and MAC.
    expect(p.commands).toEqual(['summary+stats+pools', 'summary', 'pools', 'edevs', 'devdetails']);
    expect(snapshot).toMatchObject({ up: true, dialect: 'whatsminer', model: 'Whatsminer M50S', firmware: '20230803.11.REL', power_by_source_w: { reported: 3268 } });
    expect(snapshot!.error).toBe('board 2 of 3 dead: 0 chips, no hashrate');

    // Firmware whose summary lacks the version and MAC: get_version and get_miner_info fill them in.
    answers['summary'] = answers['summary']!.replace(/,"Firmware Version":"[^"]*"/, '').replace(/,"MAC":"[^"]*"/, '');
    answers['get_version'] = '{"STATUS":"S","When":1761061371,"Code":131,"Msg":{"api_ver":"2.0.5","fw_ver":"20230803.11.REL","platform":"H616"},"Description":""}\0';
    p.commands.length = 0;
    const [bare] = await collectOnce(
      createCgminerCollector({ url: `cgminer://127.0.0.1:${p.port}`, scheme: 'cgminer', host: '127.0.0.1', port: p.port, labels: {}, intervalMs: 30_000, timeoutMs: 2_000 }),
      new AbortController().signal,
    );
    expect(p.commands).toEqual(['summary+stats+pools', 'summary', 'pools', 'edevs', 'devdetails', 'get_version', 'get_miner_info']);
    // get_miner_info refused ("invalid cmd"): the MAC stays unknown and that is no fault.
    expect(bare).toMatchObject({ up: true, firmware: '20230803.11.REL' });
    expect(bare).not.toHaveProperty('mac');
    expect(bare!.error).toBe('board 2 of 3 dead: 0 chips, no hashrate');
  });

  it("surfaces a Whatsminer with its API disabled as an api_error carrying btminer's message", async () => {
    const p = await peer((_req, s) => s.end(fixture('whatsminer-permission-denied.txt')));
    const [snapshot] = await collectOnce(
      createCgminerCollector({ url: `cgminer://127.0.0.1:${p.port}`, scheme: 'cgminer', host: '127.0.0.1', port: p.port, labels: {}, intervalMs: 30_000, timeoutMs: 2_000 }),
      new AbortController().signal,
    );
    expect(snapshot).toMatchObject({ up: false, error_reason: 'api_error' });
    expect(snapshot!.error).toContain('"Permission denied" (STATUS E, code 45)');
  });

  it('asks a joining firmware for its extras in one more request', async () => {
    const joined = fixture('braiins-s19pro-joined.txt');
    const p = await peer((req, s) => {
      const parsed = JSON.parse(joined) as Record<string, unknown>;
      const parts = req.command.split('+').map((c) => `"${c}":${JSON.stringify(parsed[c] ?? [{ STATUS: [{ STATUS: 'E', Code: 14, Msg: 'Invalid command' }], id: 1 }])}`);
      s.end(`{${parts.join(',')},"id":1}\n`);
    });
    const reply = await pollCgminer({ ...base, port: p.port });
    expect(p.commands).toEqual(['summary+stats+pools', 'version+devs+devdetails+temps+fans+tunerstatus']);
    expect(Object.keys(reply).sort()).toEqual(['devdetails', 'devs', 'fans', 'pools', 'stats', 'summary', 'temps', 'tunerstatus', 'version']);
  });
});

describe('createCgminerCollector', () => {
  const targetOn = (port: number, timeoutMs = 2_000): Target => ({
    url: `cgminer://127.0.0.1:${port}`,
    scheme: 'cgminer',
    host: '127.0.0.1',
    port,
    labels: { rack: 'r1' },
    intervalMs: 30_000,
    timeoutMs,
  });

  it('returns the normalized device', async () => {
    const p = await peer((_req, s) => s.end(`${fixture('antminer-s19pro-summary+stats+pools.json')}\0`));
    const [s] = await collectOnce(createCgminerCollector(targetOn(p.port)), new AbortController().signal);
    expect(s).toMatchObject({ id: `asic/127.0.0.1:${p.port}`, up: true, dialect: 'antminer', model: 'Antminer S19 Pro', labels: { rack: 'r1' } });
  });

  it('turns a refused API into an api_error device with the device message', async () => {
    const p = await peer((_req, s) => s.end(fixture('error-invalid-command.txt')));
    const [s] = await collectOnce(createCgminerCollector(targetOn(p.port)), new AbortController().signal);
    expect(s).toMatchObject({ up: false, error_reason: 'api_error', target: `cgminer://127.0.0.1:${p.port}`, address: '127.0.0.1' });
    expect(s!.error).toContain('"Invalid command"');
    expect(p.commands).toEqual(['summary+stats+pools', 'summary', 'stats', 'pools']);
  });

  it('never rejects: garbage, truncation and timeouts become down devices with a reason', async () => {
    const garbage = await peer((_req, s) => s.end(fixture('garbage.txt')));
    const truncated = await peer((_req, s) => s.end(fixture('truncated-stats.txt')));
    const silent = await peer(() => {});
    const signal = new AbortController().signal;
    const [g] = await collectOnce(createCgminerCollector(targetOn(garbage.port)), signal);
    const [t] = await collectOnce(createCgminerCollector(targetOn(truncated.port)), signal);
    const [n] = await collectOnce(createCgminerCollector(targetOn(silent.port, 100)), signal);
    expect([g!.error_reason, t!.error_reason, n!.error_reason]).toEqual(['malformed', 'malformed', 'timeout']);
    expect(g!.error).toContain('HTTP/1.1 400');
    expect(g).toMatchObject({ up: false, temperatures_c: {}, fans_rpm: [] });
  });
});
