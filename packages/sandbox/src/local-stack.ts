import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LIVE_UPDATES_RULE } from '@lcm/shared/api';
import { createStores } from '@lcm/shared/app';
import { UPLOAD_MAX_BYTES } from '@lcm/shared/catalogue';
import type { PartnersDocument } from '@lcm/shared/events';
import {
  DEFAULT_TIMESTAMP_TOLERANCE_SECONDS,
  EVENT_RULE_TARGETS,
  EVENT_RULES,
  FileStreamFailureQueue,
  GRADING_EVENT_TYPE_PREFIX,
  LDS_EVENT_TYPE_PREFIX,
  localStreamFailureOperations,
  STREAM_CONSUMERS,
  type StreamConsumer,
  TRIGGERS_CONSUMER,
  WEBHOOK_ID_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WEBHOOK_TIMESTAMP_HEADER,
} from '@lcm/shared/events';
import { createDocumentClient, ensureTable, problem, tableNameFor } from '@lcm/shared/platform';
import { handlerEntry, ROUTES } from '../../../functions/api/routes.ts';
import {
  FLEET_SCHEDULES,
  FLEET_STATE_MACHINES,
  type ScheduleFunctionSpec as FleetSchedule,
  SESSION_TASKS,
} from '../../../functions/catalogue.ts';
import type { SandboxCompute } from './compute/index.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION, startDynamoDbLocal } from './dynamodb-local.ts';
import type { LocalEventBridge } from './eventbridge/index.ts';
import { type Authenticate, LOCAL_BUCKET_PATH, startApiGateway } from './http-gateway.ts';
import {
  importHandler,
  invokeLambda,
  type LambdaHandler,
  LOCAL_ACCOUNT_ID,
  lambdaInvokeStore,
} from './lambda-runtime.ts';
import { attachLiveSocket, LIVE_SOCKET_PATH, type LocalConnections } from './live-socket.ts';
import {
  JWKS_PATH,
  LOCAL_TOKEN_TTL_SECONDS,
  type LocalIdentityProvider,
  loadLocalIdentityProvider,
  OPENID_CONFIGURATION_PATH,
  SIGNING_KEY_FILE,
} from './local-auth.ts';
import { CONSOLE_CONFIG_PATH, consoleFiles, localConsoleConfig } from './local-console.ts';
import { type LocalMetrics, startMetricsCollector } from './local-metrics.ts';
import { createLocalOidc } from './local-oidc.ts';
import type { SeedReport } from './seed.ts';
import type { GradingSimulator } from './simulators/grading.ts';
import type { LdsSimulator } from './simulators/lds.ts';
import type { LocalStepFunctions } from './stepfunctions/server.ts';
import type { StreamPoller } from './streams/index.ts';

/**
 * The parts beyond the API are imported when their service starts (and, in the background, by
 * `preloadHandlers` while DynamoDB Local's JVM boots), so `npm start` reaches the JVM start
 * without loading them first.
 */
const lazy = {
  compute: () => import('./compute/index.ts'),
  content: () => import('./content/index.ts'),
  eventBridge: () => import('./eventbridge/index.ts'),
  fleetHandler: () => import('@lcm/shared/app'),
  partners: () => import('@lcm/shared/events'),
  seed: () => import('./seed.ts'),
  grading: () => import('./simulators/grading.ts'),
  lds: () => import('./simulators/lds.ts'),
  stepFunctions: () => import('./stepfunctions/server.ts'),
  streams: () => import('./streams/index.ts'),
};

/**
 * The local stack behind `npm start`: a list of services started in order and stopped in
 * reverse. The handlers run in this process and read their configuration from process.env,
 * as in Lambda; services set what the handlers need through `ctx.setEnv` (restored on stop),
 * and the unchanged AWS SDK clients reach the local endpoints through AWS_ENDPOINT_URL_*.
 *
 *   lambda environment   region, dummy credentials, TABLE_NAME
 *   local metrics        the handlers' EMF lines taken off stdout, for GET /_lcm/metrics
 *   sandbox settings     local defaults (short lead and polls, stage, CML credentials, evidence dir)
 *   DynamoDB Local       + the table from the CDK key definition
 *   local JWT issuer     one token per role in local.json `tokens`
 *   event partners       the LDS and grading partners of POST /v1/events (local.json `partners`)
 *   EventBridge          PutEvents endpoint routing by the rules of events/rules.ts
 *   stream poller        the table stream → the stream consumers (outbox, triggers), same filters
 *   sandbox compute      simulated EC2, each instance with its own CML simulator (fleet handlers)
 *   demo data            template, two definitions; the seeded workers start booting
 *   Step Functions       session lifecycle + worker provisioning/drain, the repository's ASL
 *   simulators           LDS and Grading Engine, signing their events with the partner secrets
 *   schedules            timers for the scalers and sweeps of functions/schedules
 *   demo workers         waits for the seeded workers to be RUNNING
 *   HTTP API             the API Gateway stand-in: once /v1/health answers, all is up;
 *                        GET /_lcm/metrics serves the handlers' business metrics (local metrics)
 *   session recovery     sessions whose workflow died with the last run re-driven (the stuck-session
 *                        sweep once, without its grace period; local.json `recovery`)
 *
 * Protected routes need a token from the local issuer (local-auth.ts).
 */

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DEFAULT_STATE_DIR = join(REPO_ROOT, '.lcm');
/** The console's build (packages/console, `npm run build` there), served at `/` when present. */
export const CONSOLE_DIST = join(REPO_ROOT, 'packages', 'console', 'dist');
export const LOCAL_TABLE_NAME = tableNameFor('local');
export const LOCAL_EVENT_BUS_NAME = 'lcm-local';
/** The stage the sandbox tags its instances with (`lcm:stage`). */
export const LOCAL_STAGE = 'local';
/** Where the partners' signing secrets are kept between runs (owner-only). */
export const PARTNER_SECRETS_FILE = 'partner-secrets.json';
export const LOCAL_LDS_API_KEY = 'lds-sandbox-key';
export const LOCAL_GRADING_API_KEY = 'grading-sandbox-key';
/** The credentials of every sandbox CML simulator (the simulator's default user). */
export const LOCAL_CML_CREDENTIALS = { username: 'admin', password: 'admin-password' } as const;

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
  /** RUNNING workers seeded (LCM_SANDBOX_WORKERS; default 2). */
  workers?: number;
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
  workers: number;
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
  /** Machine clients (client-credentials tokens, scopes and no groups): `portal`. */
  clients?: Record<string, { clientId: string; token: string }>;
  /** Per partner of POST /v1/events: its CloudEvent source, signing secret and signature header. */
  partners?: Record<string, LocalPartner>;
  [name: string]: unknown;
}

