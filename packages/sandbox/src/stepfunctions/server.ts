import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SESSION_STATE_MACHINE } from '../../../../functions/catalogue.ts';
import type { LambdaHandler } from '../lambda-runtime.ts';
import type { LocalService } from '../local-stack.ts';
import { catalogueStateMachine } from './definitions.ts';
import {
  type ExecutionSnapshot,
  type LocalEngineOptions,
  type LocalStateMachineDefinition,
  LocalStepFunctionsEngine,
  type PendingTask,
  SfnApiError,
} from './engine.ts';

/**
 * A local Step Functions endpoint: the SFN JSON protocol (`POST /`, `X-Amz-Target:
 * AWSStepFunctions.<Operation>`, `application/x-amz-json-1.0`), so the unchanged
 * @aws-sdk/client-sfn — and with it the StepFunctionsWorkflowEngine — works against it through
 * `AWS_ENDPOINT_URL_SFN`. Operations: StartExecution, DescribeExecution, StopExecution,
 * SendTaskSuccess, SendTaskFailure, SendTaskHeartbeat. Executions run in-process (engine.ts).
 * Requests are not authenticated (SigV4 headers are accepted and ignored).
 */

const CONTENT_TYPE = 'application/x-amz-json-1.0';
const MAX_BODY_BYTES = 1024 * 1024;

/** The session lifecycle's name in the local stack. */
export const LOCAL_SESSION_STATE_MACHINE = 'lcm-local-session-lifecycle';

export interface LocalStepFunctionsOptions extends LocalEngineOptions {
  /** Port (default: a free one) and host (default 127.0.0.1). */
  port?: number;
  host?: string;
  /** The state machines served (default: the session lifecycle, `sessionLifecycleStateMachine()`). */
  stateMachines?: LocalStateMachineDefinition[];
}

export interface LocalStepFunctions {
  /** `http://127.0.0.1:<port>`: the value for AWS_ENDPOINT_URL_SFN. */
  endpoint: string;
  port: number;
  /** State machine name → ARN. */
  stateMachineArns: Readonly<Record<string, string>>;
  /** The session lifecycle's ARN (SESSION_STATE_MACHINE_ARN), when it is served. */
  sessionStateMachineArn: string | undefined;
  engine: LocalStepFunctionsEngine;
  executions(): ExecutionSnapshot[];
  pendingTasks(): PendingTask[];
  waitForExecution(executionArn: string, timeoutMs?: number): Promise<ExecutionSnapshot>;
  /** Aborts running executions, closes the server; safe to call twice. */
  stop(): Promise<void>;
}

/**
 * The session-lifecycle state machine as deployed (`catalogueStateMachine` of the catalogue's
 * session machine), named `lcm-local-session-lifecycle` unless `name` says otherwise.
 */
export function sessionLifecycleStateMachine(
  opts: { name?: string; handlers?: Record<string, LambdaHandler> } = {},
): Promise<LocalStateMachineDefinition> {
  return catalogueStateMachine(SESSION_STATE_MACHINE, {
    name: opts.name ?? LOCAL_SESSION_STATE_MACHINE,
    handlers: opts.handlers,
  });
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': CONTENT_TYPE,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': crypto.randomUUID(),
    ...headers,
  });
  res.end(text);
};

