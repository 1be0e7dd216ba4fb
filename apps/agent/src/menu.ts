import type { Key } from './keys.js';

/** Menu state: the highlighted entry and the seconds left (null: the countdown is stopped or off). */
export interface MenuState {
  index: number;
  remaining: number | null;
}

/** What the menu decided, if anything yet. */
export type MenuOutcome = { boot: number } | { shell: true } | null;

/**
 * The starting state. Timeout semantics of the original Boottorrent: 0 boots the default at once,
 * a negative value waits for a choice, a positive one counts down.
 */
export function initialMenu(count: number, defaultIndex: number, timeout: number): MenuState {
  const index = Math.min(Math.max(defaultIndex, 0), Math.max(count - 1, 0));
  return { index, remaining: timeout > 0 ? timeout : timeout === 0 ? 0 : null };
}

/** One key: arrows move (and stop the countdown), Enter boots the highlighted entry, `s` a shell. */
export function onKey(state: MenuState, key: Key, count: number): [MenuState, MenuOutcome] {
  const stopped = { ...state, remaining: null };
  switch (key) {
    case 'enter':
      return [stopped, { boot: state.index }];
    case 'shell':
      return [stopped, { shell: true }];
    case 'up':
      return [{ ...stopped, index: (state.index - 1 + count) % count }, null];
    case 'down':
      return [{ ...stopped, index: (state.index + 1) % count }, null];
    default:
      return [stopped, null];
  }
}

/** One second of countdown; at zero the highlighted entry boots. */
export function onTick(state: MenuState): [MenuState, MenuOutcome] {
  if (state.remaining === null) return [state, null];
  const remaining = state.remaining - 1;
  return [{ ...state, remaining }, remaining <= 0 ? { boot: state.index } : null];
}

/**
 * The menu as VT100 text (bare Linux console and serial console alike): clear, title, entries with the
 * highlighted one in reverse video, the countdown or the help line.
 */
export function renderMenu(state: MenuState, names: string[], notice?: string): string {
  const lines = ['\x1b[H\x1b[2J\x1b[0mBootTorrent: choose the system to boot', ''];
  names.forEach((name, i) => {
    lines.push(i === state.index ? `  \x1b[7m> ${name} \x1b[0m` : `    ${name}`);
  });
  lines.push('');
  if (notice) lines.push(notice, '');
  lines.push(
    state.remaining !== null
      ? `Booting ${names[state.index] ?? ''} in ${state.remaining} s (any key stops the countdown)`
      : 'Up/Down to choose, Enter to boot, s for a shell',
  );
  return lines.join('\r\n') + '\r\n';
}