/** What a partner needs to sign events for POST /v1/events (local.json `partners`). */
export interface LocalPartner {
  /** The CloudEvent `source` the partner may use. */
  source: string;
  /** CloudEvent type prefixes it may send. */
  types: string[];
  /** HMAC-SHA256 key (its UTF-8 bytes) of the Standard Webhooks signature. */
  secret: string;
  /** `webhook-signature` (with `webhook-id` and `webhook-timestamp`: Standard Webhooks). */
  signatureHeader: string;
  signatureFormat: string;
}

/** The running parts, for tests and tools in the same process. */
export interface LocalResources {
  eventBridge?: LocalEventBridge;
  streamPoller?: StreamPoller;
  compute?: SandboxCompute;
  stepFunctions?: LocalStepFunctions;
  lds?: LdsSimulator;
  grading?: GradingSimulator;
  /** The partners' signing secrets by partner id. */
  partnerSecrets?: Record<string, string>;
  /** The business metrics the handlers printed as EMF (GET /_lcm/metrics). */
  metrics?: LocalMetrics;
  /** The demo data, complete once the seeded workers run. */
  seed?: Promise<SeedReport>;
  /** The open WebSocket connections of `/ws` (live updates). */
  liveConnections?: LocalConnections;
  seedReport?: SeedReport;
}

export interface StackContext {
  readonly options: ResolvedOptions;
  readonly outputs: LocalOutputs;
  /** Sets (or with undefined, removes) an environment variable for the handlers. */
  setEnv(name: string, value: string | undefined): void;
  log(line: string): void;
  /** The local identity provider, once the `local JWT issuer` service has started. */
  identity: LocalIdentityProvider | undefined;
  /** What earlier services started, for later ones. */
  readonly resources: LocalResources;
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
  /** The running parts (in-process use: tests, tools). */
  resources: Readonly<LocalResources>;
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
    workers: opts.workers ?? 2,
  };
}

/** The API's base URL (the port is concrete once startLocalStack has picked one for port 0). */
export const apiUrlOf = (o: Pick<ResolvedOptions, 'host' | 'port'>): string =>
  `http://${o.host.includes(':') ? `[${o.host}]` : o.host}:${o.port}`;

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
    // POST /v1/events needs a bus and a partner list: the `EventBridge` and `event partners`
    // services set them; a stack without those services has no partner (every event is a 401)
    // unless the developer's environment provides them.
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
      log: ctx.log,
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

/** Where the API's port serves the collected business metrics. */
export const METRICS_PATH = '/_lcm/metrics';

/**
 * The handlers' EMF lines (Powertools Metrics on stdout) → the latest values and short histories
 * at GET /_lcm/metrics on the API's port (local-metrics.ts), instead of CloudWatch.
 */
export const localMetrics: LocalService = {
  name: 'local metrics',
  async start(ctx) {
    const collector = startMetricsCollector();
    ctx.resources.metrics = collector;
    return {
      async stop() {
        collector.stop();
      },
    };
  },
};

