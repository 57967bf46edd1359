import type { DeviceSnapshot } from '../../../agent/snapshot.js';
import type { Target } from '../../contract.js';
import type { CgminerReply } from '../reply.js';

export interface NormalizeContext {
  target: Target;
  observedAt: Date;
}

/**
 * One firmware family. Adding one (Whatsminer, Avalon, Braiins OS, LuxOS, VNish…) is one folder
 * whose index.ts exports such an object, registered ahead of the more general dialects in dialects/index.ts.
 */
export interface CgminerDialect<Name extends string = string> {
  /** Written to the snapshot's `dialect`. */
  readonly name: Name;
  /** Recognises the firmware from the reply itself (never from configuration). */
  identify(reply: CgminerReply): boolean;
  /**
   * Commands to send after identification, beyond `summary+stats+pools` (e.g. Whatsminer `get_version`,
   * LuxOS `power`); their replies land in the CgminerReply under their own names.
   */
  readonly extraCommands?: readonly string[];
  /**
   * The commands this firmware answers in one joined request, when that is not `summary+stats+pools`
   * plus its extras (btminer joins cgminer's commands but not `stats` nor its own `get_*` ones). Once
   * the firmware is known, each poll asks them in one join, less the hardware replies still fresh.
   */
  readonly joinCommands?: readonly string[];
  /**
   * Whether an extra command would add anything to the replies so far (btminer's `get_version` only
   * matters when `summary` carried no firmware version). Absent: every extra command is asked.
   */
  needs?(command: string, reply: CgminerReply): boolean;
  /**
   * Commands this firmware may refuse while nothing is wrong, and that this dialect can do without
   * (btminer answers `stats` with STATUS E on current firmware): their refusal is not reported in the
   * snapshot's `error`, and a poll that asks commands one by one does not ask a base command listed here.
   */
  readonly optionalCommands?: readonly string[];
  /**
   * Extra commands whose replies describe the hardware rather than its state (btminer's `devdetails`:
   * the model). A collector that remembers its endpoint reuses their last reply for a while instead of
   * paying a round trip for them on every poll.
   */
  readonly staticCommands?: readonly string[];
  /** Turns the successful replies into a snapshot; must accept a reply holding any subset of commands. */
  normalize(reply: CgminerReply, ctx: NormalizeContext): DeviceSnapshot;
}
