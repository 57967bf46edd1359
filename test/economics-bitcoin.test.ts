import { describe, expect, it } from 'vitest';
import { blockSubsidyBtc, expectedBtcPerDay, hashpriceUsdPerThDay } from '../agent/economics/bitcoin.js';

describe('blockSubsidyBtc', () => {
  it('halves every 210,000 blocks', () => {
    expect(blockSubsidyBtc(0)).toBe(50);
    expect(blockSubsidyBtc(209_999)).toBe(50);
    expect(blockSubsidyBtc(210_000)).toBe(25);
    expect(blockSubsidyBtc(420_000)).toBe(12.5);
    expect(blockSubsidyBtc(630_000)).toBe(6.25);
    expect(blockSubsidyBtc(839_999)).toBe(6.25);
    expect(blockSubsidyBtc(840_000)).toBe(3.125);
    expect(blockSubsidyBtc(1_049_999)).toBe(3.125);
    expect(blockSubsidyBtc(1_050_000)).toBe(1.5625);
  });

  it('rounds down to whole satoshis and reaches zero after 33 halvings, as consensus does', () => {
    expect(blockSubsidyBtc(10 * 210_000)).toBe(0.04882812); // 50/1024 = 0.048828125 → 4,882,812 sats
    expect(blockSubsidyBtc(32 * 210_000)).toBe(0.00000001);
    expect(blockSubsidyBtc(33 * 210_000)).toBe(0);
  });

  it('refuses a height that is not a block height', () => {
    expect(() => blockSubsidyBtc(-1)).toThrow(/non-negative integer/);
    expect(() => blockSubsidyBtc(1.5)).toThrow(/non-negative integer/);
  });
});

describe('expectedBtcPerDay', () => {
  it('gives the whole network 144 blocks of reward a day', () => {
    const difficulty = 152e12;
    const networkHs = (difficulty * 2 ** 32) / 600; // one block per 600 s on average
    expect(expectedBtcPerDay(networkHs, difficulty, 3.125, 0.03)).toBeCloseTo(144 * 3.155, 9);
  });

  it('is zero without hashrate and refuses a non-positive difficulty', () => {
    expect(expectedBtcPerDay(0, 152e12, 3.125, 0)).toBe(0);
    expect(() => expectedBtcPerDay(1e12, 0, 3.125, 0)).toThrow(/difficulty/);
  });
});

describe('hashpriceUsdPerThDay', () => {
  it("matches Luxor's published late-2025 low of $38.2/PH/day within 2%", () => {
    const hashprice = hashpriceUsdPerThDay({ priceUsd: 91_000, difficulty: 152e12, subsidyBtc: 3.125, feesPerBlockBtc: 0.03, poolFeeRatio: 0 });
    expect(Math.abs(hashprice - 0.0382) / 0.0382).toBeLessThan(0.02);
  });

  it('takes the pool fee off the top', () => {
    const gross = hashpriceUsdPerThDay({ priceUsd: 91_000, difficulty: 152e12, subsidyBtc: 3.125, feesPerBlockBtc: 0.03, poolFeeRatio: 0 });
    const net = hashpriceUsdPerThDay({ priceUsd: 91_000, difficulty: 152e12, subsidyBtc: 3.125, feesPerBlockBtc: 0.03, poolFeeRatio: 0.02 });
    expect(net).toBeCloseTo(gross * 0.98, 12);
  });
});
