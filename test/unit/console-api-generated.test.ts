import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderGenerated } from '../../packages/console/scripts/render-api.ts';

/**
 * The console's typed client is generated from docs/openapi.json (openapi-typescript) and its
 * operation → permission table from api/operations.ts: a stale copy fails here, as a stale
 * OpenAPI document fails its own test. Fix: `npm run generate:api -w packages/console`.
 */
const onDisk = (name: string) =>
  readFileSync(new URL(`../../packages/console/src/api/${name}`, import.meta.url), 'utf8');

describe('console generated API client', () => {
  it('schema.gen.ts and operations.gen.ts are what the generator writes now', async () => {
    const rendered = await renderGenerated();
    expect(onDisk('schema.gen.ts')).toBe(rendered.schema);
    expect(onDisk('operations.gen.ts')).toBe(rendered.operations);
    // Every route of the document has its typed path.
    const doc = JSON.parse(readFileSync(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
    for (const path of Object.keys(doc.paths)) expect(rendered.schema).toContain(`"${path}": {`);
  });
});
