import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type LocalEventBridge, startLocalEventBridge } from '@lcm/sandbox/eventbridge/index';
import { type ApiGateway, startApiGateway } from '@lcm/sandbox/http-gateway';
import { deliverCloudEvent } from '@lcm/sandbox/simulators/common';
import { routeKeyOf } from '@lcm/shared/api';
import type { IngestDeps } from '@lcm/shared/events';
import {
  EventBridgePublisher,
  parsePartnersDocument,
  SecretsManagerPartnerRegistry,
  StaticPartnerRegistry,
  signatureHeaders,
  webhookHeaders,
} from '@lcm/shared/events';
import { SecretCache } from '@lcm/shared/platform';
import { mockClient } from 'aws-sdk-client-mock';
import { CloudEvent, HTTP } from 'cloudevents';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { eventsHandler } from '../../../functions/api/events.ts';
import { gradingResultsHandler } from '../../../functions/events/grading-results.ts';
import { learnerEventsHandler } from '../../../functions/events/learner-events.ts';
import { type CallResult, call } from '../../support/api.ts';
import { createTestTable, type TestTable } from '../../support/table.ts';
import {
  type EventsWorld,
  eventsWorld,
  GRADING_SOURCE,
  LDS_SOURCE,
  localEventBridgeClient,
  seededRandom,
  sessionAt,
  shuffled,
} from './support.ts';

/**
 * `POST /v1/events` end to end: the handler (HMAC over the raw body, partner registry from a
 * Secrets Manager secret mocked at the SDK boundary) → EventBridgePublisher → the local bus over
 * real HTTP → the rule targets → DynamoDB Local and the recording workflow engine.
 */

const BUS = 'lcm-ingest-test';
const SECRETS_ID = 'lcm/test/event-partners';
const LDS_SECRET = 'lds-current-secret-0123456789';
const LDS_PREVIOUS = 'lds-previous-secret-0123456789';
const LDS_NEXT = 'lds-next-secret-after-rotation-0123';
const GRADING_SECRET = 'grading-secret-0123456789';

const partnersDocument = (ldsSecrets: unknown[], grading: Record<string, unknown> = {}) =>
  JSON.stringify({
    partners: {
      lds: { sources: [LDS_SOURCE], types: ['io.lablet.lds.'], secrets: ldsSecrets },
      grading: {
        sources: [GRADING_SOURCE],
        types: ['io.lablet.grading.'],
        secrets: [GRADING_SECRET],
        ...grading,
      },
    },
  });

const sm = mockClient(SecretsManagerClient);
let table: TestTable;
let world: EventsWorld;
let bus: LocalEventBridge;
let deps: IngestDeps;
let handler: ReturnType<typeof eventsHandler>;
const clients: Array<{ destroy(): void }> = [];

function mockPartners(
  ldsSecrets: unknown[] = [LDS_SECRET, LDS_PREVIOUS],
  grading: Record<string, unknown> = {},
) {
  sm.reset();
  sm.on(GetSecretValueCommand, { SecretId: SECRETS_ID }).resolves({
    SecretString: partnersDocument(ldsSecrets, grading),
  });
}

beforeAll(async () => {
  table = await createTestTable('ingest');
  world = eventsWorld(table);
  bus = await startLocalEventBridge({
    eventBusName: BUS,
    targets: {
      'functions/events/learner-events.ts': learnerEventsHandler(() => world.deps),
      'functions/events/grading-results.ts': gradingResultsHandler(() => world.deps),
    },
    retryDelayMs: () => 20,
  });
  const client = localEventBridgeClient(bus.url);
  clients.push(client);
  mockPartners();
  deps = {
    partners: new SecretsManagerPartnerRegistry(
      new SecretCache({ client: new SecretsManagerClient({ region: 'us-east-1' }) }),
      SECRETS_ID,
    ),
    publisher: new EventBridgePublisher({ client, eventBusName: BUS, sleep: async () => {} }),
  };
  handler = eventsHandler(() => deps);
});

