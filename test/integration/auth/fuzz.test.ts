import { Agent, request } from 'node:http';
import { OPERATIONS, type Operation } from '@lcm/shared/api';
import { PROBLEM_CONTENT_TYPE, ProblemDocumentSchema } from '@lcm/shared/platform';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { type AuthTestStack, startAuthTestStack } from './stack.ts';

/**
 * Bad requests, generated with fast-check, against every route through the real local gateway
 * over HTTP with an admin token (so RBAC lets them through to validation): malformed JSON, wrong
 * types, huge strings, unicode, missing bodies, wrong content types, bad path parameters, bad
 * query values, extra fields, wrong methods, bad Idempotency-Key headers. None may be a 5xx, and
 * every 4xx must be application/problem+json with type, title, status (= the HTTP status) and
 * detail. The figures are printed at the end.
 */

/** Runs per kind of bad request; 12 kinds. */
const RUNS_PER_KIND = Number(process.env.LCM_FUZZ_RUNS_PER_KIND ?? 250);
const MIN_TOTAL = 2000;

interface BadRequest {
  kind: string;
  operationId: string;
  method: string;
  /** Already encoded. */
  path: string;
  query?: string;
  headers?: Record<string, string>;
  body?: string;
}

let env: AuthTestStack;
let ops: Operation[];
beforeAll(async () => {
  env = await startAuthTestStack('auth-fuzz');
  ops = (OPERATIONS as readonly Operation[]).filter((o) => !env.missingGroups.has(o.group));
}, 120_000);
afterAll(async () => {
  agent.destroy();
  await env?.stop();
  printFigures();
}, 60_000);

// --- figures ---------------------------------------------------------------------------------------

const figures = {
  sent: 0,
  startedAt: 0,
  durationMs: 0,
  byKind: new Map<string, number>(),
  byOperation: new Map<string, number>(),
  byStatus: new Map<number, number>(),
};
const bump = <K>(m: Map<K, number>, k: K) => m.set(k, (m.get(k) ?? 0) + 1);
const printFigures = () => {
  const sorted = <K>(m: Map<K, number>) =>
    [...m.entries()].sort((a, b) => String(a[0]).localeCompare(String(b[0]))).map(([k, v]) => `${k}=${v}`);
  console.log(
    [
      `fuzz: ${figures.sent} requests over HTTP in ${(figures.durationMs / 1000).toFixed(1)} s ` +
        `(${Math.round(figures.sent / (figures.durationMs / 1000))} req/s), ${ops?.length ?? 0} operations`,
      `  by status: ${sorted(figures.byStatus).join(' ')}`,
      `  by kind: ${sorted(figures.byKind).join(' ')}`,
    ].join('\n'),
  );
};

// --- sending and checking -----------------------------------------------------------------------------

const agent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * node:http rather than fetch: it sends the path exactly as built (fetch would resolve `..`),
 * allows a body on GET (API Gateway passes one on), and any latin-1 header value.
 */
