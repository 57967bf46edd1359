import type { Server } from 'node:net';
import type { MinerReading } from '../physics.js';

/** What a protocol twin serves from: the miner's reading now, and the faults a test has set on it. */
export interface ServedMiner {
  read(): MinerReading;
  /** Accepts connections and never replies. */
  hung(): boolean;
  /** Replies are cut short. */
  malformed(): boolean;
}

/**
 * A miner API other than the CGMiner socket, simulated over loopback: a Whatsminer's API v3, a vendor
 * web API. `scheme` is the collectors' scheme that reads it, so a simulated miner's URL is a target.
 */
export interface ProtocolTwin<Scheme extends string = string> {
  readonly scheme: Scheme;
  readonly defaultPort: number;
  /** Vendors whose machines speak it (a catalog row's `vendor`). */
  readonly vendors: readonly string[];
  createServer(miner: ServedMiner): Server;
}