export const httpApi: LocalService = {
  name: 'HTTP API',
  async start(ctx) {
    const identity = ctx.identity;
    const authenticate = ctx.options.authenticate ?? identity?.authenticate;
    const metrics = ctx.resources.metrics;
    const { handlers, missing } = await loadApiHandlers(ROUTES.map((r) => r.group));
    if (missing.length > 0)
      ctx.log(`lcm: warning: not written yet, their routes answer 501: ${missing.join(', ')}`);
    // The content bucket's pre-signed URLs (POST /v1/uploads), served here as S3 serves them in AWS.
    const bucketSecret = randomBytes(32).toString('hex');
    ctx.setEnv('LCM_LOCAL_BUCKET_SECRET', bucketSecret);
    // The console's sign-in (local-oidc.ts), runtime config and files (local-console.ts).
    const oidc = identity ? createLocalOidc({ identity }) : undefined;
    const consoleSite = consoleFiles(CONSOLE_DIST);
    let apiUrl = '';
    const gateway = await startApiGateway({
      fallback: async (req, res, path, method) =>
        (oidc ? await oidc.handle(req, res, path, method) : false) ||
        consoleSite.handle(req, res, path, method),
      routes: ROUTES,
      bucket: {
        path: LOCAL_BUCKET_PATH,
        dir: () => process.env.EVIDENCE_DIR,
        secret: bucketSecret,
        maxBytes: UPLOAD_MAX_BYTES,
      },
      handlers,
      functionFor: (group) => ({
        functionName: `lcm-local-api-${group}`,
        region: ctx.options.region,
        timeoutMs: 29_000,
      }),
      port: ctx.options.port,
      host: ctx.options.host,
      ...(authenticate ? { authenticate } : {}),
      documents: {
        ...(identity
          ? {
              [JWKS_PATH]: () => identity.jwks,
              [OPENID_CONFIGURATION_PATH]: () => ({
                ...identity.openIdConfiguration(),
                ...oidc?.discovery(),
                response_types_supported: ['code', 'token'],
                grant_types_supported: ['authorization_code'],
                code_challenge_methods_supported: ['S256'],
                scopes_supported: ['openid'],
              }),
              [CONSOLE_CONFIG_PATH]: () => localConsoleConfig(apiUrl, oidc?.clientId ?? '', LIVE_SOCKET_PATH),
            }
          : {}),
        ...(metrics ? { [METRICS_PATH]: () => metrics.snapshot() } : {}),
      },
      log: (line) => ctx.log(line),
    });
    ctx.outputs.apiUrl = gateway.url;
    ctx.setEnv('LCM_LOCAL_BUCKET_URL', `${gateway.url}${LOCAL_BUCKET_PATH}`);
    apiUrl = gateway.url;
    if (metrics) ctx.outputs.metrics = `${gateway.url}${METRICS_PATH}`;
    // Live updates at /ws: the WebSocket handlers of functions/websocket on the API's port.
    let live: Awaited<ReturnType<typeof attachLiveSocket>>;
    try {
      live = await attachLiveSocket({ server: gateway.server, region: ctx.options.region, log: ctx.log });
    } catch (e) {
      await gateway.stop();
      throw e;
    }
    ctx.resources.liveConnections = live.connections;
    ctx.outputs.live = { wsUrl: `${gateway.url.replace(/^http/, 'ws')}${LIVE_SOCKET_PATH}` };
    ctx.outputs.console = {
      url: `${gateway.url}/`,
      built: consoleSite.present(),
      config: `${gateway.url}${CONSOLE_CONFIG_PATH}`,
      ...(oidc ? { clientId: oidc.clientId } : {}),
    };
    const stopAll = async () => {
      await live.stop();
      await gateway.stop();
    };
    if (identity) {
      try {
        // The issuer is the API's URL, known once the server listens.
        identity.bind(gateway.url);
        // The WebSocket $connect handler checks tokens as the HTTP API's authorizer does.
        ctx.setEnv('LCM_JWT_ISSUER', identity.issuer);
        ctx.setEnv('LCM_JWT_AUDIENCES', [identity.audience, ...identity.machineClients].join(','));
        ctx.outputs.auth = {
          issuer: identity.issuer,
          jwksUri: `${identity.issuer}${JWKS_PATH}`,
          audience: identity.audience,
          roleClaim: 'cognito:groups',
          tokenLifetimeDays: LOCAL_TOKEN_TTL_SECONDS / 86_400,
          signingKeyFile: identity.keyPath,
        };
        ctx.outputs.tokens = await identity.roleTokens();
        // The reservation portal as a machine client: a client-credentials token (scopes, no groups).
        const [portalClient] = identity.machineClients;
        if (portalClient) {
          ctx.outputs.clients = {
            portal: {
              clientId: portalClient,
              token: await identity.clientCredentialsToken({
                clientId: portalClient,
                expiresInSeconds: LOCAL_TOKEN_TTL_SECONDS,
              }),
            },
          };
        }
      } catch (e) {
        await stopAll();
        throw e;
      }
    }
    return { stop: stopAll };
  },
};

// --- the rest of the system ---------------------------------------------------------------------

/**
 * Local defaults, so a session goes from booking to score in seconds. Each applies only when
 * the developer's environment does not set the variable (those are the real knobs; see
 * packages/shared/src/app/session-env.ts and fleet/config.ts).
 */
