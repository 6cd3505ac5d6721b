import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { type StreamPoller, startStreamPoller } from '@lcm/sandbox/streams/index';
import { createStores, type Stores } from '@lcm/shared/app';
import {
  EventBridgePublisher,
  type FileStreamFailureQueue,
  OUTBOX_CONSUMER,
  PublishError,
} from '@lcm/shared/events';
import type { SessionStatus } from '@lcm/shared/kernel';
import { RecordingWorkflowEngine } from '@lcm/shared/platform';
import type { InboundDeps, InboundLog } from '@lcm/shared/sessions';
import { registerWait, type WaitKind } from '@lcm/shared/sessions';
import type { DynamoDBStreamEvent } from 'aws-lambda';
import { outboxHandler } from '../../../functions/streams/outbox.ts';
import { lambdaContext } from '../../support/api.ts';
import type { TestTable } from '../../support/table.ts';
import { newSession } from '../persistence/builders.ts';

/** What the event integration tests share: stores, a recording engine, the inbound handler deps. */

export const LDS_SOURCE = 'urn:lablet:lds:test';
export const GRADING_SOURCE = 'urn:lablet:grading:test';

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  extra: Record<string, unknown>;
}

/** A logger that keeps its lines (the handlers must log what they acknowledge and ignore). */
export function memoryLog(): InboundLog & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: LogLine['level']) =>
    (message: string, ...extra: Record<string, unknown>[]) =>
      lines.push({ level, message, extra: Object.assign({}, ...extra) });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

export interface EventsWorld {
  stores: Stores;
  engine: RecordingWorkflowEngine;
  log: ReturnType<typeof memoryLog>;
  deps: InboundDeps;
}

export function eventsWorld(table: TestTable): EventsWorld {
  const cfg = { client: table.client, tableName: table.tableName };
  const stores = createStores(cfg);
  const engine = new RecordingWorkflowEngine();
  const log = memoryLog();
  return {
    stores,
    engine,
    log,
    deps: {
      sessions: stores.sessions,
      processedEvents: stores.processedEvents,
      engine,
      log,
    },
  };
}

const PATH: SessionStatus[] = [
  'PENDING',
  'SCHEDULED',
  'INSTANTIATING',
  'READY',
  'RUNNING',
  'COLLECTING',
  'GRADING',
];

/**
 * A session walked (through the store's validated transitions) to `status`, optionally with the
 * workflow waiting on `wait` (its token is `token-<wait>-<id>`).
 */
export async function sessionAt(
  world: EventsWorld,
  id: string,
  status: SessionStatus,
  wait?: WaitKind,
): Promise<string | undefined> {
  await world.stores.sessions.create(newSession({ id, reservationId: `r-${id}` }));
  for (let i = 1; i <= PATH.indexOf(status); i++) {
    await world.stores.sessions.transition(id, PATH[i - 1]!, PATH[i]!, 'test');
  }
  if (!wait) return undefined;
  const token = `token-${wait}-${id}`;
  await registerWait(world.deps, id, wait, token);
  return token;
}

export const localEventBridgeClient = (endpoint: string) =>
  new EventBridgeClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });

/** A deterministic PRNG (mulberry32) for shuffles that can be replayed from the seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/**
 * The local stream poller running the real outbox handler over the local bus, with a publisher
 * that refuses (AccessDenied, not retryable) any batch holding an event of session `poisonedId`
 * while `isPoisoned()` — a poisoned stream record, as the stream-failure tests make one. Every
 * event id's publish attempts are counted in `attempts`.
 */
export async function startPoisonableOutbox(opts: {
  table: TestTable;
  busUrl: string;
  eventBusName: string;
  poisonedId: string;
  isPoisoned: () => boolean;
  failureQueue: FileStreamFailureQueue;
  maximumRetryAttempts: number;
}): Promise<{ poller: StreamPoller; attempts: Map<string, number> }> {
  const attempts = new Map<string, number>();
  const real = new EventBridgePublisher({
    client: localEventBridgeClient(opts.busUrl),
    eventBusName: opts.eventBusName,
    sleep: async () => {},
  });
  const outbox = outboxHandler(() => ({
    publisher: {
      async publish(events) {
        for (const e of events) attempts.set(e.id, (attempts.get(e.id) ?? 0) + 1);
        const bad = events.find((e) => e.id.startsWith(`sessions/${opts.poisonedId}/`));
        if (bad && opts.isPoisoned()) {
          throw new PublishError(
            [
              {
                id: bad.id,
                source: bad.source,
                type: bad.type,
                errorCode: 'AccessDenied',
                errorMessage: 'no',
              },
            ],
            { retryable: false },
          );
        }
        await real.publish(events);
      },
    },
  }));
  const poller = await startStreamPoller({
    endpoint: opts.table.endpoint,
    tableName: opts.table.tableName,
    consumers: [{ ...OUTBOX_CONSUMER, maximumRetryAttempts: opts.maximumRetryAttempts }],
    handlers: {
      [OUTBOX_CONSUMER.module]: (event: DynamoDBStreamEvent) => outbox(event, lambdaContext()),
    },
    failureQueue: opts.failureQueue,
    pollIntervalMs: 50,
    retryDelayMs: 20,
  });
  return { poller, attempts };
}
