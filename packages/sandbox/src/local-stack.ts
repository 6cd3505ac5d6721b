import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { problem } from '@lcm/shared/http/problem';
import { createDocumentClient } from '@lcm/shared/persistence/client';
import { ensureTable } from '@lcm/shared/persistence/create-table';
import { tableNameFor } from '@lcm/shared/persistence/table';
import { handlerEntry, ROUTES } from '../../../functions/api/routes.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb-local.ts';
import { type Authenticate, startApiGateway } from './http-gateway.ts';
import { type LambdaHandler, lambdaInvokeStore } from './lambda-runtime.ts';
import {
  JWKS_PATH,
  LOCAL_TOKEN_TTL_SECONDS,
  type LocalIdentityProvider,
  loadLocalIdentityProvider,
  OPENID_CONFIGURATION_PATH,
  SIGNING_KEY_FILE,
} from './local-auth.ts';

/**
 * The local stack behind `npm start`: a list of services started in order and stopped in
 * reverse. The handlers run in this process and read their configuration from process.env,
 * as in Lambda; services set what the handlers need through `ctx.setEnv` (restored on stop).
 * Later services (Step Functions endpoint, EventBridge endpoint, stream poller, simulators)
 * slot into `defaultServices()`. Protected routes need a token from the local issuer
 * (local-auth.ts): one per role is written to `local.json` under `tokens`.
 */

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_STATE_DIR = join(REPO_ROOT, '.lcm');
export const LOCAL_TABLE_NAME = tableNameFor('local');
export const LOCAL_EVENT_BUS_NAME = 'lcm-local';

export interface LocalStackOptions {
  /** API port (default 3000; 0 picks a free one). */
  port?: number;
  host?: string;
  /**
   * Where DynamoDB data (`dynamodb/`), the JWT signing key (`jwt-signing-key.json`) and
   * `local.json` live; default `<repo>/.lcm`.
   */
  stateDir?: string;
  /** Throwaway in-memory DynamoDB. */
  inMemory?: boolean;
  /**
   * Use this DynamoDB endpoint (e.g. a test run's DynamoDB Local) instead of starting one; the
   * stack creates its table there and leaves the database running when it stops.
   */
  dynamodbEndpoint?: string;
  /** DynamoDB Local port (default: a free one). */
  dynamodbPort?: number;
  tableName?: string;
  /** Replaces the local issuer's JWT check on `auth: true` routes (tests). */
  authenticate?: Authenticate;
  /** Replaces the built-in service list (tests, later tasks). */
  services?: (opts: ResolvedOptions) => LocalService[];
  /** Diagnostics (handler crashes, shutdown problems); default stderr. */
  log?: (line: string) => void;
}

export interface ResolvedOptions {
  port: number;
  host: string;
  stateDir: string;
  inMemory: boolean;
  dynamodbPort: number | undefined;
  dynamodbEndpoint: string | undefined;
  tableName: string;
  region: string;
  authenticate: Authenticate | undefined;
}

/** What the services publish; written to `<stateDir>/local.json` once everything runs. */
export interface LocalOutputs {
  apiUrl?: string;
  tableName?: string;
  dynamodbEndpoint?: string;
  dynamodbPid?: number;
  /** The local issuer: `issuer`, `jwksUri`, `audience`, token lifetime. */
  auth?: Record<string, unknown>;
  /** One bearer token per role: `admin`, `operator`, `portal`, `viewer`. */
  tokens?: Record<string, string>;
  [name: string]: unknown;
}

export interface StackContext {
  readonly options: ResolvedOptions;
  readonly outputs: LocalOutputs;
  /** Sets (or with undefined, removes) an environment variable for the handlers. */
  setEnv(name: string, value: string | undefined): void;
  log(line: string): void;
  /** The local identity provider, once the `local JWT issuer` service has started. */
  identity: LocalIdentityProvider | undefined;
}

export interface RunningService {
  stop(): Promise<void>;
}

