import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  buildOpenApiDocument,
  errorStatusesOf,
  formatOpenApiDocument,
  OPERATIONS,
  type OpenApiDocument,
  type Operation,
  PARTNER_SCHEME,
  ROLES,
  rolesWith,
  SECURITY_SCHEME,
  TAG_DESCRIPTIONS,
} from '@lcm/shared/api';
import { createConfig, lintFromString } from '@redocly/openapi-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../support/api.ts';

const COMMITTED = fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url));
const ops = OPERATIONS as readonly Operation[];

type AnyOperation = {
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: ({ name?: string; in?: string; required?: boolean } & { $ref?: string })[];
  requestBody?: { required?: boolean; content: Record<string, unknown> };
  responses: Record<string, { $ref?: string; content?: Record<string, unknown> }>;
  'x-lcm-permission'?: string;
};

let doc: OpenApiDocument;
const operationOf = (o: Operation): AnyOperation => {
  const item = doc.paths?.[o.path] as Record<string, AnyOperation> | undefined;
  const found = item?.[o.method.toLowerCase()];
  if (!found) throw new Error(`${o.method} ${o.path} is not in the document`);
  return found;
};

beforeAll(() => {
  doc = buildOpenApiDocument();
});

describe('docs/openapi.json', () => {
  it('is the generated document (run `npm run openapi` after changing the API)', () => {
    const committed = readFileSync(COMMITTED, 'utf8');
    const generated = formatOpenApiDocument(doc);
    // A plain comparison would print 100 KB of diff; say what to do instead.
    expect(
      committed === generated,
      'docs/openapi.json differs from the generated document: run `npm run openapi` and commit the result',
    ).toBe(true);
  });

  it('is deterministic', () => {
    expect(formatOpenApiDocument(buildOpenApiDocument())).toBe(formatOpenApiDocument(doc));
  });

  it('passes the Redocly recommended ruleset with no errors and no warnings', async () => {
    // No rule is turned off: `recommended` as shipped.
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({
      source: formatOpenApiDocument(doc),
      absoluteRef: COMMITTED,
      config,
    });
    const summary = problems.map(
      (p) => `${p.severity} ${p.ruleId}: ${p.message} at ${p.location[0]?.pointer}`,
    );
    expect(summary).toEqual([]);
  }, 60_000);
});

