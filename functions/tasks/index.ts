/**
 * The session-lifecycle workflow's Lambda tasks: the ONE list the CDK workflows stack (one
 * NodejsFunction per entry, its ARN passed as the ASL substitution `substitution`) and the
 * local Step Functions endpoint (packages/sandbox/src/stepfunctions, which invokes `entry`'s
 * `handler` in-process for every Task state whose FunctionName is `${substitution}`) both read.
 * This module imports no handler, so CDK can read it without loading the handlers' code.
 */

/** What a task's function talks to: the CDK stack grants exactly these. */
export type TaskNeed =
  | 'table'
  | 'cml'
  | 'lds'
  | 'grading'
  | 'evidence-read'
  | 'evidence-write'
  /** states:SendTaskSuccess/SendTaskFailure on the session state machine. */
  | 'task-tokens';

export interface WorkflowTask {
  /** Short name, also the function's name suffix (`lcm-<stage>-task-<name>`). */
  readonly name: string;
  /** The `${…}` substitution in the ASL that holds the function's ARN. */
  readonly substitution: string;
  /** Handler module, relative to the repository root; exports `handler`. */
  readonly entry: string;
  /** Lambda timeout (the state's TimeoutSeconds is at least this). */
  readonly timeoutSeconds: number;
  readonly needs: readonly TaskNeed[];
  readonly description: string;
}

/** The ASL of the session workflow, relative to the repository root. */
export const SESSION_LIFECYCLE_ASL = 'statemachines/session-lifecycle.asl.json';

export const SESSION_TASKS: readonly WorkflowTask[] = [
  {
    name: 'place-session',
    substitution: 'PlaceSessionFunctionArn',
    entry: 'functions/tasks/place-session.ts',
    timeoutSeconds: 60,
    needs: ['table'],
    description: 'Place the session on a worker (or say when to try again)',
  },
  {
    name: 'check-schedule',
    substitution: 'CheckScheduleFunctionArn',
    entry: 'functions/tasks/check-schedule.ts',
    timeoutSeconds: 30,
    needs: ['table'],
    description: 'Whether it is time to instantiate (sees a termination while waiting)',
  },
  {
    name: 'import-lab',
    substitution: 'ImportLabFunctionArn',
    entry: 'functions/tasks/import-lab.ts',
    timeoutSeconds: 120,
    needs: ['table', 'cml'],
    description: 'Import the topology with the allocated ports and start the lab',
  },
  {
    name: 'check-lab-booted',
    substitution: 'CheckLabBootedFunctionArn',
    entry: 'functions/tasks/check-lab-booted.ts',
    timeoutSeconds: 30,
    needs: ['table', 'cml'],
    description: 'Whether the lab has converged',
  },
  {
    name: 'provision-lds',
    substitution: 'ProvisionLdsFunctionArn',
    entry: 'functions/tasks/provision-lds.ts',
    timeoutSeconds: 60,
    needs: ['table', 'lds'],
    description: 'Provision the LDS session with its devices; READY',
  },
  {
    name: 'register-wait',
    substitution: 'RegisterWaitFunctionArn',
    entry: 'functions/tasks/register-wait.ts',
    timeoutSeconds: 30,
    needs: ['table', 'task-tokens'],
    description: 'Store the task token of a LOGIN/END/GRADING wait on the session',
  },
  {
    name: 'mark-running',
    substitution: 'MarkRunningFunctionArn',
    entry: 'functions/tasks/mark-running.ts',
    timeoutSeconds: 30,
    needs: ['table'],
    description: 'READY → RUNNING after the login',
  },
  {
    name: 'collect-evidence',
    substitution: 'CollectEvidenceFunctionArn',
    entry: 'functions/tasks/collect-evidence.ts',
    timeoutSeconds: 300,
    needs: ['table', 'cml', 'evidence-write'],
    description: 'RUNNING → COLLECTING; device configurations to the evidence store',
  },
  {
    name: 'observe-lab',
    substitution: 'ObserveLabFunctionArn',
    entry: 'functions/tasks/observe-lab.ts',
    timeoutSeconds: 120,
    needs: ['table', 'cml'],
    description: 'Resource observation of the running lab with port drift',
  },
  {
    name: 'submit-grading',
    substitution: 'SubmitGradingFunctionArn',
    entry: 'functions/tasks/submit-grading.ts',
    timeoutSeconds: 60,
    needs: ['table', 'grading'],
    description: 'COLLECTING → GRADING; submit the evidence to the Grading Engine',
  },
  {
    name: 'begin-teardown',
    substitution: 'BeginTeardownFunctionArn',
    entry: 'functions/tasks/begin-teardown.ts',
    timeoutSeconds: 30,
    needs: ['table'],
    description: 'Record the failure reason; STOPPING',
  },
  {
    name: 'delete-lab',
    substitution: 'DeleteLabFunctionArn',
    entry: 'functions/tasks/delete-lab.ts',
    timeoutSeconds: 120,
    needs: ['table', 'cml'],
    description: 'Stop, wipe and delete the CML lab',
  },
  {
    name: 'release-capacity',
    substitution: 'ReleaseCapacityFunctionArn',
    entry: 'functions/tasks/release-capacity.ts',
    timeoutSeconds: 30,
    needs: ['table'],
    description: 'Release capacity and port leases; STOPPED',
  },
  {
    name: 'archive-lds-session',
    substitution: 'ArchiveLdsSessionFunctionArn',
    entry: 'functions/tasks/archive-lds-session.ts',
    timeoutSeconds: 60,
    needs: ['table', 'lds'],
    description: 'Archive the LDS session; ARCHIVED',
  },
  {
    name: 'complete-teardown',
    substitution: 'CompleteTeardownFunctionArn',
    entry: 'functions/tasks/complete-teardown.ts',
    timeoutSeconds: 30,
    needs: ['table'],
    description: 'TERMINATED, once everything is released',
  },
];

/** The task whose ARN fills `${substitution}`. */
export const taskBySubstitution = (substitution: string): WorkflowTask | undefined =>
  SESSION_TASKS.find((t) => t.substitution === substitution);
