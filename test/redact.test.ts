import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../agent/log.js';
import { redactSecrets, redactSnapshot, redactUrl } from '../agent/redact.js';
import { antminer } from './fixtures/prometheus/snapshots.js';

describe('redactUrl', () => {
  it('hides the password of any URL and keeps the user, host and path', () => {
    expect(redactUrl('stratum+tcp://acct.worker1:hunter2@pool.example.com:3333')).toBe('stratum+tcp://acct.worker1:<secret>@pool.example.com:3333');
    expect(redactUrl('mqtts://agent:s3cr%40t@broker:8883/x')).toBe('mqtts://agent:<secret>@broker:8883/x');
    expect(redactUrl('stratum+tcp://acct.worker1@pool.example.com:3333')).toBe('stratum+tcp://acct.worker1@pool.example.com:3333');
    expect(redactUrl('cgminer://10.0.1.15:4028')).toBe('cgminer://10.0.1.15:4028');
  });

  it("hides an SNMP URL's community, which is its password", () => {
    expect(redactUrl('snmp://pr1vate@10.0.9.2:161?profile=apc')).toBe('snmp://<secret>@10.0.9.2:161?profile=apc');
  });
});

describe('redactSecrets', () => {
  it('hides what looks like a credential in free text and leaves the rest as it was', () => {
    const cases: [string, string][] = [
      ['ssh: connect failed password=hunter2 (exit 255)', 'ssh: connect failed password=<secret> (exit 255)'],
      ['curl: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y rejected', 'curl: Authorization: <secret> rejected'],
      ['authorization=Basic YWdlbnQ6aHVudGVyMg==', 'authorization=<secret>'],
      ['token: "abc def", api_key=XYZ', 'token: <secret>, api_key=<secret>'],
      ['found -----BEGIN OPENSSH PRIVATE KEY----- b3BlbnNzaC1rZXk -----END OPENSSH PRIVATE KEY----- in output', 'found <secret> in output'],
      ['cut off: -----BEGIN RSA PRIVATE KEY----- MIIEpAIBAAKCAQEA', 'cut off: <secret>'],
      ['pool stratum+tcp://u:p4ss@pool:3333 unreachable', 'pool stratum+tcp://u:<secret>@pool:3333 unreachable'],
      ['connect ECONNREFUSED 10.0.1.15:4028', 'connect ECONNREFUSED 10.0.1.15:4028'],
      ['Failed to initialize NVML: Driver/library version mismatch', 'Failed to initialize NVML: Driver/library version mismatch'],
    ];
    for (const [text, expected] of cases) expect(redactSecrets(text), text).toBe(expected);
  });
});

describe('redactSnapshot', () => {
  it('returns the same object when there is nothing to hide, and a redacted copy otherwise', () => {
    const clean = { ...antminer(), pools: [{ url: 'stratum+tcp://pool.example.com:3333', user: 'acct.w1' }] };
    expect(redactSnapshot(clean)).toBe(clean);
    const secret = { ...antminer(), up: false, error: 'password=x', pools: [...clean.pools, { url: 'stratum+tcp://acct.w1:pw@backup:3333' }] };
    const redacted = redactSnapshot(secret);
    expect(redacted.error).toBe('password=<secret>');
    expect(redacted.pools).toEqual([clean.pools[0], { url: 'stratum+tcp://acct.w1:<secret>@backup:3333' }]);
    expect(secret.pools[1]!.url).toBe('stratum+tcp://acct.w1:pw@backup:3333');
    const pdu = { ...antminer(), kind: 'pdu' as const, target: 'snmp://pr1vate@10.0.9.2' };
    expect(redactSnapshot(pdu).target).toBe('snmp://<secret>@10.0.9.2');
  });
});

describe('log lines', () => {
  function capture(): { logger: ReturnType<typeof createLogger>; lines: () => string } {
    const chunks: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        chunks.push(chunk.toString('utf8'));
        done();
      },
    });
    return { logger: createLogger({ destination, pretty: false }), lines: () => chunks.join('') };
  }

  it('carry no secret: known fields are censored and secrets inside strings and errors are redacted', async () => {
    const { logger, lines } = capture();
    logger.info({ password: 'pw1', mqtt: { password: 'pw2' }, credentials: { facilities: { auth_password: 'pw3' } }, community: 'pw4' }, 'fields');
    logger.error({ target: 'snmp://pw5@10.0.9.2', err: new Error('ssh stderr: token=pw6') }, 'strings');
    logger.warn({ req: { headers: { authorization: 'Basic cHc3' } }, broker: 'mqtt://u:pw8@b:1883' }, 'headers');
    logger.flush();
    await new Promise((r) => setTimeout(r, 20));
    const text = lines();
    expect(text.split('\n').filter(Boolean)).toHaveLength(3);
    expect(text).not.toMatch(/pw\d|cHc3/);
    expect(text).toContain('<secret>');
    expect(text).toContain('10.0.9.2');
  });
});
