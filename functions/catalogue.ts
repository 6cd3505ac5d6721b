import { LIVE_UPDATES_RULE, type OPERATIONS } from '@lcm/shared/api';
import {
  type EventRuleTarget,
  GRADING_RESULTS_TARGET,
  LEARNER_EVENTS_TARGET,
  OUTBOX_CONSUMER,
  type StreamConsumer,
  TRIGGERS_CONSUMER,
} from '@lcm/shared/events';

/**
 * The function catalogue: every Lambda function of LCM, once. The CDK stacks build one function
 * per entry (infra/lib/lambda.ts, `LcmFunction`), granted exactly its needs (infra/lib/grants.ts);
 * the local stack (packages/sandbox) and the workflow tests run the same entries' handlers. This
 * module imports no handler, so CDK and the local stack read it without loading handler code.
 *
 * | kind | built by | wired to |
 * |---|---|---|
 * | `api` | ApiStack | the HTTP API routes of its `group` (packages/shared/src/api/operations.ts) |
 * | `session-task` | WorkflowsStack | the `${substitution}` of statemachines/session-lifecycle.asl.json |
 * | `fleet-task` | FleetStack | the `${substitution}` of the worker-provisioning / worker-drain ASL |
 * | `schedule` | FleetStack | an EventBridge schedule rule (`schedule`) |
 * | `rule-target` | EventsStack | the EventBridge rules of events/rules.ts that target its module |
 * | `stream-consumer` | EventsStack | the table stream, with the filters and batching of `stream` |
 * | `websocket` | WebSocketStack | the WebSocket API's `route` ($connect, $disconnect, messages) or the live-updates rule |
 */

/**
 * What a function talks to. Each need brings the environment variables listed here and, in CDK,
 * exactly the grant infra/lib/grants.ts defines for it (the one place needs become IAM).
 * Variables marked optional are set only when the deployment configures the integration.
 */