export const SANDBOX_ENV_DEFAULTS: Readonly<Record<string, string>> = {
  LCM_STAGE: LOCAL_STAGE,
  /** A sandbox instance boots (and its CML answers) in 2 s (AWS: ~15 minutes). */
  LCM_SANDBOX_BOOT_SECONDS: '2',
  /** Late placement: a booked session takes capacity 30 s before its timeslot (AWS: 15 minutes). */
  LCM_PLACEMENT_LEAD_SECONDS: '30',
  /** Import and start the lab 5 s before the timeslot starts (AWS: 10 minutes). */
  LCM_INSTANTIATE_LEAD_SECONDS: '5',
  /** Refuse bookings sure to fail: no topology, no LDS part (issue 11, item 4). */
  LCM_BOOKING_REQUIRE_DELIVERABLE: 'true',
  LCM_LAB_BOOT_TIMEOUT_SECONDS: '120',
  LCM_GRADING_TIMEOUT_SECONDS: '120',
  LCM_PLACEMENT_RETRY_BASE_SECONDS: '5',
  LCM_PLACEMENT_RETRY_MAX_SECONDS: '30',
  LCM_FLEET_POLL_SECONDS: '2',
  LCM_INSTANCE_POLL_SECONDS: '1',
  LCM_DRAIN_POLL_SECONDS: '5',
  LCM_CML_CREDENTIALS: JSON.stringify(LOCAL_CML_CREDENTIALS),
};

/** How long a lab takes to boot on a sandbox CML (LCM_SANDBOX_LAB_BOOT_SECONDS, default 2). */
const DEFAULT_LAB_BOOT_SECONDS = 2;
/** Delay of the grading simulator's result (LCM_SANDBOX_GRADING_DELAY_SECONDS, default 1). */
const DEFAULT_GRADING_DELAY_SECONDS = 1;
/** The session workflow polls a booting lab every 10 s; locally every second (same ASL). */
const LOCAL_WAIT_OVERRIDES_MS = { WaitForLabBoot: 1000 };

function secondsFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a number of seconds >= 0, got "${raw}"`);
  return n;
}

export const sandboxSettings: LocalService = {
  name: 'sandbox settings',
  async start(ctx) {
    for (const [name, value] of Object.entries(SANDBOX_ENV_DEFAULTS)) {
      if (process.env[name] === undefined || process.env[name] === '') ctx.setEnv(name, value);
    }
    // The sandbox keeps the fleet it seeds: the scaler never drains below it.
    if (!process.env.LCM_SCALING_MIN_WORKERS) {
      ctx.setEnv('LCM_SCALING_MIN_WORKERS', String(ctx.options.workers));
    }
    if (!process.env.EVIDENCE_BUCKET && !process.env.EVIDENCE_DIR) {
      ctx.setEnv('EVIDENCE_DIR', join(ctx.options.stateDir, 'evidence'));
    }
    ctx.outputs.evidenceDir = process.env.EVIDENCE_DIR;
    return undefined;
  },
};

/**
 * Starts importing the workflow, schedule, event and stream handler modules in the background
 * (not awaited), so their loading overlaps DynamoDB Local's JVM start; the services that need
 * them later get the same module instances. The environment Lambda sets is in place by now; the
 * handlers read everything else when invoked. An import that fails here fails again, reported,
 * where the module is used.
 */
export const preloadHandlers: LocalService = {
  name: 'preload handlers',
  async start() {
    const modules = new Set<string>([
      ...SESSION_TASKS.map((t) => t.entry),
      ...FLEET_STATE_MACHINES.flatMap((m) => m.tasks.map((t) => t.entry)),
      ...FLEET_SCHEDULES.map((s) => s.entry),
      ...EVENT_RULE_TARGETS.map((t) => t.module),
      ...localStreamConsumers().map((c) => c.module),
    ]);
    for (const load of Object.values(lazy)) load().catch(() => undefined);
    for (const module of modules) {
      import(pathToFileURL(join(REPO_ROOT, module)).href).catch(() => undefined);
    }
    return undefined;
  },
};

type PartnerSecrets = Record<'lds' | 'grading', string>;

/** The partners' secrets from the state directory, created on first use (owner-only). */
export function loadPartnerSecrets(path: string): PartnerSecrets {
  let stored: Partial<Record<string, unknown>> = {};
  if (existsSync(path)) {
    try {
      stored = JSON.parse(readFileSync(path, 'utf8')) as Partial<Record<string, unknown>>;
    } catch {
      stored = {};
    }
  }
  const valid = (v: unknown): v is string => typeof v === 'string' && v.length >= 32;
  const secrets: PartnerSecrets = {
    lds: valid(stored.lds) ? stored.lds : randomBytes(24).toString('base64url'),
    grading: valid(stored.grading) ? stored.grading : randomBytes(24).toString('base64url'),
  };
  if (secrets.lds !== stored.lds || secrets.grading !== stored.grading) writeJsonAtomically(path, secrets);
  return secrets;
}

/**
 * The partners of POST /v1/events: the LDS and Grading simulators (their sandbox sources, type
 * families and HMAC secrets), given to the handler inline in LCM_EVENT_PARTNERS, as the
 * Secrets Manager document would be in AWS. Partners of the developer's own LCM_EVENT_PARTNERS
 * are kept (an id `lds`/`grading` is replaced by the simulator's).
 */
export const eventPartners: LocalService = {
  name: 'event partners',
  async start(ctx) {
    const [{ PARTNERS_JSON_ENV, PARTNERS_SECRET_ENV }, { SANDBOX_LDS_SOURCE }, { SANDBOX_GRADING_SOURCE }] =
      await Promise.all([lazy.partners(), lazy.lds(), lazy.grading()]);
    const secrets = loadPartnerSecrets(join(ctx.options.stateDir, PARTNER_SECRETS_FILE));
    const partners: Record<string, LocalPartner> = {
      lds: localPartner(SANDBOX_LDS_SOURCE, LDS_EVENT_TYPE_PREFIX, secrets.lds),
      grading: localPartner(SANDBOX_GRADING_SOURCE, GRADING_EVENT_TYPE_PREFIX, secrets.grading),
    };
    let own: PartnersDocument['partners'] = {};
    const given = process.env[PARTNERS_JSON_ENV];
    if (given) {
      try {
        own = (JSON.parse(given) as PartnersDocument).partners ?? {};
      } catch {
        throw new Error(`${PARTNERS_JSON_ENV} is not JSON`);
      }
    }
    const document: PartnersDocument = {
      partners: {
        ...own,
        ...Object.fromEntries(
          Object.entries(partners).map(([id, p]) => [
            id,
            { sources: [p.source], types: p.types, secrets: [p.secret] },
          ]),
        ),
      },
    };
    // There is no Secrets Manager locally: the document goes inline.
    ctx.setEnv(PARTNERS_SECRET_ENV, undefined);
    ctx.setEnv(PARTNERS_JSON_ENV, JSON.stringify(document));
    ctx.outputs.partners = partners;
    ctx.resources.partnerSecrets = secrets;
    return undefined;
  },
};

const localPartner = (source: string, typePrefix: string, secret: string): LocalPartner => ({
  source,
  types: [typePrefix],
  secret,
  signatureHeader: WEBHOOK_SIGNATURE_HEADER,
  signatureFormat: `Standard Webhooks: ${WEBHOOK_ID_HEADER}: <message id>, ${WEBHOOK_TIMESTAMP_HEADER}: <unix seconds>, ${WEBHOOK_SIGNATURE_HEADER}: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<raw body>">; within ${DEFAULT_TIMESTAMP_TOLERANCE_SECONDS} s of LCM's clock`,
});

