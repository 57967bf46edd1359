import { z } from 'zod';

/** Labels that Potencia sets itself (the device families' and Prometheus' own); an operator label may not shadow them. */
export const RESERVED_LABELS = [
  'device',
  'kind',
  'vendor',
  'model',
  'algorithm',
  'firmware',
  'dialect',
  'address',
  'source',
  'sensor',
  'fan',
  'board',
  'status',
  'result',
  'reason',
  'collector',
  'clock',
  'type',
  'outlet',
  'phase',
  'storage',
  'activity',
  'scenario',
  'action',
  'instance',
  'job',
];

export const labelsSchema = z
  .record(z.string(), z.string({ error: 'a label value must be a string (quote numbers)' }).max(256))
  .superRefine((labels, ctx) => {
    for (const name of Object.keys(labels)) {
      const problem = !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)
        ? 'a label name must match [a-zA-Z_][a-zA-Z0-9_]* (Prometheus rules)'
        : name.startsWith('__')
          ? 'label names starting with "__" are reserved by Prometheus'
          : RESERVED_LABELS.includes(name)
            ? `"${name}" is set by Potencia itself; pick another label name`
            : undefined;
      if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  })
  .default({})
  .describe('Labels added to every series of the devices they apply to (site, room, rack, …).');
