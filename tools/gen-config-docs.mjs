// Regenerates docs/config-reference.md from the schema: node tools/gen-config-docs.mjs
// (after `npx nx build @boottorrent/config`). packages/config/test checks the file is current.
import { writeFileSync } from 'node:fs';
import { configReferenceMarkdown } from '@boottorrent/config';

writeFileSync(new URL('../docs/config-reference.md', import.meta.url), configReferenceMarkdown());
