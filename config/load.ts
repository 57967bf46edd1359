import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isMap, isPair, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { z } from 'zod';
import { configSchema, type Config } from './schema.js';

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

export function formatIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    let message = issue.message;
    if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    return `${formatPath(issue.path)}: ${message}`;
  });
}

export interface SubstitutionContext {
  env: NodeJS.ProcessEnv;
  /** Relative secret paths resolve against the config file's folder. */
  baseDir: string;
}

const REFERENCE = /\$\{([^}]*)\}/g;

/**
 * Replaces `${VAR}`, `${VAR:-default}` and `${file:PATH}` (a secret read from a file, trailing newline
 * dropped) inside string values. Done on parsed values rather than on the text so a secret with YAML
 * syntax in it cannot change the document's structure. A value that is exactly one `${VAR}` is re-read
 * as a YAML scalar, so `concurrency: ${POLL_CONCURRENCY}` becomes a number.
 */
function substitute(value: string, ctx: SubstitutionContext, problems: string[], where: string): unknown {
  let whole: { text: string; fromFile: boolean } | undefined;
  const out = value.replace(REFERENCE, (match, body: string) => {
    let text: string;
    let fromFile = false;
    if (body.startsWith('file:')) {
      const path = resolve(ctx.baseDir, body.slice(5));
      try {
        text = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
        fromFile = true;
      } catch (err) {
        problems.push(`${where}: cannot read secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
        return match;
      }
    } else {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s.exec(body);
      if (!m) {
        problems.push(`${where}: "${match}" is not a reference like \${VAR}, \${VAR:-default} or \${file:/path}`);
        return match;
      }
      const fromEnv = ctx.env[m[1]!];
      if (fromEnv === undefined || (fromEnv === '' && m[2] !== undefined)) {
        if (m[2] === undefined) {
          problems.push(`${where}: environment variable ${m[1]} is not set (write \${${m[1]}:-default} for a default)`);
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

function substituteTree(node: unknown, ctx: SubstitutionContext, problems: string[], path: PropertyKey[]): unknown {
  if (typeof node === 'string') return node.includes('${') ? substitute(node, ctx, problems, formatPath(path)) : node;
  if (Array.isArray(node)) return node.map((item, i) => substituteTree(item, ctx, problems, [...path, i]));
  if (node && typeof node === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = substituteTree(value, ctx, problems, [...path, key]);
    return out;
  }
  return node;
}

/** Line number of the YAML node at a zod path, to point the operator at the right line. */
function lineOf(doc: ReturnType<typeof parseDocument>, text: string, path: readonly PropertyKey[]): number | undefined {
  let node: YamlNode | null | undefined = doc.contents as YamlNode | null;
  for (const key of path) {
    if (isMap(node)) {
      const pair: unknown = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
      if (!isPair(pair)) break;
      node = (pair.value as YamlNode | null) ?? (pair.key as YamlNode);
    } else if (isSeq(node) && typeof key === 'number') {
      node = node.items[key] as YamlNode | undefined;
    } else break;
  }
  const offset = node?.range?.[0];
  if (offset === undefined) return undefined;
  return text.slice(0, offset).split('\n').length;
}

/** Parses and validates config text; every fault is reported with its path (and line), not only the first. */
export function parseConfig(text: string, source: string, ctx: SubstitutionContext): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      source,
      doc.errors.map((e) => `line ${e.linePos?.[0]?.line ?? '?'}: ${e.message.split('\n')[0]}`),
    );
  }
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(source, ['(top level): expected a mapping of sections (agent, polling, targets, …)']);
  const problems: string[] = [];
  const substituted = substituteTree(raw, ctx, problems, []);
  if (problems.length > 0) throw new ConfigError(source, problems);
  const result = configSchema.safeParse(substituted);
  if (!result.success) {
    throw new ConfigError(
      source,
      result.error.issues.map((issue) => {
        const line = lineOf(doc, text, issue.path);
        const formatted = formatIssues([issue])[0]!;
        return line ? `${formatted} (line ${line})` : formatted;
      }),
    );
  }
  return result.data;
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`]);
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