/** The local bus: the SDK's PutEvents (ingest, outbox) reaches it through AWS_ENDPOINT_URL_EVENTBRIDGE. */
export const eventBridge: LocalService = {
  name: 'EventBridge',
  async start(ctx) {
    const { startLocalEventBridge } = await lazy.eventBridge();
    const bus = await startLocalEventBridge({
      eventBusName: process.env.EVENT_BUS_NAME || LOCAL_EVENT_BUS_NAME,
      // The rules CDK deploys: the events stack's and the WebSocket stack's live updates.
      rules: [...EVENT_RULES, LIVE_UPDATES_RULE],
      region: ctx.options.region,
      host: ctx.options.host,
      log: (line) => ctx.log(`lcm: ${line}`),
    });
    ctx.setEnv('EVENT_BUS_NAME', bus.eventBusName);
    ctx.setEnv('AWS_ENDPOINT_URL_EVENTBRIDGE', bus.url);
    ctx.outputs.eventBridge = {
      endpoint: bus.url,
      eventBusName: bus.eventBusName,
      /** Everything published, the rules it matched and the deliveries: GET this. */
      eventsLog: `${bus.url}/_lcm/events`,
    };
    ctx.resources.eventBridge = bus;
    return bus;
  },
};

/** The consumers the CDK maps to the table stream, each once (outbox, triggers). */
function localStreamConsumers(): StreamConsumer[] {
  const byName = new Map<string, StreamConsumer>();
  for (const c of [...STREAM_CONSUMERS, TRIGGERS_CONSUMER]) if (!byName.has(c.name)) byName.set(c.name, c);
  return [...byName.values()];
}

/** Records the stream consumers gave up on, one JSON file each: `<stateDir>/stream-failures/`. */
export const STREAM_FAILURES_DIR = 'stream-failures';

/**
 * The table stream → the stream consumers. With data kept between runs, reading starts at the
 * stream's end (LATEST), so a restart does not publish yesterday's changes again; the first
 * poll fixes that position before anything else writes.
 */
export const streamPoller: LocalService = {
  name: 'stream poller',
  async start(ctx) {
    const [{ localContentDir, localContentTriggers }, { startStreamPoller }, { setStreamFailuresOverride }] =
      await Promise.all([lazy.content(), lazy.streams(), lazy.fleetHandler()]);
    const contentDir = process.env.LCM_SANDBOX_CONTENT_DIR
      ? localContentDir()
      : join(ctx.options.stateDir, 'content');
    const content = localContentTriggers({ dir: contentDir });
    const consumers = localStreamConsumers();
    const latest = !ctx.options.inMemory;
    const failures = new FileStreamFailureQueue(join(ctx.options.stateDir, STREAM_FAILURES_DIR));
    const poller = await startStreamPoller({
      failureQueue: failures,
      endpoint: ctx.outputs.dynamodbEndpoint!,
      tableName: ctx.options.tableName,
      region: ctx.options.region,
      credentials: { ...LOCAL_CREDENTIALS },
      consumers,
      handlers: content.handlers,
      ...(latest ? { startingPosition: 'LATEST' as const } : {}),
      log: (line) => ctx.log(`lcm: ${line}`),
    });
    try {
      await poller.idle(30_000);
    } catch (e) {
      await poller.stop();
      throw e;
    }
    ctx.outputs.streams = {
      consumers: consumers.map((c) => c.name),
      startingPosition: latest ? 'LATEST' : 'TRIM_HORIZON',
      contentBucket: `s3://${content.store.bucket}/ → ${content.store.dir}`,
      failureQueue: failures.dir,
    };
    ctx.resources.streamPoller = poller;
    // GET /v1/stream-failures and the replay (functions/api/streams.ts): this queue, these consumers.
    setStreamFailuresOverride(localStreamFailureOperations(failures, (id, by) => poller.replay(id, by)));
    return {
      async stop() {
        setStreamFailuresOverride(undefined);
        await poller.stop();
      },
    };
  },
};

