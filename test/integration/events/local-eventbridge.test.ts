import { EventBridgeClient, ListRulesCommand, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type LocalEventBridge, startLocalEventBridge } from '@lcm/sandbox/eventbridge/index';
import { EVENT_RULES, EventBridgePublisher, type EventRule, PublishError } from '@lcm/shared/events';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestTable } from '../../support/table.ts';

/**
 * The local bus over real HTTP with the unchanged SDK client: PutEvents protocol, per-entry
 * failures, routing by the shared rules, async delivery with retries and a dead-letter list.
 */

const BUS = 'lcm-test-bus';
const calls: Array<{
  target: string;
  event: { source: string; 'detail-type': string; detail: { id: string } };
}> = [];
let failLearner = 0;

const targets = {
  'functions/events/learner-events.ts': async (event: (typeof calls)[number]['event']) => {
    calls.push({ target: 'learner', event });
    if (failLearner > 0) {
      failLearner--;
      throw new Error('transient');
    }
    return { outcome: 'applied' };
  },
  'functions/events/grading-results.ts': async (event: (typeof calls)[number]['event']) => {
    calls.push({ target: 'grading', event });
    return { outcome: 'applied' };
  },
};

let bus: LocalEventBridge;
let client: EventBridgeClient;

beforeAll(async () => {
  bus = await startLocalEventBridge({ eventBusName: BUS, targets, attempts: 3, retryDelayMs: () => 10 });
  client = new EventBridgeClient({
    endpoint: bus.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client?.destroy();
  await bus?.stop();
});

afterEach(() => {
  bus.clear();
  calls.length = 0;
  failLearner = 0;
});

const cloudEvent = (type: string, id: string, source = 'urn:lablet:lds:sandbox') => ({
  specversion: '1.0',
  id,
  source,
  type,
  data: { ldsSessionId: 'l-1', lcmSessionId: 's-1' },
});
const entry = (e: ReturnType<typeof cloudEvent>, bus = BUS) => ({
  EventBusName: bus,
  Source: e.source,
  DetailType: e.type,
  Detail: JSON.stringify(e),
  Time: new Date('2030-01-01T09:00:00.000Z'),
});

describe('local EventBridge: PutEvents over HTTP', () => {
  it('accepts entries from the SDK client and logs them as EventBridge events', async () => {
    const e = cloudEvent('io.lablet.lds.session.running.v1', 'evt-1');
    const out = await client.send(new PutEventsCommand({ Entries: [entry(e)] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries).toEqual([{ EventId: expect.any(String) }]);
    expect(bus.published).toHaveLength(1);
    expect(bus.published[0]).toMatchObject({
      eventBusName: BUS,
      rules: ['lds-session-running'],
      event: {
        version: '0',
        id: out.Entries![0]!.EventId,
        source: 'urn:lablet:lds:sandbox',
        'detail-type': 'io.lablet.lds.session.running.v1',
        time: '2030-01-01T09:00:00Z',
        region: 'us-east-1',
        account: '000000000000',
        detail: e,
      },
    });
    const inspect = (await fetch(`${bus.url}/_lcm/events`).then((r) => r.json())) as { published: unknown[] };
    expect(inspect.published).toHaveLength(1);
  });

  it('fails bad entries one by one (FailedEntryCount) and keeps the good ones', async () => {
    const good = entry(cloudEvent('io.lablet.grading.session.completed.v1', 'evt-2'));
    const out = await client.send(
      new PutEventsCommand({
        Entries: [
          good,
          { ...good, Detail: '{not json' },
          { ...good, Detail: '[1]' },
          { ...good, EventBusName: 'other-bus' },
          { EventBusName: BUS, Source: 'x', Detail: '{}' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(4);
    expect(out.Entries!.map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'MalformedDetail',
      'MalformedDetail',
      'InvalidArgument',
      'InvalidArgument',
    ]);
    expect(bus.published).toHaveLength(1);
  });

  it('refuses more than 10 entries and other operations, as EventBridge does', async () => {
    const many = Array.from({ length: 11 }, (_, i) => entry(cloudEvent('t', `e-${i}`)));
    await expect(client.send(new PutEventsCommand({ Entries: many }))).rejects.toMatchObject({
      name: 'ValidationException',
    });
    await expect(client.send(new ListRulesCommand({}))).rejects.toMatchObject({
      name: 'UnknownOperationException',
    });
    expect(bus.published).toHaveLength(0);
  });

  it('routes by the shared rules to the target handlers, asynchronously, and nothing else', async () => {
    await client.send(
      new PutEventsCommand({
        Entries: [
          entry(cloudEvent('io.lablet.lds.session.ended.v1', 'a')),
          entry(cloudEvent('io.lablet.grading.session.failed.v1', 'b', 'urn:lablet:grading')),
          entry(cloudEvent('io.lablet.lcm.session.created.v1', 'c', 'lcm.control-plane')),
          entry(cloudEvent('io.lablet.lds.session.running.v1', 'd', 'lcm.control-plane')),
        ],
      }),
    );
    await bus.idle();
    expect(calls.map((c) => [c.target, c.event.detail.id]).sort()).toEqual([
      ['grading', 'b'],
      ['learner', 'a'],
    ]);
    expect(bus.published.map((p) => p.rules)).toEqual([
      ['lds-session-ended'],
      ['grading-session-result'],
      [],
      [],
    ]);
    expect(bus.deliveries.every((d) => d.outcome === 'ok' && d.attempts === 1)).toBe(true);
  });

  it('retries a failing target, then dead-letters the event after the last attempt', async () => {
    failLearner = 1;
    await client.send(
      new PutEventsCommand({ Entries: [entry(cloudEvent('io.lablet.lds.session.paused.v1', 'r'))] }),
    );
    await bus.idle();
    expect(calls).toHaveLength(2);
    expect(bus.deliveries[0]).toMatchObject({ outcome: 'ok', attempts: 2 });
    expect(bus.deadLetters).toEqual([]);

    failLearner = 10;
    await client.send(
      new PutEventsCommand({ Entries: [entry(cloudEvent('io.lablet.lds.session.paused.v1', 'x'))] }),
    );
    await bus.idle();
    expect(bus.deadLetters).toEqual([
      expect.objectContaining({
        rule: 'lds-session-paused',
        target: 'functions/events/learner-events.ts',
        attempts: 3,
        error: 'Error: transient',
      }),
    ]);
  });

  it('serves the EventBridgePublisher, including its handling of failed entries', async () => {
    const publisher = new EventBridgePublisher({ client, eventBusName: BUS, sleep: async () => {} });
    await publisher.publish(
      Array.from({ length: 12 }, (_, i) =>
        cloudEvent('io.lablet.lcm.session.created.v1', `p-${i}`, 'lcm.control-plane'),
      ),
    );
    expect(bus.published.map((p) => (p.event.detail as { id: string }).id)).toEqual(
      Array.from({ length: 12 }, (_, i) => `p-${i}`),
    );
    const wrongBus = new EventBridgePublisher({ client, eventBusName: 'nope', sleep: async () => {} });
    const error = await wrongBus.publish([cloudEvent('t', 'w')]).catch((e) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error.failed[0].errorCode).toBe('InvalidArgument');
  });
});

describe('local EventBridge: failure injection and stop', () => {
  it('reports injected entry failures like EventBridge, and stops cleanly', async () => {
    const rules: EventRule[] = [...EVENT_RULES];
    const local = await startLocalEventBridge({
      eventBusName: BUS,
      rules,
      targets,
      injectFailure: (e) =>
        e.DetailType === 'boom' ? { code: 'ThrottlingException', message: 'slow' } : undefined,
    });
    const c = new EventBridgeClient({
      endpoint: local.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    try {
      const out = await c.send(
        new PutEventsCommand({
          Entries: [
            entry({ ...cloudEvent('boom', 'b1') }),
            entry(cloudEvent('io.lablet.lds.session.running.v1', 'ok')),
          ],
        }),
      );
      expect(out.FailedEntryCount).toBe(1);
      expect(out.Entries![0]).toEqual({ ErrorCode: 'ThrottlingException', ErrorMessage: 'slow' });
    } finally {
      c.destroy();
      await local.stop();
      await local.stop();
    }
    await expect(fetch(`${local.url}/_lcm/events`)).rejects.toThrow();
  });
});

describe('local EventBridge: the rule targets’ own modules', () => {
  it('loads functions/events/*.ts by default and runs them with the environment the stack sets', async () => {
    const table = await createTestTable('bus-modules');
    const saved = new Map<string, string | undefined>();
    const setEnv = (name: string, value: string) => {
      saved.set(name, process.env[name]);
      process.env[name] = value;
    };
    let local: LocalEventBridge | undefined;
    let c: EventBridgeClient | undefined;
    try {
      setEnv('TABLE_NAME', table.tableName);
      setEnv('AWS_ENDPOINT_URL_DYNAMODB', table.endpoint);
      setEnv('AWS_REGION', 'us-east-1');
      local = await startLocalEventBridge({ eventBusName: BUS });
      c = new EventBridgeClient({
        endpoint: local.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        maxAttempts: 1,
      });
      const e = {
        specversion: '1.0',
        id: 'module-1',
        source: 'urn:lablet:lds:sandbox',
        type: 'io.lablet.lds.session.running.v1',
        data: { ldsSessionId: 'l-1', lcmSessionId: 'no-such-session' },
      };
      await c.send(new PutEventsCommand({ Entries: [entry(e), entry(e)] }));
      await local.idle();
      expect(local.deliveries.map((d) => [d.target, d.outcome])).toEqual([
        ['functions/events/learner-events.ts', 'ok'],
        ['functions/events/learner-events.ts', 'ok'],
      ]);
      expect(local.deliveries.map((d) => (d.result as { outcome: string }).outcome).sort()).toEqual([
        'already-processed',
        'unknown-session',
      ]);
    } finally {
      c?.destroy();
      await local?.stop();
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await table.cleanup();
    }
  });
});
