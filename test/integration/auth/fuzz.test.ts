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
 * query values, extra fields, wrong methods, bad Idempotency-Key headers, control characters and
 * lone surrogates in every id and text field, invalid UTF-8 in bodies, paths and queries. None may
 * be a 5xx, and every 4xx must be application/problem+json with type, title, status (= the HTTP
 * status) and detail; a control character, lone surrogate or invalid UTF-8 is never accepted (no
 * 2xx). The figures are printed at the end.
 */

/** Runs per kind of bad request; 14 kinds, so at least 5,000 requests by default. */
const RUNS_PER_KIND = Number(process.env.LCM_FUZZ_RUNS_PER_KIND ?? 360);
const MIN_TOTAL = Number(process.env.LCM_FUZZ_MIN_TOTAL ?? 5000);

interface BadRequest {
  kind: string;
  operationId: string;
  method: string;
  /** Already encoded. */
  path: string;
  query?: string;
  headers?: Record<string, string>;
  /** Bytes when the body is not UTF-8 on purpose. */
  body?: string | Buffer;
  /** Never a 2xx: the request carries text LCM must refuse wherever it lands. */
  mustRefuse?: boolean;
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

  const bodyText = typeof req.body === 'string' ? req.body : (req.body?.toString('hex') ?? '');
  const what = `${req.kind}: ${req.method} ${url.slice(0, 300)} ${bodyText.slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
  expect(res.status < 500, `5xx for ${what}`).toBe(true);
  if (req.mustRefuse) expect(res.status >= 400, `accepted: ${what}`).toBe(true);
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
const queryKeys = (o: Operation): string[] =>
  o.query instanceof z.ZodObject ? Object.keys(o.query.shape) : [];
/** The query parameters that hold ids or text (a value LCM must refuse lands in one of these). */
const TEXT_QUERY_KEYS = ['reservationId', 'definitionId', 'workerId', 'cursor'];
const textQueryKeys = (o: Operation) => queryKeys(o).filter((k) => TEXT_QUERY_KEYS.includes(k));

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

/** Text LCM refuses in ids and free text (kernel/text.ts): controls, lone surrogates, U+FFFD. */
const refusedChar = fc.constantFrom(
  '\u0000',
  '\u0001',
  '\u0007',
  '\u001b',
  '\u001f',
  '\u007f',
  '\u0080',
  '\u009f',
  '\ud800',
  '\udfff',
  '\ud83d',
  '\ufffd',
);
const refusedText = fc
  .tuple(fc.string({ maxLength: 8 }), refusedChar, fc.string({ maxLength: 8 }))
  .map(
    ([a, c, b]) => `${a.replace(/[\p{Cc}\p{Cs}\ufffd]/gu, '')}${c}${b.replace(/[\p{Cc}\p{Cs}\ufffd]/gu, '')}`,
  );
/** Percent-encodes a string's UTF-16 units as UTF-8 bytes, lone surrogates as their 3-byte form. */
const rawEnc = (v: string) =>
  [...v]
    .map((ch) => {
      const c = ch.codePointAt(0)!;
      if (c >= 0xd800 && c <= 0xdfff)
        return `%${(0xe0 | (c >> 12)).toString(16)}%${(0x80 | ((c >> 6) & 0x3f)).toString(16)}%${(0x80 | (c & 0x3f)).toString(16)}`.toUpperCase();
      return encodeURIComponent(ch);
    })
    .join('');

const controlCharacters = opOf().chain((o) =>
  fc.tuple(refusedText, fc.constantFrom('body', 'path', 'query')).map(([v, where]): BadRequest => {
    const where2 = where === 'path' && !withParams(o) ? (withBody(o) ? 'body' : 'query') : where;
    const base = { kind: 'control-chars', operationId: o.operationId, method: o.method, mustRefuse: true };
    if (where2 === 'path') {
      const p = rawEnc(v);
      return {
        ...base,
        path: pathWith(o, { id: p, name: p, reservationId: p, version: p }, true),
        ...(withBody(o) ? { headers: JSON_HEADERS, body: '{}' } : {}),
      };
    }
    if (where2 === 'body' && withBody(o)) {
      const keys = bodyKeys(o);
      const body = Object.fromEntries((keys.length > 0 ? keys : ['name']).map((k) => [k, v]));
      // JSON escapes (\u0000, \ud83d): valid JSON whose strings hold what must be refused.
      return { ...base, path: pathWith(o), headers: JSON_HEADERS, body: toJson(body) };
    }
    // Query values: every id or text parameter the route takes holds the text.
    const q = rawEnc(v);
    const ks = textQueryKeys(o);
    return {
      ...base,
      mustRefuse: ks.length > 0,
      path: pathWith(o),
      query: (ks.length > 0 ? ks : TEXT_QUERY_KEYS).map((k) => `${k}=${q}`).join('&'),
      ...(withBody(o) ? { headers: JSON_HEADERS, body: '{}' } : {}),
    };
  }),
);

/** Byte sequences that are not UTF-8: stray continuation, overlong, truncated, surrogate, > U+10FFFF. */
const invalidUtf8Bytes = fc.constantFrom(
  [0x80],
  [0xff],
  [0xfe, 0xff],
  [0xc0, 0xaf],
  [0xe0, 0x80, 0xaf],
  [0xe2, 0x82],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xc3],
);
const invalidUtf8 = opOf().chain((o) =>
  fc.tuple(invalidUtf8Bytes, fc.constantFrom('body', 'path', 'query')).map(([bytes, where]): BadRequest => {
    const base = { kind: 'invalid-utf8', operationId: o.operationId, method: o.method };
    const pct = bytes.map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
    if (where === 'body' || (where === 'path' && !withParams(o))) {
      const key = bodyKeys(o)[0] ?? 'name';
      const body = Buffer.concat([Buffer.from(`{"${key}":"a`), Buffer.from(bytes), Buffer.from('b"}')]);
      return { ...base, mustRefuse: withBody(o), path: pathWith(o), headers: JSON_HEADERS, body };
    }
    if (where === 'path') {
      return {
        ...base,
        mustRefuse: true,
        path: pathWith(o, { id: `a${pct}`, name: `a${pct}`, reservationId: `a${pct}`, version: pct }, true),
        ...(withBody(o) ? { headers: JSON_HEADERS, body: '{}' } : {}),
      };
    }
    const ks = textQueryKeys(o);
    return {
      ...base,
      mustRefuse: ks.length > 0,
      path: pathWith(o),
      query: (ks.length > 0 ? ks : TEXT_QUERY_KEYS).map((k) => `${k}=a${pct}`).join('&'),
      ...(withBody(o) ? { headers: JSON_HEADERS, body: '{}' } : {}),
    };
  }),
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
    ['control characters and lone surrogates', () => controlCharacters],
    ['invalid UTF-8', () => invalidUtf8],
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

