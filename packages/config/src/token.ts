import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError, ConfigErrorCode } from './problem.js';

/**
 * The project's API token file: the secret the server's write endpoints (PUT /api/v1/machines/…)
 * require as `Authorization: Bearer <token>`. Mode 0600, one line of 64 hex digits.
 */
export const API_TOKEN_FILE = '.boottorrent-token';

/** A new token: 32 random bytes as hex. */
function newToken(): string {
  return randomBytes(32).toString('hex');
}

/**
 * Reads the project's API token; null when the file does not exist. An empty file is an error (a
 * server must never accept an empty token).
 */
export async function readApiToken(dir: string): Promise<{ token: string; file: string } | null> {
  const file = join(dir, API_TOKEN_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(ConfigErrorCode.Io, `cannot read ${file}: ${(e as Error).message}`, {
      cause: e,
      hint: 'check its owner and permissions (it should be 0600, owned by the user running the server)',
    });
  }
  const token = text.trim();
  if (token.length < 16 || /\s/.test(token))
    throw new ConfigError(ConfigErrorCode.Io, `${file} holds no usable token`, {
      hint: 'delete the file; the next `boottorrent start` writes a new one',
    });
  return { token, file };
}

/**
 * The project's API token, written first (mode 0600) when the file is missing, as `boottorrent
 * init` and `start` do. `created` says whether it was just written.
 */
export async function ensureApiToken(
  dir: string,
): Promise<{ token: string; file: string; created: boolean }> {
  const found = await readApiToken(dir);
  if (found) return { ...found, created: false };
  const file = join(dir, API_TOKEN_FILE);
  const token = newToken();
  try {
    await writeFile(file, token + '\n', { flag: 'wx', mode: 0o600 });
  } catch (e) {
    // Another process wrote it between the read and the write: use theirs.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      const again = await readApiToken(dir);
      if (again) return { ...again, created: false };
    }
    throw new ConfigError(ConfigErrorCode.Io, `cannot write ${file}: ${(e as Error).message}`, {
      cause: e,
      hint: 'check the permissions of the project directory',
    });
  }
  return { token, file, created: true };
}
