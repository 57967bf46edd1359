/**
 * What a simulated miner is doing at a given moment: a pure function of (seed, miner, time), so a
 * test that sets the clock gets the same numbers on every run, and a miner's state is a few numbers.
 * Dialects turn a `MinerReading` into one firmware's wire format; nothing here knows a wire format.
 */
import type { ModelSpec } from '../agent/catalog.js';

/** The few numbers that make one miner different from its neighbours, all drawn from the seed. */
export interface MinerTraits {
  index: number;
  seed: number;
  model: ModelSpec;
  /** Fraction of nominal this unit actually reaches (worn chips, a conservative tune): ~0.93-1.01. */
  derate: number;
  /** Board that has failed in the field (0 chips, 0 hashrate), or -1. */
  failedBoard: number;
  /** The miner never answers (refuses connections) until revived. */
  dead: boolean;
  /** Uptime cycle: the unit restarts every `rebootPeriodS` seconds, shifted by `rebootPhaseS`. */
  rebootPeriodS: number;
  rebootPhaseS: number;
  /** Shares and hardware errors per second at nominal, per unit. */
  shareRatePerS: number;
  hwErrorRatePerS: number;
}

export interface BoardReading {
  index: number;
  /** False for a failed or broken board: 0 chips, 0 hashrate, no temperatures. */
  alive: boolean;
  chips: number;
  chipsExpected: number;
  hashrateGhs: number;
  idealGhs: number;
  frequencyMhz: number;
  /** Four PCB sensors (two inlet-side, two outlet-side), as Antminer's temp_pcbN reports them. */
  pcbC: [number, number, number, number];
  /** Four chip sensors next to them. */
  chipC: [number, number, number, number];
  hardwareErrors: number;
}

export interface MinerReading {
  traits: MinerTraits;
  /** Seconds since the epoch at the time of the reading (cgminer's `When`). */
  when: number;
  elapsedS: number;
  boards: BoardReading[];
  /** Hashrate averaged over 5 s, since boot and over 30 min, in GH/s (the unit Antminer reports). */
  ghs5s: number;
  ghsAv: number;
  ghs30m: number;
  idealGhs: number;
  fansRpm: number[];
  accepted: number;
  rejected: number;
  stale: number;
  hardwareErrors: number;
  /** Pool share difficulty, scaled so the share rate stays ~0.08/s like the real S19 Pro capture. */
  poolDifficulty: number;
  bestShare: number;
  powerW: number;
}

/** 32-bit avalanche mix (murmur3 finaliser) over the inputs: cheap, stateless, well spread. */
function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Uniform in [0, 1) for these inputs. */
export function unit(...parts: number[]): number {
  return mix(...parts) / 4294967296;
}

enum Channel {
  Model = 1,
  Derate,
  Dead,
  FailedBoard,
  RebootPeriod,
  RebootPhase,
  ShareRate,
  HwRate,
  Hash5s,
  Hash30m,
  Temp,
  Fan,
  BoardHash,
  Sensor,
  BestShare,
}

/** Noise in [-1, 1] that drifts smoothly: linear between values drawn every `periodS` seconds. */
function drift(seconds: number, periodS: number, ...key: number[]): number {
  const slot = Math.floor(seconds / periodS);
  const frac = seconds / periodS - slot;
  const a = unit(...key, slot) * 2 - 1;
  const b = unit(...key, slot + 1) * 2 - 1;
  return a + (b - a) * frac;
}

export interface TraitOptions {
  seed: number;
  index: number;
  model: ModelSpec;
  failures: boolean;
}

/** Draws one miner's traits from the seed. */
export function drawTraits({ seed, index, model, failures }: TraitOptions): MinerTraits {
  const weak = unit(seed, index, Channel.Derate) < 0.15;
  const derate = weak ? 0.93 + unit(seed, index, Channel.Derate, 1) * 0.04 : 0.99 + unit(seed, index, Channel.Derate, 2) * 0.02;
  const dead = failures && unit(seed, index, Channel.Dead) < 0.005;
  const failedBoard = failures && !dead && unit(seed, index, Channel.FailedBoard) < 0.015 ? Math.floor(unit(seed, index, Channel.FailedBoard, 1) * model.hashboards) : -1;
  const nominalTh = model.nominal_hashrate_hs / 1e12;
  return {
    index,
    seed,
    model,
    derate,
    failedBoard,
    dead,
    rebootPeriodS: Math.round(3 * 86400 + unit(seed, index, Channel.RebootPeriod) * 40 * 86400),
    rebootPhaseS: Math.round(unit(seed, index, Channel.RebootPhase) * 50 * 86400),
    shareRatePerS: 0.07 + unit(seed, index, Channel.ShareRate) * 0.02,
    // The S19 Pro capture shows ~0.011 HW errors/s at 110 TH/s; scale with chip count.
    hwErrorRatePerS: (0.004 + unit(seed, index, Channel.HwRate) * 0.014) * (nominalTh / 110 + 0.5),
  };
}

