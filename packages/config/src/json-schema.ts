import { z } from 'zod';
import { osConfigSchema, projectConfigSchema } from './schema.js';

/** JSON Schema (draft 2020-12) of config.yaml, generated from the same zod schema that validates it. */
export function configJsonSchema(): Record<string, unknown> {
  return withId(z.toJSONSchema(projectConfigSchema, { io: 'input' }), 'config.schema.json');
}

/** JSON Schema of an OS folder's config.yaml. */
export function osJsonSchema(): Record<string, unknown> {
  return withId(z.toJSONSchema(osConfigSchema, { io: 'input' }), 'os.schema.json');
}

function withId(schema: Record<string, unknown>, id: string): Record<string, unknown> {
  return { ...schema, $id: `https://boottorrent.dev/schema/${id}` };
}