const epochSeconds = (d: Date | undefined) => (d ? d.getTime() / 1000 : undefined);

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new SfnApiError('ValidationException', 'request body too large', 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

type Operation = (engine: LocalStepFunctionsEngine, body: Record<string, unknown>) => unknown;

const OPERATIONS: Record<string, Operation> = {
  StartExecution: (engine, b) => {
    const out = engine.startExecution(b);
    return { executionArn: out.executionArn, startDate: epochSeconds(out.startDate) };
  },
  DescribeExecution: (engine, b) => {
    const e = engine.describeExecution(b);
    return {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: epochSeconds(e.startDate),
      ...(e.stopDate ? { stopDate: epochSeconds(e.stopDate) } : {}),
      input: e.input,
      ...(e.output !== undefined ? { output: e.output } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.cause !== undefined ? { cause: e.cause } : {}),
    };
  },
  StopExecution: (engine, b) => ({ stopDate: epochSeconds(engine.stopExecution(b).stopDate) }),
  SendTaskSuccess: (engine, b) => {
    engine.sendTaskSuccess(b);
    return {};
  },
  SendTaskFailure: (engine, b) => {
    engine.sendTaskFailure(b);
    return {};
  },
  SendTaskHeartbeat: (engine, b) => {
    engine.sendTaskHeartbeat(b);
    return {};
  },
};

export async function startLocalStepFunctions(
  opts: LocalStepFunctionsOptions = {},
): Promise<LocalStepFunctions> {
  const engine = new LocalStepFunctionsEngine(opts);
  const stateMachineArns: Record<string, string> = {};
  for (const def of opts.stateMachines ?? [await sessionLifecycleStateMachine()]) {
    stateMachineArns[def.name] = engine.register(def);
  }

  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    void (async () => {
      try {
        if (req.method !== 'POST') throw new SfnApiError('UnknownOperationException', 'POST / only', 404);
        const target = String(req.headers['x-amz-target'] ?? '');
        const [service, operation] = target.split('.');
        const op = service === 'AWSStepFunctions' && operation ? OPERATIONS[operation] : undefined;
        if (!op)
          throw new SfnApiError('UnknownOperationException', `unsupported operation ${target || '(none)'}`);
        const text = await readBody(req);
        let body: Record<string, unknown>;
        try {
          body = text.trim() === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
        } catch {
          throw new SfnApiError('SerializationException', 'request body is not JSON');
        }
        json(res, 200, op(engine, body));
      } catch (e) {
        if (e instanceof SfnApiError) {
          json(
            res,
            e.status,
            { __type: `com.amazonaws.sfn#${e.code}`, message: e.message },
            { 'x-amzn-errortype': e.code },
          );
        } else {
          opts.log?.(`local sfn: internal error: ${e instanceof Error ? e.stack : String(e)}`);
          json(res, 500, { __type: 'com.amazonaws.sfn#InternalFailure', message: 'internal error' });
        }
      }
    })();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host ?? '127.0.0.1';

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    stateMachineArns,
    sessionStateMachineArn: stateMachineArns[LOCAL_SESSION_STATE_MACHINE],
    engine,
    executions: () => engine.executions(),
    pendingTasks: () => engine.pendingTasks(),
    waitForExecution: (arn, timeoutMs) => engine.waitForExecution(arn, timeoutMs),
    stop() {
      stopping ??= (async () => {
        await engine.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
      })();
      return stopping;
    },
  };
}

/**
 * The endpoint as a service of the local stack (local-stack.ts): serves the session lifecycle
 * (plus `opts.stateMachines`, e.g. the worker workflows), and points the handlers at it —
 * AWS_ENDPOINT_URL_SFN, WORKFLOW_ENGINE=stepfunctions, SESSION_STATE_MACHINE_ARN — so the API's
 * session commands start real (local) executions.
 */
export function stepFunctionsService(
  opts: Omit<LocalStepFunctionsOptions, 'stateMachines'> & {
    stateMachines?: () => Promise<LocalStateMachineDefinition[]>;
  } = {},
): LocalService {
  return {
    name: 'Step Functions',
    async start(ctx) {
      const extra = opts.stateMachines ? await opts.stateMachines() : [];
      const sfn = await startLocalStepFunctions({
        ...opts,
        region: ctx.options.region,
        log: (line) => ctx.log(line),
        stateMachines: [await sessionLifecycleStateMachine(), ...extra],
      });
      ctx.setEnv('AWS_ENDPOINT_URL_SFN', sfn.endpoint);
      ctx.setEnv('WORKFLOW_ENGINE', 'stepfunctions');
      ctx.setEnv('SESSION_STATE_MACHINE_ARN', sfn.sessionStateMachineArn);
      ctx.outputs.stepFunctionsEndpoint = sfn.endpoint;
      ctx.outputs.stateMachineArns = sfn.stateMachineArns;
      return sfn;
    },
  };
}