const DEFAULT_CHIPS_PER_BOARD = 100;
const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Reads the miner at `nowMs`. `brokenBoards` is a bitmask of boards forced dead by a test
 * (on top of the seed's failed board).
 */
export function readMiner(traits: MinerTraits, nowMs: number, brokenBoards = 0): MinerReading {
  const { seed, index, model } = traits;
  const when = Math.floor(nowMs / 1000);
  const elapsedS = Math.max(1, (when + traits.rebootPhaseS) % traits.rebootPeriodS);
  const boardCount = model.hashboards;
  const chipsExpected = model.chips_per_board ?? DEFAULT_CHIPS_PER_BOARD;
  const idealBoardGhs = model.nominal_hashrate_hs / 1e9 / boardCount;
  const nominalTh = model.nominal_hashrate_hs / 1e12;
  // Warm-up: a freshly booted miner ramps to full speed over its first ten minutes.
  const warm = Math.min(1, 0.35 + elapsedS / 900);

  const boards: BoardReading[] = [];
  let aliveBoards = 0;
  let liveGhs = 0;
  let maxChip = 0;
  for (let b = 0; b < boardCount; b++) {
    const alive = b !== traits.failedBoard && (brokenBoards & (1 << b)) === 0;
    const boardNoise = drift(when, 20, seed, index, Channel.BoardHash, b) * 0.025;
    const hashrateGhs = alive ? round2(idealBoardGhs * traits.derate * warm * (1 + boardNoise)) : 0;
    const load = hashrateGhs / idealBoardGhs;
    const chipBase = 60 + 16 * load + drift(when, 60, seed, index, Channel.Temp, b) * 3;
    const sensor = (k: number) => Math.round(unit(seed, index, Channel.Sensor, b, k) * 4 - 2);
    const pcbOut = chipBase - 15;
    const pcbC: [number, number, number, number] = alive
      ? [Math.round(pcbOut - 20 + sensor(0)), Math.round(pcbOut - 19 + sensor(1)), Math.round(pcbOut + sensor(2)), Math.round(pcbOut + 1 + sensor(3))]
      : [0, 0, 0, 0];
    const chipC: [number, number, number, number] = alive ? [pcbC[0] + 5, pcbC[1] + 5, pcbC[2] + 15, pcbC[3] + 15] : [0, 0, 0, 0];
    if (alive) {
      aliveBoards++;
      liveGhs += hashrateGhs;
      maxChip = Math.max(maxChip, ...chipC);
    }
    boards.push({
      index: b,
      alive,
      chips: alive ? chipsExpected : 0,
      chipsExpected,
      hashrateGhs,
      idealGhs: round2(idealBoardGhs),
      frequencyMhz: alive ? 525 : 0,
      pcbC,
      chipC,
      hardwareErrors: alive ? Math.floor((elapsedS * traits.hwErrorRatePerS) / boardCount) : 0,
    });
  }

  const idealGhs = model.nominal_hashrate_hs / 1e9;
  const liveFraction = aliveBoards / boardCount;
  const ghs5s = round2(liveGhs * (1 + drift(when, 5, seed, index, Channel.Hash5s) * 0.01));
  const ghsAv = round2(idealGhs * traits.derate * liveFraction * (1 + unit(seed, index, Channel.Hash30m, 1) * 0.004));
  const ghs30m = round2(idealGhs * traits.derate * liveFraction * warm * (1 + drift(when, 300, seed, index, Channel.Hash30m) * 0.008));

  // Fans track the hottest chip: 3000 rpm at 60 °C up to 6500 rpm at 80 °C.
  const fanTarget = 3000 + Math.max(0, Math.min(1, (maxChip - 60) / 20)) * 3500;
  const fansRpm: number[] = [];
  for (let f = 0; f < (model.fans ?? 0); f++) {
    fansRpm.push(Math.round((fanTarget + drift(when, 30, seed, index, Channel.Fan, f) * 150) / 60) * 60);
  }

  const shareRate = traits.shareRatePerS * traits.derate * liveFraction;
  const accepted = Math.floor(elapsedS * shareRate);
  const rejected = Math.floor(accepted * 0.0027);
  const stale = Math.floor(accepted * 0.0003);
  const hardwareErrors = boards.reduce((sum, b) => sum + b.hardwareErrors, 0);
  const poolDifficulty = Math.max(1024, Math.round((nominalTh * 1e12) / (traits.shareRatePerS * 4294967296)));
  const powerW = Math.round(model.nominal_power_w * (0.15 + 0.85 * liveFraction * warm) * (1 + drift(when, 60, seed, index, Channel.Temp, 99) * 0.01));
  const bestShare = Math.floor(poolDifficulty * (20 + unit(seed, index, Channel.BestShare, Math.floor(elapsedS / 3600)) * 40000));

  return { traits, when, elapsedS, boards, ghs5s, ghsAv, ghs30m, idealGhs, fansRpm, accepted, rejected, stale, hardwareErrors, poolDifficulty, bestShare, powerW };
}
