import { cgminerRequest } from './client.js';
import { dialectFor, dialectNamed } from './dialects/index.js';
import type { CgminerDialect } from './dialects/types.js';
import { CgminerError } from './errors.js';
import { parseCgminerJson } from './repair.js';
import { statusOf, toCgminerReply, wrongAnswer, type CgminerReply } from './reply.js';

export const BASE_COMMANDS = ['summary', 'stats', 'pools'] as const;

export interface PollOptions {
  host: string;
  port: number;
  /** Budget for the whole poll, fallback and extra commands included. */
  timeoutMs: number;
  signal?: AbortSignal;
  maxResponseBytes?: number;
  /**
   * What earlier polls of this endpoint learned; read and updated by each poll. Each round trip is a
   * TCP connect and close, the dearest part of a poll: with it, a firmware whose extras are known is
   * asked for them in the same join, and one known to refuse joins is not offered one.
   */
  memory?: EndpointMemory;
}

/** Kept by a collector between polls of one endpoint; forgotten on any failed poll (a reboot may mean a reflash). */
export interface EndpointMemory {
  /** The dialect the last poll read the replies with. */
  dialect?: string;
  /** Polls since the dialect was last identified from a reply rather than taken from memory. */
  sinceIdentified?: number;
  /**
   * Whether the endpoint answers joined requests: false once it refused or garbled the join it was
   * last offered (`summary+stats+pools`, or the known dialect's own join), undefined while untried.
   */
  joins?: boolean;
  /** The dialect's static commands as last answered, and how many polls ago. */
  staticReplies?: CgminerReply;
  staticAge?: number;
}

/**
 * Static replies are asked afresh, and the firmware identified afresh from a reply, this often: a
 * swapped control board, or another miner answering at the address without a poll failing between,
 * shows within that many polls.
 */
export const STATIC_REFRESH_POLLS = 20;

/**
 * Reads a miner: `summary+stats+pools` in one request (one connection, one turn of cgminer's
 * single-threaded API); if the firmware rejects the join or answers without those sections, the
 * three commands one connection each, in turn. Then whatever extra commands the identified dialect
 * asks for. Transport failures and unparseable replies reject with a CgminerError.
 */
export function pollCgminer(opts: PollOptions): Promise<CgminerReply> {
  return new MinerPoll(opts).askAll();
}

/**
 * One poll's round trips, sharing its deadline; a class rather than closures, as it is built for every
 * poll. A steady poll suspends one async frame (#askAll), the rest are plain promise chains: hundreds of
 * polls are in flight at once, and each suspended frame (registers, context, promise) is copied by
 * every young-generation GC.
 */
class MinerPoll {
  readonly #opts: PollOptions;
  readonly #deadline: number;

  constructor(opts: PollOptions) {
    this.#opts = opts;
    this.#deadline = Date.now() + opts.timeoutMs;
  }

  askAll(): Promise<CgminerReply> {
    const memory = this.#opts.memory;
    const asked = this.#askAll(memory);
    return memory ? asked.catch((err: unknown) => forget(memory, err)) : asked;
  }

  async #askAll(memory: EndpointMemory | undefined): Promise<CgminerReply> {
    // A firmware known from the last poll is asked for everything it answers in one join: one round trip.
    const known = memory?.joins !== false ? dialectNamed(memory?.dialect) : undefined;
    const steady = known && memory ? steadyJoin(known, memory) : undefined;
    let joins: CgminerReply | undefined;
    // Whether the known firmware answered its usual request as it did a poll ago.
    let answeredAsBefore = false;
    if (steady) {
      joins = await this.askJoined(steady);
      answeredAsBefore = joins !== undefined;
      // btminer refusing its own join gets single commands until a failed poll makes it start over; a
      // longer join that garbled falls back to the plain one below, as on a first poll.
      if (joins) memory!.joins = true;
      else if (known!.joinCommands) memory!.joins = false;
    }
    if (!joins && memory?.joins !== false) {
      joins = await this.askJoined(BASE_JOIN);
      if (memory) memory.joins = joins !== undefined;
      if (!steady) answeredAsBefore = known !== undefined && joins !== undefined;
    }
    // A firmware that refuses joins (or, like btminer, refuses `stats` in one) gets every command on its
    // own, leaving out what the firmware, once identified by its first reply, is known to refuse.
    const reply: CgminerReply = joins ?? {};
    if (!joins) {
      for (const command of BASE_COMMANDS) {
        if (Object.keys(reply).length > 0 && dialectFor(reply).optionalCommands?.includes(command)) continue;
        await this.askEach([command], reply);
      }
    }