export interface LocalService {
  readonly name: string;
  start(ctx: StackContext): Promise<RunningService | undefined>;
}

export interface LocalStack {
  apiUrl: string;
  tableName: string;
  dynamodbEndpoint: string;
  /** The DynamoDB Local Java process (-1 with an external `dynamodbEndpoint`). */
  dynamodbPid: number;
  /** Bearer tokens per role (`admin`, `operator`, `portal`, `viewer`), as in local.json. */
  tokens: Readonly<Record<string, string>>;
  stateDir: string;
  localJsonPath: string;
  outputs: Readonly<LocalOutputs>;
  /** Stops every service in reverse order; safe to call twice. */
  stop(): Promise<void>;
}

export class LocalStackStartError extends Error {
  constructor(service: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(reason.startsWith(service) ? reason : `${service}: ${reason}`, { cause });
    this.name = 'LocalStackStartError';
  }
}

export function resolveOptions(opts: LocalStackOptions = {}): ResolvedOptions {
  return {
    port: opts.port ?? 3000,
    host: opts.host ?? '127.0.0.1',
    stateDir: resolve(opts.stateDir ?? DEFAULT_STATE_DIR),
    inMemory: opts.inMemory ?? false,
    dynamodbPort: opts.dynamodbPort,
    dynamodbEndpoint: opts.dynamodbEndpoint,
    tableName: opts.tableName ?? LOCAL_TABLE_NAME,
    region: LOCAL_REGION,
    authenticate: opts.authenticate,
  };
}

// --- built-in services ------------------------------------------------------------------------

/** What Lambda gives every function: region and credentials (dummy ones here), the table. */
export const lambdaEnvironment: LocalService = {
  name: 'lambda environment',
  async start(ctx) {
    // The concurrent InvokeStore must exist before AWS_LAMBDA_MAX_CONCURRENCY tells Powertools to use it.
    const store = await lambdaInvokeStore();
    if (!('als' in store)) {
      ctx.log('warning: an AWS SDK call ran before the stack started; concurrent requests share log keys');
    }
    ctx.setEnv('AWS_LAMBDA_MAX_CONCURRENCY', '64');
    ctx.setEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    ctx.setEnv('AWS_REGION', ctx.options.region);
    ctx.setEnv('AWS_DEFAULT_REGION', ctx.options.region);
    ctx.setEnv('AWS_ACCESS_KEY_ID', LOCAL_CREDENTIALS.accessKeyId);
    ctx.setEnv('AWS_SECRET_ACCESS_KEY', LOCAL_CREDENTIALS.secretAccessKey);
    ctx.setEnv('AWS_SESSION_TOKEN', undefined);
    ctx.setEnv('AWS_PROFILE', undefined);
    ctx.setEnv('TABLE_NAME', ctx.options.tableName);
    ctx.outputs.tableName = ctx.options.tableName;
    // POST /v1/events needs a bus and a partner list; until the local EventBridge endpoint and
    // the simulators' partners exist, no partner is configured (every event is a 401), unless
    // the developer's environment provides them.
    ctx.setEnv('EVENT_BUS_NAME', process.env.EVENT_BUS_NAME ?? LOCAL_EVENT_BUS_NAME);
    if (!process.env.LCM_EVENT_PARTNERS_SECRET_ID) {
      ctx.setEnv('LCM_EVENT_PARTNERS', process.env.LCM_EVENT_PARTNERS ?? JSON.stringify({ partners: {} }));
    }
    return undefined;
  },
};

export const dynamodbLocal: LocalService = {
  name: 'DynamoDB Local',
  async start(ctx) {
    const { inMemory, stateDir, dynamodbPort } = ctx.options;
    const db = await startDynamoDbLocal({
      ...(dynamodbPort !== undefined ? { port: dynamodbPort } : {}),
      ...(inMemory ? {} : { dataDir: join(stateDir, 'dynamodb') }),
    });
    ctx.setEnv('AWS_ENDPOINT_URL_DYNAMODB', db.endpoint);
    ctx.outputs.dynamodbEndpoint = db.endpoint;
    ctx.outputs.dynamodbPid = db.pid;
    return db;
  },
};

