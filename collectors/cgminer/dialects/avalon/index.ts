/**
 * Canaan AvalonMiner (Canaan's cgminer 4.11.1 fork: A7, A10, A11-A15 series, Avalon Q). Everything about
 * the machine sits in one string per controller module in `stats` / `estats`: `"MM ID0"` (or
 * `"MM ID0:Summary"` on the Q) holding `Key[value] Key2[v v v]` tokens — `Temp` (intake), `TMax` /
 * `TAvg` (chips), `Fan1..N`, `FanR` (%), `GHSspd` / `GHSavg` / `GHSmm`, `MGHS` / `MTmax` / `MTavg`
 * (per board), `PS[...]`, `WALLPOWER`, `Elapsed`, `Ver`, `DNA`. `version` adds `PROD` / `MODEL` /
 * `LVERSION` / `CGVERSION` / `MAC`.
 *
 * PS, as the captures show it: `PS[err Vin? Vout Iout Pout Vset Pwall]`. With six numbers (A10:
 * `PS[0 1212 1315 174 2288 1320]`) the watts are the 5th number, the PSU's output; with seven (A1246:
 * `PS[0 1214 1316 242 3189 1320 3504]`, A1566: `PS[0 1209 1187 297 3526 1188 3731]` beside
 * `WALLPOWER[3731]`) the 7th is the draw at the wall, which is what a PDU would see, so it wins.
 * All zeros (A10 with `POW_I2C[FAILED]`) means no reading.
 */
import { findModel } from '../../../../agent/catalog.js';
import type { BoardSnapshot, DeviceSnapshot } from '../../../../agent/snapshot.js';
import { firstRowOf, rowsOf, type CgminerReply } from '../../reply.js';
import {
  applySummaryCounters,
  count,
  macOf,
  maxOf,
  num,
  poolsOf,
  rowHashrate,
  setBoardTemperatures,
  setIfDefined,
  setReportedPower,
  str,
  temperature,
  toHs,
  upSnapshot,
  watts,
  type Row,
} from '../fields.js';
import type { CgminerDialect, NormalizeContext } from '../types.js';

const MODULE_KEY = /^MM ID\d+/;

export const avalonDialect: CgminerDialect<'avalon'> = {
  name: 'avalon',
  extraCommands: ['version'],
  identify(reply) {
    const version = firstRowOf(reply.version, 'VERSION');
    if (/avalon/i.test(str(version?.['PROD']) ?? '')) return true;
    return rowsOf(reply.stats, 'STATS').some(hasModuleKey);
  },
  normalize(reply, ctx) {
    return normalizeAvalon(reply, ctx);
  },
};

/**
 * Splits `Ver[1246-83-2107] SYSTEMSTATU[Work: In Work, Hash Board: 3 ] Nonce Mask[25]` into
 * key → value. A key is the text since the previous `]`, so keys with spaces survive and tokens
 * written without a space between them (`Elapsed[103840]BOOTBY[1]`) still split.
 */
export function parseBracketed(text: string): Map<string, string> {
  const out = new Map<string, string>();
  let from = 0;
  for (;;) {
    const open = text.indexOf('[', from);
    if (open === -1) break;
    const close = text.indexOf(']', open + 1);
    if (close === -1) break;
    // Scanned by hand: a module string holds ~80 tokens, and a regex and two slices per token made
    // this the dearest part of reading an Avalon.
    let start = open;
    while (start > from && isKeyChar(text.charCodeAt(start - 1))) start--;
    while (start < open && text.charCodeAt(start) === SPACE) start++;
    let end = open;
    while (end > start && text.charCodeAt(end - 1) === SPACE) end--;
    if (end > start) {
      const key = text.slice(start, end);
      if (!out.has(key)) out.set(key, text.slice(open + 1, close).trim());
    }
    from = close + 1;
  }
  return out;
}

const SPACE = 0x20;
const PERCENT = 0x25;

/** A letter, digit, `_` or space: what a token's key is made of. */
function isKeyChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f || c === SPACE;
}

function isSpace(c: number): boolean {
  return c === SPACE || (c >= 0x09 && c <= 0x0d);
}