    // Identifying runs every dialect's test ahead of the right one over the reply; a firmware that
    // answered its usual request, on an endpoint that has not failed since, is the one it was a poll ago.
    const since = (memory?.sinceIdentified ?? STATIC_REFRESH_POLLS) + 1;
    const remembered = known !== undefined && answeredAsBefore && since < STATIC_REFRESH_POLLS;
    const dialect = remembered ? known : dialectFor(reply);
    if (memory) memory.sinceIdentified = remembered ? since : 0;
    // The generic join was refused, but the firmware has a narrower one of its own: the next poll tries it.
    if (memory && !joins && dialect.joinCommands && memory.dialect !== dialect.name) memory.joins = undefined;
    if (memory) reuseStaticReplies(memory, dialect, reply);
    const extra = (dialect.extraCommands ?? []).filter((c) => reply[c] === undefined && (dialect.needs?.(c, reply) ?? true));
    if (extra.length > 0) {
      const joinable = dialect.joinCommands ? extra.filter((c) => dialect.joinCommands!.includes(c)) : extra;
      if (joins && joinable.length > 1) Object.assign(reply, await this.askJoined(joinOf(joinable, joinable)));
      await this.askEach(extra, reply);
    }
    if (memory) {
      keepStaticReplies(memory, dialect, reply);
      memory.dialect = dialect.name;
    }
    return reply;
  }

  ask(command: string): Promise<CgminerReply> {
    const opts = this.#opts;
    const timeoutMs = this.#deadline - Date.now();
    if (timeoutMs <= 0) return Promise.reject(new CgminerError('timeout', `${opts.host}:${opts.port}: no time left for "${command}" within ${opts.timeoutMs} ms`));
    const text = cgminerRequest({ host: opts.host, port: opts.port, command, timeoutMs, signal: opts.signal, maxResponseBytes: opts.maxResponseBytes });
    return text.then((t) => readReply(t, command, opts));
  }

  /** The commands joined in one request; undefined when the firmware garbled it or left out a required part. */
  askJoined(join: Join): Promise<CgminerReply | undefined> {
    return this.ask(join.command).then((joined) => (answersAll(joined, join) ? joined : undefined), garbledAsUndefined);
  }

  async askEach(commands: readonly string[], into: CgminerReply): Promise<void> {
    for (const command of commands) if (into[command] === undefined) Object.assign(into, await this.ask(command));
  }
}

/** The reply to `command`, parsed; a fault names the endpoint and the command. */
function readReply(text: string, command: string, opts: PollOptions): CgminerReply {
  try {
    const reply = toCgminerReply(parseCgminerJson(text).value, command);
    const wrong = wrongAnswer(reply);
    if (wrong) throw new CgminerError('malformed', `the reply to "${wrong.command}" carries ${wrong.section}, the answer to another command`);
    return reply;
  } catch (err) {
    if (err instanceof CgminerError) throw new CgminerError(err.reason, `${opts.host}:${opts.port} "${command}": ${err.message}`);
    throw err;
  }
}

/** A firmware that garbles a join may still answer single commands; any other failure is final. */
function garbledAsUndefined(err: unknown): undefined {
  if (err instanceof CgminerError && err.reason === 'malformed') return undefined;
  throw err;
}