/** An already running DynamoDB (`dynamodbEndpoint`): used, never stopped. */
export const existingDynamodb: LocalService = {
  name: 'DynamoDB',
  async start(ctx) {
    const endpoint = ctx.options.dynamodbEndpoint;
    if (!endpoint) throw new Error('no dynamodbEndpoint given');
    ctx.setEnv('AWS_ENDPOINT_URL_DYNAMODB', endpoint);
    ctx.outputs.dynamodbEndpoint = endpoint;
    return undefined;
  },
};

/** The table from the same key definition the CDK data stack uses. */
export const table: LocalService = {
  name: 'table',
  async start(ctx) {
    const client = createDocumentClient({ endpoint: ctx.outputs.dynamodbEndpoint! });
    try {
      await ensureTable(client, ctx.options.tableName);
    } finally {
      client.destroy();
    }
    return undefined;
  },
};

let loadGeneration = 0;

/**
 * Imports `functions/api/<group>.ts` for every route group, after the environment is set.
 * Each call loads fresh module instances (a cold start, as after a deployment): module-scope
 * SDK clients fix their endpoint on first use, so a stack started later in the same process
 * must not inherit the previous stack's. A module that fails to load stops the start; a group
 * whose module does not exist yet answers 501 (listed in `missing`).
 */
