// The environment of every test process and of each child it starts: the same under nx (which sets
// FORCE_COLOR=true for each task), in a terminal and in CI, so a child prints the same bytes everywhere.
// With FORCE_COLOR set, Node colours what console.log formats (numbers, objects) even into a pipe.

/** A copy of `env` without FORCE_COLOR and with NO_COLOR=1 (both set, Node warns on stderr). */
export function plainEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const plain = { ...env, NO_COLOR: '1' };
  delete plain.FORCE_COLOR;
  return plain;
}

/** Makes this process's own environment plain, so every child it starts inherits no colour. */
export function usePlainEnv(): void {
  delete process.env.FORCE_COLOR;
  process.env.NO_COLOR = '1';
}
