import { describe, expect, it } from 'vitest';
import { parseCgminerJson } from '../collectors/cgminer/index.js';

// The `}{`-only replies take a quote-counting shortcut; these pin down that it agrees with the full scan.
describe('parseCgminerJson: the `}{` shortcut', () => {
  it('puts commas between objects wherever `}{` stands outside strings', () => {
    const { value, repairs } = parseCgminerJson('{"STATS":[{"Type":"Antminer S19"}{"ID":"BC50"}{"ID":"BC51"}],"id":1}\0');
    expect(value).toEqual({ STATS: [{ Type: 'Antminer S19' }, { ID: 'BC50' }, { ID: 'BC51' }], id: 1 });
    expect(repairs).toEqual(['missing comma between objects']);
  });

  it('leaves `}{` inside string values untouched, before, between and after the real ones', () => {
    const text = '{"a":"}{","s":[{"m":"x}{y"}{"n":"}{}{"}],"z":"end}{"}';
    expect(parseCgminerJson(text).value).toEqual({ a: '}{', s: [{ m: 'x}{y' }, { n: '}{}{' }], z: 'end}{' });
  });

  it('treats a reply whose only `}{` are inside strings as valid JSON', () => {
    expect(parseCgminerJson('{"Msg":"a}{b","id":1}')).toEqual({ value: { Msg: 'a}{b', id: 1 }, repairs: [] });
  });

  it('hands replies with escapes to the full scan, which still tells an escaped quote from a closing one', () => {
    // With `\"` inside the string, counting quotes would think `}{` after it is outside a string.
    const { value, repairs } = parseCgminerJson('{"Msg":"say \\"hi}{\\" now","S":[{"a":1}{"a":2}]}');
    expect(value).toEqual({ Msg: 'say "hi}{" now', S: [{ a: 1 }, { a: 2 }] });
    expect(repairs).toEqual(['missing comma between objects']);
  });

  it('sends mixed faults through the full repair and reports each of them', () => {
    const { value, repairs } = parseCgminerJson('{"STATS":[{"temp":nan}{"fan":[1,2,],"x":"}{"}]}');
    expect(value).toEqual({ STATS: [{ temp: null }, { fan: [1, 2], x: '}{' }] });
    expect(repairs.sort()).toEqual(['bare nan/inf', 'missing comma between objects', 'trailing comma']);
  });

  it('repairs `} {` with whitespace between, which the shortcut does not look for', () => {
    const { value, repairs } = parseCgminerJson('{"S":[{"a":1}{"b":2} \n {"c":3}]}');
    expect(value).toEqual({ S: [{ a: 1 }, { b: 2 }, { c: 3 }] });
    expect(repairs).toEqual(['missing comma between objects']);
  });
});

// btminer's `\'` alone takes a shortcut too; an escaped backslash before a quote must survive it.
describe("parseCgminerJson: the \\' shortcut", () => {
  it("keeps an escaped backslash before a quote while dropping \\'", () => {
    const { value, repairs } = parseCgminerJson(String.raw`{"a":"C:\\'x","b":"\'y\'","c":"\\\\\'"}`);
    expect(value).toEqual({ a: "C:\\'x", b: "'y'", c: "\\\\'" });
    expect(repairs).toEqual(['illegal escape']);
  });

  it("repairs \\' beside another fault in the same reply", () => {
    const { value, repairs } = parseCgminerJson(String.raw`{"SUMMARY":[{"Firmware Version":"\'1\'","MHS av":nan}]}`);
    expect(value).toEqual({ SUMMARY: [{ 'Firmware Version': "'1'", 'MHS av': null }] });
    expect(repairs).toEqual(['illegal escape', 'bare nan/inf']);
  });
});