export const NEEDS = {
  'table-read': { env: ['TABLE_NAME'], summary: 'reads the table and its indexes' },
  'table-write': { env: ['TABLE_NAME'], summary: 'reads and writes the table and its indexes' },
  cml: {
    env: ['LCM_CML_SECRET_ID'],
    summary: 'calls the workers’ CML API: the CML credentials secret, the CML subnets when configured',
  },
  'cml-license': { env: ['LCM_CML_LICENSE_SECRET_ID'], summary: 'reads the CML licence token secret' },
  lds: {
    env: ['LCM_LDS_BASE_URL', 'LCM_LDS_API_KEY_SECRET_ID'],
    optionalEnv: ['LCM_LDS_BASE_URL', 'LCM_LDS_API_KEY_SECRET_ID'],
    summary: 'calls LDS: its URL and API key secret (when `ldsBaseUrl` is configured)',
  },
  booking: {
    env: ['LCM_BOOKING_REQUIRE_DELIVERABLE'],
    optionalEnv: ['LCM_BOOKING_REQUIRE_DELIVERABLE'],
    summary:
      'books sessions: with LDS configured (`ldsBaseUrl`) and no `booking.requireDeliverable` setting, refuses a definition LDS cannot deliver',
  },
  grading: {
    env: ['LCM_GRADING_BASE_URL', 'LCM_GRADING_API_KEY_SECRET_ID'],
    optionalEnv: ['LCM_GRADING_BASE_URL', 'LCM_GRADING_API_KEY_SECRET_ID'],
    summary: 'calls the Grading Engine: its URL and API key secret (when `gradingBaseUrl` is configured)',
  },
  'evidence-read': { env: ['EVIDENCE_BUCKET'], summary: 'reads and lists the evidence bucket' },
  'evidence-write': { env: ['EVIDENCE_BUCKET'], summary: 'writes objects to the evidence bucket' },
  'topology-read': {
    env: ['EVIDENCE_BUCKET'],
    summary:
      'reads topologies by hash (`topologies/` of the evidence bucket) and hands out pre-signed GET URLs',
  },
  'topology-write': {
    env: ['EVIDENCE_BUCKET'],
    summary: 'stores topologies by hash (`topologies/` of the evidence bucket)',
  },
  uploads: {
    env: ['EVIDENCE_BUCKET'],
    summary: 'hands out pre-signed PUT URLs for `uploads/` of the evidence bucket and reads the uploads',
  },
  'stream-failures': {
    env: ['LCM_STREAM_FAILURE_CONSUMERS'],
    summary:
      'lists and replays the stream consumers’ failures: receives and deletes their on-failure queues’ messages, reads the table stream, invokes the consumer functions',
  },
  'content-read': { env: [], summary: 'reads content packages from the buckets named in `contentBuckets`' },
  'session-engine': {
    env: ['WORKFLOW_ENGINE', 'SESSION_STATE_MACHINE_ARN'],
    summary: 'builds the session workflow engine (no permission by itself)',
  },
  'fleet-engine': {
    env: [
      'WORKFLOW_ENGINE',
      'SESSION_STATE_MACHINE_ARN',
      'WORKER_PROVISIONING_STATE_MACHINE_ARN',
      'WORKER_DRAIN_STATE_MACHINE_ARN',
    ],
    summary: 'builds the fleet and session workflow engines (no permission by itself)',
  },
  'task-tokens': {
    env: ['WORKFLOW_ENGINE', 'SESSION_STATE_MACHINE_ARN'],
    summary: 'resolves and fails the session workflow’s task tokens',
  },
  'session-workflow': {
    env: ['WORKFLOW_ENGINE', 'SESSION_STATE_MACHINE_ARN'],
    summary: 'starts session workflow executions, describes and stops them',
  },
  'fleet-workflows': {
    env: ['WORKFLOW_ENGINE', 'WORKER_PROVISIONING_STATE_MACHINE_ARN', 'WORKER_DRAIN_STATE_MACHINE_ARN'],
    summary: 'starts worker provisioning and drain executions',
  },
  'workflow-status': {
    env: [
      'WORKFLOW_ENGINE',
      'SESSION_STATE_MACHINE_ARN',
      'WORKER_PROVISIONING_STATE_MACHINE_ARN',
      'WORKER_DRAIN_STATE_MACHINE_ARN',
    ],
    summary: 'describes the executions of the three state machines',
  },
  bus: { env: ['EVENT_BUS_NAME'], summary: 'publishes to the LCM event bus' },
  'event-partners': {
    env: ['LCM_EVENT_PARTNERS_SECRET_ID'],
    summary: 'reads the partner registry secret (HMAC keys of POST /v1/events)',
  },
  'ec2-read': {
    env: ['LCM_WORKER_AMI_OWNERS'],
    optionalEnv: ['LCM_WORKER_AMI_OWNERS'],
    summary: 'describes instances and images (AMI owners when `workerAmiOwners` is configured)',
  },
  'ec2-instance-types': {
    env: [],
    summary:
      'describes EC2 instance types (a template’s type must be able to run CML: bare metal or nested virtualisation)',
  },
  'ec2-launch': {
    env: [
      'LCM_WORKER_INSTANCE_PROFILE',
      'LCM_WORKER_SUBNET_IDS',
      'LCM_WORKER_SECURITY_GROUP_IDS',
      'LCM_WORKER_KEY_NAME',
    ],
    optionalEnv: ['LCM_WORKER_SUBNET_IDS', 'LCM_WORKER_SECURITY_GROUP_IDS', 'LCM_WORKER_KEY_NAME'],
    summary: 'launches tagged worker instances with the worker instance profile',
  },
  'ec2-start': { env: [], summary: 'starts instances tagged as this stage’s workers' },
  'ec2-stop': { env: [], summary: 'stops instances tagged as this stage’s workers' },
  'ec2-terminate': { env: [], summary: 'terminates instances tagged as this stage’s workers' },
  cloudwatch: { env: [], summary: 'reads the workers’ CloudWatch metrics' },
  'ws-verify': {
    env: ['LCM_JWT_ISSUER', 'LCM_JWT_AUDIENCES'],
    summary:
      'checks access tokens as the HTTP API’s JWT authorizer does: its issuer and audiences (no permission)',
  },
  'ws-post': {
    env: ['LCM_WS_ENDPOINT'],
    summary: 'posts to the WebSocket API’s connections (management API) and learns which are gone',
  },
} as const satisfies Record<
  string,
  { readonly env: readonly string[]; readonly optionalEnv?: readonly string[]; readonly summary: string }
>;

export type Need = keyof typeof NEEDS;
/** Every need, in the order of NEEDS. */
export const NEED_NAMES = Object.keys(NEEDS) as Need[];