afterAll(async () => {
  for (const c of clients) c.destroy();
  await bus?.stop();
  await table?.cleanup();
  sm.restore();
});

afterEach(async () => {
  await bus.idle();
  expect(bus.deadLetters).toEqual([]);
  bus.clear();
  mockPartners();
});

let seq = 0;
const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 9, minute)).toISOString();

function ldsEvent(kind: 'running' | 'paused' | 'ended' | 'user-finished', sessionId: string, minute = 1) {
  return {
    specversion: '1.0',
    id: `lds-${kind}-${sessionId}-${++seq}`,
    source: LDS_SOURCE,
    type: `io.lablet.lds.session.${kind}.v1`,
    time: at(minute),
    datacontenttype: 'application/json',
    data: { ldsSessionId: `lds-${sessionId}`, lcmSessionId: sessionId, at: at(minute) },
  };
}

function gradingCompleted(sessionId: string, score = 42) {
  return {
    specversion: '1.0',
    id: `grading-completed-${sessionId}-${++seq}`,
    source: GRADING_SOURCE,
    type: 'io.lablet.grading.session.completed.v1',
    time: at(50),
    data: {
      gradingSessionId: `gs-${sessionId}`,
      lcmSessionId: sessionId,
      score,
      maxScore: 50,
      passed: score >= 40,
      sections: [{ name: 'OSPF', score, maxScore: 50, checks: [] }],
      reportedAt: at(50),
    },
  };
}

function gradingFailed(sessionId: string) {
  return {
    specversion: '1.0',
    id: `grading-failed-${sessionId}-${++seq}`,
    source: GRADING_SOURCE,
    type: 'io.lablet.grading.session.failed.v1',
    time: at(50),
    data: { gradingSessionId: `gs-${sessionId}`, lcmSessionId: sessionId, error: 'checker crashed' },
  };
}

const STRUCTURED = 'application/cloudevents+json';
const BATCH = 'application/cloudevents-batch+json';

/** Posts a raw body signed with `secret` (the way a partner does) to the handler. */
async function post(
  body: string,
  contentType: string,
  secret: string,
  extraHeaders: Record<string, string> = {},
): Promise<CallResult> {
  return call(handler, 'ingestEvents', {
    rawBody: body,
    headers: { 'content-type': contentType, ...webhookHeaders(secret, randomUUID(), body), ...extraHeaders },
  });
}

const postEvent = (event: object, secret: string, extra: Record<string, string> = {}) =>
  post(JSON.stringify(event), STRUCTURED, secret, extra);

const publishedDetails = () => bus.published.map((p) => p.event.detail as { id: string });

async function nothingPublished() {
  await bus.idle();
  expect(bus.published).toEqual([]);
  expect(bus.deliveries).toEqual([]);
}

