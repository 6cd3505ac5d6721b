import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { traceSubjectsOfRoute } from '@lcm/shared/api';
import {
  apiHandler,
  documentClient,
  HttpClient,
  HttpError,
  IntegrationError,
  json,
  keys,
  stepHandler,
  tracer,
} from '@lcm/shared/platform';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';

/**
 * Traces (issue 13, item 2) with the Powertools Tracer really on: this file runs as a Lambda
 * with active tracing would (AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT and the trace header set before
 * the runtime kit loads), so the X-Ray SDK builds its Lambda facade segment and streams every
 * closed subsegment as UDP to the daemon address, here a socket of the test. Nothing is mocked:
 * the documents asserted are the ones X-Ray would receive, for a step whose code reads DynamoDB
 * Local through the runtime kit's captured client and calls a partner (a local HTTP server)
 * through the shared HttpClient, and for an API handler.
 */

const TRACE_ROOT = '1-67891233-abcdef012345678912345678';
const saved = vi.hoisted(() => {
  const keys = [
    'AWS_EXECUTION_ENV',
    'LAMBDA_TASK_ROOT',
    '_X_AMZN_TRACE_ID',
    'POWERTOOLS_SERVICE_NAME',
    'AWS_XRAY_CONTEXT_MISSING',
    'AWS_XRAY_DEBUG_MODE',
  ] as const;
  const before = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  process.env.AWS_EXECUTION_ENV = 'AWS_Lambda_nodejs22.x';
  process.env.LAMBDA_TASK_ROOT = '/var/task';
  process.env._X_AMZN_TRACE_ID = 'Root=1-67891233-abcdef012345678912345678;Parent=53995c3f42cd8ad8;Sampled=1';
  process.env.POWERTOOLS_SERVICE_NAME = 'lcm-traces';
  process.env.AWS_XRAY_CONTEXT_MISSING = 'IGNORE_ERROR';
  return before;
});

/** One subsegment document as the X-Ray daemon receives it. */
interface XrayDoc {
  id: string;
  name: string;
  trace_id: string;
  parent_id: string;
  namespace?: string;
  annotations?: Record<string, unknown>;
  metadata?: Record<string, Record<string, unknown>>;
  http?: { request?: { method?: string; url?: string }; response?: { status?: number } };
  aws?: Record<string, unknown>;
  error?: boolean;
  fault?: boolean;
  throttle?: boolean;
  cause?: { id?: string; exceptions?: { message?: string }[] };
  subsegments?: XrayDoc[];
}

let daemon: Socket;
let received: XrayDoc[] = [];
let partner: Server;
let partnerUrl: string;
let t: TestTable;

/** Every subsegment received so far, nested ones included, waiting until `name` has arrived. */
async function documents(until: string): Promise<XrayDoc[]> {
  const flat = () => {
    const out: XrayDoc[] = [];
    const walk = (d: XrayDoc) => {
      out.push(d);
      for (const s of d.subsegments ?? []) walk(s);
    };
    for (const d of received) walk(d);
    return out;
  };
  for (let i = 0; i < 100 && !flat().some((d) => d.name === until); i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  return flat();
}

const childrenOf = (docs: readonly XrayDoc[], parent: XrayDoc) =>
  docs.filter((d) => d.parent_id === parent.id);

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (msg) => {
    // `{"format":"json","version":1}\n{...document}`
    const body = msg.toString('utf8').split('\n')[1];
    if (body) received.push(JSON.parse(body) as XrayDoc);
  });
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  tracer.provider.setDaemonAddress(`127.0.0.1:${(daemon.address() as AddressInfo).port}`);

  partner = createServer((req, res) => {
    const status = req.url?.includes('/labs/missing') ? 404 : req.url?.includes('/busy') ? 503 : 200;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(
      status === 200
        ? JSON.stringify({ id: 'l-1', state: 'STARTED' })
        : JSON.stringify({ description: 'no' }),
    );
  });
  await new Promise<void>((resolve) => partner.listen(0, '127.0.0.1', resolve));
  partnerUrl = `http://127.0.0.1:${(partner.address() as AddressInfo).port}/api/v0`;

  t = await createTestTable('traces');
  process.env.AWS_ENDPOINT_URL_DYNAMODB = inject('dynamodbEndpoint');
  process.env.AWS_REGION = 'us-east-1';
});

