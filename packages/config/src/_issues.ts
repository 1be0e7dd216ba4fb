import { z } from 'zod';
import type { Problem } from './problem.js';
import type { YamlSource } from './_source.js';

/**
 * Turns zod issues into one-line problems with line:column from the YAML source, a readable
 * message, and a hint (including "did you mean" for unknown keys).
 */
export function issuesToProblems(
  source: YamlSource,
  schema: z.ZodType,
  issues: z.core.$ZodIssue[],
): Problem[] {
  const json = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const problems: Problem[] = [];
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = Object.keys(schemaAt(json, issue.path)?.properties ?? {});
      for (const key of issue.keys) {
        const path = [...issue.path, key];
        const guess = closest(key, known);
        problems.push(
          problem(
            source,
            path,
            'key',
            `unknown key`,
            guess ? `did you mean "${guess}"?` : `known keys: ${known.join(', ')}`,
          ),
        );
      }
      continue;
    }
    const path = issue.path;
    const { message, hint } = describe(issue, schemaAt(json, path));
    problems.push(problem(source, path, 'value', message, hint));
  }
  return problems;
}

interface JsonSchema {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  description?: string;
  enum?: unknown[];
}

function schemaAt(root: JsonSchema, path: readonly PropertyKey[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const seg of path) {
    if (!node) return undefined;
    if (node.anyOf) node = node.anyOf.find((s) => s.properties || s.items) ?? node;
    node = typeof seg === 'number' ? node.items : node.properties?.[String(seg)];
  }
  return node;
}

function describe(issue: z.core.$ZodIssue, at: JsonSchema | undefined): { message: string; hint: string } {
  const doc = at?.description ? ` (${at.description})` : '';
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return { message: 'is required', hint: `add it${doc}` };
      return {
        message: `expected ${issue.expected}, got ${typeName(issue.input)} ${show(issue.input)}`,
        hint: `write a ${issue.expected}${doc}`,
      };
    case 'invalid_value':
      return {
        message: `${show(issue.input)} is not allowed`,
        hint: `use one of: ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'too_small':
      return {
        message: `${show(issue.input)} is too small`,
        hint: `use ${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}`,
      };
    case 'too_big':
      return {
        message: `${show(issue.input)} is too big`,
        hint: `use ${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}`,
      };
    case 'invalid_union':
      return { message: `${show(issue.input)} has the wrong shape`, hint: `see the description${doc}` };
    default:
      return {
        message: `${show(issue.input)}: ${issue.message}`,
        hint: at?.description ?? 'see docs/config-reference.md',
      };
  }
}

function problem(
  source: YamlSource,
  path: readonly PropertyKey[],
  what: 'key' | 'value',
  message: string,
  hint: string,
): Problem {
  const pos = source.locate(path, what);
  return {
    severity: 'error',
    file: source.file,
    line: pos?.line,
    column: pos?.column,
    key: path.map(String).join('.'),
    message,
    hint,
  };
}

function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'mapping';
  return typeof v;
}

function show(v: unknown): string {
  if (v === undefined) return '(missing)';
  if (typeof v === 'object' && v !== null) return typeName(v);
  const s = JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** The known key nearest to `key` by edit distance, when it is near enough to be a typo. */
export function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