describe('POST /v1/events: the three modes of the HTTP binding', () => {
  it('is a public route (no JWT: the partner is authenticated by its signature)', () => {
    expect(routeKeyOf({ method: 'POST', path: '/v1/events' })).toBe('POST /v1/events');
  });

  it('structured: 202, published as Source/DetailType/Detail, routed, applied (login resolves the LOGIN wait)', async () => {
    const token = await sessionAt(world, 'st-1', 'READY', 'LOGIN');
    const event = ldsEvent('running', 'st-1');
    const res = await postEvent(event, LDS_SECRET);
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      accepted: 1,
      events: [{ id: event.id, source: LDS_SOURCE, type: 'io.lablet.lds.session.running.v1' }],
    });
    expect(bus.published).toHaveLength(1);
    expect(bus.published[0]!.event).toMatchObject({
      source: LDS_SOURCE,
      'detail-type': 'io.lablet.lds.session.running.v1',
      time: '2030-01-01T09:01:00Z',
      detail: event,
    });
    await bus.idle();
    expect(bus.deliveries).toEqual([
      expect.objectContaining({
        rule: 'lds-session-running',
        outcome: 'ok',
        result: expect.objectContaining({ outcome: 'resolved' }),
      }),
    ]);
    const session = await world.stores.sessions.getSession('st-1');
    expect(session.loginObservedAt).toBe(at(1));
    expect(session.pendingWait).toBeUndefined();
    expect(world.engine.callsOf('sendTaskSuccess').filter((c) => c.taskToken === token)).toHaveLength(1);
  });

  it('binary: attributes in ce-* headers, data in the body (serialised by the cloudevents SDK)', async () => {
    await sessionAt(world, 'bin-1', 'RUNNING');
    const { datacontenttype: _ct, ...attrs } = ldsEvent('paused', 'bin-1', 20);
    const message = HTTP.binary(new CloudEvent({ ...attrs, datacontenttype: 'application/json' }));
    const body = String(message.body);
    const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, String(v)]));
    const res = await call(handler, 'ingestEvents', {
      rawBody: body,
      headers: { ...headers, ...webhookHeaders(LDS_SECRET, randomUUID(), body) },
    });
    expect(res.status).toBe(202);
    expect(res.body.events).toEqual([
      { id: attrs.id, source: LDS_SOURCE, type: 'io.lablet.lds.session.paused.v1' },
    ]);
    expect(bus.published[0]!.event.detail).toEqual({ ...attrs, datacontenttype: 'application/json' });
    await bus.idle();
    expect((await world.stores.sessions.getSession('bin-1')).pausedAt).toBe(at(20));
  });

  it('batch: several events in one request, published in order and each applied', async () => {
    const endToken = await sessionAt(world, 'ba-1', 'RUNNING', 'END');
    const gradeToken = await sessionAt(world, 'ba-2', 'GRADING', 'GRADING');
    const events = [ldsEvent('ended', 'ba-1', 40), ldsEvent('paused', 'ba-1', 30)];
    const res = await post(JSON.stringify(events), BATCH, LDS_SECRET);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(2);
    const graded = gradingCompleted('ba-2');
    expect((await post(JSON.stringify([graded]), BATCH, GRADING_SECRET)).status).toBe(202);
    expect(publishedDetails().map((d) => d.id)).toEqual([events[0]!.id, events[1]!.id, graded.id]);
    await bus.idle();
    const s1 = await world.stores.sessions.getSession('ba-1');
    expect(s1).toMatchObject({ endObservedAt: at(40), pausedAt: at(30) });
    expect(
      world.engine.callsOf('sendTaskSuccess').find((c) => c.taskToken === endToken)?.output,
    ).toMatchObject({
      kind: 'END',
      ended: 'ENDED',
    });
    const s2 = await world.stores.sessions.get('ba-2');
    expect(s2.score).toMatchObject({ score: 42, maxScore: 50, passed: true });
    expect(
      world.engine.callsOf('sendTaskSuccess').find((c) => c.taskToken === gradeToken)?.output,
    ).toMatchObject({
      kind: 'GRADING',
      score: 42,
    });
  });

  it('a failed grading: FAULTED, the GRADING wait failed so the workflow continues', async () => {
    const token = await sessionAt(world, 'gf-1', 'GRADING', 'GRADING');
    expect((await postEvent(gradingFailed('gf-1'), GRADING_SECRET)).status).toBe(202);
    await bus.idle();
    expect((await world.stores.sessions.get('gf-1')).grading?.status).toBe('FAULTED');
    expect(world.engine.callsOf('sendTaskFailure').find((c) => c.taskToken === token)?.error).toBe(
      'GradingFailed',
    );
  });

  it('duplicates inside one batch are published once', async () => {
    await sessionAt(world, 'dup-1', 'RUNNING');
    const e = ldsEvent('paused', 'dup-1');
    const res = await post(JSON.stringify([e, e, e]), BATCH, LDS_SECRET);
    expect(res.status).toBe(202);
    expect(res.body.accepted).toBe(1);
    expect(bus.published).toHaveLength(1);
  });

  it('works over real HTTP through the local API gateway with the simulators’ signed sender', async () => {
    await sessionAt(world, 'http-1', 'RUNNING');
    let gateway: ApiGateway | undefined;
    try {
      gateway = await startApiGateway({
        routes: [{ method: 'POST', path: '/v1/events', group: 'events', auth: false }],
        handlers: new Map([['events', handler]]),
        functionFor: () => ({ functionName: 'lcm-test-events', region: 'us-east-1' }),
        port: 0,
      });
      const event = ldsEvent('paused', 'http-1', 33);
      const delivery = await deliverCloudEvent(
        { eventsUrl: `${gateway.url}/v1/events`, secret: LDS_SECRET },
        event,
      );
      expect(delivery).toMatchObject({ status: 202, ok: true, attempts: 1 });
      await bus.idle();
      expect((await world.stores.sessions.getSession('http-1')).pausedAt).toBe(at(33));
      const tampered = await deliverCloudEvent(
        { eventsUrl: `${gateway.url}/v1/events`, secret: 'a-secret-nobody-configured-123' },
        ldsEvent('paused', 'http-1'),
      );
      expect(tampered.status).toBe(401);
    } finally {
      await gateway?.stop();
    }
  });
});