afterAll(async () => {
  await t.cleanup();
  await new Promise<void>((resolve) => partner.close(() => resolve()));
  daemon.close();
  delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

beforeEach(() => {
  received = [];
});

const cml = () =>
  new HttpClient({ service: 'cml', baseUrl: partnerUrl, retry: { attempts: 2, baseDelayMs: 1 } });
const context = { functionName: 'lcm-test-task-import-lab', awsRequestId: 'req-1' } as Context;

describe('traces with the Powertools Tracer on (X-Ray documents received over UDP)', () => {
  it('the tracer is on, as in Lambda with active tracing', () => {
    expect(tracer.isTracingEnabled()).toBe(true);
  });

  it('a step: its invocation subsegment annotated with its sessionId and workerId, the AWS SDK and partner calls inside it', async () => {
    const handler = stepHandler(
      { key: 'task', subject: 'sessionId' },
      'ImportLab',
      async (_deps: object, input: { sessionId: string; workerId: string }) => {
        await documentClient().send(new GetCommand({ TableName: t.tableName, Key: keys.worker('w-7') }));
        const lab = await cml().request<{ id: string }>({
          method: 'GET',
          path: '/labs/l-1',
          operation: 'getLab',
        });
        await cml()
          .request({ method: 'GET', path: '/labs/missing', query: { token: 'secret' }, operation: 'getLab' })
          .catch((e: unknown) => e);
        return { labId: lab.body.id, sessionId: input.sessionId };
      },
      () => ({}),
    );
    const out = await handler({ sessionId: 's-42', workerId: 'w-7' }, context);
    expect(out).toEqual({ labId: 'l-1', sessionId: 's-42' });

    const docs = await documents('## ImportLab');
    const step = docs.find((d) => d.name === '## ImportLab')!;
    expect(step).toBeDefined();
    expect(step.trace_id).toBe(TRACE_ROOT);
    expect(step.parent_id).toBe('53995c3f42cd8ad8');
    expect(step.annotations).toEqual({
      ColdStart: expect.any(Boolean),
      Service: 'lcm-traces',
      sessionId: 's-42',
      workerId: 'w-7',
    });
    expect(step.fault).toBeUndefined();

    const inside = childrenOf(docs, step);
    // The captured AWS SDK client.
    const dynamo = inside.find((d) => d.name === 'DynamoDB')!;
    expect(dynamo).toMatchObject({ namespace: 'aws', aws: { operation: 'GetItem' } });
    expect(dynamo.aws?.table_name).toBe(t.tableName);

    // The partner calls: one subsegment per call, named after the partner.
    const calls = inside.filter((d) => d.name === 'cml');
    expect(calls).toHaveLength(2);
    const [ok, missing] = [
      calls.find((c) => c.http?.response?.status === 200)!,
      calls.find((c) => c.http?.response?.status === 404)!,
    ];
    expect(ok).toMatchObject({
      namespace: 'remote',
      annotations: { partner: 'cml', operation: 'getLab' },
      metadata: {
        partner: {
          call: { method: 'GET', route: '/labs/l-1', operation: 'getLab', status: 200, attempts: 1 },
        },
      },
      http: { request: { method: 'GET', url: '/labs/l-1' }, response: { status: 200 } },
    });
    expect(ok.error ?? false).toBe(false);
    expect(ok.fault ?? false).toBe(false);
    // A 4xx is an error, not a fault; the query string (and its token) is not recorded.
    expect(missing).toMatchObject({ error: true, http: { request: { url: '/labs/missing' } } });
    expect(missing.fault ?? false).toBe(false);
    expect(JSON.stringify(docs)).not.toContain('secret');
  });

  it('a failing partner (5xx after its retries) is a fault with the attempts; the step records its error', async () => {
    const handler = stepHandler(
      { key: 'job' },
      'health-sweep',
      async () => {
        await cml().request({ method: 'GET', path: '/busy', operation: 'systemInformation' });
        return 'unreachable';
      },
      () => ({}),
    );
    await expect(handler({ workerId: 'w-9' })).rejects.toBeInstanceOf(IntegrationError);
    const docs = await documents('## health-sweep');
    const step = docs.find((d) => d.name === '## health-sweep')!;
    expect(step.annotations).toMatchObject({ ColdStart: false, workerId: 'w-9' });
    expect(step.fault).toBe(true);
    const [call] = childrenOf(docs, step).filter((d) => d.name === 'cml');
    // The exception is recorded where it was thrown; the step's cause points at that subsegment.
    expect(call!.cause?.exceptions?.[0]?.message).toMatch(/cml systemInformation failed with HTTP 503/);
    expect(step.cause).toMatchObject({ id: call!.id });
    expect(call).toMatchObject({
      fault: true,
      metadata: { partner: { call: { status: 503, attempts: 2 } } },
      http: { response: { status: 503 } },
    });
  });

  it('an outcome the workflow handles by design (StepKind.expected) is not a fault', async () => {
    const handler = stepHandler(
      {
        key: 'task',
        subject: 'sessionId',
        expected: { names: new Set(['NoFitYet']), level: 'info', message: 'no fit yet' },
      },
      'PlaceSession',
      async () => {
        throw Object.assign(new Error('nothing fits now'), { name: 'NoFitYet' });
      },
      () => ({}),
    );
    await expect(handler({ sessionId: 's-5' })).rejects.toThrow('nothing fits now');
    const step = (await documents('## PlaceSession')).find((d) => d.name === '## PlaceSession')!;
    expect(step.annotations).toMatchObject({ sessionId: 's-5' });
    expect(step.fault ?? false).toBe(false);
  });

  it('an API handler: `## api <group>`, the id its operation parsed as annotation, a 4xx answer is no fault', async () => {
    const handler = apiHandler(
      async (event) => {
        const { annotate } = await import('@lcm/shared/platform');
        annotate(traceSubjectsOfRoute('/v1/sessions/{id}/history', event.pathParameters));
        if (event.pathParameters?.id === 'gone') throw new HttpError(404, 'No such session.');
        return json(200, { ok: true });
      },
      { name: 'sessions' },
    );
    const request = (id: string) =>
      ({
        routeKey: 'GET /v1/sessions/{id}/history',
        rawPath: `/v1/sessions/${id}/history`,
        pathParameters: { id },
        headers: {},
        requestContext: { requestId: `r-${id}`, http: { method: 'GET', path: `/v1/sessions/${id}/history` } },
        isBase64Encoded: false,
      }) as never;
    expect((await handler(request('s-1'), context)).statusCode).toBe(200);
    expect((await handler(request('gone'), context)).statusCode).toBe(404);
    const docs = (await documents('## api sessions')).filter((d) => d.name === '## api sessions');
    expect(docs.map((d) => [d.annotations?.sessionId, d.fault ?? false])).toEqual([
      ['s-1', false],
      ['gone', false],
    ]);
  });
});

describe('traceSubjectsOfRoute (api/dispatch.ts)', () => {
  it('names the session or worker of a route by its {id}', () => {
    expect(traceSubjectsOfRoute('/v1/sessions/{id}', { id: 's-1' })).toEqual({ sessionId: 's-1' });
    expect(traceSubjectsOfRoute('/v1/workers/{id}/drain', { id: 'w-1' })).toEqual({ workerId: 'w-1' });
    expect(traceSubjectsOfRoute('/v1/definitions/{id}', { id: 'd-1' })).toEqual({});
    expect(traceSubjectsOfRoute('/v1/sessions', undefined)).toEqual({});
  });
});
