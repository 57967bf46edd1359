import { z } from 'zod';

/**
 * The `metrics:` section: which per-part series each device puts on /metrics. A 50,000-miner agent's
 * page is mostly per-hashboard and per-fan series; an operator who watches whole machines turns them
 * off here and keeps every per-device series (hashrate, power, chip_max / pcb_max temperatures, up,
 * errors, economics). MQTT and /api/devices keep the full reading either way.
 */
export const metricsSchema = z
  .strictObject({
    per_board: z
      .boolean()
      .default(true)
      .describe('Per-hashboard series: potencia_miner_board_* and the board{N}_chip / board{N}_pcb sensors of potencia_device_temperature_celsius (chip_max and pcb_max stay).'),
    per_fan: z.boolean().default(true).describe('potencia_device_fan_speed_rpm, one series per fan.'),
  })
  .prefault({})
  .describe('Series per device on /metrics: turn off per-board or per-fan series to hold more devices per agent (README, "Series per device").');
