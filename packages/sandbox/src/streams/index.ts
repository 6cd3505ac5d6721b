import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  matchesAnyPattern,
  replayStreamFailure,
  STREAM_CONSUMERS,
  type StoredStreamFailure,
  type StreamConsumer,
  type StreamFailureQueue,
} from '@lcm/shared/events';
import type { DynamoDBRecord } from 'aws-lambda';
import { invokeLambda, type LambdaHandler, type LocalFunction } from '../lambda-runtime.ts';
import { DynamoDbStreamsClient, type StreamRecord, type StreamShard, StreamsApiError } from './client.ts';

/**
 * The local stand-in for Lambda's DynamoDB event source mappings: polls DynamoDB Local's
 * Streams API (DescribeTable → LatestStreamArn, DescribeStream, GetShardIterator, GetRecords;
 * through ./client.ts, on the SDK's Streams client) and feeds the
 * SAME stream consumers the CDK wires (packages/shared/src/events/streams.ts: handler module,
 * filter criteria, batch size, retries), shard by shard, parents before children, with an
 * in-memory checkpoint per consumer and shard. As in Lambda: records no filter matches are
 * skipped (and checkpointed); a handler's `batchItemFailures` make the shard resume at the first
 * failed record; a thrown error or timeout fails the whole batch; a record still failing after
 * `maximumRetryAttempts` retries is put on the dead-letter list and skipped, and, with a
 * `failureQueue` (the local stack: `<stateDir>/stream-failures`), kept there with the record itself
 * for an operator to replay (`replay`; Lambda's on-failure destination, events/stream-failures.ts).
 */

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

export interface StreamPollerOptions {
  /** The DynamoDB (Local) endpoint; its Streams API is served on the same endpoint. */
  endpoint: string;
  tableName: string;
  region?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  consumers?: readonly StreamConsumer[];
  /** Handlers by module; default: import `<repo>/<module>` and use its `handler`. */
  handlers?: Readonly<Record<string, LambdaHandler>>;
  /** Overrides the consumers' starting position (default: each consumer's). */
  startingPosition?: 'TRIM_HORIZON' | 'LATEST';
  /** Pause between polls when nothing arrived (default 200 ms). */
  pollIntervalMs?: number;
  /** Pause before retrying a failed batch (default 250 ms). */
  retryDelayMs?: number;
  functionFor?: (consumer: StreamConsumer) => LocalFunction;
  /** Where a record that failed after its retries is kept (Lambda's on-failure destination). */
  failureQueue?: StreamFailureQueue;
  log?: (line: string) => void;
}

export interface StreamDeadLetter {
  consumer: string;
  shardId: string;
  sequenceNumber: string;
  attempts: number;
  error: string;
  /** Its entry in the failure queue (when the poller has one). */
  failureId?: string;
}

export interface StreamPollerStats {
  /** Handler invocations per consumer. */
  invocations: Record<string, number>;
  /** Records delivered (after filtering) per consumer. */
  delivered: Record<string, number>;
}

export interface StreamPoller {
  readonly streamArn: string | undefined;
  readonly deadLetters: readonly StreamDeadLetter[];
  readonly stats: StreamPollerStats;
  /**
   * Resolves after a complete poll that started after this call found no new records and no
   * batch waiting for a retry: everything written before the call has been handled.
   */
  idle(timeoutMs?: number): Promise<void>;
  /**
   * Hands the records of a kept failure to its consumer again (the handler module, as Lambda
   * would invoke it) and records the outcome; throws StreamFailureReplayError if it fails again.
   */
  replay(failureId: string, by: string): Promise<StoredStreamFailure>;
  /** Stops polling; resolves once the poll in progress (and its handler calls) finished. */
  stop(): Promise<void>;
}

interface ShardState {
  shardId: string;
  parentShardId: string | undefined;
  iterator: string | undefined;
  /** Last sequence number handled (or skipped). */
  checkpoint: string | undefined;
  startAt: 'TRIM_HORIZON' | 'LATEST';
  done: boolean;
  failing?: { sequenceNumber: string; attempts: number; error: string };
  notBefore: number;
}

