import { lstat, readdir, readFile, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { splitArgs } from './_args.js';
import { issuesToProblems } from './_issues.js';
import { parseYaml, type YamlSource } from './_source.js';
import type { Problem } from './problem.js';
import type { OsEntry } from './project.js';
import { osConfigSchema, type OsConfig } from './schema.js';

export const OS_CONFIG_FILE = 'config.yaml';

/** Reads every folder under oss/ into OsEntry values, collecting every problem on the way. */
export async function loadOss(
  projectDir: string,
): Promise<{ oss: OsEntry[]; folders: string[] | null; problems: Problem[] }> {
  const ossDir = join(projectDir, 'oss');
  const problems: Problem[] = [];
  const oss: OsEntry[] = [];
  let names: string[];
  try {
    const entries = await readdir(ossDir, { withFileTypes: true });
    names = entries.filter((e) => e.isDirectory()).map((e) => e.name);
    names.sort();
  } catch {
    problems.push({
      severity: 'error',
      file: 'oss',
      key: '',
      message: 'the oss/ folder is missing',
      hint: 'create oss/ with one folder per OS (see `boottorrent init`)',
    });
    return { oss, folders: null, problems };
  }
  if (names.length === 0) {
    problems.push({
      severity: 'error',
      file: 'oss',
      key: '',
      message: 'no OS folder in oss/',
      hint: 'add a folder with the OS files and a config.yaml (see oss/README.md)',
    });
  }
  const seen = new Map<string, string>();
  for (const name of names) {
    const loaded = await loadOs(projectDir, name, problems);
    if (!loaded) continue;
    const { entry, source } = loaded;
    oss.push(entry);
    const other = seen.get(entry.dispname);
    if (other === undefined) seen.set(entry.dispname, name);
    else {
      problems.push(
        problemAt(
          source,
          ['dispname'],
          'dispname',
          `"${entry.dispname}" is also the dispname of oss/${other}`,
          'give each OS a different dispname so the menu can tell them apart',
        ),
      );
    }
  }
  return { oss, folders: names, problems };
}

async function loadOs(
  projectDir: string,
  name: string,
  problems: Problem[],
): Promise<{ entry: OsEntry; source: YamlSource } | null> {
  const dir = join(projectDir, 'oss', name);
  const file = join('oss', name, OS_CONFIG_FILE);
  let text: string;
  try {
    text = await readFile(join(dir, OS_CONFIG_FILE), 'utf8');
  } catch {
    problems.push({
      severity: 'error',
      file: join('oss', name),
      key: '',
      message: 'OS folder has no config.yaml',
      hint:
        'add oss/' + name + '/config.yaml with dispname and method (see oss/README.md), or remove the folder',
    });
    return null;
  }
  const source = parseYaml(file, text);
  if (source.problems.length) {
    problems.push(...source.problems);
    return null;
  }
  const parsed = osConfigSchema.safeParse(source.data ?? {}, { reportInput: true });
  if (!parsed.success) {
    problems.push(...issuesToProblems(source, osConfigSchema, parsed.error.issues));
    return null;
  }
  const entry = toEntry(name, dir, parsed.data, source, problems);
  for (const [key, rel] of filesOf(entry)) await checkFile(dir, rel, key, source, problems);
  return { entry, source };
}

function toEntry(name: string, dir: string, c: OsConfig, source: YamlSource, problems: Problem[]): OsEntry {
  const err = (key: keyof OsConfig, message: string, hint: string, what: 'key' | 'value' = 'value') =>
    problems.push(problemAt(source, [key], key, message, hint, what));
  const args = (key: 'binargs' | 'args', v: string | string[] | undefined): string[] => {
    if (v === undefined) return [];
    if (Array.isArray(v)) return v;
    const out = splitArgs(v);
    if (out === null) {
      err(key, 'has an unclosed quote', 'close the quote, or write the arguments as a YAML list');
      return [];
    }
    return out;
  };
  const method = c.method === 'bin-qemu-x86_64' || c.method === 'qemu-iso' ? 'qemu' : c.method;
  const entry: OsEntry = {
    name,
    dir,
    dispname: c.dispname,
    method,
    initrds: c.initrd === undefined ? [] : Array.isArray(c.initrd) ? c.initrd : [c.initrd],
    cmdline: c.cmdline,
    binargs: args('binargs', c.binargs),
    qemuArgs: args('args', c.args),
  };
  if (method === 'kexec') {
    if (!c.kernel)
      err(
        'kernel',
        'is required for method kexec',
        'name the kernel file in this folder, e.g. kernel: vmlinuz',
        'key',
      );
    else entry.kernel = c.kernel;
  }
  if (method === 'bin') {
    if (!c.bin)
      err('bin', 'is required for method bin', 'name the program in this folder, e.g. bin: hello', 'key');
    else entry.bin = c.bin;
  }
  if (c.method === 'qemu-iso') {
    if (!c.isofile) err('isofile', 'is required for method qemu-iso', 'name the ISO file in this folder');
    else entry.qemuArgs = ['-cdrom', c.isofile, ...entry.qemuArgs];
  } else if (method === 'qemu' && c.args === undefined) {
    err(
      'args',
      'is required for method qemu',
      'give the qemu-system-x86_64 arguments, e.g. args: "-m 512 -hda disk.img"',
      'key',
    );
  }
  return entry;
}

function* filesOf(e: OsEntry): Generator<[string, string]> {
  if (e.kernel) yield ['kernel', e.kernel];
  for (const [i, f] of e.initrds.entries()) yield [e.initrds.length > 1 ? `initrd.${i}` : 'initrd', f];
  if (e.bin) yield ['bin', e.bin];
  const iso = e.qemuArgs[0] === '-cdrom' ? e.qemuArgs[1] : undefined;
  if (iso) yield ['isofile', iso];
}

/** The file must exist, be a regular file, and stay inside the OS folder (no `..`, absolute path or symlink out). */
async function checkFile(dir: string, rel: string, key: string, source: YamlSource, problems: Problem[]) {
  const path = key.split('.').map((k) => (/^\d+$/.test(k) ? Number(k) : k));
  const err = (message: string, hint: string) => problems.push(problemAt(source, path, key, message, hint));
  if (isAbsolute(rel) || rel.split(/[/\\]/).includes('..')) {
    err(
      `"${rel}" points outside the OS folder`,
      'give a path relative to the OS folder, without ".." or a leading "/"',
    );
    return;
  }
  const full = join(dir, rel);
  try {
    const st = await lstat(full);
    const real = await realpath(full);
    const root = await realpath(dir);
    const inside = relative(root, real);
    if (inside.startsWith('..' + sep) || inside === '..' || isAbsolute(inside)) {
      err(
        `"${rel}" is a symlink that leaves the OS folder`,
        'copy the file into the OS folder instead of linking to it',
      );
      return;
    }
    if (!st.isFile() && !(st.isSymbolicLink() && (await lstat(real)).isFile())) {
      err(`"${rel}" is not a regular file`, 'name a file, not a folder');
    }
  } catch {
    err(
      `"${rel}" does not exist in the OS folder`,
      `put the file in oss/${source.file.split(sep)[1]}/ or fix the name`,
    );
  }
}

/** One error at a key of an OS config.yaml, with its line and column. */
function problemAt(
  source: YamlSource,
  path: readonly PropertyKey[],
  key: string,
  message: string,
  hint: string,
  what: 'key' | 'value' = 'value',
): Problem {
  const pos = source.locate(path, what);
  return { severity: 'error', file: source.file, line: pos?.line, column: pos?.column, key, message, hint };
}
