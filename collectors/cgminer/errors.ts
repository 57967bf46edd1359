import type { ErrorReason } from '../../agent/snapshot.js';

/** Any failure to get a usable reply from a CGMiner API: `reason` is the bounded code, `message` the sentence. */
export class CgminerError extends Error {
  override readonly name = 'CgminerError';
  constructor(
    readonly reason: ErrorReason,
    message: string,
  ) {
    super(message);
  }
}
