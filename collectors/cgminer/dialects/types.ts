import type { DeviceSnapshot } from '../../../agent/snapshot.js';
import type { Target } from '../../target.js';
import type { CgminerReply } from '../reply.js';

export interface NormalizeContext {
  target: Target;
  observedAt: Date;
}

/**
 * One firmware family. Adding one (Whatsminer, Avalon, Braiins OS, LuxOS, VNish…) is one file that
 * exports such an object, registered ahead of the more general dialects in dialects/index.ts.
 */
export interface CgminerDialect {
  /** Written to the snapshot's `dialect`. */
  readonly name: string;
  /** Recognises the firmware from the reply itself (never from configuration). */
  identify(reply: CgminerReply): boolean;
  /**
   * Commands to send after identification, beyond `summary+stats+pools` (e.g. Whatsminer `get_version`,
   * LuxOS `power`); their replies land in the CgminerReply under their own names.
   */
  readonly extraCommands?: readonly string[];
  /**
   * Commands this firmware may refuse while nothing is wrong (btminer answers `stats` with STATUS E on
   * newer firmware); their refusal is not reported in the snapshot's `error`.
   */
  readonly optionalCommands?: readonly string[];
  /** Turns the successful replies into a snapshot; must accept a reply holding any subset of commands. */
  normalize(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot;
}
