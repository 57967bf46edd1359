import { describe, expect, it } from 'vitest';
import { timeOfUseSchema } from '../config/economics-schema.js';
import { timeOfUsePrice, wallClockAt } from '../agent/economics/power-price.js';

const at = (iso: string) => Date.parse(iso);

// New York: EST (UTC−5) until 2025-03-09 02:00, EDT (UTC−4) until 2025-11-02 02:00.
const tariff = timeOfUseSchema.parse({
  timezone: 'America/New_York',
  periods: [
    { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '07:00', end: '19:00', usd_per_kwh: 0.15 },
    { days: ['fri'], start: '22:00', end: '06:00', usd_per_kwh: 0.04 },
    { days: ['sun'], start: '01:00', end: '02:00', usd_per_kwh: 0.02 },
    { days: ['sun'], start: '02:00', end: '03:00', usd_per_kwh: 0.01 },
  ],
  default_usd_per_kwh: 0.08,
});

describe('wallClockAt', () => {
  it('reads local weekday and time, half-hour offsets included', () => {
    expect(wallClockAt('Asia/Kolkata', at('2025-06-06T18:45:00Z'))).toEqual({ weekday: 'sat', minutes: 15 }); // 00:15 IST Saturday
    expect(wallClockAt('UTC', at('2025-06-06T00:00:00Z'))).toEqual({ weekday: 'fri', minutes: 0 });
  });
});

describe('timeOfUsePrice', () => {
  it('prices weekday peak, weekend and default hours', () => {
    expect(timeOfUsePrice(tariff, at('2025-06-04T16:00:00Z'))).toBe(0.15); // Wed 12:00 EDT
    expect(timeOfUsePrice(tariff, at('2025-06-04T23:30:00Z'))).toBe(0.08); // Wed 19:30 EDT: end is exclusive
    expect(timeOfUsePrice(tariff, at('2025-06-07T16:00:00Z'))).toBe(0.08); // Sat 12:00 EDT
  });

  it('runs a period that crosses midnight into the next morning, from the day it starts on', () => {
    expect(timeOfUsePrice(tariff, at('2025-06-07T03:30:00Z'))).toBe(0.04); // Fri 23:30 EDT
    expect(timeOfUsePrice(tariff, at('2025-06-07T08:00:00Z'))).toBe(0.04); // Sat 04:00 EDT, started Friday
    expect(timeOfUsePrice(tariff, at('2025-06-07T10:00:00Z'))).toBe(0.08); // Sat 06:00 EDT: over
    expect(timeOfUsePrice(tariff, at('2025-06-08T03:30:00Z'))).toBe(0.08); // Sat 23:30: only Friday nights
    expect(timeOfUsePrice(tariff, at('2025-06-05T08:00:00Z'))).toBe(0.08); // Thu 04:00: Wednesday night is not listed
  });

  it('follows DST: the same UTC time is off-peak in winter time and peak after spring-forward', () => {
    expect(timeOfUsePrice(tariff, at('2025-03-07T11:30:00Z'))).toBe(0.08); // Fri 06:30 EST
    expect(timeOfUsePrice(tariff, at('2025-03-10T11:30:00Z'))).toBe(0.15); // Mon 07:30 EDT
  });

  it('never prices the hour skipped on the spring-forward day', () => {
    // 2025-03-09: 01:59:59 EST is followed by 03:00:00 EDT.
    expect(timeOfUsePrice(tariff, at('2025-03-09T06:30:00Z'))).toBe(0.02); // Sun 01:30 EST
    expect(timeOfUsePrice(tariff, at('2025-03-09T06:59:00Z'))).toBe(0.02); // Sun 01:59 EST
    expect(timeOfUsePrice(tariff, at('2025-03-09T07:00:00Z'))).toBe(0.08); // Sun 03:00 EDT, not 02:00
  });

  it('prices the repeated hour twice on the fall-back day', () => {
    // 2025-11-02: 01:00–02:00 happens in EDT (05:00Z–06:00Z) and again in EST (06:00Z–07:00Z).
    expect(timeOfUsePrice(tariff, at('2025-11-02T05:30:00Z'))).toBe(0.02);
    expect(timeOfUsePrice(tariff, at('2025-11-02T06:30:00Z'))).toBe(0.02);
    expect(timeOfUsePrice(tariff, at('2025-11-02T07:30:00Z'))).toBe(0.01); // 02:30 EST
  });

  it('lets the first listed period win where two overlap', () => {
    const overlapping = timeOfUseSchema.parse({
      timezone: 'UTC',
      periods: [
        { days: ['mon'], start: '00:00', end: '24:00', usd_per_kwh: 0.03 },
        { days: ['mon'], start: '12:00', end: '13:00', usd_per_kwh: 0.5 },
      ],
      default_usd_per_kwh: 0.09,
    });
    expect(timeOfUsePrice(overlapping, at('2025-06-02T12:30:00Z'))).toBe(0.03);
    expect(timeOfUsePrice(overlapping, at('2025-06-02T23:59:00Z'))).toBe(0.03);
    expect(timeOfUsePrice(overlapping, at('2025-06-03T00:00:00Z'))).toBe(0.09);
  });
});