describe('refused text is a 400 problem naming the field (kernel/text.ts)', () => {
  const TIMESLOT = { start: '2030-01-01T09:00:00Z', end: '2030-01-01T10:00:00Z' };
  const booking = (over: Record<string, unknown>) =>
    toJson({
      definitionId: 'fuzz-def',
      reservationId: 'r-ok',
      owner: { userId: 'u-1' },
      timeslot: TIMESLOT,
      ...over,
    });
  const errorsOf = async (req: Omit<BadRequest, 'kind' | 'operationId'>) => {
    const res = await httpCall({ kind: 'named', operationId: 'named', ...req });
    expect(res.status, res.text).toBe(400);
    expect(res.contentType).toBe(PROBLEM_CONTENT_TYPE);
    return (
      (JSON.parse(res.text) as { errors?: Array<{ path: string; message: string; in?: string }> }).errors ??
      []
    );
  };

  it.each([
    ['a lone surrogate in reservationId', { reservationId: 'r-\ud800' }, 'reservationId', /lone surrogate/],
    [
      'a BEL in owner.userId',
      { owner: { userId: 'u\u0007' } },
      'owner.userId',
      /control character \(U\+0007\)/,
    ],
    [
      'a NUL in owner.username',
      { owner: { userId: 'u', username: 'a\u0000b' } },
      'owner.username',
      /U\+0000/,
    ],
    ['a C1 control in reservationId', { reservationId: 'r\u0085' }, 'reservationId', /U\+0085/],
    [
      'U+FFFD (invalid UTF-8 decoded) in reservationId',
      { reservationId: 'r\ufffd' },
      'reservationId',
      /invalid UTF-8/,
    ],
  ])('POST /v1/sessions with %s', async (_name, over, field, message) => {
    const errors = await errorsOf({
      method: 'POST',
      path: '/v1/sessions',
      headers: JSON_HEADERS,
      body: booking(over),
    });
    expect(errors).toContainEqual(
      expect.objectContaining({ path: field, in: 'body', message: expect.stringMatching(message) }),
    );
  });

  it('a control character in a template description (multi-line text: LF allowed, NUL not)', async () => {
    const template = {
      name: 'fuzz-text',
      instanceType: 'm5.xlarge',
      capacity: { cpuCores: 4, memoryGb: 16, storageGb: 100, maxNodes: 10 },
      costPerHourUsd: 1,
      licenseType: 'PERSONAL',
    };
    const errors = await errorsOf({
      method: 'POST',
      path: '/v1/worker-templates',
      headers: JSON_HEADERS,
      body: toJson({ ...template, description: 'line 1\nline 2\u0000' }),
    });
    expect(errors).toEqual([expect.objectContaining({ path: 'description', in: 'body' })]);
  });

  it('invalid UTF-8 in the raw body: 400 naming the body', async () => {
    const body = Buffer.concat([
      Buffer.from('{"reservationId":"r'),
      Buffer.from([0xed, 0xa0, 0x80]),
      Buffer.from('"}'),
    ]);
    const errors = await errorsOf({ method: 'POST', path: '/v1/sessions', headers: JSON_HEADERS, body });
    expect(errors).toEqual([
      expect.objectContaining({ path: 'body', in: 'body', message: 'must be UTF-8 encoded' }),
    ]);
  });

  it('path parameters and query values: a control character or invalid UTF-8 names the parameter', async () => {
    expect(await errorsOf({ method: 'GET', path: '/v1/reservations/r%07x' })).toContainEqual(
      expect.objectContaining({ path: 'reservationId', in: 'path' }),
    );
    expect(await errorsOf({ method: 'GET', path: '/v1/sessions/s%00x' })).toContainEqual(
      expect.objectContaining({ path: 'id', in: 'path' }),
    );
    expect(
      await errorsOf({ method: 'GET', path: '/v1/sessions', query: 'reservationId=r%FF' }),
    ).toContainEqual(
      expect.objectContaining({
        path: 'reservationId',
        in: 'query',
        message: expect.stringMatching(/invalid UTF-8/),
      }),
    );
    expect(
      await errorsOf({ method: 'GET', path: '/v1/sessions', query: 'reservationId=r%ED%A0%80' }),
    ).toContainEqual(expect.objectContaining({ path: 'reservationId', in: 'query' }));
  });
});
