import type { TimeOfUseConfig, TouPeriod, Weekday } from '../../config/economics-schema.js';

/**
 * The power price at a moment. Time-of-use periods are local wall-clock times in the tariff's IANA
 * zone, read with Intl.DateTimeFormat so DST follows the zone's rules: on a spring-forward day the
 * skipped hour simply never occurs, on a fall-back day the repeated hour is priced twice.
 * A period whose end is earlier than its start crosses midnight: `days` names the day it starts on
 * and it runs into the next morning (fri 22:00–06:00 covers Saturday 03:00).
 */

const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const SHORT_TO_WEEKDAY: Record<string, Weekday> = { Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat', Sun: 'sun' };

export interface WallClock {
  weekday: Weekday;
  /** Minutes after local midnight, 0..1439. */
  minutes: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local weekday and time of day at an instant in an IANA time zone. */
export function wallClockAt(timeZone: string, atMs: number): WallClock {
  let weekday: Weekday | undefined;
  let hour = 0;
  let minute = 0;
  for (const part of formatterFor(timeZone).formatToParts(new Date(atMs))) {
    if (part.type === 'weekday') weekday = SHORT_TO_WEEKDAY[part.value];
    else if (part.type === 'hour') hour = Number(part.value) % 24;
    else if (part.type === 'minute') minute = Number(part.value);
  }
  if (!weekday) throw new Error(`could not read the weekday in time zone ${timeZone}`);
  return { weekday, minutes: hour * 60 + minute };
}

function previousDay(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7]!;
}

/** Whether a period covers a local wall-clock moment. */
export function periodCovers(period: TouPeriod, { weekday, minutes }: WallClock): boolean {
  if (period.start < period.end) return period.days.includes(weekday) && minutes >= period.start && minutes < period.end;
  return (period.days.includes(weekday) && minutes >= period.start) || (period.days.includes(previousDay(weekday)) && minutes < period.end);
}

/** USD per kWh under a time-of-use tariff at an instant: the first period covering it, else the default. */
export function timeOfUsePrice(tariff: TimeOfUseConfig, atMs: number): number {
  const clock = wallClockAt(tariff.timezone, atMs);
  return tariff.periods.find((p) => periodCovers(p, clock))?.usd_per_kwh ?? tariff.default_usd_per_kwh;
}