describe('POST /v1/events: rejected, and nothing reaches the bus', () => {
  it('401 without a signature, with a malformed one, or one no partner secret verifies', async () => {
    const body = JSON.stringify(ldsEvent('running', 'x'));
    const unsigned = await call(handler, 'ingestEvents', {
      rawBody: body,
      headers: { 'content-type': STRUCTURED },
    });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers['content-type']).toBe('application/problem+json');
    expect(unsigned.body.detail).toMatch(/webhook-signature/);
    const malformed = await call(handler, 'ingestEvents', {
      rawBody: body,
      headers: { 'content-type': STRUCTURED, 'x-lcm-signature': 'md5=abc' },
    });
    expect(malformed.status).toBe(401);
    expect((await post(body, STRUCTURED, 'wrong-secret-0123456789')).status).toBe(401);
    // A valid signature of another body (the body was altered in transit).
    const altered = await call(handler, 'ingestEvents', {
      rawBody: body.replace('x', 'y'),
      headers: { 'content-type': STRUCTURED, ...webhookHeaders(LDS_SECRET, randomUUID(), body) },
    });
    expect(altered.status).toBe(401);
    await nothingPublished();
  });

  it('401 when x-lcm-partner names a partner whose secret did not sign', async () => {
    const res = await postEvent(ldsEvent('running', 'x'), LDS_SECRET, { 'x-lcm-partner': 'grading' });
    expect(res.status).toBe(401);
    expect(
      (await postEvent(ldsEvent('running', 'x'), LDS_SECRET, { 'x-lcm-partner': 'nobody' })).status,
    ).toBe(401);
    await nothingPublished();
  });

  it('403 for a source not on the partner’s allow-list, or a type outside its prefixes', async () => {
    const foreign = { ...ldsEvent('running', 'x'), source: 'urn:lablet:lds:rogue' };
    const res = await postEvent(foreign, LDS_SECRET);
    expect(res.status).toBe(403);
    expect(res.body.detail).toMatch(/Partner lds may not send/);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'source' })]);
    // LDS signing a grading result from the grading source.
    expect((await postEvent(gradingCompleted('x'), LDS_SECRET)).status).toBe(403);
    // One forbidden event fails the whole batch.
    const batch = [ldsEvent('paused', 'x'), { ...ldsEvent('paused', 'x'), source: GRADING_SOURCE }];
    const batchRes = await post(JSON.stringify(batch), BATCH, LDS_SECRET);
    expect(batchRes.status).toBe(403);
    expect(batchRes.body.errors).toEqual([expect.objectContaining({ path: '[1].source' })]);
    await nothingPublished();
  });

  it.each<[string, () => { body: string; type: string }, string[]]>([
    ['not JSON', () => ({ body: '{"specversion": "1.0",', type: STRUCTURED }), ['body']],
    [
      'not a CloudEvents message',
      () => ({ body: JSON.stringify(ldsEvent('running', 'x')), type: 'application/json' }),
      ['content-type'],
    ],
    [
      'no id',
      () => {
        const { id: _id, ...rest } = ldsEvent('running', 'x');
        return { body: JSON.stringify(rest), type: STRUCTURED };
      },
      ['id'],
    ],
    [
      'a wrong specversion',
      () => ({ body: JSON.stringify({ ...ldsEvent('running', 'x'), specversion: '0.3' }), type: STRUCTURED }),
      ['specversion'],
    ],
    [
      'a bad time',
      () => ({ body: JSON.stringify({ ...ldsEvent('running', 'x'), time: 'yesterday' }), type: STRUCTURED }),
      ['time'],
    ],
    [
      'an unknown type',
      () => ({
        body: JSON.stringify({ ...ldsEvent('running', 'x'), type: 'io.lablet.lds.session.exploded.v1' }),
        type: STRUCTURED,
      }),
      ['type'],
    ],
    [
      'data without lcmSessionId',
      () => ({
        body: JSON.stringify({ ...ldsEvent('running', 'x'), data: { ldsSessionId: 'l' } }),
        type: STRUCTURED,
      }),
      ['data.lcmSessionId'],
    ],
    [
      'one bad event in a batch',
      () => ({
        body: JSON.stringify([ldsEvent('paused', 'x'), { ...ldsEvent('paused', 'x'), data: {} }]),
        type: BATCH,
      }),
      ['[1].data.ldsSessionId', '[1].data.lcmSessionId'],
    ],
    ['an empty batch', () => ({ body: '[]', type: BATCH }), ['body']],
  ])('400 for %s, naming the offending fields', async (_name, make, paths) => {
    const { body, type } = make();
    const res = await post(body, type, LDS_SECRET);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual(paths);
    await nothingPublished();
  });

  it('a grading completed event with score > maxScore is malformed', async () => {
    const event = gradingCompleted('x', 60);
    const res = await postEvent(event, GRADING_SECRET);
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'data.score' })]);
    await nothingPublished();
  });
});