/**
 * The sandbox's EC2 for the fleet handlers and the templates API (there is no local EC2 endpoint, so
 * it goes in through setFleetDepsOverride and setApiInstanceTypesOverride): instances boot in LCM_SANDBOX_BOOT_SECONDS, each with its own CML
 * simulator whose labs boot in LCM_SANDBOX_LAB_BOOT_SECONDS.
 */
export const sandboxCompute: LocalService = {
  name: 'sandbox compute',
  async start(ctx) {
    const [{ createSandboxCompute }, { setFleetDepsOverride, setApiInstanceTypesOverride }] =
      await Promise.all([lazy.compute(), lazy.fleetHandler()]);
    const labBootMs = secondsFromEnv('LCM_SANDBOX_LAB_BOOT_SECONDS', DEFAULT_LAB_BOOT_SECONDS) * 1000;
    const compute = createSandboxCompute({
      cml: { users: { [LOCAL_CML_CREDENTIALS.username]: LOCAL_CML_CREDENTIALS.password }, labBootMs },
    });
    setFleetDepsOverride({ compute });
    // The templates group checks instance types (DescribeInstanceTypes) against the same table.
    setApiInstanceTypesOverride(compute);
    ctx.resources.compute = compute;
    return {
      async stop() {
        setFleetDepsOverride(undefined);
        setApiInstanceTypesOverride(undefined);
        await compute.stop();
      },
    };
  },
};

/**
 * Seeds the template and the definitions, and starts the seeded workers' instances booting;
 * `demoWorkers` waits for them later, so their boot overlaps the services in between.
 */
export const demoData: LocalService = {
  name: 'demo data',
  async start(ctx) {
    const compute = ctx.resources.compute;
    if (!compute) throw new Error('the sandbox compute service must start first');
    const { seedCatalogue, seedWorkers } = await lazy.seed();
    const client = createDocumentClient({ endpoint: ctx.outputs.dynamodbEndpoint! });
    const stores = createStores({ client, tableName: ctx.options.tableName });
    let pending: Promise<SeedReport> | undefined;
    try {
      const catalogue = await seedCatalogue({ stores });
      pending = seedWorkers({
        stores,
        compute,
        workers: ctx.options.workers,
        stage: process.env.LCM_STAGE || LOCAL_STAGE,
        // However long the developer made a sandbox boot (LCM_SANDBOX_BOOT_SECONDS), plus a margin.
        readyTimeoutMs: (secondsFromEnv('LCM_SANDBOX_BOOT_SECONDS', 5) + 60) * 1000,
        log: (line) => ctx.log(`lcm: ${line}`),
      }).then((workers) => ({ ...catalogue, workers }));
      pending.catch(() => undefined); // awaited (and reported) by demoWorkers
      ctx.resources.seed = pending;
    } catch (e) {
      client.destroy();
      throw e;
    }
    return {
      async stop() {
        await Promise.race([pending?.catch(() => undefined), sleep(15_000)]);
        client.destroy();
      },
    };
  },
};

/** Waits until the seeded workers run; their summary goes to local.json `seed`. */
export const demoWorkers: LocalService = {
  name: 'demo workers',
  async start(ctx) {
    if (!ctx.resources.seed) throw new Error('the demo data service must start first');
    const report = await ctx.resources.seed;
    ctx.resources.seedReport = report;
    ctx.outputs.seed = {
      templates: report.templates.map((t) => t.name),
      definitions: report.definitions.map((d) => d.id),
      workers: report.workers.map((w) => ({ id: w.id, status: w.status, cmlBaseUrl: w.cmlBaseUrl })),
    };
    return undefined;
  },
};

