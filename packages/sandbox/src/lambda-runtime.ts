import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { InvokeStore, InvokeStoreBase } from '@aws/lambda-invoke-store';
import type { Context } from 'aws-lambda';

/**
 * Runs Lambda handlers in this process the way the Lambda runtime does: a realistic context,
 * the function's timeout, and each invocation in its own InvokeStore scope. The runtime of
 * multi-concurrency Lambda does the same, which is what keeps Powertools Logger keys and the
 * SDK's trace header per invocation when the local server runs requests concurrently.
 * Every local caller (HTTP API, stream poller, workflow tasks, event targets) invokes through
 * here.
 */

export const LOCAL_ACCOUNT_ID = '000000000000';

export interface LocalFunction {
  functionName: string;
  region: string;
  memoryMb?: number;
  /** The function's timeout; default 30 s. */
  timeoutMs?: number;
}

// biome-ignore lint/suspicious/noExplicitAny: handlers are typed by their modules, any event goes in
export type LambdaHandler = (event: any, context: Context) => unknown;

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** The `handler` export of a function module (`entry` relative to the repository root, as in functions/catalogue.ts). */
export async function importHandler(entry: string): Promise<LambdaHandler> {
  const mod = (await import(pathToFileURL(join(REPO_ROOT, entry)).href)) as { handler?: unknown };
  if (typeof mod.handler !== 'function') throw new Error(`${entry} exports no handler function`);
  return mod.handler as LambdaHandler;
}

export type InvokeOutcome =
  | { kind: 'ok'; result: unknown; durationMs: number }
  | { kind: 'error'; error: unknown; durationMs: number }
  | { kind: 'timeout'; durationMs: number };

/** Lambda's trace header format (X-Ray style), used when the caller has none. */
export function newTraceId(): string {
  const epochHex = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epochHex}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}

export function createLambdaContext(fn: LocalFunction, awsRequestId: string, deadline: number): Context {
  const notSupported = () => {
    throw new Error('context.done/fail/succeed are not supported; return a value or a promise');
  };
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '/');
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: fn.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${fn.region}:${LOCAL_ACCOUNT_ID}:function:${fn.functionName}`,
    memoryLimitInMB: String(fn.memoryMb ?? 1024),
    awsRequestId,
    logGroupName: `/aws/lambda/${fn.functionName}`,
    logStreamName: `${day}/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: notSupported,
    fail: notSupported,
    succeed: notSupported,
  };
}

let invokeStore: Promise<InvokeStoreBase> | undefined;

/**
 * The process-wide InvokeStore, created in its concurrent (AsyncLocalStorage) form. Call it
 * before setting AWS_LAMBDA_MAX_CONCURRENCY, which tells Powertools to use the store.
 */
export function lambdaInvokeStore(): Promise<InvokeStoreBase> {
  invokeStore ??= InvokeStore.getInstanceAsync(true);
  return invokeStore;
}

/** Invokes an async handler once; never throws: the outcome says what happened. */
export async function invokeLambda(
  handler: LambdaHandler,
  event: unknown,
  fn: LocalFunction,
  opts: { requestId?: string; traceId?: string } = {},
): Promise<InvokeOutcome> {
  const store = await lambdaInvokeStore();
  const timeoutMs = fn.timeoutMs ?? 30_000;
  const started = performance.now();
  const requestId = opts.requestId ?? randomUUID();
  const context = createLambdaContext(fn, requestId, Date.now() + timeoutMs);
  const elapsed = () => Math.round(performance.now() - started);

  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const scope = {
    [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: requestId,
    [InvokeStoreBase.PROTECTED_KEYS.X_RAY_TRACE_ID]: opts.traceId ?? newTraceId(),
  };
  const run = store.run(scope, async () => handler(event, context));
  try {
    const winner = await Promise.race([run.then((result) => ({ result })), timedOut]);
    if (winner === 'timeout') {
      // Lambda would freeze the sandbox; here the handler keeps running, its result is dropped.
      run.catch(() => {});
      return { kind: 'timeout', durationMs: elapsed() };
    }
    return { kind: 'ok', result: winner.result, durationMs: elapsed() };
  } catch (error) {
    return { kind: 'error', error, durationMs: elapsed() };
  } finally {
    clearTimeout(timer);
  }
}
