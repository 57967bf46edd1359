import { PollError } from '../../agent/snapshot.js';

/** Any failure to get a usable reply from a CGMiner API: `reason` is the bounded code, `message` the sentence. */
export class CgminerError extends PollError {
  override readonly name = 'CgminerError';
}
