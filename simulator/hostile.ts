/**
 * CGMiner API peers that misbehave on purpose, one kind each, for the tests and the hostile-floor
 * bench: what a broken firmware or an attacker on the mining network can send an agent.
 */
import net, { type Server, type Socket } from 'node:net';
import { parseRequest, statusBlock } from './wire.js';

/**
 * huge: a reply past the agent's size cap · chunked: a 2 MB reply of 10-byte lines in newline-ended pieces ·
 * wrong_question: a VERSION reply to every command · devs_to_all: a DEVS reply to every command · absurd_values: 1e308 hashrates, 1e11 °C, negative
 * counts · many_devs: a join carrying 40,000 DEVS rows.
 */
export type HostileKind = 'huge' | 'chunked' | 'wrong_question' | 'devs_to_all' | 'absurd_values' | 'many_devs';
export const HOSTILE_KINDS: readonly HostileKind[] = ['huge', 'chunked', 'wrong_question', 'devs_to_all', 'absurd_values', 'many_devs'];

export interface HostilePeer {
  readonly kind: HostileKind;
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

const STATUS_S = (what: string) => `[${statusBlock('S', 0, 11, what, 'cgminer 4.11.1')}]`;

/** One ordinary summary+stats+pools section set, for the peers whose fault lies elsewhere. */
function plainSections(summaryRow: string, statsRow: string, type = 'Antminer S19 Pro'): string {
  return (
    `"summary":[{"STATUS":${STATUS_S('Summary')},"SUMMARY":[${summaryRow}],"id":1}],` +
    `"stats":[{"STATUS":${STATUS_S('CGMiner stats')},"STATS":[{"CGMiner":"4.11.1","Type":${JSON.stringify(type)}},${statsRow}],"id":1}],` +
    `"pools":[{"STATUS":${STATUS_S('1 Pool(s)')},"POOLS":[{"POOL":0,"URL":"stratum+tcp://pool.example:3333","User":"farm.1","Status":"Alive","Accepted":10}],"id":1}]`
  );
}

/** The reply `kind` sends to `command`, as the chunks it writes them in. */
export function hostileReply(kind: HostileKind, command: string): string[] {
  switch (kind) {
    case 'huge':
      return [`{"STATUS":${STATUS_S('Summary')},"SUMMARY":[{"pad":"${'x'.repeat(6 * 1024 * 1024)}"}],"id":1}\0`];
    case 'chunked': {
      // Newline-ended pieces of one JSON value that stays open until the last: a client that re-scans the
      // whole reply at every newline does quadratic work.
      const pieces = [`{"STATUS":${STATUS_S('Summary')},"SUMMARY":[{"GHS 5s":"100000.0","Elapsed":10}],"pad":[\n`];
      // 100 ten-byte lines per write: the pieces still end in newlines, and the peer's own cost stays small.
      const piece = '"abcdef",\n'.repeat(100);
      for (let i = 0; i < 2_000; i++) pieces.push(piece);
      pieces.push('"end"],"id":1}\n');
      return pieces;
    }
    case 'wrong_question':
      return [`{"STATUS":${STATUS_S('CGMiner versions')},"VERSION":[{"CGMiner":"4.11.1","API":"3.7"}],"id":1}\0`];
    case 'devs_to_all':
      return [`{"STATUS":${STATUS_S('1 ASC(s)')},"DEVS":[{"ASC":0,"Status":"Alive","Enabled":"Y","MHS 5s":1000}],"id":1}\0`];
    case 'absurd_values': {
      const summary = '{"Elapsed":-5,"GHS 5s":"1e308","GHS av":"1e308","Accepted":-2147483648,"Rejected":1e308,"Hardware Errors":-1}';
      const stats = '{"STATS":1,"fan1":1000000000,"fan2":-5,"temp1":99999999999,"temp2_1":99999999999,"chain_rate1":"1e308","chain_acn1":-4,"Power":"-2147483648"}';
      return [`{${plainSections(summary, stats)},"id":1}\0`];
    }
    case 'many_devs': {
      const rows: string[] = [];
      for (let i = 0; i < 40_000; i++) rows.push(`{"ASC":${i},"Status":"Alive","Enabled":"Y","MHS 5s":${1000 + i},"Temperature":60}`);
      const devs = `"devs":[{"STATUS":${STATUS_S(`${rows.length} ASC(s)`)},"DEVS":[${rows.join(',')}],"id":1}]`;
      return [`{${plainSections('{"Elapsed":100,"GHS 5s":"100000.0","Accepted":5}', '{"STATS":1}', 'cgminer')},${devs},"id":1}\0`];
    }
    default:
      return [`{"STATUS":${STATUS_S(command)},"id":1}\0`];
  }
}

/** A hostile peer listening on host:port (port 0: any free port). */
export async function startHostilePeer(kind: HostileKind, host = '127.0.0.1', port = 0): Promise<HostilePeer> {
  const sockets = new Set<Socket>();
  // Built once per command: the bench's peers answer every poll, and the agent's cost is what is measured.
  const replies = new Map<string, string[]>();
  const server: Server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      const request = parseRequest(buffered);
      if (request === undefined) return;
      socket.removeAllListeners('data');
      const command = request !== 'invalid' && typeof request.command === 'string' ? request.command : '';
      let reply = replies.get(command);
      if (!reply) {
        reply = hostileReply(kind, command);
        replies.set(command, reply);
      }
      void writeAll(socket, reply);
    });
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => resolve((server.address() as net.AddressInfo).port));
  });
  return {
    kind,
    host,
    port: bound,
    url: `cgminer://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * Writes each piece as its own write, yielding to the event loop between them so the reader gets them
 * one read each, as from a slow firmware; then closes.
 */
async function writeAll(socket: Socket, pieces: readonly string[]): Promise<void> {
  for (const piece of pieces) {
    if (socket.destroyed) return;
    if (!socket.write(piece, 'latin1')) await new Promise((resolve) => socket.once('drain', resolve));
    else if (pieces.length > 1) await new Promise((resolve) => setImmediate(resolve));
  }
  socket.end();
}
