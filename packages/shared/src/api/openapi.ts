import {
  getRefId,
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  zodToOpenAPIRegistry,
} from '@asteasolutions/zod-to-openapi';
import * as z from 'zod';
import { CapacitySchema, PortLeaseSchema, WorkerSchema, WorkerTemplateSchema } from '../kernel/index.ts';
import { PROBLEM_CONTENT_TYPE, ProblemDocumentSchema } from '../platform/index.ts';
import { OPERATIONS, type Operation } from './operations.ts';
import { rolesWith } from './roles.ts';
import { DefinitionReplySchema, SessionReplySchema } from './views.ts';

/**
 * The API's OpenAPI 3.1 document, generated from the operation catalogue (OPERATIONS) and the
 * zod schemas that validate the requests, so the document cannot drift from what the handlers
 * accept. Served at GET /v1/openapi.json and written to docs/openapi.json by `npm run openapi`
 * (a unit test fails when the committed file is stale).
 *
 * Security: an HTTP bearer (JWT) scheme. Each protected operation lists the roles that may call
 * it, derived from the role table (`rolesWith(permission)`); any one of them is enough (OpenAPI
 * 3.1 lets non-OAuth2 schemes name roles there). Public operations have `security: []`, except
 * partner CloudEvents, which name the HMAC signature header scheme.
 */

export const API_TITLE = 'Lablet Cloud Manager API';
/** Version of this document's contract (the path prefix carries the major: /v1). */
export const API_VERSION = '1.0.0';
export const SECURITY_SCHEME = 'bearerAuth';
export const PARTNER_SCHEME = 'partnerSignature';

/**
 * Operations authenticated by a partner's HMAC signature of the raw body instead of a JWT
 * (`permission: null` in the catalogue, which has no field for it yet): POST /v1/events.
 */
const PARTNER_SIGNED = new Set(['ingestEvents']);
/** The server entry of the committed document; the served one names the host it came from. */
export const DEFAULT_SERVER_URL = 'http://127.0.0.1:3000';

/**
 * Entity schemas that get a name under components/schemas instead of being inlined each time.
 * Definitions and sessions are named by their views (api/views.ts), which is what replies carry.
 */
const NAMED_SCHEMAS: readonly [string, z.ZodType][] = [
  ['Capacity', CapacitySchema],
  ['WorkerTemplate', WorkerTemplateSchema],
  ['Worker', WorkerSchema],
  ['LabletDefinition', DefinitionReplySchema],
  ['LabletSession', SessionReplySchema],
  ['PortLease', PortLeaseSchema],
];

/**
 * Names the shared entity schemas for the generator. zod-to-openapi reads component names from
 * its own metadata registry; adding the existing instances there (rather than `.meta({ id })`,
 * which returns a copy) makes every place that embeds them a `$ref`, and leaves zod's global
 * registry alone. Idempotent.
 */
function nameEntitySchemas(): void {
  for (const [name, schema] of NAMED_SCHEMAS) {
    const current = getRefId(schema);
    if (current === name) continue;
    if (current !== undefined) throw new Error(`schema ${name} is already named ${current}`);
    zodToOpenAPIRegistry.add(schema, { _internal: { refId: name } });
  }
}

/** Bodies of operations the catalogue gives no response schema (the health group is ours). */
const HealthSchema = z
  .object({ status: z.literal('ok').meta({ description: '`ok`.' }) })
  .meta({ id: 'Health', description: 'Healthy (from a check cached up to 30 s; a 503 problem when not).' });

const UNDOCUMENTED_OBJECT = { type: 'object' as const, description: 'A JSON object.' };
const OPENAPI_OBJECT = { type: 'object' as const, description: 'An OpenAPI 3.1 document (this one).' };

const GatewayMessageSchema = z
  .object({ message: z.string().meta({ description: 'The message.' }) })
  .meta({ id: 'GatewayMessage', description: 'What API Gateway answers by itself, e.g. `Unauthorized`.' });