describe('POST /v1/events: key rotation', () => {
  it('both the current and the previous secret verify', async () => {
    await sessionAt(world, 'rot-1', 'RUNNING');
    expect((await postEvent(ldsEvent('paused', 'rot-1'), LDS_SECRET)).status).toBe(202);
    expect((await postEvent(ldsEvent('paused', 'rot-1'), LDS_PREVIOUS)).status).toBe(202);
    expect(bus.published).toHaveLength(2);
  });

  it('a secret added in Secrets Manager verifies at once (the cache is refreshed on a mismatch)', async () => {
    await sessionAt(world, 'rot-2', 'RUNNING');
    // A fresh cold start (the shared registry has used its forced refresh in the 401 tests).
    const registry = new SecretsManagerPartnerRegistry(
      new SecretCache({ client: new SecretsManagerClient({ region: 'us-east-1' }) }),
      SECRETS_ID,
    );
    const coldHandler = eventsHandler(() => ({ ...deps, partners: registry }));
    const postCold = (event: object, secret: string, extra: Record<string, string> = {}) => {
      const body = JSON.stringify(event);
      return call(coldHandler, 'ingestEvents', {
        rawBody: body,
        headers: { 'content-type': STRUCTURED, ...webhookHeaders(secret, randomUUID(), body), ...extra },
      });
    };
    // Cache warm with the old document.
    expect((await postCold(ldsEvent('paused', 'rot-2'), LDS_SECRET)).status).toBe(202);
    const readsBefore = sm.commandCalls(GetSecretValueCommand).length;
    sm.on(GetSecretValueCommand, { SecretId: SECRETS_ID }).resolves({
      SecretString: partnersDocument([{ keyId: '2030-01', secret: LDS_NEXT }, LDS_SECRET]),
    });
    const res = await postCold(ldsEvent('paused', 'rot-2'), LDS_NEXT, { 'x-lcm-key-id': '2030-01' });
    expect(res.status).toBe(202);
    expect(sm.commandCalls(GetSecretValueCommand).length).toBe(readsBefore + 1);
    // The old secret keeps working until it is removed from the list; no further reads.
    expect((await postCold(ldsEvent('paused', 'rot-2'), LDS_SECRET)).status).toBe(202);
    expect((await postCold(ldsEvent('paused', 'rot-2'), LDS_NEXT)).status).toBe(202);
    expect(sm.commandCalls(GetSecretValueCommand).length).toBe(readsBefore + 1);
    // A wrong secret does not make it read the secret again within the rate limit.
    expect((await postCold(ldsEvent('paused', 'rot-2'), 'not-a-configured-secret-0123')).status).toBe(401);
    expect(sm.commandCalls(GetSecretValueCommand).length).toBe(readsBefore + 1);
  });
});