/** The state machines of LCM: `key` names the machine, `asl` its definition file. */
export const STATE_MACHINE_FILES = {
  'session-lifecycle': 'statemachines/session-lifecycle.asl.json',
  'worker-provisioning': 'statemachines/worker-provisioning.asl.json',
  'worker-drain': 'statemachines/worker-drain.asl.json',
} as const;
export type StateMachineKey = keyof typeof STATE_MACHINE_FILES;

/**
 * Per kind: the function name's prefix (`lcm-<stage>-<prefix><name>`), POWERTOOLS_SERVICE_NAME,
 * the needs every function of the kind has whatever its own (the environment its runtime reads),
 * and a label for descriptions.
 */
export const FUNCTION_KINDS = {
  api: {
    prefix: 'api-',
    serviceName: 'lcm-api',
    needs: [],
    label: 'API',
    // Issue 12, item 7: a flood on the API cannot take the account's whole pool, nor be starved by it.
    reservedConcurrency: 20,
  },
  'session-task': {
    prefix: 'task-',
    serviceName: 'lcm-session-workflow',
    needs: ['session-engine'],
    label: 'session workflow',
  },
  'fleet-task': {
    prefix: 'task-',
    serviceName: 'lcm-fleet',
    needs: ['fleet-engine'],
    label: 'fleet workflow',
  },
  schedule: { prefix: 'schedule-', serviceName: 'lcm-fleet', needs: ['fleet-engine'], label: 'schedule' },
  'rule-target': { prefix: '', serviceName: 'lcm-events', needs: [], label: 'rule target' },
  'stream-consumer': {
    prefix: 'stream-',
    serviceName: 'lcm-events',
    needs: [],
    label: 'table stream',
    // One invocation per stream shard at a time (no parallelization factor): room for 10 shards.
    reservedConcurrency: 10,
  },
  websocket: { prefix: 'ws-', serviceName: 'lcm-live', needs: [], label: 'WebSocket' },
} as const satisfies Record<
  string,
  {
    prefix: string;
    serviceName: string;
    needs: readonly Need[];
    label: string;
    /** Reserved concurrency of every function of the kind (a spec may say otherwise). */
    reservedConcurrency?: number;
  }
>;
export type FunctionKind = keyof typeof FUNCTION_KINDS;

export const DEFAULT_MEMORY_MB = 512;

interface FunctionSpecBase {
  readonly kind: FunctionKind;
  /** Unique within its kind; the function is `lcm-<stage>-<kind prefix><name>` (functionNameOf). */
  readonly name: string;
  /** Handler module, relative to the repository root; exports `handler`. */
  readonly entry: string;
  /** Lambda timeout; a Task state's TimeoutSeconds is at least this plus a margin (test/infra). */
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly description: string;
  /** What it talks to, besides its kind's needs (FUNCTION_KINDS); see NEEDS. */
  readonly needs: readonly Need[];
  /** Reserved concurrency, instead of its kind's (reservedConcurrencyOf). */
  readonly reservedConcurrency?: number;
}

/** The route group of an operation (functions/api/<group>.ts). */
export type ApiGroup = (typeof OPERATIONS)[number]['group'];

/** One Lambda per route group; its table need must match its operations (checked by the API stack). */
export interface ApiFunctionSpec extends FunctionSpecBase {
  readonly kind: 'api';
  readonly group: ApiGroup;
}

export interface TaskFunctionSpec extends FunctionSpecBase {
  readonly kind: 'session-task' | 'fleet-task';
  readonly stateMachine: StateMachineKey;
  /** The `${…}` substitution of the ASL that holds the function's ARN (substitutionFor its handler). */
  readonly substitution: string;
}

export interface ScheduleFunctionSpec extends FunctionSpecBase {
  readonly kind: 'schedule';
  /** EventBridge schedule expression. */
  readonly schedule: string;
  /** The same period in seconds (local timers). */
  readonly everySeconds: number;
  /** One run at a time (reserved concurrency 1): runs are also serialised by the scaler state. */
  readonly singleton: boolean;
}

export interface RuleTargetFunctionSpec extends FunctionSpecBase {
  readonly kind: 'rule-target';
  /** The target the rules of events/rules.ts name (module = entry, function = name). */
  readonly target: EventRuleTarget;
}

export interface StreamConsumerFunctionSpec extends FunctionSpecBase {
  readonly kind: 'stream-consumer';
  /** Filters, batching and retries of its event source mapping (events/streams.ts). */
  readonly stream: StreamConsumer;
}