/** One tag per route group; a unit test insists every group of the catalogue has a description. */
export const TAG_DESCRIPTIONS: Readonly<Record<string, string>> = {
  health: 'Liveness and the API description',
  templates: 'Worker templates: the EC2 shapes workers are launched from',
  workers: 'Workers: CML hosts of the fleet and their lifecycle',
  definitions: 'Lab definitions, versioned, and what running labs really consumed',
  sessions: 'Lab sessions and reservation look-up',
  fleet: 'Fleet capacity and scaling',
  streams: 'Table-stream records a consumer gave up on: listed and replayed by operators',
  events: 'CloudEvents pushed by partners (LDS, Grading Engine)',
};

const tagsOf = (ops: readonly Operation[]) =>
  [...new Set(ops.map((o) => o.group))].map((name) => ({
    name,
    description: TAG_DESCRIPTIONS[name] ?? `The ${name} operations`,
  }));

/** Shared error responses (components/responses), by status. */
const ERROR_RESPONSES: Record<number, { name: string; description: string }> = {
  400: {
    name: 'BadRequest',
    description: 'Invalid request: malformed JSON or fields that fail validation (listed in `errors`).',
  },
  401: {
    name: 'Unauthorized',
    description: 'No valid bearer token. API Gateway answers `{"message":"Unauthorized"}` itself.',
  },
  403: { name: 'Forbidden', description: 'The token is valid but none of its roles grants this operation.' },
  404: {
    name: 'NotFound',
    description:
      'The resource does not exist, or it is a session or reservation another client booked (a portal sees ' +
      'only its own); for POST /v1/sessions, the definition or definition version the body names does not exist.',
  },
  409: {
    name: 'Conflict',
    description:
      'A concurrent change, an invalid state transition, a duplicate, or a request with the same ' +
      'Idempotency-Key that is still in progress.',
  },
  410: {
    name: 'Gone',
    description:
      'POST /v1/stream-failures/{id}/replay: the records of the failure are gone from the table stream ' +
      '(DynamoDB Streams keeps them 24 hours); nothing is left to replay (the attempt is recorded on the failure).',
  },
  413: {
    name: 'ContentTooLarge',
    description:
      'The request body is larger than 256 KiB (6 MiB for the definition create and update, which take topology ' +
      'YAML: the 6 MB AWS Lambda payload limit; larger topologies go through POST /v1/uploads).',
  },
  415: { name: 'UnsupportedMediaType', description: 'The request body is not application/json (UTF-8).' },
  422: {
    name: 'Unprocessable',
    description:
      'The Idempotency-Key was already used by this caller with a different request; or (POST /v1/sessions) ' +
      'the booking can never be served: no enabled worker template can hold the definition, each failing ' +
      'dimension named in `errors` (e.g. `cpuCores 301 > 96 on every template`).',
  },
  502: {
    name: 'BadGateway',
    description: 'The event bus refused the events; nothing was published, resend them.',
  },
  503: {
    name: 'ServiceUnavailable',
    description: 'A backing service is unavailable; retry after the Retry-After delay.',
  },
};

/** Operations that refuse, with a 422, what can never be served (booking admission). */
const REFUSES_UNSERVABLE: ReadonlySet<string> = new Set(['createSession']);

/** Operations that answer 410 when what they act on has expired (stream records kept 24 hours). */
const GONE_WHEN_EXPIRED: ReadonlySet<string> = new Set(['replayStreamFailure']);

/** The problem responses an operation can give, from what the dispatcher and handlers do. */
export function errorStatusesOf(o: Operation): number[] {
  // Signature (401), partner not allowed the source/type (403), size (413), bus (502/503).
  if (PARTNER_SIGNED.has(o.operationId)) return [400, 401, 403, 413, 502, 503];
  const statuses = new Set<number>();
  const writes = o.method !== 'GET';
  // Every operation: invalid input, or a body where the operation takes none.
  statuses.add(400);
  if (o.permission !== null) {
    statuses.add(401);
    statuses.add(403);
  }
  if (o.params || o.notFoundWhen) statuses.add(404);
  if (writes) statuses.add(409);
  if (o.body) {
    statuses.add(413);
    statuses.add(415);
  }
  if (o.idempotent || REFUSES_UNSERVABLE.has(o.operationId)) statuses.add(422);
  if (o.operationId === 'getHealth') statuses.add(503);
  if (GONE_WHEN_EXPIRED.has(o.operationId)) statuses.add(410);
  return [...statuses].sort((a, b) => a - b);
}