/** The session lifecycle and the worker provisioning/drain machines behind AWS_ENDPOINT_URL_SFN. */
export const stepFunctions: LocalService = {
  name: 'Step Functions',
  async start(ctx) {
    const [
      { stepFunctionsService },
      { fleetStateMachines, LOCAL_DRAIN_STATE_MACHINE, LOCAL_PROVISIONING_STATE_MACHINE },
    ] = await Promise.all([lazy.stepFunctions(), lazy.compute()]);
    const service = stepFunctionsService({
      host: ctx.options.host,
      stateMachines: () => fleetStateMachines(),
      waitTimeOverrides: LOCAL_WAIT_OVERRIDES_MS,
    });
    const sfn = (await service.start(ctx)) as LocalStepFunctions;
    ctx.resources.stepFunctions = sfn;
    ctx.setEnv(
      'WORKER_PROVISIONING_STATE_MACHINE_ARN',
      sfn.stateMachineArns[LOCAL_PROVISIONING_STATE_MACHINE],
    );
    ctx.setEnv('WORKER_DRAIN_STATE_MACHINE_ARN', sfn.stateMachineArns[LOCAL_DRAIN_STATE_MACHINE]);
    return sfn;
  },
};

/**
 * The LDS and Grading Engine simulators the task handlers talk to (LCM_LDS_BASE_URL, ...). Their
 * CloudEvents go, signed with the partner secrets, to the API's POST /v1/events, which listens
 * once the stack is up. LDS logs the learner in (and ends the session) by itself only with
 * LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS / LCM_SANDBOX_LDS_AUTOEND_SECONDS.
 */
export const simulators: LocalService = {
  name: 'simulators',
  async start(ctx) {
    const secrets = ctx.resources.partnerSecrets;
    if (!secrets) throw new Error('the event partners service must start first');
    const [
      { ldsAutoOptionsFromEnv, SANDBOX_LDS_SOURCE, startLdsSimulator },
      { SANDBOX_GRADING_SOURCE, startGradingSimulator },
    ] = await Promise.all([lazy.lds(), lazy.grading()]);
    const eventsUrl = `${apiUrlOf(ctx.options)}/v1/events`;
    const gradingDelayMs =
      secondsFromEnv('LCM_SANDBOX_GRADING_DELAY_SECONDS', DEFAULT_GRADING_DELAY_SECONDS) * 1000;
    const auto = ldsAutoOptionsFromEnv();
    const lds = await startLdsSimulator({
      host: ctx.options.host,
      apiKey: LOCAL_LDS_API_KEY,
      eventsUrl,
      eventSecret: secrets.lds,
      eventSource: SANDBOX_LDS_SOURCE,
      ...auto,
    });
    let grading: GradingSimulator;
    try {
      grading = await startGradingSimulator({
        host: ctx.options.host,
        apiKey: LOCAL_GRADING_API_KEY,
        eventsUrl,
        eventSecret: secrets.grading,
        eventSource: SANDBOX_GRADING_SOURCE,
        gradingDelayMs,
      });
    } catch (e) {
      await lds.stop();
      throw e;
    }
    ctx.setEnv('LCM_LDS_BASE_URL', lds.url);
    ctx.setEnv('LCM_LDS_API_KEY', LOCAL_LDS_API_KEY);
    ctx.setEnv('LCM_LDS_API_KEY_SECRET_ID', undefined);
    ctx.setEnv('LCM_GRADING_BASE_URL', grading.url);
    ctx.setEnv('LCM_GRADING_API_KEY', LOCAL_GRADING_API_KEY);
    ctx.setEnv('LCM_GRADING_API_KEY_SECRET_ID', undefined);
    ctx.outputs.simulators = {
      lds: {
        url: lds.url,
        autoLoginSeconds: auto.autoLoginSeconds ?? null,
        autoEndSeconds: auto.autoEndSeconds ?? null,
      },
      grading: { url: grading.url, delaySeconds: gradingDelayMs / 1000 },
    };
    ctx.resources.lds = lds;
    ctx.resources.grading = grading;
    return {
      async stop() {
        await Promise.allSettled([lds.stop(), grading.stop()]);
      },
    };
  },
};

/**
 * The period of a schedule locally: scale-up every LCM_SCALE_INTERVAL_SECONDS (default 60; 0 =
 * never), scale-down every LCM_SCALE_INTERVAL_SECONDS too when it is set (else every 5 minutes, as
 * deployed), so that with LCM_SCALE_DOWN_IDLE_SECONDS the whole cycle can be watched in a minute;
 * the pool reconciler every LCM_POOL_INTERVAL_SECONDS (default 10); the sweeps as deployed. LCM_SANDBOX_SCHEDULES=off turns them all off.
 */
export function scheduleSeconds(schedule: Pick<FleetSchedule, 'name' | 'everySeconds'>): number {
  const off = process.env.LCM_SANDBOX_SCHEDULES?.toLowerCase();
  if (off === 'off' || off === '0' || off === 'false') return 0;
  if (schedule.name === 'scale-up' || schedule.name === 'scale-down')
    return secondsFromEnv('LCM_SCALE_INTERVAL_SECONDS', schedule.everySeconds);
  // Pools fill in a few ticks (place and import, then converge): locally every 10 s by default.
  if (schedule.name === 'pool-reconcile') return secondsFromEnv('LCM_POOL_INTERVAL_SECONDS', 10);
  return schedule.everySeconds;
}

/**
 * Timers for functions/schedules (EventBridge Scheduler in AWS): each handler invoked like a
 * Lambda with a scheduled event, one run at a time (a tick while it still runs is skipped, as
 * reserved concurrency 1 would throttle it).
 */
