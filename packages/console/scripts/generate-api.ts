/**
 * Regenerates the console's typed API client inputs from the one source of each fact:
 * - src/api/schema.gen.ts: the OpenAPI document's paths and schemas as TypeScript types
 *   (openapi-typescript over docs/openapi.json, which `npm run openapi` writes from the
 *   operations table), used by openapi-fetch;
 * - src/api/operations.gen.ts: each operation's permission (api/operations.ts) so the console
 *   hides what the caller's role (api/roles.ts) may not call, and the session statuses in their
 *   lifecycle order (kernel/enums.ts; the OpenAPI enum is a set, the order is the kernel's).
 * `npm run generate:api -w packages/console`; test/unit/console-api-generated.test.ts fails when
 * either file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderGenerated } from './render-api.ts';

const out = (name: string) => fileURLToPath(new URL(`../src/api/${name}`, import.meta.url));
const rendered = await renderGenerated();
writeFileSync(out('schema.gen.ts'), rendered.schema);
writeFileSync(out('operations.gen.ts'), rendered.operations);
console.log('wrote packages/console/src/api/schema.gen.ts and operations.gen.ts');
