import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import {
  chunkEntries,
  EventBridgePublisher,
  entrySize,
  MAX_REQUEST_BYTES,
  type PublishableEvent,
  PublishError,
  toPutEventsEntry,
} from '@lcm/shared/events';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';

const eb = mockClient(EventBridgeClient);
afterEach(() => eb.reset());

const event = (
  i: number,
  extra: Record<string, unknown> = {},
): PublishableEvent & Record<string, unknown> => ({
  specversion: '1.0',
  id: `e-${i}`,
  source: 'urn:lablet:lds',
  type: 'io.lablet.lds.session.running.v1',
  time: '2030-01-01T09:00:00.000Z',
  data: { lcmSessionId: `s-${i}` },
  ...extra,
});

const publisher = (maxAttempts = 3) =>
  new EventBridgePublisher({
    client: new EventBridgeClient({ region: 'us-east-1' }),
    eventBusName: 'lcm-test',
    maxAttempts,
    sleep: async () => {},
  });

const okFor = (entries: PutEventsRequestEntry[] | undefined) => ({
  FailedEntryCount: 0,
  Entries: (entries ?? []).map((_, i) => ({ EventId: `eb-${i}` })),
});

describe('toPutEventsEntry', () => {
  it('Source = source, DetailType = type, Detail = the whole CloudEvent, Time = its time', () => {
    const e = event(1, { partnerext: 'x' });
    expect(toPutEventsEntry(e, 'lcm-test')).toEqual({
      EventBusName: 'lcm-test',
      Source: 'urn:lablet:lds',
      DetailType: 'io.lablet.lds.session.running.v1',
      Detail: JSON.stringify(e),
      Time: new Date('2030-01-01T09:00:00.000Z'),
    });
    const { time: _t, ...untimed } = e;
    expect(toPutEventsEntry(untimed as PublishableEvent, 'b')).not.toHaveProperty('Time');
  });
});

describe('chunkEntries', () => {
  it('puts at most 10 entries and 256 KiB in a call', () => {
    const small = Array.from({ length: 23 }, (_, i) => toPutEventsEntry(event(i), 'b'));
    expect(chunkEntries(small).map((c) => c.length)).toEqual([10, 10, 3]);
    const big = Array.from({ length: 5 }, (_, i) =>
      toPutEventsEntry(event(i, { data: { blob: 'x'.repeat(100 * 1024) } }), 'b'),
    );
    const chunks = chunkEntries(big);
    expect(chunks.map((c) => c.length)).toEqual([2, 2, 1]);
    for (const c of chunks)
      expect(c.reduce((n, e) => n + entrySize(e), 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES);
  });
});

describe('EventBridgePublisher', () => {
  it('publishes in calls of at most 10 entries, in order', async () => {
    eb.on(PutEventsCommand).callsFake((input) => okFor(input.Entries));
    await publisher().publish(Array.from({ length: 25 }, (_, i) => event(i)));
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls.map((c) => c.args[0].input.Entries?.length)).toEqual([10, 10, 5]);
    const ids = calls.flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).id));
    expect(ids).toEqual(Array.from({ length: 25 }, (_, i) => `e-${i}`));
  });

  it('resends only the entries that failed with a retryable code (FailedEntryCount)', async () => {
    eb.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [
          { EventId: 'a' },
          { ErrorCode: 'ThrottlingException', ErrorMessage: 'slow down' },
          { EventId: 'c' },
        ],
      })
      .callsFake((input) => okFor(input.Entries));
    await publisher().publish([event(1), event(2), event(3)]);
    const calls = eb.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.args[0].input.Entries!.map((e) => JSON.parse(e.Detail!).id)).toEqual(['e-2']);
  });

  it('throws a retryable PublishError when throttling outlasts the attempts', async () => {
    eb.on(PutEventsCommand).callsFake((input) => ({
      FailedEntryCount: input.Entries!.length,
      Entries: input.Entries!.map(() => ({ ErrorCode: 'InternalFailure', ErrorMessage: 'x' })),
    }));
    const error = await publisher(2)
      .publish([event(1)])
      .catch((e) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error.retryable).toBe(true);
    expect(error.failed).toEqual([expect.objectContaining({ id: 'e-1', errorCode: 'RetriesExhausted' })]);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(2);
  });

  it('does not resend entries refused for good, and says so (not retryable)', async () => {
    eb.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ EventId: 'a' }, { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad' }],
    });
    const error = await publisher()
      .publish([event(1), event(2)])
      .catch((e) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error.retryable).toBe(false);
    expect(error.failed).toEqual([expect.objectContaining({ id: 'e-2', errorCode: 'MalformedDetail' })]);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('retries a call that failed as a whole (throttled), and refuses an access-denied call at once', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $metadata: { httpStatusCode: 400 },
    });
    eb.on(PutEventsCommand)
      .rejectsOnce(throttled)
      .callsFake((input) => okFor(input.Entries));
    await publisher().publish([event(1)]);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(2);

    eb.reset();
    const denied = Object.assign(new Error('no'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    eb.on(PutEventsCommand).rejects(denied);
    const error = await publisher()
      .publish([event(1)])
      .catch((e) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect(error.retryable).toBe(false);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(1);
  });

  it('refuses an event larger than 256 KiB without calling EventBridge for it', async () => {
    eb.on(PutEventsCommand).callsFake((input) => okFor(input.Entries));
    const error = await publisher()
      .publish([event(1), event(2, { data: { blob: 'x'.repeat(MAX_REQUEST_BYTES) } })])
      .catch((e) => e);
    expect(error.failed).toEqual([expect.objectContaining({ id: 'e-2', errorCode: 'EntryTooLarge' })]);
    expect(eb.commandCalls(PutEventsCommand).flatMap((c) => c.args[0].input.Entries)).toHaveLength(1);
  });

  it('publishing nothing makes no call', async () => {
    await publisher().publish([]);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
  });
});
