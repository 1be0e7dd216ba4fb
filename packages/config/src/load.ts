import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { issuesToProblems } from './_issues.js';
import { parseYaml, type YamlSource } from './_source.js';
import { LEGACY_NOTICE, legacyConfigSchema, mapLegacy, type PathMap } from './legacy.js';
import { loadOss } from './oss.js';
import type { Problem } from './problem.js';
import type { Project } from './project.js';
import { checkRules } from './rules.js';
import { projectConfigSchema, type ProjectConfig } from './schema.js';
import type { z } from 'zod';

/** The project's settings file. */
export const CONFIG_FILE = 'config.yaml';
/** The original project's settings file, still read when config.yaml is absent. */
export const LEGACY_CONFIG_FILE = 'Boottorrent.yaml';

export interface LoadResult {
  /** The project, or null when there is any error. */
  project: Project | null;
  warnings: Problem[];
  /** Every error at once, in file order. */
  errors: Problem[];
}

/**
 * Loads and validates a project directory: config.yaml (or the original Boottorrent.yaml) and every
 * oss/<name>/config.yaml. Never throws for bad content: every problem comes back as one line.
 */
export async function loadProject(dirArg: string): Promise<LoadResult> {
  const dir = resolve(dirArg);
  const warnings: Problem[] = [];
  const errors: Problem[] = [];
  const done = (): LoadResult => ({ project: null, warnings, errors });

  if (!(await isDir(dir))) {
    errors.push({
      severity: 'error',
      file: dirArg,
      key: '',
      message: 'is not a directory',
      hint: 'run `boottorrent init <dir>` to create a project',
    });
    return done();
  }
  const hasNew = await isFile(join(dir, CONFIG_FILE));
  const hasOld = await isFile(join(dir, LEGACY_CONFIG_FILE));
  if (!hasNew && !hasOld) {
    errors.push({
      severity: 'error',
      file: CONFIG_FILE,
      key: '',
      message: 'not found in ' + dir,
      hint: 'run `boottorrent init <dir>` or cd into the project',
    });
    return done();
  }
  const legacy = !hasNew;
  if (hasNew && hasOld) {
    warnings.push({
      severity: 'warning',
      file: LEGACY_CONFIG_FILE,
      key: '',
      message: `ignored because ${CONFIG_FILE} exists`,
      hint: 'delete it once config.yaml has your settings',
    });
  }
  const configFile = legacy ? LEGACY_CONFIG_FILE : CONFIG_FILE;
  const source = parseYaml(configFile, await readFile(join(dir, configFile), 'utf8'));
  errors.push(...source.problems);

  let raw: unknown = source.data ?? {};
  let paths: PathMap = new Map();
  if (legacy && !source.problems.length) {
    const parsed = legacyConfigSchema.safeParse(raw, { reportInput: true });
    if (!parsed.success) {
      errors.push(...issuesToProblems(source, legacyConfigSchema, parsed.error.issues));
      raw = undefined;
    } else {
      const mapped = mapLegacy(configFile, parsed.data, (p) => {
        const pos = source.locate(p);
        return [pos?.line, pos?.column];
      });
      errors.push(...mapped.problems);
      raw = mapped.config;
      paths = mapped.paths;
      warnings.push({
        severity: 'warning',
        file: configFile,
        key: '',
        message: LEGACY_NOTICE,
        hint: 'write a config.yaml to switch (`boottorrent init` shows the format)',
      });
    }
  }
  const viaLegacy = (p: Problem): Problem => {
    if (!legacy) return p;
    const from = paths.get(p.key.split('.').slice(0, 2).join('.'));
    const pos = from ? source.locate(from) : undefined;
    return {
      ...p,
      key: from ? `${from.join('.')} (${p.key})` : p.key,
      line: pos?.line ?? p.line,
      column: pos?.column ?? p.column,
    };
  };

  const parsed =
    raw === undefined ? undefined : projectConfigSchema.safeParse(raw ?? {}, { reportInput: true });
  const badKeys: string[] = [];
  if (parsed && !parsed.success) {
    const src: YamlSource = legacy ? { ...source, locate: () => undefined } : source;
    errors.push(...issuesToProblems(src, projectConfigSchema, parsed.error.issues).map(viaLegacy));
  }
  // Semantic rules run even when some keys failed the schema: those keys fall back to their
  // defaults, and rules touching them stay quiet, so the user still sees every other problem.
  const config = parsed?.success
    ? parsed.data
    : parsed
      ? withoutBadKeys(raw, parsed.error.issues, badKeys)
      : undefined;

  const { oss, folders, problems: ossProblems } = await loadOss(dir);
  errors.push(...ossProblems);

  if (config) {
    const locate = (key: string) => {
      const path = key.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
      const pos = legacy ? undefined : source.locate(path);
      return { file: configFile, line: pos?.line, column: pos?.column, explicit: source.has(path) };
    };
    const ruleProblems = checkRules(config, folders, locate).filter(
      (p) => !badKeys.some((k) => p.key === k || p.key.startsWith(k + '.') || k.startsWith(p.key + '.')),
    );
    errors.push(...ruleProblems.map(viaLegacy));
    if (errors.length === 0) return { project: { dir, configFile, legacy, config, oss }, warnings, errors };
  }
  return done();
}

async function isDir(p: string) {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}
async function isFile(p: string) {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

/** Drops the keys that failed the schema (up to 3 rounds) so defaults can stand in for them. */
function withoutBadKeys(
  raw: unknown,
  issues: z.core.$ZodIssue[],
  badKeys: string[],
): ProjectConfig | undefined {
  let data: unknown = structuredClone(raw);
  let current = issues;
  for (let round = 0; round < 3; round++) {
    for (const issue of current) {
      const path = issue.code === 'unrecognized_keys' ? issue.path.concat(issue.keys) : issue.path;
      badKeys.push(path.map(String).join('.'));
      data = unset(data, path);
    }
    const again = projectConfigSchema.safeParse(data);
    if (again.success) return again.data;
    current = again.error.issues;
  }
  return undefined;
}

function unset(data: unknown, path: readonly PropertyKey[]): unknown {
  if (path.length === 0) return undefined;
  let node = data as Record<PropertyKey, unknown> | undefined;
  for (const seg of path.slice(0, -1)) {
    node = node?.[seg] as Record<PropertyKey, unknown> | undefined;
    if (typeof node !== 'object' || node === null) return data;
  }
  if (node && typeof node === 'object') delete node[path[path.length - 1]!];
  return data;
}
