import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { buildOpenApiDocument, formatOpenApiDocument } from '@lcm/shared/api';

/**
 * `npm run openapi`: writes docs/openapi.json from the operation catalogue and its zod schemas.
 * The output is deterministic (catalogue order, sorted components, two-space JSON), so the file
 * changes only when the API does; test/unit/api/openapi.test.ts fails while it is stale.
 */
const OPENAPI_PATH = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));

const text = formatOpenApiDocument(buildOpenApiDocument());
let previous: string | undefined;
try {
  previous = readFileSync(OPENAPI_PATH, 'utf8');
} catch {
  previous = undefined;
}
if (previous === text) {
  process.stdout.write('docs/openapi.json is up to date\n');
} else {
  writeFileSync(OPENAPI_PATH, text);
  process.stdout.write(`wrote docs/openapi.json (${Buffer.byteLength(text)} bytes)\n`);
}