/** The WebSocket API's routes and the live-updates broadcaster (api/live.ts). */
export interface WebSocketFunctionSpec extends FunctionSpecBase {
  readonly kind: 'websocket';
  /** `$connect`, `$disconnect`, the message routes, or `rule` (LIVE_UPDATES_RULE's target). */
  readonly routes: readonly string[];
}

export type FunctionSpec =
  | WebSocketFunctionSpec
  | ApiFunctionSpec
  | TaskFunctionSpec
  | ScheduleFunctionSpec
  | RuleTargetFunctionSpec
  | StreamConsumerFunctionSpec;

/** Below HTTP API's 30 s integration limit, so a slow handler times out in Lambda, visibly. */
export const API_TIMEOUT_SECONDS = 10;

type Defaulted<S extends FunctionSpec> = Omit<S, 'kind' | 'memoryMb' | 'entry' | 'name'> &
  Partial<Pick<S, 'memoryMb'>>;

const api = (group: ApiGroup, s: Omit<Defaulted<ApiFunctionSpec>, 'group' | 'timeoutSeconds'>) =>
  ({
    kind: 'api',
    name: group,
    group,
    entry: `functions/api/${group}.ts`,
    timeoutSeconds: API_TIMEOUT_SECONDS,
    memoryMb: DEFAULT_MEMORY_MB,
    ...s,
  }) satisfies ApiFunctionSpec;

type TaskOptions = Omit<Defaulted<TaskFunctionSpec>, 'stateMachine' | 'substitution'>;

/** `import-lab` → `ImportLabFunctionArn`: the ASL names a task's function after its handler. */
export const substitutionFor = (handler: string): string =>
  `${handler.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase())}FunctionArn`;

const task = (
  kind: TaskFunctionSpec['kind'],
  stateMachine: StateMachineKey,
  handler: string,
  name: string,
  entry: string,
  s: TaskOptions,
): TaskFunctionSpec => ({
  kind,
  stateMachine,
  name,
  entry,
  substitution: substitutionFor(handler),
  memoryMb: DEFAULT_MEMORY_MB,
  ...s,
});

const sessionTask = (handler: string, s: TaskOptions) =>
  task('session-task', 'session-lifecycle', handler, handler, `functions/tasks/${handler}.ts`, s);

/** Fleet tasks are named `fleet-<handler>` (functions/tasks/fleet/<handler>.ts). */
const fleetTask =
  (stateMachine: 'worker-provisioning' | 'worker-drain') => (handler: string, s: TaskOptions) =>
    task('fleet-task', stateMachine, handler, `fleet-${handler}`, `functions/tasks/fleet/${handler}.ts`, s);
const provisioningTask = fleetTask('worker-provisioning');
const drainTask = fleetTask('worker-drain');

const schedule = (name: string, s: Defaulted<ScheduleFunctionSpec>): ScheduleFunctionSpec => ({
  kind: 'schedule',
  name,
  entry: `functions/schedules/${name}.ts`,
  memoryMb: DEFAULT_MEMORY_MB,
  ...s,
});

const ruleTarget = (
  target: EventRuleTarget,
  s: Omit<Defaulted<RuleTargetFunctionSpec>, 'target'>,
): RuleTargetFunctionSpec => ({
  kind: 'rule-target',
  name: target.function,
  entry: target.module,
  target,
  memoryMb: DEFAULT_MEMORY_MB,
  ...s,
});

const streamConsumer = (
  stream: StreamConsumer,
  s: Omit<Defaulted<StreamConsumerFunctionSpec>, 'stream'>,
): StreamConsumerFunctionSpec => ({
  kind: 'stream-consumer',
  name: stream.name,
  entry: stream.module,
  stream,
  memoryMb: DEFAULT_MEMORY_MB,
  ...s,
});

/**
 * The HTTP API: one function per route group, in the order of the operation catalogue. Read-only
 * groups (every operation a `:read` permission or public, none idempotent) get `table-read`.
 */