function httpCall(req: BadRequest): Promise<{ status: number; contentType: string | null; text: string }> {
  const url = new URL(env.apiUrl);
  return new Promise((resolve, reject) => {
    const outgoing = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        method: req.method,
        path: `${req.path}${req.query ? `?${req.query}` : ''}`,
        headers: {
          authorization: `Bearer ${env.tokens.admin}`,
          ...req.headers,
          ...(req.body !== undefined ? { 'content-length': Buffer.byteLength(req.body) } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? null,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(req.body);
  });
}

async function send(req: BadRequest): Promise<void> {
  if (figures.startedAt === 0) figures.startedAt = performance.now();
  const url = `${env.apiUrl}${req.path}${req.query ? `?${req.query}` : ''}`;
  const res = await httpCall(req);
  const text = res.text;
  figures.sent += 1;
  figures.durationMs = performance.now() - figures.startedAt;
  bump(figures.byKind, req.kind);
  bump(figures.byOperation, req.operationId);
  bump(figures.byStatus, res.status);

  const bodyText = req.body ?? '';
  const what = `${req.kind}: ${req.method} ${url.slice(0, 300)} ${bodyText.slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status < 500, `5xx for ${what}`).toBe(true);
  if (res.status >= 400) {
    expect(res.contentType, what).toBe(PROBLEM_CONTENT_TYPE);
    let body: unknown;
    expect(() => {
      body = JSON.parse(text);
    }, what).not.toThrow();
    const parsed = ProblemDocumentSchema.safeParse(body);
    expect(parsed.success, `${what}\n${parsed.error?.message}`).toBe(true);
    expect(parsed.data?.status, what).toBe(res.status);
  }
}

const run = (arbitrary: fc.Arbitrary<BadRequest>) =>
  fc.assert(
    fc.asyncProperty(arbitrary, async (req) => {
      await send(req);
    }),
    { numRuns: RUNS_PER_KIND },
  );

// --- building blocks ----------------------------------------------------------------------------------

const VALID_PARAMS: Record<string, string> = {
  id: 'fuzz-missing',
  name: 'fuzz-missing',
  version: '1',
  reservationId: 'fuzz-missing',
};
/** Percent-encodes like a client; lone surrogates (not encodable) become U+FFFD first. */
const enc = (v: string) => encodeURIComponent(v.replace(/\p{Cs}/gu, '\ufffd'));
const pathWith = (o: Operation, params: Record<string, string> = {}, raw = false) =>
  o.path.replace(/\{(\w+)\}/g, (_, n: string) => {
    const value = params[n] ?? VALID_PARAMS[n] ?? 'x';
    return raw ? value : enc(value);
  });

const JSON_HEADERS = { 'content-type': 'application/json' };
const opOf = (filter: (o: Operation) => boolean = () => true) =>
  fc.constant(null).chain(() => fc.constantFrom(...ops.filter(filter)));
const withBody = (o: Operation) => o.body !== undefined;
const withParams = (o: Operation) => o.params !== undefined;
const withQuery = (o: Operation) => o.query !== undefined;

const bodyKeys = (o: Operation): string[] => (o.body instanceof z.ZodObject ? Object.keys(o.body.shape) : []);

/** Strings that tend to break things. */
const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'null',
  'undefined',
  '-1',
  '1e309',
  'NaN',
  '☃',
  '😀👩‍👩‍👧',
  '\u202eevil',
  'ｆｕｌｌ',
  'e\u0301',
  '\ud83d',
  '<script>alert(1)</script>',
  "'; DROP TABLE lcm; --",
  '../../etc/passwd',
  '%00',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal log4shell-style probe
  '${jndi:ldap://x}',
  '{{7*7}}',
);
const unicode = fc.oneof(
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
  nasty,
);
const wrongValue = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.integer(), { maxKeys: 3 }),
  unicode,
);

/** JSON.stringify that survives lone surrogates (they become \ud83d escapes, as JSON allows). */
const toJson = (v: unknown) => JSON.stringify(v);

// --- the kinds of bad request -----------------------------------------------------------------------

const malformedJson = opOf().chain((o) =>
  fc
    .oneof(
      fc.constantFrom(
        '{',
        '{"a":',
        '[1,',
        'nul',
        "{'a':1}",
        '{"a":1}}',
        '{"a":01}',
        '\u0000',
        '"unterminated',
        '{,}',
      ),
      fc.string({ minLength: 1, maxLength: 50 }).filter((s) => {
        try {
          JSON.parse(s);
          return false;
        } catch {
          return true;
        }
      }),
    )
    .map(
      (body): BadRequest => ({
        kind: 'malformed-json',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o),
        headers: JSON_HEADERS,
        body,
      }),
    ),
);

const wrongTypes = opOf(withBody).chain((o) => {
  const keys = bodyKeys(o);
  const objectOfWrongTypes: fc.Arbitrary<unknown> =
    keys.length > 0
      ? fc
          .subarray(keys, { minLength: 1 })
          .chain((ks) => fc.tuple(...ks.map((k) => wrongValue.map((v) => [k, v] as const))))
          .map((entries) => Object.fromEntries(entries))
      : fc.dictionary(fc.string({ maxLength: 8 }), wrongValue, { minKeys: 1, maxKeys: 4 });
  return fc.oneof(objectOfWrongTypes, fc.jsonValue({ maxDepth: 3 })).map(
    (value): BadRequest => ({
      kind: 'wrong-types',
      operationId: o.operationId,
      method: o.method,
      path: pathWith(o),
      headers: JSON_HEADERS,
      body: toJson(value) ?? 'null',
    }),
  );
});

const hugeStrings = opOf().chain((o) =>
  fc.oneof(
    // Bodies over the 256 KiB limit (413) and long fields within it (400).
    fc.integer({ min: 1_000, max: 400_000 }).map(
      (n): BadRequest => ({
        kind: 'huge',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o),
        headers: JSON_HEADERS,
        body: toJson({ [bodyKeys(o)[0] ?? 'name']: 'x'.repeat(n) }),
      }),
    ),
    // Long path parameters and query values (within the HTTP server's 16 KB request line).
    fc.integer({ min: 129, max: 6_000 }).map(
      (n): BadRequest => ({
        kind: 'huge',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o, { id: 'a'.repeat(n), name: 'a'.repeat(n), reservationId: 'r'.repeat(n) }),
        query: `cursor=${'c'.repeat(Math.min(n, 6_000))}&limit=${'9'.repeat(Math.min(n, 500))}`,
        ...(withBody(o) ? { headers: JSON_HEADERS, body: '{}' } : {}),
      }),
    ),
  ),
);

const unicodeEverywhere = opOf().chain((o) =>
  fc.tuple(unicode, unicode, unicode).map(
    ([p, q, b]): BadRequest => ({
      kind: 'unicode',
      operationId: o.operationId,
      method: o.method,
      path: pathWith(o, { id: p, name: p, reservationId: p, version: p }),
      query: new URLSearchParams({ status: q, reservationId: q, cursor: q }).toString(),
      ...(withBody(o)
        ? { headers: JSON_HEADERS, body: toJson(Object.fromEntries(bodyKeys(o).map((k) => [k, b]))) }
        : {}),
    }),
  ),
);

const missingBody = opOf((o) => withBody(o) && !o.body!.safeParse({}).success).chain((o) =>
  fc.constantFrom<Record<string, string> | undefined>(JSON_HEADERS, undefined).chain((headers) =>
    fc.constantFrom<string | undefined>(undefined, '', '{}', 'null', '[]', '""', '0').map(
      (body): BadRequest => ({
        kind: 'missing-body',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o),
        ...(headers ? { headers } : {}),
        ...(body !== undefined ? { body } : {}),
      }),
    ),
  ),
);

const wrongContentType = opOf().chain((o) =>
  fc
    .tuple(
      fc.constantFrom(
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=latin1',
        'application/octet-stream',
        'image/png',
        'application/jsonx',
        'json',
        '',
        'application/json; charset="utf-16"',
      ),
      fc.constantFrom('{}', '{"name":"x"}', 'a=1&b=2', '<x/>'),
    )
    .map(
      ([contentType, body]): BadRequest => ({
        kind: 'content-type',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o),
        headers: contentType === '' ? {} : { 'content-type': contentType },
        body,
      }),
    ),
);

const badPathParams = opOf(withParams).chain((o) =>
  fc
    .oneof(
      fc.constantFrom(
        '-x',
        'a b',
        '..',
        '.',
        'a/b',
        '#',
        '?',
        '0',
        '-1',
        '1.5',
        'NaN',
        '1e3',
        'A'.repeat(200),
      ),
      unicode,
      fc.constantFrom('%E0%A4%A', '%', '%zz', '%C0%AF').map((raw) => ({ raw })),
    )
    .map((value): BadRequest => {
      const raw = typeof value === 'object';
      const v = raw ? value.raw : value;
      return {
        kind: 'bad-path',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o, { id: v, name: v, reservationId: v, version: v }, raw),
        ...(withBody(o) ? { headers: JSON_HEADERS, body: '{}' } : {}),
      };
    }),
);

const badQuery = opOf(withQuery).chain((o) =>
  fc
    .oneof(
      fc.constantFrom(
        'limit=-1',
        'limit=0',
        'limit=101',
        'limit=abc',
        'limit=1e9',
        'limit=1.5',
        'limit=',
        'limit=1&limit=2',
        'status=BOGUS',
        'status=running',
        `cursor=${'c'.repeat(3000)}`,
        'startFrom=yesterday',
        'startTo=2026-13-45T99:99:99Z',
        'workerId=-bad',
        'definitionId=%00',
        'reservationId=',
        '%zz=1',
      ),
      fc
        .dictionary(fc.constantFrom('limit', 'status', 'cursor', 'startFrom', 'workerId'), unicode, {
          minKeys: 1,
        })
        .map((d) => new URLSearchParams(d).toString()),
    )
    .map(
      (query): BadRequest => ({
        kind: 'bad-query',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o),
        query,
      }),
    ),
);

const extraFields = opOf(withBody).chain((o) =>
  fc
    .dictionary(
      fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !bodyKeys(o).includes(k) && k !== '__proto__'),
      fc.jsonValue({ maxDepth: 2 }),
      { minKeys: 1, maxKeys: 5 },
    )
    .map(
      (extra): BadRequest => ({
        kind: 'extra-fields',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o),
        headers: JSON_HEADERS,
        body: toJson(extra),
      }),
    ),
);

const wrongMethod = opOf().chain((o) =>
  fc
    .constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE')
    .filter((m) => !ops.some((other) => other.path === o.path && other.method === m))
    .map(
      (method): BadRequest => ({
        kind: 'wrong-method',
        operationId: o.operationId,
        method,
        path: pathWith(o),
        ...(method !== 'GET' ? { headers: JSON_HEADERS, body: '{}' } : {}),
      }),
    ),
);

const badIdempotencyKey = opOf((o) => o.idempotent === true).chain((o) =>
  fc.constantFrom('', '""', 'k'.repeat(256), 'clé', 'a\tb', ' \t ').map(
    (key): BadRequest => ({
      kind: 'idempotency-key',
      operationId: o.operationId,
      method: o.method,
      path: pathWith(o),
      headers: { ...JSON_HEADERS, 'idempotency-key': key },
      body: '{}',
    }),
  ),
);

/** Bad JSON documents that are syntactically fine: deep nesting, big numbers, duplicates. */
const oddJson = opOf(withBody).chain((o) =>
  fc
    .constantFrom(
      `${'['.repeat(5000)}${']'.repeat(5000)}`,
      `{"a":${'{"a":'.repeat(2000)}1${'}'.repeat(2001)}`,
      '{"name":"a","name":1}',
      '123456789012345678901234567890',
      '{"__proto__":{"admin":true}}',
      '{"constructor":{"prototype":{"x":1}}}',
      `{"maxDurationMinutes":1e400,"name":"x"}`,
      '"just a string"',
      'true',
    )
    .map(
      (body): BadRequest => ({
        kind: 'odd-json',
        operationId: o.operationId,
        method: o.method,
        path: pathWith(o),
        headers: JSON_HEADERS,
        body,
      }),
    ),
);

// --- the properties -----------------------------------------------------------------------------------

describe('bad requests over HTTP (admin token)', () => {
  it.each([
    ['malformed JSON', () => malformedJson],
    ['wrong types', () => wrongTypes],
    ['huge strings', () => hugeStrings],
    ['unicode', () => unicodeEverywhere],
    ['missing body', () => missingBody],
    ['wrong content type', () => wrongContentType],
    ['bad path parameters', () => badPathParams],
    ['bad query values', () => badQuery],
    ['extra fields', () => extraFields],
    ['wrong method', () => wrongMethod],
    ['bad Idempotency-Key', () => badIdempotencyKey],
    ['odd JSON', () => oddJson],
  ] as const)(
    '%s: never 5xx, every error problem+json',
    async (_name, arbitrary) => {
      await run(arbitrary());
    },
    300_000,
  );

  it(`sent at least ${MIN_TOTAL} requests, to every route`, () => {
    expect(figures.sent).toBeGreaterThanOrEqual(MIN_TOTAL);
    for (const o of ops)
      expect(figures.byOperation.get(o.operationId) ?? 0, o.operationId).toBeGreaterThanOrEqual(10);
    expect(ops.length).toBe(OPERATIONS.length); // no group skipped
  });
});
