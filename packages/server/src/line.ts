// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f-\x9f\u2028\u2029]/g;

/**
 * Text from a request (a path, a MAC) made safe to echo in a one-line answer or log line: control
 * characters become `\xNN` (a `%0A` in a path must not split the line) and the text is cut to `max`.
 */
export function oneLine(s: string, max = 120): string {
  const t = s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return t.length > max ? `${t.slice(0, max)}…` : t;
}
