import type { DeviceEconomics } from '../../agent/contracts/economics.js';
import type { DeviceSnapshot } from '../../agent/snapshot.js';
import { RESERVED_LABELS } from '../../config/labels-schema.js';

/** What a family sees of one device. */
export interface DeviceView {
  readonly snapshot: DeviceSnapshot;
  readonly observedAtMs: number;
  /** `device="…",<operator labels>` already escaped, without braces; the same label names for every device. */
  readonly labels: string;
  /** The device's assessment and site-plan place, when the economics part runs. */
  readonly economics?: DeviceEconomics | undefined;
}

/**
 * One metric family rendered from device snapshots. Adding a family (GPU fields, economics) is one
 * more entry in DEVICE_FAMILIES.
 */
export interface DeviceFamily {
  readonly name: string;
  readonly type: 'gauge' | 'counter';
  readonly help: string;
  /**
   * What the lines are computed from. 'reading' (the default): the snapshot, re-rendered at every new
   * reading. 'economics': only `labels` and `economics`, re-rendered when the device's assessment changes
   * and never on a reading; such a family must not read the snapshot.
   */
  readonly input?: 'reading' | 'economics';
  /** Series of one part of the device rather than the whole, which `metrics.per_board` / `per_fan` can leave out. */
  readonly part?: 'board' | 'fan';
  /** This device's sample lines, each ending in a line feed; '' when the snapshot does not report the quantity. */
  lines(device: DeviceView): string;
}

/** Label names the families themselves use; an operator label with one of these names is renamed `label_<name>`. */
export const FAMILY_LABEL_NAMES: ReadonlySet<string> = new Set(RESERVED_LABELS);
