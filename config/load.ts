import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';
import { closestName } from './nearest.js';
import { FileReadError, MAX_CONFIG_FILE_BYTES, MAX_SECRET_FILE_BYTES, readBoundedFile } from './bounded-file.js';

/** A config that cannot be used; `problems` are `path: reason` lines, each naming where the fault is. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`${source}: invalid configuration\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** `targets[3].interval` from zod's `['targets', 3, 'interval']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out || '(top level)';
}

/** zod's own texts ("Too big: expected number to be <=0.5") in the words an operator reads; a schema's own message is kept. */
function plainMessage(issue: z.core.$ZodIssue, value?: unknown): string {
  if (!/^(Invalid|Too (big|small)|Unrecognized)/.test(issue.message)) return issue.message;
  switch (issue.code) {
    case 'too_big':
    case 'too_small': {
      const bound = issue.code === 'too_big' ? issue.maximum : issue.minimum;
      const most = issue.code === 'too_big';
      const inclusive = issue.inclusive !== false;
      const limit = `${most ? (inclusive ? 'at most' : 'less than') : inclusive ? 'at least' : 'more than'} ${String(bound)}`;
      if (issue.origin === 'string') return `must be ${limit} characters long`;
      if (issue.origin === 'array' || issue.origin === 'set') return `must have ${limit} entries`;
      return `must be ${limit}`;
    }
    case 'invalid_type':
      if (value === undefined) return 'is required';
      return `must be ${article(issue.expected)}, not ${article(typeName(value))}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'not_multiple_of':
      return `must be a multiple of ${String(issue.divisor)}`;
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    default:
      return 'is not valid here';
  }
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'object') return 'mapping';
  return typeof value === 'string' ? 'text' : typeof value;
}

function article(type: string): string {
  const words: Record<string, string> = { string: 'text', object: 'mapping', array: 'list', int: 'whole number', boolean: 'true or false' };
  const word = words[type] ?? type;
  if (word === 'text' || word === 'null' || word === 'true or false') return word;
  return `${/^[aeiou]/.test(word) ? 'an' : 'a'} ${word}`;
}

interface SchemaDef {
  type: string;
  shape?: Record<string, { def: SchemaDef }>;
  innerType?: { def: SchemaDef };
  in?: { def: SchemaDef };
  element?: { def: SchemaDef };
  valueType?: { def: SchemaDef };
  options?: { def: SchemaDef }[];
}

/** The keys a mapping at `path` of the schema accepts, for "did you mean". */
function knownKeysAt(def: SchemaDef | undefined, path: readonly PropertyKey[]): string[] {
  const keys = new Set<string>();
  const visit = (d: SchemaDef | undefined, rest: readonly PropertyKey[]): void => {
    if (!d) return;
    const [head, ...tail] = rest;
    if (d.innerType) visit(d.innerType.def, rest);
    else if (d.type === 'pipe') visit(d.in?.def, rest);
    else if (d.options) for (const option of d.options) visit(option.def, rest);
    else if (rest.length === 0) for (const key of Object.keys(d.shape ?? {})) keys.add(key);
    else if (d.element && typeof head === 'number') visit(d.element.def, tail);
    else if (d.valueType) visit(d.valueType.def, tail);
    else if (d.shape && typeof head === 'string') visit(d.shape[head]?.def, tail);
  };
  visit(def, path);
  return [...keys];
}

export interface SubstitutionContext {
  env: NodeJS.ProcessEnv;
  /** Relative secret paths resolve against the config file's folder. */
  baseDir: string;
}

/** A value read from a `${file:…}` secret, and where in the config it went: no message may show it. */
interface Secret {
  path: string;
  file: string;
  value: string;
}

interface Substitution {
  ctx: SubstitutionContext;
  problems: { path: readonly PropertyKey[]; text: string }[];
  secrets: Secret[];
}

const REFERENCE = /\$\{([^}]*)\}/g;

/**
 * Replaces `${VAR}`, `${VAR:-default}` and `${file:PATH}` (a secret read from a file, trailing newline
 * dropped) inside string values. Done on parsed values rather than on the text so a secret with YAML
 * syntax in it cannot change the document's structure. A value that is exactly one `${VAR}` is re-read
 * as a YAML scalar, so `concurrency: ${POLL_CONCURRENCY}` becomes a number.
 */
function substitute(value: string, sub: Substitution, at: readonly PropertyKey[]): unknown {
  const { ctx } = sub;
  const where = formatPath(at);
  const problem = (text: string) => sub.problems.push({ path: at, text: `${where}: ${text}` });
  let whole: { text: string; fromFile: boolean } | undefined;
  const out = value.replace(REFERENCE, (match, body: string) => {
    let text: string;
    let fromFile = false;
    if (body.startsWith('file:')) {
      const path = resolve(ctx.baseDir, body.slice(5));
      try {
        text = readBoundedFile(path, MAX_SECRET_FILE_BYTES, 'secret file').replace(/\r?\n$/, '');
        fromFile = true;
        sub.secrets.push({ path: where, file: path, value: text });
      } catch (err) {
        problem(err instanceof FileReadError ? err.message : `cannot read secret file ${path}`);
        return match;
      }
    } else {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body);
      if (!m) {
        problem(`"${match}" is not a reference like \${VAR}, \${VAR:-default} or \${file:/path}`);
        return match;
      }
      const fromEnv = ctx.env[m[1]!];
      if (fromEnv === undefined || (fromEnv === '' && m[2] !== undefined)) {
        if (m[2] === undefined) {
          problem(`environment variable ${m[1]} is not set (write \${${m[1]}:-default} for a default)`);
          return match;
        }
        text = m[2];
      } else text = fromEnv;
    }
    if (match === value) whole = { text, fromFile };
    return text;
  });
  if (whole && !whole.fromFile) {
    const scalar = parseDocument(whole.text).toJS();
    if (typeof scalar === 'number' || typeof scalar === 'boolean') return scalar;
  }
  return out;
}

function substituteTree(node: unknown, sub: Substitution, path: PropertyKey[]): unknown {
  if (typeof node === 'string') return node.includes('${') ? substitute(node, sub, path) : node;
  if (Array.isArray(node)) return node.map((item, i) => substituteTree(item, sub, [...path, i]));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = substituteTree(value, sub, [...path, key]);
    return out;
  }
  return node;
}

/** The YAML node at a zod path (with `key`, the key's own node), to point the operator at the right line. */
function offsetOf(doc: ReturnType<typeof parseDocument>, path: readonly PropertyKey[], key?: string): number | undefined {
  let node: YamlNode | null | undefined = doc.contents as YamlNode | null;
  const steps = key === undefined ? path : [...path, key];
  for (const [i, step] of steps.entries()) {
    if (isMap(node)) {
      const pair: unknown = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
      if (!isPair(pair)) break;
      const last = i === steps.length - 1 && key !== undefined;
      node = last ? (pair.key as YamlNode) : ((pair.value as YamlNode | null) ?? (pair.key as YamlNode));
    } else if (isSeq(node) && typeof step === 'number') {
      node = node.items[step] as YamlNode | undefined;
    } else break;
  }
  return node?.range?.[0];
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Each secret's text, and each of its lines, replaced: a message quoting a value built from it shows no part of it. */
function maskSecrets(text: string, secrets: readonly Secret[]): string {
  let out = text;
  for (const secret of secrets) {
    const pieces = [secret.value, encodeURIComponent(secret.value), ...secret.value.split(/\r?\n/)].filter((p) => p.trim().length >= 3);
    for (const piece of pieces.sort((a, b) => b.length - a.length)) out = out.replaceAll(piece, '<secret>');
  }
  return out;
}

interface Problem {
  offset: number;
  text: string;
}

/** Parses and validates config text; every fault is reported with its path and line, in line order. */
export function parseConfig(text: string, source: string, ctx: SubstitutionContext): Config {
  const lines = new LineCounter();
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  if (doc.contents === null) throw new ConfigError(source, ['the file is empty (see config/potencia.example.yaml)']);
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(source, ['(top level): expected a mapping of sections (agent, polling, targets, …) (line 1)']);
  const sub: Substitution = { ctx, problems: [], secrets: [] };
  const substituted = substituteTree(raw, sub, []);
  if (sub.problems.length > 0)
    throw inLineOrder(
      source,
      sub.problems.map((p) => ({ offset: offsetOf(doc, p.path) ?? UNPLACED, text: p.text })),
      lines,
    );
  const result = configSchema.safeParse(substituted);
  if (result.success) return result.data;
  const problems: Problem[] = [];
  const add = (path: readonly PropertyKey[], message: string, key?: string) => {
    const where = formatPath(path);
    // A fault in the value that holds a secret is told without the value; any other message is masked.
    const secret = key === undefined ? sub.secrets.find((s) => s.path === where) : undefined;
    const said = secret ? `not valid with the secret from ${secret.file} in it (the value is not shown)` : maskSecrets(message, sub.secrets);
    problems.push({ offset: offsetOf(doc, path, key) ?? UNPLACED, text: `${where}: ${said}` });
  };
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeysAt(configSchema.def as unknown as SchemaDef, issue.path);
      for (const key of issue.keys) {
        const near = closestName(key, known);
        add(issue.path, `unknown key "${key}"${near ? ` (did you mean "${near}"?)` : ''}`, key);
      }
    } else add(issue.path, plainMessage(issue, valueAt(substituted, issue.path)));
  }
  throw inLineOrder(source, problems, lines);
}

/** A problem no YAML node holds (a default that fails a cross-check) goes last, without a line. */
const UNPLACED = Number.MAX_SAFE_INTEGER;

function inLineOrder(source: string, problems: Problem[], lines: LineCounter): ConfigError {
  problems.sort((a, b) => a.offset - b.offset);
  return new ConfigError(
    source,
    problems.map((p) => (p.offset === UNPLACED ? p.text : `${p.text} (line ${lines.linePos(p.offset).line})`)),
  );
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readBoundedFile(path, MAX_CONFIG_FILE_BYTES, 'config file');
  } catch (err) {
    throw new ConfigError(path, [(err as Error).message]);
  }
  return parseConfig(text, path, { env, baseDir: dirname(resolve(path)) });
}

/** The JSON Schema editors use for completion, generated from the zod schema (the one source of truth). */
export function configJsonSchema(): object {
  return {
    ...z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://github.com/potencia/potencia/config/potencia.schema.json',
    title: 'Potencia agent configuration',
  };
}