export const API_FUNCTIONS: readonly ApiFunctionSpec[] = [
  api('health', { needs: ['table-read'], description: 'Liveness and the OpenAPI document (public)' }),
  api('templates', {
    // ec2-instance-types: create and update check the instance type (DescribeInstanceTypes).
    needs: ['table-write', 'ec2-instance-types'],
    description: 'Worker templates: list, create, read, update, disable, delete',
  }),
  api('workers', {
    needs: ['table-write', 'fleet-workflows'],
    description:
      'Workers: create from a template, start / stop / drain / terminate (starts the worker workflows), sessions, capacity, ports',
  }),
  api('definitions', {
    // Topologies by hash and pre-signed uploads in the evidence bucket (issue 11, item 1).
    needs: ['table-write', 'topology-read', 'topology-write', 'uploads'],
    description: 'Lab definitions: versions, deprecate, archive, observations, apply-observed, content sync',
  }),
  api('sessions', {
    // The busiest group: bookings, the portal's reads and polls, terminate and finish.
    reservedConcurrency: 50,
    needs: ['table-write', 'session-workflow', 'task-tokens', 'grading', 'booking'],
    description:
      'Sessions: book (starts the session workflow), list, read, terminate, finish, observe, history, force-release, re-grade (calls the Grading Engine); reservations',
  }),
  api('fleet', {
    needs: ['table-read'],
    description: 'Fleet capacity, the scaling audit trail, cost and usage over a window',
  }),
  api('streams', {
    // Operators only, seldom called: a small reserve of its own.
    reservedConcurrency: 2,
    needs: ['table-write', 'stream-failures'],
    description:
      'Stream failures: records the table-stream consumers gave up on, listed and replayed (issue 11, item 5)',
  }),
  api('events', {
    needs: ['table-read', 'bus', 'event-partners'],
    description: 'POST /v1/events: partners’ signed CloudEvents onto the bus',
  }),
];

/** The function of a route group (throws for a group without one). */
export const apiFunctionOf = (group: string): ApiFunctionSpec => {
  const spec = API_FUNCTIONS.find((f) => f.group === group);
  if (!spec) throw new Error(`No function for route group "${group}" in functions/catalogue.ts`);
  return spec;
};

/** The session-lifecycle workflow's tasks (statemachines/session-lifecycle.asl.json). */
export const SESSION_TASKS: readonly TaskFunctionSpec[] = [
  sessionTask('place-session', {
    timeoutSeconds: 60,
    needs: ['table-write'],
    description: 'Place the session on a worker (or say when to try again)',
  }),
  sessionTask('check-schedule', {
    timeoutSeconds: 30,
    needs: ['table-write'],
    description: 'Whether it is time to instantiate (sees a termination while waiting)',
  }),
  sessionTask('import-lab', {
    timeoutSeconds: 120,
    // Reads the topology from the content bucket by hash (issue 11, item 1).
    needs: ['table-write', 'cml', 'evidence-read'],
    memoryMb: 1024,
    description: 'Import the topology with the allocated ports and start the lab',
  }),
  sessionTask('check-lab-booted', {
    timeoutSeconds: 30,
    needs: ['table-write', 'cml'],
    description: 'Whether the lab has converged',
  }),
  sessionTask('provision-lds', {
    timeoutSeconds: 60,
    needs: ['table-write', 'lds'],
    description: 'Provision the LDS session with its devices; READY',
  }),
  sessionTask('register-wait', {
    timeoutSeconds: 30,
    needs: ['table-write', 'task-tokens'],
    description: 'Store the task token of a LOGIN/END/GRADING wait on the session',
  }),
  sessionTask('mark-running', {
    timeoutSeconds: 30,
    needs: ['table-write'],
    description: 'READY → RUNNING after the login',
  }),
  sessionTask('check-timeslot-end', {
    timeoutSeconds: 30,
    needs: ['table-read'],
    description: 'After a LOGIN/END wait timed out: whether the timeslot was extended (wait again)',
  }),
  sessionTask('collect-evidence', {
    timeoutSeconds: 300,
    needs: ['table-write', 'cml', 'evidence-write'],
    description: 'RUNNING → COLLECTING; device configurations to the evidence store',
  }),
  sessionTask('observe-lab', {
    timeoutSeconds: 120,
    needs: ['table-write', 'cml'],
    description: 'Resource observation of the running lab with port drift',
  }),
  sessionTask('submit-grading', {
    timeoutSeconds: 60,
    needs: ['table-write', 'grading'],
    description: 'COLLECTING → GRADING; submit the evidence to the Grading Engine',
  }),
  sessionTask('begin-teardown', {
    timeoutSeconds: 30,
    needs: ['table-write'],
    description: 'Record the failure reason; STOPPING',
  }),
  sessionTask('delete-lab', {
    timeoutSeconds: 120,
    needs: ['table-write', 'cml'],
    description: 'Stop, wipe and delete the CML lab',
  }),
  sessionTask('release-capacity', {
    timeoutSeconds: 30,
    needs: ['table-write'],
    description: 'Release capacity and port leases; STOPPED',
  }),
  sessionTask('archive-lds-session', {
    timeoutSeconds: 60,
    needs: ['table-write', 'lds'],
    description: 'Archive the LDS session; ARCHIVED',
  }),
  sessionTask('complete-teardown', {
    timeoutSeconds: 30,
    needs: ['table-write'],
    description: 'TERMINATED, once everything is released',
  }),
];