describe('POST /v1/events: Standard Webhooks signatures (replay window, rotation, the old form only where configured)', () => {
  /** A handler over a fixed partner document (the registry itself is tested above). */
  const handlerFor = (document: string) =>
    eventsHandler(() => ({
      ...deps,
      partners: new StaticPartnerRegistry(parsePartnersDocument(JSON.parse(document), 'test')),
    }));
  const send = (h: ReturnType<typeof eventsHandler>, body: string, headers: Record<string, string>) =>
    call(h, 'ingestEvents', { rawBody: body, headers: { 'content-type': STRUCTURED, ...headers } });
  const MINUTE = 60_000;

  it('a signature older or newer than 5 minutes is refused as a replay / clock skew; within it, accepted', async () => {
    await sessionAt(world, 'sw-1', 'RUNNING');
    const h = handlerFor(partnersDocument([LDS_SECRET]));
    const body = JSON.stringify(ldsEvent('paused', 'sw-1'));
    const signedAt = (offsetMs: number) =>
      webhookHeaders(LDS_SECRET, randomUUID(), body, new Date(Date.now() + offsetMs));
    const before = bus.published.length;
    for (const offset of [-6 * MINUTE, -60 * MINUTE, 6 * MINUTE]) {
      const res = await send(h, body, signedAt(offset));
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toBe('application/problem+json');
      expect(res.body.detail).toMatch(
        offset < 0 ? /in the past.*300 s either way/ : /in the future.*300 s either way/,
      );
    }
    // A captured request replayed later fails the same way: the timestamp is inside the signature.
    const captured = signedAt(-6 * MINUTE);
    expect(
      (await send(h, body, { ...captured, 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) }))
        .status,
    ).toBe(401);
    await bus.idle();
    expect(bus.published.length).toBe(before);
    for (const offset of [-4 * MINUTE, 0, 4 * MINUTE])
      expect((await send(h, body, signedAt(offset))).status).toBe(202);
  });

  it('the window is per partner (toleranceSeconds)', async () => {
    await sessionAt(world, 'sw-2', 'COLLECTING');
    const h = handlerFor(partnersDocument([LDS_SECRET], { toleranceSeconds: 30 }));
    const body = JSON.stringify(gradingFailed('sw-2'));
    const at = (offsetMs: number) =>
      webhookHeaders(GRADING_SECRET, randomUUID(), body, new Date(Date.now() + offsetMs));
    expect((await send(h, body, at(-MINUTE))).status).toBe(401);
    expect((await send(h, body, at(-10_000))).status).toBe(202);
    // LDS keeps the default: a minute-old signature is fine.
    const lds = JSON.stringify(ldsEvent('paused', 'sw-2'));
    expect(
      (await send(h, lds, webhookHeaders(LDS_SECRET, randomUUID(), lds, new Date(Date.now() - MINUTE))))
        .status,
    ).toBe(202);
  });

  it('key rotation: the current and the previous secret verify, and so does a header carrying both signatures', async () => {
    await sessionAt(world, 'sw-3', 'RUNNING');
    const h = handlerFor(partnersDocument([LDS_NEXT, LDS_SECRET]));
    const body = JSON.stringify(ldsEvent('paused', 'sw-3'));
    const id = randomUUID();
    const now = new Date();
    const next = webhookHeaders(LDS_NEXT, id, body, now);
    const old = webhookHeaders(LDS_SECRET, id, body, now);
    expect((await send(h, body, next)).status).toBe(202);
    expect((await send(h, body, old)).status).toBe(202);
    const both = `${old['webhook-signature']} ${next['webhook-signature']}`;
    expect((await send(h, body, { ...next, 'webhook-signature': both })).status).toBe(202);
    // Once the old secret is removed it no longer verifies.
    const after = handlerFor(partnersDocument([LDS_NEXT]));
    expect((await send(after, body, old)).status).toBe(401);
  });

  it('missing or malformed Standard Webhooks headers are a 401 naming them', async () => {
    const h = handlerFor(partnersDocument([LDS_SECRET]));
    const body = JSON.stringify(ldsEvent('paused', 'x'));
    const good = webhookHeaders(LDS_SECRET, randomUUID(), body);
    const cases: Array<Record<string, string>> = [
      { 'webhook-signature': good['webhook-signature']! },
      { ...good, 'webhook-timestamp': 'yesterday' },
      { ...good, 'webhook-signature': 'v2,abc' },
      { ...good, 'webhook-id': '' },
    ];
    for (const headers of cases) {
      const res = await send(h, body, headers);
      expect(res.status).toBe(401);
      expect(res.body.detail).toMatch(/webhook-id.*webhook-timestamp.*webhook-signature/);
    }
  });

  it('the old x-lcm-signature form: refused by default, accepted from a partner configured with legacySignature', async () => {
    await sessionAt(world, 'sw-4', 'COLLECTING');
    const body = JSON.stringify(gradingFailed('sw-4'));
    const strict = await send(
      handlerFor(partnersDocument([LDS_SECRET])),
      body,
      signatureHeaders(GRADING_SECRET, body),
    );
    expect(strict.status).toBe(401);
    expect(strict.body.detail).toMatch(/Partner grading must sign with the Standard Webhooks headers/);
    const legacy = handlerFor(partnersDocument([LDS_SECRET], { legacySignature: true }));
    expect((await send(legacy, body, signatureHeaders(GRADING_SECRET, body))).status).toBe(202);
    // Only that partner: LDS, not configured for it, is still refused.
    const lds = JSON.stringify(ldsEvent('paused', 'sw-4'));
    expect((await send(legacy, lds, signatureHeaders(LDS_SECRET, lds))).status).toBe(401);
  });
});