describe('the document', () => {
  it('is OpenAPI 3.1 with a bearer JWT scheme, and the partner signature for CloudEvents', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(doc.components?.securitySchemes).toEqual({
      [SECURITY_SCHEME]: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
      [PARTNER_SCHEME]: expect.objectContaining({ type: 'apiKey', in: 'header', name: 'webhook-signature' }),
    });
  });

  it('has every operation of the catalogue, once, under its method and path', () => {
    const documented = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.entries(item as Record<string, { operationId?: string }>)
        .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map(([method, op]) => `${method.toUpperCase()} ${path} ${op.operationId}`),
    );
    expect(documented.sort()).toEqual(ops.map((o) => `${o.method} ${o.path} ${o.operationId}`).sort());
  });

  it('lists the roles from the role table as each operation security requirement; public ones need none', () => {
    const signed = new Set(['ingestEvents']);
    for (const o of ops) {
      const op = operationOf(o);
      if (signed.has(o.operationId)) {
        expect(op.security, o.operationId).toEqual([{ [PARTNER_SCHEME]: [] }]);
      } else if (o.permission === null) {
        expect(op.security, o.operationId).toEqual([]);
      } else {
        expect(op.security, o.operationId).toEqual([{ [SECURITY_SCHEME]: rolesWith(o.permission) }]);
        expect(op['x-lcm-permission']).toBe(o.permission);
      }
    }
    // Spot checks written out, independent of rolesWith.
    expect(operationOf(ops.find((o) => o.operationId === 'createSession')!).security).toEqual([
      { bearerAuth: ['lcm.admin', 'lcm.operator', 'lcm.portal'] },
    ]);
    expect(operationOf(ops.find((o) => o.operationId === 'createDefinition')!).security).toEqual([
      { bearerAuth: ['lcm.admin'] },
    ]);
    expect(operationOf(ops.find((o) => o.operationId === 'listWorkers')!).security).toEqual([
      { bearerAuth: ['lcm.admin', 'lcm.operator', 'lcm.viewer'] },
    ]);
    expect(operationOf(ops.find((o) => o.operationId === 'getHealth')!).security).toEqual([]);
    expect(ROLES).toHaveLength(4);
  });

  it('documents every path parameter and query parameter of the schemas', () => {
    for (const o of ops) {
      const params = operationOf(o).parameters ?? [];
      const pathNames = [...o.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      const inPath = params.filter((p) => p.in === 'path');
      expect(inPath.map((p) => p.name).sort(), o.operationId).toEqual(pathNames.sort());
      expect(inPath.every((p) => p.required)).toBe(true);
      expect(Object.keys(o.params?.shape ?? {}).sort(), o.operationId).toEqual(pathNames.sort());
      const inQuery = params.filter((p) => p.in === 'query').map((p) => p.name);
      expect(inQuery.sort(), o.operationId).toEqual(Object.keys(o.query?.shape ?? {}).sort());
    }
  });

  it('documents request bodies, required unless an empty object is valid', () => {
    for (const o of ops) {
      const body = operationOf(o).requestBody;
      if (o.operationId === 'ingestEvents') {
        expect(Object.keys(body?.content ?? {})).toEqual([
          'application/cloudevents+json',
          'application/cloudevents-batch+json',
          'application/json',
        ]);
        continue;
      }
      if (!o.body) {
        expect(body, o.operationId).toBeUndefined();
        continue;
      }
      expect(Object.keys(body?.content ?? {}), o.operationId).toEqual(['application/json']);
      expect(body?.required, o.operationId).toBe(!o.body.safeParse({}).success);
    }
    expect(operationOf(ops.find((o) => o.operationId === 'createWorker')!).requestBody?.required).toBe(true);
    expect(operationOf(ops.find((o) => o.operationId === 'terminateSession')!).requestBody?.required).toBe(
      false,
    );
  });

  it('has the success reply and the problem+json replies that apply', () => {
    for (const o of ops) {
      const { responses } = operationOf(o);
      const statuses = Object.keys(responses).map(Number);
      expect(statuses, o.operationId).toContain(o.successStatus);
      expect(statuses.filter((s) => s >= 400).sort(), o.operationId).toEqual(errorStatusesOf(o));
      for (const s of errorStatusesOf(o)) expect(responses[s]?.$ref).toMatch(/^#\/components\/responses\//);
      if (o.successStatus === 204) expect(responses[204]?.content).toBeUndefined();
      else expect(Object.keys(responses[o.successStatus]?.content ?? {})).toEqual(['application/json']);
    }
    const byId = (id: string) => errorStatusesOf(ops.find((o) => o.operationId === id)!);
    expect(byId('getHealth')).toEqual([400, 503]);
    expect(byId('listWorkers')).toEqual([400, 401, 403]);
    expect(byId('getWorker')).toEqual([400, 401, 403, 404]);
    expect(byId('createWorker')).toEqual([400, 401, 403, 409, 413, 415, 422]);
    expect(byId('deleteWorkerTemplate')).toEqual([400, 401, 403, 404, 409]);
    expect(byId('ingestEvents')).toEqual([400, 401, 403, 413, 502, 503]);
    const notFound = doc.components?.responses?.NotFound as { content?: Record<string, { schema: unknown }> };
    const problem = notFound?.content?.['application/problem+json']?.schema;
    expect(problem).toEqual({ $ref: '#/components/schemas/ProblemDetails' });
    expect(doc.components?.schemas?.ProblemDetails).toMatchObject({
      required: ['type', 'title', 'status', 'detail'],
    });
  });

  it('POST /v1/sessions documents its 200 replay and its 404 (issue 11, item 6)', () => {
    const create = ops.find((o) => o.operationId === 'createSession')!;
    const { responses } = operationOf(create);
    expect(Object.keys(responses).map(Number).sort()).toEqual([
      200, 201, 400, 401, 403, 404, 409, 413, 415, 422,
    ]);
    expect(responses[200]).toMatchObject({
      description: expect.stringContaining('idempotent per reservationId'),
      content: { 'application/json': { schema: { $ref: '#/components/schemas/LabletSession' } } },
    });
    expect(responses[404]?.$ref).toBe('#/components/responses/NotFound');
    expect(doc.components?.responses?.NotFound).toMatchObject({
      description: expect.stringContaining('POST /v1/sessions'),
    });
  });

  it('offers the Idempotency-Key header on exactly the idempotent operations', () => {
    for (const o of ops) {
      const refs = (operationOf(o).parameters ?? []).filter((p) => p.$ref).map((p) => p.$ref);
      expect(refs, o.operationId).toEqual(o.idempotent ? ['#/components/parameters/IdempotencyKey'] : []);
    }
    expect(doc.components?.parameters?.IdempotencyKey).toMatchObject({
      name: 'Idempotency-Key',
      in: 'header',
    });
  });

  it('has one described tag per route group, in catalogue order', () => {
    const groups = [...new Set(ops.map((o) => o.group))];
    expect(doc.tags?.map((t) => t.name)).toEqual(groups);
    for (const group of groups) expect(TAG_DESCRIPTIONS[group], `describe the ${group} tag`).toBeDefined();
  });

  it('names the entity schemas once and references them', () => {
    const text = JSON.stringify(doc);
    for (const name of ['Worker', 'WorkerTemplate', 'LabletDefinition', 'LabletSession', 'PortLease']) {
      expect(doc.components?.schemas?.[name], name).toBeDefined();
      expect(text).toContain(`"$ref":"#/components/schemas/${name}"`);
    }
    // The worker reply of a worker action is the named schema, not an inline copy.
    const start = operationOf(ops.find((o) => o.operationId === 'startWorker')!);
    expect(start.responses[202]?.content).toEqual({
      'application/json': { schema: { $ref: '#/components/schemas/Worker' } },
    });
  });
});

describe('GET /v1/openapi.json', () => {
  it('serves the document, naming the host it was fetched from as the server', async () => {
    const { handler } = await import('../../../functions/api/health.ts');
    const res = await call(handler, 'getOpenApi', { headers: { 'x-forwarded-proto': 'https' } });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    const served = res.body as OpenApiDocument;
    expect(served.servers).toEqual([{ url: 'https://test.local' }]);
    expect({ ...served, servers: doc.servers }).toEqual(doc);
  });
});