/** The worker-provisioning workflow's tasks (statemachines/worker-provisioning.asl.json). */
export const PROVISIONING_TASKS: readonly TaskFunctionSpec[] = [
  provisioningTask('prepare-provisioning', {
    timeoutSeconds: 30,
    needs: ['table-write'],
    description: 'Read the worker: LAUNCH, START or nothing to do',
  }),
  provisioningTask('resolve-image', {
    timeoutSeconds: 30,
    needs: ['table-write', 'ec2-read'],
    description: 'The template’s AMI: explicit id, or the newest image matching its name pattern',
  }),
  provisioningTask('launch-instance', {
    timeoutSeconds: 60,
    // ec2-terminate: an instance launched but not recorded on the worker is terminated again.
    needs: ['table-write', 'ec2-read', 'ec2-launch', 'ec2-terminate'],
    description: 'RunInstances (ClientToken = worker id, tags, network, profile, user data); PROVISIONING',
  }),
  provisioningTask('start-instance', {
    timeoutSeconds: 30,
    // Starts only: this role cannot stop or terminate (issue 12, item 7).
    needs: ['table-write', 'ec2-read', 'ec2-start'],
    description: 'StartInstances for a stopped worker (already STARTING)',
  }),
  provisioningTask('check-instance', {
    timeoutSeconds: 30,
    needs: ['table-write', 'ec2-read'],
    description: 'Whether the instance runs with an IP; STARTING with ipAddress and cmlBaseUrl',
  }),
  provisioningTask('check-cml', {
    timeoutSeconds: 30,
    needs: ['table-write', 'cml'],
    description: 'Whether CML system_information reports ready (bounded by boot minutes + margin)',
  }),
  provisioningTask('register-license', {
    timeoutSeconds: 60,
    needs: ['table-write', 'cml', 'cml-license'],
    description: 'CML licensing as the template asks',
  }),
  provisioningTask('mark-worker-running', {
    timeoutSeconds: 30,
    needs: ['table-write'],
    description: 'STARTING -> RUNNING',
  }),
  provisioningTask('fail-provisioning', {
    timeoutSeconds: 60,
    needs: ['table-write', 'ec2-read', 'ec2-terminate'],
    description:
      'Terminate every instance of the worker; FAILED (or TERMINATED when its termination was requested)',
  }),
];

/** The worker-drain workflow's tasks (statemachines/worker-drain.asl.json). */
export const DRAIN_TASKS: readonly TaskFunctionSpec[] = [
  drainTask('drain-step', {
    timeoutSeconds: 60,
    needs: ['table-write', 'ec2-read', 'ec2-stop', 'ec2-terminate', 'task-tokens'],
    description: 'One step of a drain: wait for sessions, stop or terminate, STOPPED / TERMINATED',
  }),
  drainTask('fail-drain', {
    timeoutSeconds: 60,
    needs: ['table-write', 'ec2-read', 'ec2-terminate'],
    description: 'A drain that failed: FAILED and the instance terminated, unless sessions remain',
  }),
];

