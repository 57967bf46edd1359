import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CgminerError, parseCgminerJson } from '../collectors/cgminer/index.js';
import { cgminerTestdata } from './helpers.js';

const fixture = (name: string) => readFileSync(cgminerTestdata(name), 'utf8');

function malformed(text: string): CgminerError {
  try {
    parseCgminerJson(text);
  } catch (err) {
    expect(err).toBeInstanceOf(CgminerError);
    expect((err as CgminerError).reason).toBe('malformed');
    return err as CgminerError;
  }
  throw new Error('expected a malformed error');
}

describe('parseCgminerJson', () => {
  it('parses valid JSON without repairs, ignoring the NUL terminator and trailing newline', () => {
    expect(parseCgminerJson('{"STATUS":[{"STATUS":"S"}],"id":1}\0')).toEqual({ value: { STATUS: [{ STATUS: 'S' }], id: 1 }, repairs: [] });
    expect(parseCgminerJson('{"a":1}\n').repairs).toEqual([]);
  });

  it('repairs the `}{` of Antminer stats', () => {
    const { value, repairs } = parseCgminerJson(fixture('antminer-s19pro-stats-brace-nul.txt'));
    expect(repairs).toEqual(['missing comma between objects']);
    const stats = (value as { STATS: Record<string, unknown>[] }).STATS;
    expect(stats).toHaveLength(2);
    expect(stats[0]!['Type']).toBe('Antminer S19 Pro');
    expect(stats[1]!['GHS 5s']).toBe(110786.79);
  });

  it('leaves `}{` inside strings alone', () => {
    const { value } = parseCgminerJson('{"a":"x}{y","b":[{"c":1}{"c":2}]}');
    expect(value).toEqual({ a: 'x}{y', b: [{ c: 1 }, { c: 2 }] });
  });

  it('drops leading and trailing commas', () => {
    const { value, repairs } = parseCgminerJson('{"DEVS":[,{"ID":0,},{"ID":1}],}');
    expect(value).toEqual({ DEVS: [{ ID: 0 }, { ID: 1 }] });
    expect(repairs).toEqual(['leading comma', 'trailing comma']);
  });

  it('turns bare nan / inf / -inf into null, but not words inside strings', () => {
    const { value, repairs } = parseCgminerJson('{"MHS av":nan,"Max":inf,"Min":-inf,"Fan":"nan inf","x":-nan}');
    expect(value).toEqual({ 'MHS av': null, Max: null, Min: null, Fan: 'nan inf', x: null });
    expect(repairs).toEqual(['bare nan/inf']);
  });

  it("repairs Whatsminer's illegal \\' escape", () => {
    const { value, repairs } = parseCgminerJson(String.raw`{"SUMMARY":[{"Firmware Version":"\'20200917.22.REL\'"}]}`);
    expect(value).toEqual({ SUMMARY: [{ 'Firmware Version': "'20200917.22.REL'" }] });
    expect(repairs).toEqual(['illegal escape']);
  });

  it('escapes raw control characters inside strings', () => {
    const { value, repairs } = parseCgminerJson('{"Type":"Antminer S9\nV1.3.58","t":"a\tb"}');
    expect(value).toEqual({ Type: 'Antminer S9\nV1.3.58', t: 'a\tb' });
    expect(repairs).toEqual(['raw control character']);
  });

  it('refuses truncated JSON, quoting where it broke', () => {
    const err = malformed(fixture('truncated-stats.txt'));
    expect(err.message).toMatch(/not valid JSON/);
    expect(err.message).toMatch(/at 444 of 444 chars/);
    expect(err.message).toContain('\\"fan2\\":58"');
  });

  it('refuses garbage and names it', () => {
    expect(malformed(fixture('garbage.txt')).message).toMatch(/HTTP\/1\.1 400 Bad Request/);
    expect(malformed('').message).toBe('empty reply');
  });

  it("recognises cgminer's text mode", () => {
    expect(malformed('STATUS=E,When=1,Code=14,Msg=Invalid command|\0').message).toMatch(/text format/);
  });
});