export const schedules: LocalService = {
  name: 'schedules',
  async start(ctx) {
    const jobs: Array<{ schedule: FleetSchedule; every: number; handler: LambdaHandler }> = [];
    for (const schedule of FLEET_SCHEDULES) {
      const every = scheduleSeconds(schedule);
      if (every <= 0) continue;
      jobs.push({ schedule, every, handler: await importHandler(schedule.entry) });
    }
    const inFlight = new Set<Promise<void>>();
    const running = new Set<string>();
    let stopped = false;
    const tick = (job: (typeof jobs)[number]) => {
      const { name, timeoutSeconds } = job.schedule;
      if (stopped || running.has(name)) return;
      running.add(name);
      const run = (async () => {
        const functionName = `lcm-${LOCAL_STAGE}-schedule-${name}`;
        const outcome = await invokeLambda(job.handler, scheduledEvent(ctx.options.region, functionName), {
          functionName,
          region: ctx.options.region,
          timeoutMs: timeoutSeconds * 1000,
        });
        if (outcome.kind === 'timeout') ctx.log(`lcm: schedule ${name} timed out after ${timeoutSeconds} s`);
        if (outcome.kind === 'error') {
          const e = outcome.error;
          ctx.log(`lcm: schedule ${name} failed: ${e instanceof Error ? e.message : String(e)}`);
        }
      })().finally(() => {
        running.delete(name);
        inFlight.delete(run);
      });
      inFlight.add(run);
    };
    const timers = jobs.map((job) => setInterval(() => tick(job), job.every * 1000));
    ctx.outputs.schedules = Object.fromEntries(jobs.map((j) => [j.schedule.name, `every ${j.every} s`]));
    return {
      async stop() {
        stopped = true;
        for (const t of timers) clearInterval(t);
        await Promise.race([Promise.allSettled([...inFlight]), sleep(10_000)]);
      },
    };
  },
};

/**
 * Sessions the previous run left behind (issue 12, item 3): on kept state, every session whose
 * workflow execution died with the last process is re-driven from its stored state (SCHEDULED,
 * INSTANTIATING, READY, RUNNING resume; later statuses are torn down), once, after the API
 * listens (partner events of the resumed sessions reach it) and before anything waits for the
 * first scheduled sweep. local.json `recovery` says what it did.
 */
export const sessionRecovery: LocalService = {
  name: 'session recovery',
  async start(ctx) {
    const app = await lazy.fleetHandler();
    const deps = app.fleetDeps.with({ sessionTeardown: app.sessionTeardownOf })();
    const result = await app.startupRecoveryJob(deps);
    ctx.outputs.recovery = {
      checked: result.checked,
      resumed: result.resumed.map((r) => ({
        sessionId: r.sessionId,
        status: r.status,
        resumedAt: r.resumedAt,
      })),
      tornDown: result.tornDown.map((t) => t.sessionId),
      errors: result.errors,
    };
    if (result.checked > 0) {
      ctx.log(
        `lcm: recovery: ${result.resumed.length} session(s) resumed, ${result.tornDown.length} torn down, ${result.errors.length} error(s) of ${result.checked} checked`,
      );
    }
    for (const e of result.errors) ctx.log(`lcm: recovery of session ${e.sessionId} failed: ${e.error}`);
    return undefined;
  },
};

/** What EventBridge Scheduler hands a target. */
const scheduledEvent = (region: string, name: string) => ({
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: LOCAL_ACCOUNT_ID,
  time: `${new Date().toISOString().slice(0, 19)}Z`,
  region,
  resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${name}`],
  detail: {},
});

const sleep = (ms: number) =>
  new Promise<void>((resolveSleep) => {
    setTimeout(resolveSleep, ms).unref();
  });

export const defaultServices = (opts: ResolvedOptions): LocalService[] => [
  lambdaEnvironment,
  localMetrics,
  sandboxSettings,
  preloadHandlers,
  opts.dynamodbEndpoint ? existingDynamodb : dynamodbLocal,
  table,
  localAuth,
  eventPartners,
  eventBridge,
  streamPoller,
  sandboxCompute,
  demoData,
  stepFunctions,
  simulators,
  schedules,
  demoWorkers,
  httpApi,
  sessionRecovery,
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
    resources: {},
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
  // The simulators need the API's URL before it listens (it starts last): pick the port now.
  if (opts.port === 0) opts.port = await freePort(opts.host);

  const startupMs: Record<string, number> = {};
  const startedAt = performance.now();
  for (const service of (options.services ?? defaultServices)(opts)) {
    try {
      const t0 = performance.now();
      const started = await service.start(ctx);
      startupMs[service.name] = Math.round(performance.now() - t0);
      if (started) running.push({ name: service.name, service: started });
    } catch (e) {
      await stopAll().catch((stopError) => log(String(stopError)));
      throw new LocalStackStartError(service.name, e);
    }
  }

  startupMs.total = Math.round(performance.now() - startedAt);
  const outputs = {
    ...ctx.outputs,
    /** How long each service took to start (ms). */
    startupMs,
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
    resources: ctx.resources,
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

function freePort(host: string): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolveFree) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolveFree(false));
    server.listen(port, host, () => server.close(() => resolveFree(true)));
  });
}