/** The scalers and sweeps (DESIGN §7): EventBridge schedule rules in AWS, timers locally. */
export const FLEET_SCHEDULES: readonly ScheduleFunctionSpec[] = [
  schedule('scale-up', {
    schedule: 'rate(1 minute)',
    everySeconds: 60,
    timeoutSeconds: 55,
    singleton: true,
    needs: ['table-write', 'fleet-workflows', 'workflow-status'],
    description: 'Scale-up: launch or start workers for sessions waiting or starting within the look-ahead',
  }),
  schedule('scale-down', {
    schedule: 'rate(5 minutes)',
    everySeconds: 300,
    timeoutSeconds: 120,
    singleton: true,
    needs: ['table-write', 'fleet-workflows', 'workflow-status'],
    description: 'Scale-down: drain idle workers (stop as warm capacity or terminate)',
  }),
  schedule('health-sweep', {
    schedule: 'rate(5 minutes)',
    everySeconds: 300,
    timeoutSeconds: 240,
    singleton: true,
    needs: [
      'table-write',
      'ec2-read',
      'ec2-terminate',
      'cloudwatch',
      'cml',
      'fleet-workflows',
      'workflow-status',
      'task-tokens',
    ],
    description: 'Reconcile workers with EC2; CML health, stats and CloudWatch CPU; lost workers FAILED',
  }),
  schedule('stuck-sessions', {
    schedule: 'rate(5 minutes)',
    everySeconds: 300,
    timeoutSeconds: 240,
    singleton: true,
    needs: [
      'table-write',
      'fleet-workflows',
      'workflow-status',
      'session-workflow',
      'cml',
      'lds',
      'task-tokens',
    ],
    description:
      'Sessions whose workflow execution is no longer running: re-driven from their stored state, or torn down',
  }),
  schedule('idle-sessions', {
    schedule: 'rate(1 minute)',
    everySeconds: 60,
    timeoutSeconds: 55,
    singleton: true,
    needs: ['table-write', 'task-tokens'],
    description:
      'Idle auto-finish: learners paused past their definition idle limit are warned, then finished',
  }),
  schedule('pool-reconcile', {
    schedule: 'rate(1 minute)',
    everySeconds: 60,
    timeoutSeconds: 55,
    singleton: true,
    needs: ['table-write', 'cml'],
    description:
      'Hot-start pools: keep warmPoolDepth converged labs of each definition version, refill, trim, drain and empty them',
  }),
];

/** The targets of the EventBridge rules (events/rules.ts): they resolve the session's waits. */
export const RULE_TARGETS: readonly RuleTargetFunctionSpec[] = [
  ruleTarget(LEARNER_EVENTS_TARGET, {
    timeoutSeconds: 30,
    needs: ['table-write', 'task-tokens'],
    description: 'LDS learner events (running, paused, ended): resolves the LOGIN and END waits',
  }),
  ruleTarget(GRADING_RESULTS_TARGET, {
    timeoutSeconds: 30,
    needs: ['table-write', 'task-tokens'],
    description: 'Grading results: records the score, resolves the GRADING wait',
  }),
];

/** The table-stream consumers (events/streams.ts); reading the stream comes with the mapping. */
export const STREAM_FUNCTIONS: readonly StreamConsumerFunctionSpec[] = [
  streamConsumer(OUTBOX_CONSUMER, {
    timeoutSeconds: 60,
    needs: ['table-read', 'bus'],
    description: 'Transactional outbox: one CloudEvent per domain change onto the bus',
  }),
  streamConsumer(TRIGGERS_CONSUMER, {
    timeoutSeconds: 60,
    // Content sync stores the package's topology by hash (issue 11, item 1).
    needs: ['table-write', 'cml', 'content-read', 'topology-read', 'topology-write'],
    description: 'Stream-triggered work: content sync of definitions, manual observations of sessions',
  }),
];

const websocket = (
  name: string,
  routes: readonly string[],
  s: Omit<Defaulted<WebSocketFunctionSpec>, 'routes'>,
) =>
  ({
    kind: 'websocket',
    name,
    entry: `functions/websocket/${name}.ts`,
    routes,
    memoryMb: DEFAULT_MEMORY_MB,
    ...s,
  }) satisfies WebSocketFunctionSpec;

/** The route of WEBSOCKET_FUNCTIONS that is the live-updates rule's target, not a WebSocket route. */
export const LIVE_RULE_ROUTE = 'rule';

/** Live updates (issue 14, item 3): the WebSocket API's routes and the broadcaster. */
export const WEBSOCKET_FUNCTIONS: readonly WebSocketFunctionSpec[] = [
  websocket('connect', ['$connect'], {
    timeoutSeconds: 10,
    needs: ['table-write', 'ws-verify'],
    description: 'WebSocket $connect: checks the access token (?token=), stores the connection',
  }),
  websocket('disconnect', ['$disconnect'], {
    timeoutSeconds: 10,
    needs: ['table-write'],
    description: 'WebSocket $disconnect: removes the connection and its subscriptions',
  }),
  websocket('message', ['subscribe', 'unsubscribe', '$default'], {
    timeoutSeconds: 10,
    needs: ['table-write', 'ws-post'],
    description: 'WebSocket subscribe / unsubscribe: topic, role and tenancy checks, the reply',
  }),
  websocket(LIVE_UPDATES_RULE.target.function, [LIVE_RULE_ROUTE], {
    timeoutSeconds: 30,
    needs: ['table-write', 'ws-post'],
    description: "Live updates: LCM's outbound CloudEvents to the subscribed connections, gone ones removed",
  }),
];