function successResponse(o: Operation): ResponseConfig {
  const description = o.successStatus === 202 ? 'Accepted' : o.successStatus === 201 ? 'Created' : 'OK';
  if (o.successStatus === 204) return { description: 'No Content' };
  const schema =
    o.response ??
    (o.operationId === 'getHealth'
      ? HealthSchema
      : o.operationId === 'getOpenApi'
        ? OPENAPI_OBJECT
        : UNDOCUMENTED_OBJECT);
  return { description, content: { 'application/json': { schema } } };
}

const schemaRef = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function registerErrorResponses(registry: OpenAPIRegistry): void {
  for (const [status, { name, description }] of Object.entries(ERROR_RESPONSES)) {
    const problem = { schema: schemaRef('ProblemDetails') };
    registry.registerComponent('responses', name, {
      description,
      content:
        status === '401'
          ? { 'application/json': { schema: schemaRef('GatewayMessage') }, [PROBLEM_CONTENT_TYPE]: problem }
          : { [PROBLEM_CONTENT_TYPE]: problem },
    });
  }
}

const errorResponse = (status: number) => {
  const response = ERROR_RESPONSES[status];
  if (!response) throw new Error(`no shared response for ${status}`);
  return { $ref: `#/components/responses/${response.name}` };
};

function securityOf(o: Operation) {
  if (PARTNER_SIGNED.has(o.operationId)) {
    return {
      security: [{ [PARTNER_SCHEME]: [] }],
      description: 'No token: the partner signs the raw body (HMAC-SHA256).',
    };
  }
  if (o.permission === null) return { security: [], description: 'Public: no token needed.' };
  const roles = rolesWith(o.permission);
  return {
    security: [{ [SECURITY_SCHEME]: roles }],
    description: `Needs the permission \`${o.permission}\`: roles ${roles.join(', ')}.`,
    'x-lcm-permission': o.permission,
  };
}

/** The security entry, its description followed by the operation's own. */
function describedSecurityOf(o: Operation) {
  const security = securityOf(o);
  const own = [o.description, o.notFoundWhen ? `404: ${o.notFoundWhen}` : undefined]
    .filter(Boolean)
    .join(' ');
  return own ? { ...security, description: `${security.description} ${own}` } : security;
}

/** The CloudEvents HTTP binding: structured, batch, or binary mode (any data, `ce-*` headers). */
const CLOUDEVENTS_BODY = {
  required: true,
  description: 'CloudEvents 1.0 over HTTP: structured, batch or binary mode.',
  content: {
    'application/cloudevents+json': { schema: { type: 'object' as const, description: 'One event.' } },
    'application/cloudevents-batch+json': {
      schema: { type: 'array' as const, items: { type: 'object' as const }, description: 'Events.' },
    },
    'application/json': {
      schema: {
        type: 'object' as const,
        description: 'Binary mode: the `data`; attributes in ce-* headers.',
      },
    },
  },
};

const lower = (m: Operation['method']) => m.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface OpenApiOptions {
  /** The `servers` entry; default the local stack. */
  serverUrl?: string;
}

export type OpenApiDocument = ReturnType<OpenApiGeneratorV31['generateDocument']>;

