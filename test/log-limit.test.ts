import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../agent/log.js';
import { LogLimiter } from '../agent/log-limit.js';

function capture() {
  const lines: { msg: string; suppressed?: number; key?: string; n?: number }[] = [];
  let bytes = 0;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  });
  return { logger: createLogger({ level: 'info', destination }), lines, bytes: () => bytes };
}

describe('LogLimiter', () => {
  it('writes the first lines of a key, counts the rest and says how many in one line once the minute is over', async () => {
    const { logger, lines, bytes } = capture();
    let now = 0;
    const limiter = new LogLimiter(logger, { burst: 3, windowMs: 60_000, now: () => now });
    for (let n = 0; n < 50_000; n++) limiter.warn('bad-signal', { n }, 'invalid signal message ignored');
    limiter.warn('other', { n: -1 }, 'something else');
    now = 30_000;
    limiter.flush();
    now = 60_000;
    limiter.flush();
    limiter.warn('bad-signal', { n: 50_000 }, 'invalid signal message ignored');
    limiter.stop();
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => [l.msg, l.n ?? l.suppressed])).toEqual([
      ['invalid signal message ignored', 0],
      ['invalid signal message ignored', 1],
      ['invalid signal message ignored', 2],
      ['something else', -1],
      ['invalid signal message ignored (49997 more like it not logged)', 49_997],
      ['invalid signal message ignored', 50_000],
    ]);
    expect(bytes()).toBeLessThan(2000);
  });

  it('keeps a bounded number of keys: a peer inventing a key per line shares one overflow key', async () => {
    const { logger, lines } = capture();
    const limiter = new LogLimiter(logger, { burst: 1, maxKeys: 5, now: () => 0 });
    for (let n = 0; n < 10_000; n++) limiter.error(`peer-${n}`, { n }, 'request failed');
    limiter.stop();
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.n)).toEqual([0, 1, 2, 3, 4, 5]);
  });
});