describe('POST /v1/events: the bus refuses', () => {
  async function withFailingBus(code: string, run: (h: ReturnType<typeof eventsHandler>) => Promise<void>) {
    const failing = await startLocalEventBridge({
      eventBusName: BUS,
      targets: {},
      injectFailure: () => ({ code, message: 'injected' }),
    });
    const client = localEventBridgeClient(failing.url);
    try {
      const h = eventsHandler(() => ({
        partners: deps.partners,
        publisher: new EventBridgePublisher({ client, eventBusName: BUS, sleep: async () => {} }),
      }));
      await run(h);
      expect(failing.published).toEqual([]);
    } finally {
      client.destroy();
      await failing.stop();
    }
  }

  it('503 with Retry-After when PutEvents entries keep failing with a retryable code', async () => {
    await withFailingBus('ThrottlingException', async (h) => {
      const body = JSON.stringify(ldsEvent('paused', 'x'));
      const res = await call(h, 'ingestEvents', {
        rawBody: body,
        headers: { 'content-type': STRUCTURED, ...webhookHeaders(LDS_SECRET, randomUUID(), body) },
      });
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
    });
  });

  it('502 when entries are refused for good', async () => {
    await withFailingBus('AccessDeniedException', async (h) => {
      const body = JSON.stringify(ldsEvent('paused', 'x'));
      const res = await call(h, 'ingestEvents', {
        rawBody: body,
        headers: { 'content-type': STRUCTURED, ...webhookHeaders(LDS_SECRET, randomUUID(), body) },
      });
      expect(res.status).toBe(502);
    });
  });
});

