// Shared helpers of the integration tests: the host parts tools/setup.sh provides (the tests FAIL,
// never skip, when they are missing), and a tree walker turning a folder into cpio entries.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultSearchRoots, findHostParts, type CpioEntry, type HostParts } from '../../src/index.js';

export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export async function hostParts(): Promise<HostParts> {
  return findHostParts({ searchRoots: await defaultSearchRoots(REPO) });
}

export async function treeToEntries(root: string): Promise<CpioEntry[]> {
  const out: CpioEntry[] = [];
  const walk = async (dir: string) => {
    for (const name of await readdir(dir)) {
      const p = join(dir, name);
      const rel = relative(root, p);
      const s = await lstat(p);
      if (s.isSymbolicLink()) out.push({ path: rel, type: 'symlink', target: await readlink(p) });
      else if (s.isDirectory()) {
        out.push({ path: rel, type: 'dir', mode: s.mode & 0o7777 });
        await walk(p);
      } else out.push({ path: rel, type: 'file', mode: s.mode & 0o7777, source: p });
    }
  };
  await walk(root);
  return out;
}

/** type, mode, content or target of every path under root, for comparing two trees. */
export async function describeTree(root: string): Promise<Record<string, string>> {
  const { readFile } = await import('node:fs/promises');
  const { createHash } = await import('node:crypto');
  const out: Record<string, string> = {};
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const p = join(dir, name);
      const s = await lstat(p);
      const rel = relative(root, p);
      if (s.isSymbolicLink()) out[rel] = `link ${await readlink(p)}`;
      else if (s.isDirectory()) {
        out[rel] = `dir ${(s.mode & 0o7777).toString(8)}`;
        await walk(p);
      } else {
        const hash = createHash('sha256')
          .update(await readFile(p))
          .digest('hex')
          .slice(0, 16);
        out[rel] = `file ${(s.mode & 0o7777).toString(8)} ${s.size} ${hash}`;
      }
    }
  };
  await walk(root);
  return out;
}