interface ConsumerState {
  consumer: StreamConsumer;
  shards: Map<string, ShardState>;
}

const errorText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

export async function startStreamPoller(opts: StreamPollerOptions): Promise<StreamPoller> {
  const region = opts.region ?? process.env.AWS_REGION ?? 'us-east-1';
  const credentials = opts.credentials ?? { accessKeyId: 'local', secretAccessKey: 'local' };
  const consumers = opts.consumers ?? STREAM_CONSUMERS;
  const pollIntervalMs = opts.pollIntervalMs ?? 200;
  const retryDelayMs = opts.retryDelayMs ?? 250;
  const log = opts.log ?? (() => {});
  const dynamodb = new DynamoDBClient({ endpoint: opts.endpoint, region, credentials });
  const streams = new DynamoDbStreamsClient({ endpoint: opts.endpoint, region, credentials });

  const states: ConsumerState[] = consumers.map((consumer) => ({ consumer, shards: new Map() }));
  const deadLetters: StreamDeadLetter[] = [];
  const stats: StreamPollerStats = { invocations: {}, delivered: {} };
  const loaded = new Map<string, Promise<LambdaHandler>>();
  let streamArn: string | undefined;
  let firstDescribe = true;
  let stopped = false;
  let tick = 0;
  const waiters: Array<{ after: number; resolve: () => void }> = [];
  const lastLogged = new Map<string, string>();
  const logOnce = (key: string, line: string) => {
    if (lastLogged.get(key) === line) return;
    lastLogged.set(key, line);
    log(line);
  };

  const handlerFor = (module: string): Promise<LambdaHandler> => {
    const given = opts.handlers?.[module];
    if (given) return Promise.resolve(given);
    let p = loaded.get(module);
    if (!p) {
      p = (async () => {
        const entry = join(REPO_ROOT, module);
        if (!existsSync(entry)) throw new Error(`stream handler module ${module} does not exist`);
        const mod = (await import(pathToFileURL(entry).href)) as { handler?: unknown };
        if (typeof mod.handler !== 'function') throw new Error(`${module} exports no handler function`);
        return mod.handler as LambdaHandler;
      })();
      loaded.set(module, p);
      p.catch(() => loaded.delete(module));
    }
    return p;
  };

  async function discoverShards(): Promise<void> {
    if (!streamArn) {
      const out = await dynamodb.send(new DescribeTableCommand({ TableName: opts.tableName }));
      streamArn = out.Table?.LatestStreamArn;
      if (!streamArn) throw new Error(`table ${opts.tableName} has no stream`);
    }
    const shards: StreamShard[] = [];
    let start: string | undefined;
    do {
      const out = await streams.describeStream(streamArn, start);
      shards.push(...(out.StreamDescription.Shards ?? []));
      start = out.StreamDescription.LastEvaluatedShardId;
    } while (start);
    for (const state of states) {
      for (const shard of shards) {
        if (state.shards.has(shard.ShardId)) continue;
        // Shards there at start honour the starting position; shards that appear later are read whole.
        const position = firstDescribe
          ? (opts.startingPosition ?? state.consumer.startingPosition)
          : 'TRIM_HORIZON';
        state.shards.set(shard.ShardId, {
          shardId: shard.ShardId,
          parentShardId: shard.ParentShardId,
          iterator: undefined,
          checkpoint: undefined,
          startAt: position,
          done: false,
          notBefore: 0,
        });
      }
    }
    firstDescribe = false;
  }

  const lambdaRecord = (r: StreamRecord) => ({
    ...r,
    eventSource: r.eventSource ?? 'aws:dynamodb',
    awsRegion: r.awsRegion ?? region,
    eventSourceARN: streamArn,
  });

  const functionOf = (consumer: StreamConsumer): LocalFunction =>
    opts.functionFor?.(consumer) ?? {
      functionName: `lcm-local-stream-${consumer.name}`,
      region,
      timeoutMs: 60_000,
    };

  /** Invokes a consumer's handler with a stream event as Lambda does; errors and timeouts throw. */
  async function invokeConsumer(consumer: StreamConsumer, event: { Records: unknown[] }) {
    const outcome = await invokeLambda(await handlerFor(consumer.module), event, functionOf(consumer));
    if (outcome.kind === 'ok')
      return outcome.result as { batchItemFailures?: Array<{ itemIdentifier?: string }> };
    throw outcome.kind === 'timeout' ? new Error(`${consumer.name} timed out`) : outcome.error;
  }

  /** Polls one shard once; true when records arrived (or a batch is waiting for its retry). */
  async function pollShard(state: ConsumerState, shard: ShardState): Promise<boolean> {
    const { consumer } = state;
    if (!shard.iterator) {
      const out = shard.checkpoint
        ? await streams.getShardIterator(streamArn!, shard.shardId, 'AFTER_SEQUENCE_NUMBER', shard.checkpoint)
        : await streams.getShardIterator(streamArn!, shard.shardId, shard.startAt);
      shard.iterator = out.ShardIterator;
      if (!shard.iterator) {
        shard.done = true;
        return false;
      }
    }
    const out = await streams.getRecords(shard.iterator, consumer.batchSize);
    const records = out.Records ?? [];
    const next = out.NextShardIterator ?? undefined;
    if (records.length === 0) {
      shard.iterator = next;
      if (!next) shard.done = true;
      return false;
    }

    const seq = (r: StreamRecord) => r.dynamodb?.SequenceNumber ?? '';
    const delivered = records.filter((r) => matchesAnyPattern(consumer.filters, lambdaRecord(r)));
    let failedSeq: string | undefined;
    let failure = '';
    if (delivered.length > 0) {
      const fn = functionOf(consumer);
      stats.invocations[consumer.name] = (stats.invocations[consumer.name] ?? 0) + 1;
      stats.delivered[consumer.name] = (stats.delivered[consumer.name] ?? 0) + delivered.length;
      let outcome: Awaited<ReturnType<typeof invokeLambda>>;
      try {
        outcome = await invokeLambda(
          await handlerFor(consumer.module),
          { Records: delivered.map(lambdaRecord) },
          fn,
        );
      } catch (e) {
        outcome = { kind: 'error', error: e, durationMs: 0 };
      }
      if (outcome.kind === 'ok') {
        const failures = (
          outcome.result as { batchItemFailures?: Array<{ itemIdentifier?: string }> } | undefined
        )?.batchItemFailures;
        const ids = new Set((failures ?? []).map((f) => f.itemIdentifier ?? ''));
        const firstFailed = delivered.find((r) => ids.has(seq(r)));
        // An identifier that names no record of the batch fails the whole batch (as in Lambda).
        if (firstFailed) failedSeq = seq(firstFailed);
        else if (ids.size > 0) failedSeq = seq(delivered[0]!);
        failure = 'reported in batchItemFailures';
      } else {
        failedSeq = seq(delivered[0]!);
        failure = outcome.kind === 'timeout' ? 'timed out' : errorText(outcome.error);
      }
    }

    if (failedSeq === undefined) {
      shard.checkpoint = seq(records[records.length - 1]!);
      shard.iterator = next;
      shard.failing = undefined;
      if (!next) shard.done = true;
      return true;
    }

    // Resume at the first failed record: everything before it is done.
    const index = records.findIndex((r) => seq(r) === failedSeq);
    if (index > 0) shard.checkpoint = seq(records[index - 1]!);
    const attempts = shard.failing?.sequenceNumber === failedSeq ? shard.failing.attempts + 1 : 1;
    shard.iterator = undefined;
    if (attempts > consumer.maximumRetryAttempts) {
      const failedRecord = records.find((r) => seq(r) === failedSeq);
      let failureId: string | undefined;
      try {
        failureId = opts.failureQueue?.add({
          consumer: consumer.name,
          shardId: shard.shardId,
          startSequenceNumber: failedSeq,
          endSequenceNumber: failedSeq,
          attempts,
          error: failure,
          failedAt: new Date().toISOString(),
          ...(failedRecord ? { records: [lambdaRecord(failedRecord) as unknown as DynamoDBRecord] } : {}),
        }).id;
      } catch (e) {
        // Not kept: the shard stays on the record (retried) rather than dropping it.
        shard.failing = { sequenceNumber: failedSeq, attempts, error: failure };
        shard.notBefore = Date.now() + retryDelayMs;
        logOnce(
          `${consumer.name}/${shard.shardId}`,
          `streams: ${consumer.name}: failure queue: ${errorText(e)}`,
        );
        return true;
      }
      deadLetters.push({
        consumer: consumer.name,
        shardId: shard.shardId,
        sequenceNumber: failedSeq,
        attempts,
        error: failure,
        ...(failureId ? { failureId } : {}),
      });
      log(
        `streams: ${consumer.name}: record ${failedSeq} failed ${attempts} times (${failure}); ` +
          (failureId ? `moved to the failure queue as ${failureId}` : 'skipped'),
      );
      shard.checkpoint = failedSeq;
      shard.failing = undefined;
    } else {
      shard.failing = { sequenceNumber: failedSeq, attempts, error: failure };
      shard.notBefore = Date.now() + retryDelayMs;
      logOnce(
        `${consumer.name}/${shard.shardId}`,
        `streams: ${consumer.name}: batch failed at ${failedSeq}: ${failure}; retrying`,
      );
    }
    return true;
  }

  /** One pass over every consumer's shards: did records arrive, is a failed batch waiting? */
  async function pollOnce(): Promise<{ records: boolean; retryPending: boolean }> {
    await discoverShards();
    let records = false;
    let retryPending = false;
    for (const state of states) {
      for (const shard of state.shards.values()) {
        if (shard.done || stopped) continue;
        const parent = shard.parentShardId ? state.shards.get(shard.parentShardId) : undefined;
        if (parent && !parent.done) continue; // parents first: order per item is kept
        if (shard.failing && Date.now() < shard.notBefore) {
          retryPending = true;
          continue;
        }
        try {
          if (await pollShard(state, shard)) records = true;
          if (shard.failing) retryPending = true;
        } catch (e) {
          if (e instanceof StreamsApiError && e.code === 'ExpiredIteratorException') {
            shard.iterator = undefined;
            records = true;
          } else if (e instanceof StreamsApiError && e.code === 'TrimmedDataAccessException') {
            shard.iterator = undefined;
            shard.checkpoint = undefined;
            shard.startAt = 'TRIM_HORIZON';
            records = true;
          } else {
            throw e;
          }
        }
      }
    }
    return { records, retryPending };
  }

  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    while (!stopped) {
      const current = ++tick;
      let result = { records: false, retryPending: true };
      try {
        result = await pollOnce();
        lastLogged.delete('poll');
      } catch (e) {
        if (e instanceof StreamsApiError && e.code === 'ResourceNotFoundException') streamArn = undefined;
        logOnce('poll', `streams: polling ${opts.tableName} failed: ${errorText(e)}`);
      }
      if (!result.records && !result.retryPending) {
        for (let i = waiters.length - 1; i >= 0; i--) {
          const w = waiters[i]!;
          if (current >= w.after) {
            waiters.splice(i, 1);
            w.resolve();
          }
        }
      }
      // More records may be waiting right behind a full batch: poll again at once.
      if (!stopped) await pause(result.records ? 0 : pollIntervalMs);
    }
  })();

  return {
    get streamArn() {
      return streamArn;
    },
    deadLetters,
    stats,
    replay(failureId, by) {
      const queue = opts.failureQueue;
      if (!queue) return Promise.reject(new Error('this stream poller keeps no failure queue'));
      return replayStreamFailure(
        {
          queue,
          invoke: (name, event) => {
            const consumer = consumers.find((c) => c.name === name);
            if (!consumer) throw new Error(`no stream consumer ${name}`);
            return invokeConsumer(consumer, event);
          },
        },
        failureId,
        by,
      );
    },
    idle(timeoutMs = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const i = waiters.indexOf(waiter);
          if (i >= 0) waiters.splice(i, 1);
          reject(new Error(`stream poller not idle after ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = {
          after: tick + 1,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
      });
    },
    async stop() {
      stopped = true;
      wake?.();
      await loop;
      dynamodb.destroy();
      for (const w of waiters.splice(0)) w.resolve();
    },
  };
}