/** Every Lambda function of LCM. */
export const FUNCTIONS: readonly FunctionSpec[] = [
  ...API_FUNCTIONS,
  ...SESSION_TASKS,
  ...PROVISIONING_TASKS,
  ...DRAIN_TASKS,
  ...FLEET_SCHEDULES,
  ...RULE_TARGETS,
  ...STREAM_FUNCTIONS,
  ...WEBSOCKET_FUNCTIONS,
];

/** The state machines with their ASL file and tasks, in the order of STATE_MACHINE_FILES. */
export interface StateMachineSpec {
  readonly key: StateMachineKey;
  readonly asl: string;
  readonly tasks: readonly TaskFunctionSpec[];
}

const machine = (key: StateMachineKey, tasks: readonly TaskFunctionSpec[]): StateMachineSpec => ({
  key,
  asl: STATE_MACHINE_FILES[key],
  tasks,
});

export const SESSION_STATE_MACHINE = machine('session-lifecycle', SESSION_TASKS);
export const SESSION_LIFECYCLE_ASL = SESSION_STATE_MACHINE.asl;
export const WORKER_PROVISIONING_ASL = STATE_MACHINE_FILES['worker-provisioning'];
export const WORKER_DRAIN_ASL = STATE_MACHINE_FILES['worker-drain'];
/** The fleet state machines and their tasks. */
export const FLEET_STATE_MACHINES: readonly StateMachineSpec[] = [
  machine('worker-provisioning', PROVISIONING_TASKS),
  machine('worker-drain', DRAIN_TASKS),
];
export const STATE_MACHINES: readonly StateMachineSpec[] = [SESSION_STATE_MACHINE, ...FLEET_STATE_MACHINES];

/** `<kind prefix><name>`: unique over the catalogue (`lcm-<stage>-` + this is the function name). */
export const functionSuffixOf = (spec: Pick<FunctionSpec, 'kind' | 'name'>): string =>
  `${FUNCTION_KINDS[spec.kind].prefix}${spec.name}`;

/** `lcm-<stage>-<kind prefix><name>`, e.g. `lcm-prod-task-place-session`, `lcm-prod-api-sessions`. */
export const functionNameOf = (stage: string, spec: Pick<FunctionSpec, 'kind' | 'name'>): string =>
  `lcm-${stage}-${functionSuffixOf(spec)}`;

/**
 * The reserved concurrency of a function (CDK sets it; issue 12, item 7): the spec's own, else 1
 * for a singleton schedule (one run at a time), else its kind's (the API and stream functions);
 * undefined: the account's unreserved pool.
 */
export const reservedConcurrencyOf = (spec: FunctionSpec): number | undefined =>
  spec.reservedConcurrency ??
  (spec.kind === 'schedule' && spec.singleton ? 1 : undefined) ??
  (FUNCTION_KINDS[spec.kind] as { readonly reservedConcurrency?: number }).reservedConcurrency;

/** The function's needs with its kind's, each once, in the order of NEEDS. */
export const needsOf = (spec: Pick<FunctionSpec, 'kind' | 'needs'>): Need[] => {
  const all = new Set<Need>([...FUNCTION_KINDS[spec.kind].needs, ...spec.needs]);
  return NEED_NAMES.filter((n) => all.has(n));
};

/** The variables of a need that are set only when the deployment configures its integration. */
export const optionalEnvOf = (need: Need): readonly string[] =>
  (NEEDS[need] as { readonly optionalEnv?: readonly string[] }).optionalEnv ?? [];

/** The environment variables the function's needs bring (optional ones included), sorted. */
export const environmentOf = (spec: Pick<FunctionSpec, 'kind' | 'needs'>): string[] =>
  [...new Set(needsOf(spec).flatMap((n): readonly string[] => NEEDS[n].env))].sort();
