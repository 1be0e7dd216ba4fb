import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { configJsonSchema, configReferenceMarkdown, osJsonSchema } from '../../src/index.js';

describe('generated documents', () => {
  it('docs/config-reference.md matches the schema (regenerate: node tools/gen-config-docs.mjs)', async () => {
    const doc = await readFile(new URL('../../../../docs/config-reference.md', import.meta.url), 'utf8');
    expect(doc).toBe(configReferenceMarkdown());
  });

  it('the JSON Schemas describe every key with a description', () => {
    for (const schema of [configJsonSchema(), osJsonSchema()] as {
      properties: Record<
        string,
        { description?: string; properties?: Record<string, { description?: string }> }
      >;
    }[]) {
      for (const [key, node] of Object.entries(schema.properties)) {
        expect(node.description, key).toBeTruthy();
        for (const [sub, leaf] of Object.entries(node.properties ?? {}))
          expect(leaf.description, `${key}.${sub}`).toBeTruthy();
      }
    }
  });
});