/** "59459.52 61407.83 63139.66" → numbers; "1.299%" → [1.299]. */
function numbers(v: string | undefined): number[] {
  const out: number[] = [];
  if (v === undefined) return out;
  for (let i = 0; i < v.length; ) {
    while (i < v.length && isSpace(v.charCodeAt(i))) i++;
    let j = i;
    while (j < v.length && !isSpace(v.charCodeAt(j))) j++;
    if (j > i) {
      const n = Number(v.slice(i, v.charCodeAt(j - 1) === PERCENT ? j - 1 : j));
      if (Number.isFinite(n)) out.push(n);
    }
    i = j;
  }
  return out;
}

function first(v: string | undefined): number | undefined {
  return numbers(v)[0];
}

/** Every dialect ahead of bmminer's asks this of its ~100-key STATS row: the prefix check spares the regex. */
function hasModuleKey(row: Row): boolean {
  for (const key in row) if (key.startsWith('MM ID') && MODULE_KEY.test(key)) return true;
  return false;
}

function modulesOf(reply: CgminerReply): Map<string, string>[] {
  const modules: Map<string, string>[] = [];
  for (const row of rowsOf(reply.stats, 'STATS')) {
    for (const key in row) {
      const value = row[key];
      if (key.startsWith('MM ID') && MODULE_KEY.test(key) && typeof value === 'string') modules.push(parseBracketed(value));
    }
  }
  return modules;
}

/** Wall watts where the firmware gives them, else the PSU's output (see the PS note above). */
export function powerOf(mm: Map<string, string>): number | undefined {
  const wall = watts(first(mm.get('WALLPOWER')));
  if (wall !== undefined) return wall;
  const ps = numbers(mm.get('PS'));
  if (ps.length >= 7) return watts(ps[6]) ?? watts(ps[4]);
  return ps.length >= 5 ? watts(ps[4]) : undefined;
}

