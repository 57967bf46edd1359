/**
 * The shapes of CGMiner API replies. One command answers `{"STATUS":[{...}],"SUMMARY":[{...}],"id":1}`;
 * a joined one (`summary+stats+pools`) answers `{"summary":[{...one reply...}],"stats":[...],"id":1}`.
 */

/** One command's reply: STATUS plus its section (SUMMARY, STATS, POOLS, VERSION, DEVS, …). */
export type CgminerResponse = Record<string, unknown>;

/** Replies by command name, as many as were asked for; any may be missing. */
export interface CgminerReply {
  summary?: CgminerResponse;
  stats?: CgminerResponse;
  pools?: CgminerResponse;
  version?: CgminerResponse;
  devs?: CgminerResponse;
  [command: string]: CgminerResponse | undefined;
}

export interface CgminerStatus {
  ok: boolean;
  /** S, I, W, E, F as the firmware sent it (or BYE). */
  code: string;
  msgCode?: number;
  message?: string;
  description?: string;
}

type Row = Record<string, unknown>;

function isRow(v: unknown): v is Row {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads STATUS, which cgminer sends as a list of one object and some firmware (Whatsminer's btminer
 * API) as a string beside top-level Code/Msg. Undefined when the reply carries no STATUS at all.
 */
export function statusOf(response: CgminerResponse | undefined): CgminerStatus | undefined {
  const row = statusRow(response);
  if (!row) return undefined;
  const code = String(row['STATUS'] ?? '');
  const msg = row['Msg'];
  return {
    ok: code === 'S' || code === 'I' || code === 'W',
    code,
    msgCode: typeof row['Code'] === 'number' ? row['Code'] : undefined,
    message: typeof msg === 'string' ? msg : msg === undefined ? undefined : JSON.stringify(msg),
    description: typeof row['Description'] === 'string' ? row['Description'] : undefined,
  };
}

/** The status of a reply that refused its command (STATUS E, F or anything not S/I/W); undefined for an answer or no STATUS. */
export function refusalOf(response: CgminerResponse | undefined): CgminerStatus | undefined {
  const row = statusRow(response);
  if (row === undefined) return undefined;
  const code = row['STATUS'];
  return code === 'S' || code === 'I' || code === 'W' ? undefined : statusOf(response);
}

/** The row holding STATUS: cgminer's list of one, or the reply itself beside btminer's string STATUS. */
function statusRow(response: CgminerResponse | undefined): Row | undefined {
  const raw = response?.['STATUS'];
  if (Array.isArray(raw)) return isRow(raw[0]) ? raw[0] : undefined;
  return typeof raw === 'string' ? response : undefined;
}

/** STATUS's Description ("cgminer 4.9.2", "BOSminer bosminer-plus-tuner 0.2.0", "btminer"), read without building a status. */
export function descriptionOf(response: CgminerResponse | undefined): string | undefined {
  const description = statusRow(response)?.['Description'];
  return typeof description === 'string' ? description : undefined;
}

/** The first row of a section, as `rowsOf(…)[0]` without building the list. */
export function firstRowOf(response: CgminerResponse | undefined, section: string): Row | undefined {
  const raw = response?.[section];
  if (!Array.isArray(raw)) return undefined;
  for (const row of raw) if (isRow(row)) return row;
  return undefined;
}

/** The rows of a section (`SUMMARY`, `STATS`, …); empty when absent or not a list. */
export function rowsOf(response: CgminerResponse | undefined, section: string): Row[] {
  const raw = response?.[section];
  return Array.isArray(raw) ? raw.filter(isRow) : [];
}

/** True for `{"STATUS":[…]|"S", …}` or a multi-command join: the shapes a CGMiner API answers with. */
export function isCgminerShaped(value: unknown): boolean {
  if (!isRow(value)) return false;
  const status = value['STATUS'];
  if (Array.isArray(status) || typeof status === 'string') return true;
  return isJoinedReply(value);
}

function isJoinedReply(value: Row): boolean {
  let sections = 0;
  for (const key in value) {
    if (key === 'id') continue;
    const v = value[key];
    if (!Array.isArray(v) || !isRow(v[0]) || !('STATUS' in v[0])) return false;
    sections++;
  }
  return sections > 0;
}

/** The command a single reply answers, named after its section (`SUMMARY` → `summary`). */
export function commandOf(response: CgminerResponse): string | undefined {
  for (const key of Object.keys(response)) {
    if (key !== 'STATUS' && key !== 'id' && Array.isArray(response[key])) return key.toLowerCase();
  }
  return undefined;
}

/**
 * Files a parsed reply under the commands it answers. A joined reply spreads into its parts; a single
 * one goes under `command` when given (the one that was sent), else under the name of its section.
 */
export function toCgminerReply(value: unknown, command?: string): CgminerReply {
  if (!isRow(value)) return {};
  if (!('STATUS' in value) && isJoinedReply(value)) {
    const reply: CgminerReply = {};
    for (const key in value) {
      const v = value[key];
      if (key !== 'id' && Array.isArray(v) && isRow(v[0])) reply[key] = v[0];
    }
    return reply;
  }
  const name = command && !command.includes('+') ? command : (commandOf(value) ?? command ?? 'unknown');
  return { [name]: value };
}

/**
 * The sections that answer each well-known command: a reply to `summary` that carries VERSION or DEVS
 * answered another question (a confused or hostile peer), which must not read as a miner with no data.
 */
const SECTIONS_BY_COMMAND: Readonly<Record<string, readonly string[]>> = {
  summary: ['SUMMARY'],
  stats: ['STATS'],
  estats: ['STATS'],
  pools: ['POOLS'],
  version: ['VERSION'],
  devs: ['DEVS'],
  edevs: ['DEVS'],
  devdetails: ['DEVDETAILS'],
};
const KNOWN_SECTIONS: ReadonlySet<string> = new Set(Object.values(SECTIONS_BY_COMMAND).flat());

/** For each command the reply holds: the known section it carries that answers another command; undefined when all fit. */
export function wrongAnswer(reply: CgminerReply): { command: string; section: string } | undefined {
  for (const command in reply) {
    const expected = SECTIONS_BY_COMMAND[command];
    const response = reply[command];
    if (!expected || !response) continue;
    for (const key in response) {
      if (KNOWN_SECTIONS.has(key) && !expected.includes(key) && !hasAny(response, expected)) return { command, section: key };
    }
  }
  return undefined;
}

function hasAny(response: CgminerResponse, sections: readonly string[]): boolean {
  for (const section of sections) if (response[section] !== undefined) return true;
  return false;
}
