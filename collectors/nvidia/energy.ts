/**
 * Energy counters for GPUs whose driver has no energy counter of its own: the trapezoid rule over the
 * power readings of consecutive polls, per GPU UUID. A gap longer than `maxGapMs` (the node was down,
 * the agent was suspended) is not integrated: the counter holds and restarts from the next reading,
 * because guessing a flat draw across minutes of silence would invent energy.
 */
export class EnergyMeter {
  readonly #gpus = new Map<string, { joules: number; lastWatts?: number; lastAtMs?: number }>();

  constructor(private readonly maxGapMs: number) {}

  /**
   * Adds the energy since this GPU's previous reading and returns its counter in joules; undefined for
   * a GPU that has never reported power.
   */
  record(uuid: string, watts: number | undefined, atMs: number): number | undefined {
    let gpu = this.#gpus.get(uuid);
    if (watts === undefined || !Number.isFinite(watts) || watts < 0) {
      if (gpu) gpu.lastWatts = gpu.lastAtMs = undefined;
      return gpu?.joules;
    }
    if (!gpu) {
      gpu = { joules: 0 };
      this.#gpus.set(uuid, gpu);
    }
    if (gpu.lastWatts !== undefined && gpu.lastAtMs !== undefined) {
      const dtMs = atMs - gpu.lastAtMs;
      if (dtMs > 0 && dtMs <= this.maxGapMs) gpu.joules += ((gpu.lastWatts + watts) / 2) * (dtMs / 1000);
    }
    gpu.lastWatts = watts;
    gpu.lastAtMs = atMs;
    return Math.round(gpu.joules * 1000) / 1000;
  }

  /** Drops a GPU the collector no longer remembers, so a node printing new UUIDs cannot grow the map. */
  forget(uuid: string): void {
    this.#gpus.delete(uuid);
  }

  /** Stops integrating across the coming silence (the GPU could not be read). */
  interrupt(uuid: string): void {
    const gpu = this.#gpus.get(uuid);
    if (gpu) gpu.lastWatts = gpu.lastAtMs = undefined;
  }
}
