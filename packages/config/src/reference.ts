import { configJsonSchema, osJsonSchema } from './json-schema.js';

interface Node {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, Node>;
  required?: string[];
  anyOf?: Node[];
  items?: Node;
}

/**
 * The configuration reference as Markdown, generated from the JSON Schema (itself generated from the
 * zod schema), so docs/config-reference.md cannot drift from what `check` enforces.
 */
export function configReferenceMarkdown(): string {
  const out = [
    '# Configuration reference',
    '',
    '<!-- Generated from the schema in @boottorrent/config by `node tools/gen-config-docs.mjs`; a test checks it is current. -->',
    '',
    'A project is a directory holding `config.yaml` and `oss/`, one folder per OS, each with its own',
    "`config.yaml`. The original project's `Boottorrent.yaml` is still read when `config.yaml` is absent.",
    '',
    '## config.yaml',
    '',
  ];
  const root = configJsonSchema() as Node;
  for (const [section, node] of Object.entries(root.properties ?? {})) {
    out.push(
      `### \`${section}\``,
      '',
      node.description ?? '',
      '',
      '| key | type | default | meaning |',
      '|---|---|---|---|',
    );
    // A list section (machines:) documents the keys of each entry as `section[].key`.
    const entry = node.type === 'array' && node.items ? node.items : node;
    const prefix = entry === node ? section : `${section}[]`;
    for (const [key, prop] of Object.entries(entry.properties ?? {})) {
      const required = entry.required?.includes(key) && prop.default === undefined;
      out.push(
        `| \`${prefix}.${key}\` | ${typeOf(prop)} | ${required ? '**required**' : show(prop.default)} | ${cell(prop.description)} |`,
      );
    }
    out.push('');
  }
  const os = osJsonSchema() as Node;
  out.push(
    '## oss/&lt;name&gt;/config.yaml',
    '',
    os.description ?? '',
    '',
    '| key | type | default | meaning |',
    '|---|---|---|---|',
  );
  for (const [key, prop] of Object.entries(os.properties ?? {})) {
    const required = os.required?.includes(key) && prop.default === undefined;
    out.push(
      `| \`${key}\` | ${typeOf(prop)} | ${required ? '**required**' : show(prop.default)} | ${cell(prop.description)} |`,
    );
  }
  out.push('');
  return out.join('\n');
}

function typeOf(n: Node): string {
  if (n.enum) return n.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (n.const !== undefined) return `\`${String(n.const)}\``;
  if (n.anyOf) return n.anyOf.map(typeOf).join(' or ');
  if (n.type === 'array') return `list of ${n.items ? typeOf(n.items) : 'values'}`;
  if (n.type === 'object') return 'mapping';
  return n.type ?? 'any';
}

function show(v: unknown): string {
  if (v === undefined) return '—';
  return `\`${JSON.stringify(v)}\``;
}

function cell(s: string | undefined): string {
  return (s ?? '').replaceAll('|', '\\|');
}