describe('duplicate delivery ×3 and shuffled order give the same final state', () => {
  /** The events of one scenario: a learner session (login, pause, end) and a graded session. */
  function scenario(learnerId: string, gradedId: string) {
    return [
      ldsEvent('running', learnerId, 1),
      ldsEvent('paused', learnerId, 20),
      ldsEvent('ended', learnerId, 55),
      gradingCompleted(gradedId, 44),
    ];
  }

  async function finalState(learnerId: string, gradedId: string) {
    const learner = await world.stores.sessions.get(learnerId);
    const graded = await world.stores.sessions.get(gradedId);
    const strip = ({
      id: _i,
      reservationId: _r,
      createdAt: _c,
      updatedAt: _u,
      ...rest
    }: Record<string, unknown>) => rest;
    const tokenCalls = (id: string) =>
      world.engine.calls
        .filter((c) => 'taskToken' in c && c.taskToken.endsWith(`-${id}`))
        .map((c) => ({
          ...c,
          at: undefined,
          taskToken: (c as { taskToken: string }).taskToken.replace(`-${id}`, ''),
        }));
    return {
      learner: strip(learner.session),
      graded: strip(graded.session),
      grading: {
        ...graded.grading,
        completedAt: undefined,
        gradingSessionId: graded.grading?.gradingSessionId?.replace(gradedId, '<id>'),
      },
      score: graded.score,
      calls: [...tokenCalls(learnerId), ...tokenCalls(gradedId)],
    };
  }

  async function deliver(events: Array<ReturnType<typeof scenario>[number]>, random?: () => number) {
    // Sent one by one, or two at a time in a batch, as the shuffle decides.
    for (let i = 0; i < events.length; ) {
      const e = events[i]!;
      const secret = e.source === GRADING_SOURCE ? GRADING_SECRET : LDS_SECRET;
      const next = events[i + 1];
      if (random && next && next.source === e.source && random() < 0.5) {
        expect((await post(JSON.stringify([e, next]), BATCH, secret)).status).toBe(202);
        i += 2;
      } else {
        expect((await postEvent(e, secret)).status).toBe(202);
        i += 1;
      }
      await bus.idle();
    }
  }

  it('in order once = shuffled three times each (three different shuffles)', async () => {
    await sessionAt(world, 'ref-l', 'READY', 'LOGIN');
    await sessionAt(world, 'ref-g', 'GRADING', 'GRADING');
    const reference = scenario('ref-l', 'ref-g');
    await deliver(reference);
    const expected = await finalState('ref-l', 'ref-g');
    expect(expected.learner).toMatchObject({
      loginObservedAt: at(1),
      pausedAt: at(20),
      endObservedAt: at(55),
    });
    expect(expected.learner).not.toHaveProperty('pendingWait');
    expect(expected.calls.filter((c) => c.op === 'sendTaskSuccess')).toHaveLength(2);

    for (const seed of [1, 2, 3]) {
      const l = `shuf${seed}-l`;
      const g = `shuf${seed}-g`;
      await sessionAt(world, l, 'READY', 'LOGIN');
      await sessionAt(world, g, 'GRADING', 'GRADING');
      const random = seededRandom(seed);
      const events = scenario(l, g);
      await deliver(shuffled([...events, ...events, ...events], random), random);
      expect(await finalState(l, g), `seed ${seed}`).toEqual(expected);
    }
    const processed = await table.client.send(
      new ScanCommand({
        TableName: table.tableName,
        FilterExpression: 'entity = :e AND begins_with(id, :p)',
        ExpressionAttributeValues: { ':e': 'ProcessedEvent', ':p': 'lds-running-shuf' },
      }),
    );
    expect(processed.Items).toHaveLength(3);
  });
});