function normalizeAvalon(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot {
  const snapshot = upSnapshot(ctx.target, ctx.observedAt, avalonDialect.name);
  const version = firstRowOf(reply.version, 'VERSION');
  const modules = modulesOf(reply);
  const main = modules[0];

  // MODEL "15-194" / Ver "1246-83-21072802_…": the family before the first dash, the bin after it.
  const modelCode = str(version?.['MODEL']) ?? modelCodeOf(main?.get('Ver'));
  const spec = findModel(modelCode) ?? findModel(str(version?.['PROD']));
  snapshot.vendor = 'Canaan';
  setIfDefined(snapshot, 'model', spec?.model ?? str(version?.['PROD']) ?? (modelCode ? `AvalonMiner ${modelCode}` : undefined));
  const ver = main?.get('Ver');
  setIfDefined(snapshot, 'firmware', str(version?.['LVERSION']) ?? str(version?.['VERSION']) ?? str(version?.['CGVERSION']) ?? (ver ? ver.split('-').slice(-1)[0] : undefined));
  setIfDefined(snapshot, 'mac', macOf(version?.['MAC']) ?? macOf(main?.get('MAC')));
  const dna = str(version?.['DNA']) ?? main?.get('DNA');
  if (dna && !/^<.*>$/.test(dna)) snapshot.serial = dna;

  const summary = firstRowOf(reply.summary, 'SUMMARY');
  applySummaryCounters(snapshot, summary);
  const moduleGhs = modules.map((mm) => first(mm.get('GHSspd')) ?? first(mm.get('GHSavg')) ?? first(mm.get('GHSmm')));
  const hashrate =
    (summary && rowHashrate(summary)) ??
    (moduleGhs.some((g) => g !== undefined)
      ? toHs(
          moduleGhs.reduce<number>((a, g) => a + (g ?? 0), 0),
          1e9,
        )
      : undefined);
  setIfDefined(snapshot, 'hashrate_hs', hashrate);
  if (snapshot.uptime_s === undefined) setIfDefined(snapshot, 'uptime_s', count(main?.get('Elapsed')) ?? count(firstRowOf(reply.stats, 'STATS')?.['Elapsed']));

  if (!main) {
    setIfDefined(snapshot, 'pools', poolsOf(reply.pools));
    return snapshot;
  }
  const powers = modules.map(powerOf);
  if (powers.some((p) => p !== undefined))
    setReportedPower(
      snapshot,
      powers.reduce<number>((a, p) => a + (p ?? 0), 0),
    );

  setIfDefined(snapshot.temperatures_c, 'inlet', temperature(first(main.get('Temp') ?? main.get('ITemp'))));
  setIfDefined(snapshot.temperatures_c, 'chip_max', positive(maxOf(modules.map((mm) => temperature(first(mm.get('TMax')))))));
  setIfDefined(snapshot.temperatures_c, 'chip_avg', positive(temperature(first(main.get('TAvg')))));
  snapshot.fans_rpm = modules.flatMap(fansOf);

  const { boards, problems } = boardsOf(modules, spec?.hashboards, (hashrate ?? 0) > 0);
  if (boards.length) {
    snapshot.boards = boards;
    for (const b of boards) setBoardTemperatures(snapshot.temperatures_c, b);
  }
  if (problems.length) snapshot.error = problems.join('; ');
  setIfDefined(snapshot, 'pools', poolsOf(reply.pools));
  return snapshot;
}

/**
 * The model part of `Ver`: "1246-83-21072802_4ec6bb0_211fc46" → "1246-83", "Q-25052801_14a19a2" → "Q",
 * "1047-20051101_85dc6f0_0332654" → "1047". The A7's "7411706-3162860" is a build hash, not a model.
 */
function modelCodeOf(ver: string | undefined): string | undefined {
  const parts: string[] = [];
  for (const part of ver?.split('-') ?? []) {
    if (!/^[A-Za-z0-9]{1,4}$/.test(part)) break;
    parts.push(part);
  }
  return parts.length ? parts.join('-') : undefined;
}

/** 0 °C from an idle Avalon's chip sensors means "not measured". */
function positive(v: number | undefined): number | undefined {
  return v !== undefined && v > 0 ? v : undefined;
}

function fansOf(mm: Map<string, string>): number[] {
  const fans: number[] = [];
  for (let i = 1; mm.has(`Fan${i}`); i++) {
    const rpm = count(first(mm.get(`Fan${i}`)));
    if (rpm !== undefined) fans.push(rpm);
  }
  if (fans.length === 0) {
    const single = count(first(mm.get('Fan')));
    if (single !== undefined) fans.push(single);
  }
  return fans;
}

/**
 * One controller module (A10 and later): a board per entry of MGHS / MTmax. Several modules (A7 chains
 * of units behind one controller): one board per module.
 */
function boardsOf(modules: Map<string, string>[], expected: number | undefined, minerHashes: boolean): { boards: BoardSnapshot[]; problems: string[] } {
  const boards: BoardSnapshot[] = [];
  if (modules.length === 1) {
    const mm = modules[0]!;
    const rates = numbers(mm.get('MGHS'));
    const tmax = numbers(mm.get('MTmax'));
    rates.forEach((ghs, i) => {
      const board: BoardSnapshot = { index: i, status: minerHashes && ghs === 0 ? 'dead' : 'ok', hashrate_hs: toHs(ghs, 1e9) };
      setIfDefined(board, 'chip_temperature_c', positive(temperature(tmax[i])));
      boards.push(board);
    });
  } else {
    modules.forEach((mm, i) => {
      const ghs = first(mm.get('GHSmm'));
      const board: BoardSnapshot = { index: i, status: minerHashes && ghs === 0 ? 'dead' : 'ok' };
      if (ghs !== undefined) board.hashrate_hs = toHs(ghs, 1e9);
      setIfDefined(board, 'chip_temperature_c', positive(temperature(first(mm.get('TMax')))));
      boards.push(board);
    });
  }
  const problems: string[] = [];
  const total = Math.max(boards.length, expected ?? 0);
  for (const b of boards) if (b.status === 'dead') problems.push(`board ${b.index + 1} of ${total} dead: no hashrate`);
  // The firmware's own count of the boards it found: "SYSTEMSTATU[Work: In Work, Hash Board: 2 ]".
  const found = num(/Hash Board:\s*(\d+)/.exec(modules[0]?.get('SYSTEMSTATU') ?? '')?.[1]);
  if (modules.length === 1 && expected !== undefined) {
    const seen = Math.max(found ?? 0, boards.length);
    if (seen < expected) problems.push(`${expected - seen} of ${expected} boards not detected`);
  }
  return { boards, problems };
}
