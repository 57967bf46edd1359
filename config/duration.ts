import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Parses "500ms", "30s", "10m", "1.5h", "7d" into milliseconds; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2]!]! : undefined;
}

/** A duration written as a string like "30s" in config, parsed to milliseconds. */
export const durationSchema = z
  .string({ error: 'expected a duration like "30s" (units ms, s, m, h, d)' })
  .transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like "30s" (units ms, s, m, h, d), got "${text}"` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ type: 'string', pattern: DURATION.source, examples: ['30s', '5m'] });
