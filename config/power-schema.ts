import { z } from 'zod';

/**
 * The `power:` section: which PDU outlet feeds which device, and which meter measures the whole site.
 * A device on a metered outlet gets the outlet's reading as its `pdu` power, the most trusted source.
 */

export const outletMappingSchema = z
  .strictObject({
    pdu: z.string().min(1).describe('The PDU: its target URL as configured (snmp://public@10.0.0.9) or its device id (pdu/10.0.0.9).'),
    outlet: z.number().int().min(1).describe('Outlet number as the PDU numbers it (1-based).'),
    device: z
      .string()
      .min(1)
      .describe(
        "What the outlet feeds: a device id, an IP address or host name, or a `name` label. A GPU node (several GPU devices on one address) gets the reading as its wall power next to its GPUs' own draw.",
      ),
  })
  .describe('One metered outlet and the device it feeds.');

export const powerSchema = z
  .strictObject({
    outlets: z.array(outletMappingSchema).default([]).describe('PDU outlets and the devices they feed.'),
    site_meter: z.string().min(1).optional().describe("A meter (target URL or device id) whose reading is the whole site's power; without it, site power is the sum of every PDU."),
  })
  .superRefine((power, ctx) => {
    const seen = new Map<string, number>();
    power.outlets.forEach((mapping, index) => {
      const key = `${mapping.pdu}#${mapping.outlet}`;
      const first = seen.get(key);
      if (first !== undefined)
        ctx.addIssue({ code: 'custom', path: ['outlets', index], message: `outlet ${mapping.outlet} of ${mapping.pdu} is already mapped by outlets[${first}]` });
      else seen.set(key, index);
    });
  })
  .describe('Power attribution: metered outlets to devices, and the site meter.');

export type PowerSettings = z.infer<typeof powerSchema>;