export async function loadApiHandlers(
  groups: readonly string[],
): Promise<{ handlers: Map<string, LambdaHandler>; missing: string[] }> {
  const handlers = new Map<string, LambdaHandler>();
  const missing: string[] = [];
  const generation = ++loadGeneration;
  for (const group of new Set(groups)) {
    const entry = join(REPO_ROOT, handlerEntry(group));
    if (!existsSync(entry)) {
      missing.push(handlerEntry(group));
      handlers.set(group, notImplemented(group));
      continue;
    }
    let mod: { handler?: unknown };
    try {
      const url = pathToFileURL(entry);
      if (generation > 1) url.searchParams.set('cold-start', String(generation));
      mod = await import(url.href);
    } catch (e) {
      throw new Error(`cannot load ${handlerEntry(group)}: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (typeof mod.handler !== 'function')
      throw new Error(`${handlerEntry(group)} exports no handler function`);
    handlers.set(group, mod.handler as LambdaHandler);
  }
  return { handlers, missing };
}

const notImplemented =
  (group: string): LambdaHandler =>
  async (event: { rawPath?: string }) =>
    problem({
      status: 501,
      detail: `The handler module ${handlerEntry(group)} does not exist yet.`,
      ...(event.rawPath ? { instance: event.rawPath } : {}),
    });

/** The key pair and token issuer that stand in for Cognito (see local-auth.ts). */
export const localAuth: LocalService = {
  name: 'local JWT issuer',
  async start(ctx) {
    ctx.identity = await loadLocalIdentityProvider({
      keyPath: join(ctx.options.stateDir, SIGNING_KEY_FILE),
    });
    return undefined;
  },
};

export const httpApi: LocalService = {
  name: 'HTTP API',
  async start(ctx) {
    const identity = ctx.identity;
    const authenticate = ctx.options.authenticate ?? identity?.authenticate;
    const { handlers, missing } = await loadApiHandlers(ROUTES.map((r) => r.group));
    if (missing.length > 0)
      ctx.log(`lcm: warning: not written yet, their routes answer 501: ${missing.join(', ')}`);
    const gateway = await startApiGateway({
      routes: ROUTES,
      handlers,
      functionFor: (group) => ({
        functionName: `lcm-local-api-${group}`,
        region: ctx.options.region,
        timeoutMs: 29_000,
      }),
      port: ctx.options.port,
      host: ctx.options.host,
      ...(authenticate ? { authenticate } : {}),
      ...(identity
        ? {
            documents: {
              [JWKS_PATH]: () => identity.jwks,
              [OPENID_CONFIGURATION_PATH]: () => identity.openIdConfiguration(),
            },
          }
        : {}),
      log: (line) => ctx.log(line),
    });
    ctx.outputs.apiUrl = gateway.url;
    if (identity) {
      try {
        // The issuer is the API's URL, known once the server listens.
        identity.bind(gateway.url);
        ctx.outputs.auth = {
          issuer: identity.issuer,
          jwksUri: `${identity.issuer}${JWKS_PATH}`,
          audience: identity.audience,
          roleClaim: 'cognito:groups',
          tokenLifetimeDays: LOCAL_TOKEN_TTL_SECONDS / 86_400,
          signingKeyFile: identity.keyPath,
        };
        ctx.outputs.tokens = await identity.roleTokens();
      } catch (e) {
        await gateway.stop();
        throw e;
      }
    }
    return gateway;
  },
};

export const defaultServices = (opts: ResolvedOptions): LocalService[] => [
  lambdaEnvironment,
  opts.dynamodbEndpoint ? existingDynamodb : dynamodbLocal,
  table,
  localAuth,
  httpApi,
];

// --- the runner ---------------------------------------------------------------------------------

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const opts = resolveOptions(options);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(opts.stateDir, { recursive: true });
  const localJsonPath = join(opts.stateDir, 'local.json');

  const savedEnv = new Map<string, string | undefined>();
  const ctx: StackContext = {
    options: opts,
    outputs: {},
    setEnv(name, value) {
      if (!savedEnv.has(name)) savedEnv.set(name, process.env[name]);
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    },
    log,
    identity: undefined,
  };
  const restoreEnv = () => {
    for (const [name, value] of savedEnv) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };

  const running: { name: string; service: RunningService }[] = [];
  const stopAll = async (): Promise<void> => {
    const failures: string[] = [];
    for (const { name, service } of running.reverse()) {
      try {
        await service.stop();
      } catch (e) {
        failures.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    running.length = 0;
    restoreEnv();
    if (failures.length > 0) throw new Error(`stopping the local stack failed: ${failures.join('; ')}`);
  };

  // A port already taken is the common failure: say so before starting anything.
  if (opts.port !== 0 && !(await isPortFree(opts.port, opts.host))) {
    throw new LocalStackStartError(
      'HTTP API',
      `port ${opts.port} is already in use; set LCM_PORT to a free port`,
    );
  }

  for (const service of (options.services ?? defaultServices)(opts)) {
    try {
      const started = await service.start(ctx);
      if (started) running.push({ name: service.name, service: started });
    } catch (e) {
      await stopAll().catch((stopError) => log(String(stopError)));
      throw new LocalStackStartError(service.name, e);
    }
  }

  const outputs = {
    ...ctx.outputs,
    stateDir: opts.stateDir,
    inMemory: opts.inMemory,
    pid: process.pid,
    startedAt: new Date().toISOString(),
  };
  writeJsonAtomically(localJsonPath, outputs);

  let stopping: Promise<void> | undefined;
  return {
    apiUrl: outputs.apiUrl ?? '',
    tableName: opts.tableName,
    dynamodbEndpoint: outputs.dynamodbEndpoint ?? '',
    dynamodbPid: outputs.dynamodbPid ?? -1,
    tokens: outputs.tokens ?? {},
    stateDir: opts.stateDir,
    localJsonPath,
    outputs,
    stop: () => {
      stopping ??= (async () => {
        // Gone first, so nobody reads the address of a stack that is shutting down.
        rmSync(localJsonPath, { force: true });
        await stopAll();
      })();
      return stopping;
    },
  };
}

/** Owner-only: local.json carries bearer tokens. */
function writeJsonAtomically(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, host, () => server.close(() => resolveFree(true)));
  });
}
