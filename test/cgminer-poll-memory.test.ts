import { readFileSync } from 'node:fs';
import { collectOnce } from '../agent/scheduler.js';
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createCgminerCollector, pollCgminer, type EndpointMemory } from '../collectors/cgminer/index.js';
import { STATIC_REFRESH_POLLS } from '../collectors/cgminer/poll.js';
import type { Target } from '../collectors/contract.js';
import type { DeviceSnapshot } from '../agent/snapshot.js';
import { cgminerTestdata } from './helpers.js';

// Each round trip is a TCP connect and close; these check what a collector's memory of its endpoint saves.
const fixture = (name: string) => readFileSync(cgminerTestdata(name), 'utf8');

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback miner: `answer` gets each command and the socket; `commands` records what was asked. */
async function miner(answer: (command: string, socket: Socket) => void): Promise<{ port: number; commands: string[] }> {
  const commands: string[] = [];
  const server = createServer((socket) => {
    let buffered = '';
    socket.on('error', () => {});
    socket.on('data', (chunk) => {
      buffered += chunk.toString();
      let command: string;
      try {
        command = (JSON.parse(buffered) as { command: string }).command;
      } catch {
        return;
      }
      commands.push(command);
      answer(command, socket);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, commands };
}

const targetOn = (port: number): Target => ({ url: `cgminer://127.0.0.1:${port}`, scheme: 'cgminer', host: '127.0.0.1', port, labels: {}, intervalMs: 30_000, timeoutMs: 2_000 });

/** Answers a join from the Braiins capture, each part refused when the capture lacks it. */
function braiinsAnswer(command: string, socket: Socket): void {
  const parsed = JSON.parse(fixture('braiins-s19pro-joined.txt')) as Record<string, unknown>;
  const parts = command.split('+').map((c) => `"${c}":${JSON.stringify(parsed[c] ?? [{ STATUS: [{ STATUS: 'E', Code: 14, Msg: 'Invalid command' }], id: 1 }])}`);
  socket.end(`{${parts.join(',')},"id":1}\n`);
}

describe('pollCgminer with an endpoint memory', () => {
  it('polls an Antminer in one round trip, every time', async () => {
    const m = await miner((_c, s) => s.end(`${fixture('antminer-s19pro-summary+stats+pools.json')}\0`));
    const collector = createCgminerCollector(targetOn(m.port));
    for (let i = 0; i < 3; i++) expect((await collectOnce(collector, new AbortController().signal))[0]).toMatchObject({ up: true, dialect: 'antminer' });
    expect(m.commands).toEqual(['summary+stats+pools', 'summary+stats+pools', 'summary+stats+pools']);
  });

  it('takes the firmware from memory between identifications, and notices another one within STATIC_REFRESH_POLLS polls', async () => {
    let firmware: 'antminer' | 'braiins' = 'antminer';
    const m = await miner((command, s) => (firmware === 'antminer' ? s.end(`${fixture('antminer-s19pro-summary+stats+pools.json')}\0`) : braiinsAnswer(command, s)));
    const collector = createCgminerCollector(targetOn(m.port));
    const dialects: (string | undefined)[] = [];
    const poll = async () => dialects.push((await collectOnce(collector, new AbortController().signal))[0]!.dialect);
    await poll();
    // Reflashed without a failed poll between: no connection dropped, so memory still says Antminer.
    firmware = 'braiins';
    while (dialects.length <= STATIC_REFRESH_POLLS) await poll();
    expect(dialects.slice(0, STATIC_REFRESH_POLLS)).toEqual(Array(STATIC_REFRESH_POLLS).fill('antminer'));
    expect(dialects[STATIC_REFRESH_POLLS]).toBe('braiins');
  });

  it('asks a known joining firmware for its extras inside the base join from the second poll on', async () => {
    const m = await miner(braiinsAnswer);
    const memory: EndpointMemory = {};
    const first = await pollCgminer({ host: '127.0.0.1', port: m.port, timeoutMs: 2_000, memory });
    expect(m.commands).toEqual(['summary+stats+pools', 'version+devs+devdetails+temps+fans+tunerstatus']);
    expect(memory).toMatchObject({ dialect: 'braiins', joins: true });
    m.commands.length = 0;
    const second = await pollCgminer({ host: '127.0.0.1', port: m.port, timeoutMs: 2_000, memory });
    expect(m.commands).toEqual(['summary+stats+pools+version+devs+devdetails+temps+fans+tunerstatus']);
    expect(second).toEqual(first);
  });

  it('falls back to the plain join when the firmware garbles the longer one', async () => {
    const m = await miner((command, s) =>
      command.startsWith('summary+') && command.split('+').length > 3 ? s.end('{"STATUS":[{"STATUS":"S"}],"summary":[{{{\0') : braiinsAnswer(command, s),
    );
    const memory: EndpointMemory = { dialect: 'braiins', joins: true };
    const reply = await pollCgminer({ host: '127.0.0.1', port: m.port, timeoutMs: 2_000, memory });
    expect(m.commands).toEqual(['summary+stats+pools+version+devs+devdetails+temps+fans+tunerstatus', 'summary+stats+pools', 'version+devs+devdetails+temps+fans+tunerstatus']);
    expect(Object.keys(reply)).toContain('tunerstatus');
  });

  it('identifies afresh a known firmware that no longer answers its usual request', async () => {
    // Memory says Braiins, identified a poll ago; the longer join garbles and the plain one answers as bmminer.
    const m = await miner((command, s) =>
      command.split('+').length > 3 ? s.end('{"STATUS":[{"STATUS":"S"}],"summary":[{{{\0') : s.end(`${fixture('antminer-s19pro-summary+stats+pools.json')}\0`),
    );
    const memory: EndpointMemory = { dialect: 'braiins', joins: true, sinceIdentified: 0 };
    await pollCgminer({ host: '127.0.0.1', port: m.port, timeoutMs: 2_000, memory });
    expect(memory).toMatchObject({ dialect: 'antminer', sinceIdentified: 0 });
  });

  describe('a Whatsminer (stats refused, devdetails static)', () => {
    const answers: Record<string, string> = {
      summary: fixture('whatsminer-m50s-summary-escape.txt'),
      pools:
        '{"STATUS":[{"STATUS":"S","When":1,"Code":7,"Msg":"1 Pool(s)","Description":"btminer"}],"POOLS":[{"POOL":0,"URL":"stratum+tcp://pool.example:3333","Status":"Alive","Accepted":1,"Rejected":0,"Stale":0}],"id":1}\0',
      edevs: `${fixture('whatsminer-m50s-edevs-dead-board.json')}\0`,
      devdetails: `${fixture('whatsminer-m50s-devdetails.json')}\0`,
    };
    const refused = fixture('whatsminer-invalid-cmd.txt');
    /** btminer: joins of its cgminer commands answered (as pyasic joins them), unless `joins` is off; `stats` and anything unknown refused. */
    const whatsminer = (state: { hangUp: boolean; joins: boolean }) => (command: string, s: Socket) => {
      if (state.hangUp) return s.destroy();
      const parts = command.split('+');
      if (parts.length === 1) return s.end(answers[command] ?? refused);
      if (!state.joins || parts.some((c) => answers[c] === undefined)) return s.end(refused);
      s.end(`{${parts.map((c) => `"${c}":[${answers[c]!.replace(/\0$/, '')}]`).join(',')},"id":1}\0`);
    };
    const withoutTime = ({ observed_at: _, ...readings }: DeviceSnapshot) => readings;

    it('asks its own join from the second poll on, and the model from devdetails only when it is due again', async () => {
      const m = await miner(whatsminer({ hangUp: false, joins: true }));
      const collector = createCgminerCollector(targetOn(m.port));
      const first = (await collectOnce(collector, new AbortController().signal))[0]!;
      expect(m.commands).toEqual(['summary+stats+pools', 'summary', 'pools', 'edevs', 'devdetails']);
      m.commands.length = 0;
      const second = (await collectOnce(collector, new AbortController().signal))[0]!;
      expect(m.commands).toEqual(['summary+pools+edevs']);
      expect(withoutTime(second)).toEqual(withoutTime(first));
      expect(second).toMatchObject({ model: 'Whatsminer M50S', dialect: 'whatsminer' });

      for (let poll = 3; poll <= STATIC_REFRESH_POLLS; poll++) await collectOnce(collector, new AbortController().signal);
      expect(new Set(m.commands)).toEqual(new Set(['summary+pools+edevs']));
      await collectOnce(collector, new AbortController().signal);
      expect(m.commands.at(-1)).toBe('summary+pools+edevs+devdetails');
    });

    it('goes back to single commands for good when it refuses its own join too', async () => {
      const m = await miner(whatsminer({ hangUp: false, joins: false }));
      const collector = createCgminerCollector(targetOn(m.port));
      const first = (await collectOnce(collector, new AbortController().signal))[0]!;
      m.commands.length = 0;
      const second = (await collectOnce(collector, new AbortController().signal))[0]!;
      expect(m.commands).toEqual(['summary+pools+edevs', 'summary', 'pools', 'edevs']);
      expect(withoutTime(second)).toEqual(withoutTime(first));
      m.commands.length = 0;
      await collectOnce(collector, new AbortController().signal);
      expect(m.commands).toEqual(['summary', 'pools', 'edevs']);
    });

    it('forgets everything after a failed poll: the next one starts as a first poll', async () => {
      const state = { hangUp: false, joins: true };
      const m = await miner(whatsminer(state));
      const collector = createCgminerCollector(targetOn(m.port));
      await collectOnce(collector, new AbortController().signal);
      await collectOnce(collector, new AbortController().signal);
      state.hangUp = true;
      expect((await collectOnce(collector, new AbortController().signal))[0]).toMatchObject({ up: false, error_reason: 'reset' });
      state.hangUp = false;
      m.commands.length = 0;
      expect((await collectOnce(collector, new AbortController().signal))[0]).toMatchObject({ up: true, model: 'Whatsminer M50S' });
      expect(m.commands).toEqual(['summary+stats+pools', 'summary', 'pools', 'edevs', 'devdetails']);
    });
  });
});