/** A failed poll may mean a reboot, and a reboot may mean a reflash: the next poll starts as a first. */
function forget(memory: EndpointMemory, err: unknown): never {
  memory.dialect = undefined;
  memory.sinceIdentified = undefined;
  memory.joins = undefined;
  memory.staticReplies = undefined;
  throw err;
}

/** Commands sent as one `a+b+c` request, and those of them a reply must answer to count. */
interface Join {
  readonly command: string;
  readonly required: readonly string[];
}

function answersAll(reply: CgminerReply, join: Join): boolean {
  for (const command of join.required) if (reply[command] === undefined) return false;
  return true;
}

function joinOf(commands: readonly string[], required: readonly string[]): Join {
  return { command: commands.join('+'), required };
}

const BASE_JOIN = joinOf(BASE_COMMANDS, BASE_COMMANDS);

/**
 * The one request a known firmware gets: its own join when it has one (less the hardware replies
 * still fresh in memory), else the base join with its extras when they do not depend on the replies.
 * Undefined when that would be the plain base join, which the first-poll path asks anyway.
 */
function steadyJoin(dialect: CgminerDialect, memory: EndpointMemory): Join | undefined {
  const joins = steadyJoinsOf(dialect);
  if (!joins) return undefined;
  const fresh = freshStaticReplies(memory, dialect, (memory.staticAge ?? 0) + 1);
  return fresh && joins.withoutStatic ? joins.withoutStatic : joins.full;
}

/** Worked out once per dialect: every poll of every miner of it sends the same request text. */
const STEADY_JOINS = new Map<string, { full: Join; withoutStatic?: Join } | null>();
function steadyJoinsOf(dialect: CgminerDialect): { full: Join; withoutStatic?: Join } | undefined {
  let joins = STEADY_JOINS.get(dialect.name);
  if (joins === undefined) {
    const of = (commands: readonly string[]) =>
      joinOf(
        commands,
        commands.filter((c) => (BASE_COMMANDS as readonly string[]).includes(c)),
      );
    if (dialect.joinCommands) {
      const statics = dialect.staticCommands ?? [];
      const live = dialect.joinCommands.filter((c) => !statics.includes(c));
      joins = { full: of(dialect.joinCommands), withoutStatic: live.length < dialect.joinCommands.length ? of(live) : undefined };
    } else {
      const upfront = dialect.needs ? [] : (dialect.extraCommands ?? []);
      joins = upfront.length ? { full: joinOf([...BASE_COMMANDS, ...upfront], BASE_COMMANDS) } : null;
    }
    STEADY_JOINS.set(dialect.name, joins);
  }
  return joins ?? undefined;
}

/** The hardware replies remembered from an earlier poll, while they are young enough to stand in for asking. */
function freshStaticReplies(memory: EndpointMemory, dialect: CgminerDialect, age: number): CgminerReply | undefined {
  return memory.dialect === dialect.name && age < STATIC_REFRESH_POLLS ? memory.staticReplies : undefined;
}

function reuseStaticReplies(memory: EndpointMemory, dialect: CgminerDialect, reply: CgminerReply): void {
  const age = (memory.staticAge ?? 0) + 1;
  memory.staticAge = age;
  const fresh = freshStaticReplies(memory, dialect, age);
  if (!fresh) return;
  for (const command of dialect.staticCommands ?? []) {
    if (reply[command] === undefined && fresh[command] !== undefined) reply[command] = fresh[command];
  }
}

function keepStaticReplies(memory: EndpointMemory, dialect: CgminerDialect, reply: CgminerReply): void {
  if (!dialect.staticCommands?.length || freshStaticReplies(memory, dialect, memory.staticAge ?? 0)) return;
  const kept: CgminerReply = {};
  for (const command of dialect.staticCommands) {
    const response = reply[command];
    if (response !== undefined && statusOf(response)?.ok !== false) kept[command] = response;
  }
  memory.staticReplies = kept;
  memory.staticAge = 0;
}