export function buildOpenApiDocument(opts: OpenApiOptions = {}): OpenApiDocument {
  nameEntitySchemas();
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', SECURITY_SCHEME, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT from the configured OIDC issuer (Cognito by default), validated by the API Gateway JWT ' +
      'authorizer. Roles come from the `cognito:groups` (or `groups`) claim or the `scope` claim: ' +
      'lcm.admin, lcm.operator, lcm.portal, lcm.viewer. Each operation lists the roles that may call it. ' +
      "The token's `client_id` (else `sub`) names the caller's client: a portal sees only the sessions its " +
      'client booked. Replies never carry workflow task tokens or device credentials; a learner login URL ' +
      'only reaches admins and the portal that booked the session.',
  });
  registry.registerComponent('securitySchemes', PARTNER_SCHEME, {
    type: 'apiKey',
    in: 'header',
    name: 'webhook-signature',
    description:
      'Partner CloudEvents only, Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of ' +
      '"<webhook-id>.<webhook-timestamp>.<raw body>">` with one of the partner\'s secrets, sent with ' +
      "`webhook-id` and `webhook-timestamp` (unix seconds, within 5 minutes of LCM's clock unless the " +
      'partner is configured otherwise); `x-lcm-partner` may name the partner. The old `x-lcm-signature` ' +
      'is accepted only from partners configured for it.',
  });
  registerErrorResponses(registry);
  registry.registerComponent('parameters', 'IdempotencyKey', {
    name: 'Idempotency-Key',
    in: 'header',
    required: false,
    description:
      'Makes a retried POST safe: a repeat with the same key (per caller and operation, kept 24 h) returns ' +
      'the first reply with `Idempotency-Replayed: true`; the same key with a different request is a 422, ' +
      'and while the first request still runs a repeat is a 409.',
    schema: { type: 'string', minLength: 1, maxLength: 255 },
  });

  for (const o of OPERATIONS as readonly Operation[]) {
    const responses: Record<number, ResponseConfig | { $ref: string }> = {
      [o.successStatus]: successResponse(o),
    };
    if (o.alsoSucceeds) {
      responses[o.alsoSucceeds.status] = { ...successResponse(o), description: o.alsoSucceeds.description };
    }
    for (const status of errorStatusesOf(o)) responses[status] = errorResponse(status);
    const bodyOptional = o.body?.safeParse({}).success ?? false;
    registry.registerPath({
      method: lower(o.method),
      path: o.path,
      operationId: o.operationId,
      summary: o.summary,
      tags: [o.group],
      ...describedSecurityOf(o),
      request: {
        ...(o.params ? { params: o.params } : {}),
        ...(o.query ? { query: o.query } : {}),
        ...(o.body
          ? { body: { required: !bodyOptional, content: { 'application/json': { schema: o.body } } } }
          : PARTNER_SIGNED.has(o.operationId)
            ? { body: CLOUDEVENTS_BODY }
            : {}),
      },
      responses,
    });
  }

  // The problem and gateway schemas are referenced from components/responses by name.
  const document = new OpenApiGeneratorV31(
    [
      ...registry.definitions,
      { type: 'schema', schema: ProblemDocumentSchema },
      { type: 'schema', schema: GatewayMessageSchema },
    ],
    {
      sortComponents: 'alphabetically',
    },
  ).generateDocument({
    openapi: '3.1.0',
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description:
        'Control plane of Lablet Cloud Manager: worker templates, the CML worker fleet, versioned lab ' +
        'definitions and timed lab sessions. Errors are RFC 9457 problem+json.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: opts.serverUrl ?? DEFAULT_SERVER_URL }],
    tags: tagsOf(OPERATIONS as readonly Operation[]),
  });

  // Idempotent POSTs take the Idempotency-Key header (a shared parameter component).
  for (const o of OPERATIONS as readonly Operation[]) {
    if (!o.idempotent) continue;
    const operation = document.paths?.[o.path]?.[lower(o.method)];
    if (!operation) throw new Error(`generated document lacks ${o.operationId}`);
    operation.parameters = [
      ...(operation.parameters ?? []),
      { $ref: '#/components/parameters/IdempotencyKey' },
    ];
  }
  return document;
}

/** The committed docs/openapi.json: two-space JSON with a final newline. */
export const formatOpenApiDocument = (document: OpenApiDocument): string =>
  `${JSON.stringify(document, null, 2)}\n`;
