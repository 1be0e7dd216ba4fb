// Writes the JSON Schemas shipped in schema/ from the built package (run by `npm run build`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { configJsonSchema, osJsonSchema } from '../dist/index.js';

const dir = new URL('../schema/', import.meta.url);
mkdirSync(dir, { recursive: true });
writeFileSync(new URL('config.schema.json', dir), JSON.stringify(configJsonSchema(), null, 2) + '\n');
writeFileSync(new URL('os.schema.json', dir), JSON.stringify(osJsonSchema(), null, 2) + '\n');
