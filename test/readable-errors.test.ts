import { createServer, type Server } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../agent/log.js';
import { createCollector } from '../collectors/registry.js';
import { errorText, MAX_ERROR_CHARS } from '../agent/snapshot.js';
import { collectOnce } from '../agent/scheduler.js';
import { targetsFromUrls } from '../agent/targets.js';

const PRINTABLE_LINE = /^[^\u0000-\u001f\u007f-\u009f\ufffd]*$/;

describe('errors a person can read', () => {
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
  });

  it('errorText escapes control characters, undecodable bytes and bidi overrides, on one bounded line', () => {
    expect(errorText(new Error('bad reply: \u0000\u0001\u001b[31mred\u007f\u0085 line\r\nnext'))).toBe('bad reply: \\x00\\x01\\x1b[31mred\\x7f\\x85 line next');
    expect(errorText(new Error(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]).toString('utf8')))).toBe('{\\ufffd\\ufffd}');
    expect(errorText('evil\u202etxt.exe \ud800')).toBe('evil\\u202etxt.exe \\ud800');
    expect(errorText('fine: 🙂 °C')).toBe('fine: 🙂 °C');
    const long = errorText(new Error('\u0000'.repeat(100_000)));
    expect(long.length).toBe(MAX_ERROR_CHARS + 1);
    expect(long).toMatch(PRINTABLE_LINE);
  });

  it.each([
    ['binary garbage', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 37) % 256))],
    [
      'an error status quoting control bytes',
      Buffer.concat([Buffer.from('{"STATUS":[{"STATUS":"E","Code":14,"Msg":"invalid \u001b[2J\u0007'), Buffer.from([0xff, 0xc0, 0x80]), Buffer.from('"}],"id":1}\u0000')]),
    ],
  ])('a miner answering with %s is down with a printable error, not the raw bytes', async (_what, garbage) => {
    const server = createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => socket.end(garbage));
    });
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const [target] = targetsFromUrls([`cgminer://127.0.0.1:${port}`], 2000);
    const [device] = await collectOnce(createCollector(target!, { maxResponseBytes: 1 << 20 }), new AbortController().signal);
    expect(device).toMatchObject({ up: false });
    expect(device!.error).toMatch(PRINTABLE_LINE);
    expect(device!.error!.length).toBeLessThanOrEqual(MAX_ERROR_CHARS + 1);
  });

  it('logs an error as its type and one printable line, with the stack only at debug level', () => {
    const lines: Record<string, unknown>[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    const logger = createLogger({ level: 'info', destination });
    const err = Object.assign(new TypeError('reply broke\nthe parser \u0000'), { code: 'EPARSE' });
    logger.error({ err }, 'collector threw');
    logger.level = 'debug';
    logger.error({ err }, 'collector threw');
    return new Promise<void>((done) =>
      setImmediate(() => {
        expect(lines[0]!.err).toEqual({ type: 'TypeError', message: 'reply broke the parser \\x00', code: 'EPARSE' });
        expect((lines[1]!.err as { stack: string }).stack).toMatch(/^TypeError: reply broke\nthe parser/);
        done();
      }),
    );
  });
});
