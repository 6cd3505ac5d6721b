import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Issue 11, item 6: the API tells the portal what it needs. Every property of every schema in
 * docs/openapi.json (components, request bodies, responses, at any depth: nested objects, array
 * items, map values, unions) and every parameter (path, query, header, also the shared ones in
 * components/parameters) carries a description. A property that is a `$ref` is described by the
 * schema it names (checked there). Fix a failure by describing the field in its zod schema
 * (`.describe()` or `.meta({ description })`), then `npm run openapi`.
 */

type Json = Record<string, unknown>;
const doc = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../docs/openapi.json', import.meta.url)), 'utf8'),
) as Json;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Described itself, or (`allOf: [{ $ref }, { description }]`) where it uses a named schema. */
const described = (property: Json): boolean =>
  typeof property.description === 'string' ||
  (Array.isArray(property.allOf) &&
    property.allOf.some((p) => isObject(p) && typeof p.description === 'string'));

function undescribedProperties(schema: unknown, path: string, out: string[]): string[] {
  if (!isObject(schema) || '$ref' in schema) return out;
  if (isObject(schema.properties)) {
    for (const [name, property] of Object.entries(schema.properties)) {
      if (isObject(property) && !('$ref' in property) && !described(property)) {
        out.push(`${path}.${name}`);
      }
      if (isObject(property) && typeof property.description === 'string' && !property.description.trim()) {
        out.push(`${path}.${name} (empty)`);
      }
      undescribedProperties(property, `${path}.${name}`, out);
    }
  }
  for (const key of ['items', 'additionalProperties', 'not']) {
    if (isObject(schema[key])) undescribedProperties(schema[key], `${path}[${key}]`, out);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf']) {
    const list = schema[key];
    if (!Array.isArray(list)) continue;
    for (const [i, s] of list.entries()) undescribedProperties(s, `${path}<${key}${i}>`, out);
  }
  return out;
}

const components = (doc.components ?? {}) as Json;
const schemas = (components.schemas ?? {}) as Json;
const sharedParameters = (components.parameters ?? {}) as Json;
const paths = doc.paths as Record<string, Record<string, Json>>;
const operations = Object.entries(paths).flatMap(([path, ops]) =>
  Object.entries(ops).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })),
);

const resolveParameter = (p: Json): Json => {
  const ref = p.$ref;
  if (typeof ref !== 'string') return p;
  const name = ref.replace('#/components/parameters/', '');
  return (sharedParameters[name] ?? {}) as Json;
};

describe('docs/openapi.json: every field and parameter is described', () => {
  it('walks a real document', () => {
    expect(operations.length).toBeGreaterThan(30);
    expect(Object.keys(schemas).length).toBeGreaterThan(10);
  });

  it('every parameter (path, query, header) has a description', () => {
    const missing: string[] = [];
    for (const { where, op } of operations) {
      for (const raw of (op.parameters ?? []) as Json[]) {
        const p = resolveParameter(raw);
        if (typeof p.description !== 'string' || !p.description.trim()) {
          missing.push(`${where} ${String(p.in)}:${String(p.name)}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('every property of the named schemas has a description', () => {
    const missing = Object.entries(schemas).flatMap(([name, schema]) =>
      undescribedProperties(schema, `#/components/schemas/${name}`, []),
    );
    expect(missing).toEqual([]);
  });

  it('every property of the inline request and response schemas has a description', () => {
    const missing: string[] = [];
    for (const { where, op } of operations) {
      const body = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
      for (const [type, media] of Object.entries(body ?? {})) {
        undescribedProperties(media.schema, `${where} body ${type}`, missing);
      }
      for (const [status, response] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
        for (const [type, media] of Object.entries((response.content ?? {}) as Record<string, Json>)) {
          undescribedProperties(media.schema, `${where} ${status} ${type}`, missing);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it('the walker finds what it should (a document with a gap fails)', () => {
    const gap = {
      type: 'object',
      properties: {
        described: { type: 'string', description: 'yes' },
        nested: {
          type: 'object',
          description: 'a nested object',
          properties: { inner: { type: 'array', items: { type: 'object', properties: { leaf: {} } } } },
        },
        ref: { $ref: '#/components/schemas/X' },
        refDescribed: { allOf: [{ $ref: '#/components/schemas/X' }, { description: 'used here' }] },
        refBare: { allOf: [{ $ref: '#/components/schemas/X' }] },
      },
    };
    expect(undescribedProperties(gap, 'gap', [])).toEqual([
      'gap.nested.inner',
      'gap.nested.inner[items].leaf',
      'gap.refBare',
    ]);
  });
});
