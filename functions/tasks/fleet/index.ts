/**
 * The fleet workflows' Lambda tasks: the ONE list the CDK workflows stack (one function per
 * entry, its ARN passed as the ASL substitution `substitution`) and the local Step Functions
 * endpoint (packages/sandbox/src/compute/fleet-state-machines.ts, which runs `entry`'s
 * `handler` in-process) both read. Same shape as the session tasks (functions/tasks/index.ts).
 * This module imports no handler, so CDK can read it without loading the handlers' code.
 */

/** What a fleet task's function talks to: the CDK stack grants exactly these. */
export type FleetTaskNeed =
  | 'table'
  /** ec2:DescribeInstances, ec2:DescribeImages. */
  | 'ec2-read'
  /** ec2:RunInstances + ec2:CreateTags (on create, tagged lcm:worker-id), iam:PassRole of the worker profile. */
  | 'ec2-launch'
  /** ec2:StartInstances, StopInstances, TerminateInstances on instances tagged lcm:managed-by. */
  | 'ec2-lifecycle'
  /** cloudwatch:GetMetricData. */
  | 'cloudwatch'
  /** HTTPS to the workers' CML API (VPC access) and the CML credentials secret. */
  | 'cml'
  /** The CML license token secret. */
  | 'license'
  /** The LDS endpoint and API key (a stuck session's teardown archives its LDS session). */
  | 'lds'
  /** states:SendTaskFailure on the session state machine (sessions of a terminated worker). */
  | 'task-tokens'
  /** states:StartExecution/DescribeExecution on the fleet (and session) state machines. */
  | 'workflows';

export interface FleetTask {
  /** Short name, also the function's name suffix (`lcm-<stage>-task-<name>`). */
  readonly name: string;
  /** The `${…}` substitution in the ASL that holds the function's ARN. */
  readonly substitution: string;
  /** Handler module, relative to the repository root; exports `handler`. */
  readonly entry: string;
  readonly timeoutSeconds: number;
  readonly needs: readonly FleetTaskNeed[];
  readonly description: string;
}

export const WORKER_PROVISIONING_ASL = 'statemachines/worker-provisioning.asl.json';
export const WORKER_DRAIN_ASL = 'statemachines/worker-drain.asl.json';

export const PROVISIONING_TASKS: readonly FleetTask[] = [
  {
    name: 'fleet-prepare-provisioning',
    substitution: 'PrepareProvisioningFunctionArn',
    entry: 'functions/tasks/fleet/prepare-provisioning.ts',
    timeoutSeconds: 30,
    needs: ['table'],
    description: 'Read the worker: LAUNCH, START or nothing to do',
  },
  {
    name: 'fleet-resolve-image',
    substitution: 'ResolveImageFunctionArn',
    entry: 'functions/tasks/fleet/resolve-image.ts',
    timeoutSeconds: 30,
    needs: ['table', 'ec2-read'],
    description: 'The template’s AMI: explicit id, or the newest image matching its name pattern',
  },
  {
    name: 'fleet-launch-instance',
    substitution: 'LaunchInstanceFunctionArn',
    entry: 'functions/tasks/fleet/launch-instance.ts',
    timeoutSeconds: 60,
    needs: ['table', 'ec2-read', 'ec2-launch'],
    description: 'RunInstances (ClientToken = worker id, tags, network, profile, user data); PROVISIONING',
  },
  {
    name: 'fleet-start-instance',
    substitution: 'StartInstanceFunctionArn',
    entry: 'functions/tasks/fleet/start-instance.ts',
    timeoutSeconds: 30,
    needs: ['table', 'ec2-read', 'ec2-lifecycle'],
    description: 'StartInstances for a stopped worker (already STARTING)',
  },
  {
    name: 'fleet-check-instance',
    substitution: 'CheckInstanceFunctionArn',
    entry: 'functions/tasks/fleet/check-instance.ts',
    timeoutSeconds: 30,
    needs: ['table', 'ec2-read'],
    description: 'Whether the instance runs with an IP; STARTING with ipAddress and cmlBaseUrl',
  },
  {
    name: 'fleet-check-cml',
    substitution: 'CheckCmlFunctionArn',
    entry: 'functions/tasks/fleet/check-cml.ts',
    timeoutSeconds: 30,
    needs: ['table', 'cml'],
    description: 'Whether CML system_information reports ready (bounded by boot minutes + margin)',
  },
  {
    name: 'fleet-register-license',
    substitution: 'RegisterLicenseFunctionArn',
    entry: 'functions/tasks/fleet/register-license.ts',
    timeoutSeconds: 60,
    needs: ['table', 'cml', 'license'],
    description: 'CML licensing as the template asks',
  },
  {
    name: 'fleet-mark-worker-running',
    substitution: 'MarkWorkerRunningFunctionArn',
    entry: 'functions/tasks/fleet/mark-worker-running.ts',
    timeoutSeconds: 30,
    needs: ['table'],
    description: 'STARTING -> RUNNING',
  },
  {
    name: 'fleet-fail-provisioning',
    substitution: 'FailProvisioningFunctionArn',
    entry: 'functions/tasks/fleet/fail-provisioning.ts',
    timeoutSeconds: 60,
    needs: ['table', 'ec2-read', 'ec2-lifecycle'],
    description:
      'Terminate every instance of the worker; FAILED (or TERMINATED when its termination was requested)',
  },
];

export const DRAIN_TASKS: readonly FleetTask[] = [
  {
    name: 'fleet-drain-step',
    substitution: 'DrainStepFunctionArn',
    entry: 'functions/tasks/fleet/drain-step.ts',
    timeoutSeconds: 60,
    needs: ['table', 'ec2-read', 'ec2-lifecycle', 'task-tokens'],
    description: 'One step of a drain: wait for sessions, stop or terminate, STOPPED / TERMINATED',
  },
  {
    name: 'fleet-fail-drain',
    substitution: 'FailDrainFunctionArn',
    entry: 'functions/tasks/fleet/fail-drain.ts',
    timeoutSeconds: 60,
    needs: ['table', 'ec2-read', 'ec2-lifecycle'],
    description: 'A drain that failed: FAILED and the instance terminated, unless sessions remain',
  },
];

/** The fleet state machines and their tasks. */
export const FLEET_STATE_MACHINES = [
  { key: 'worker-provisioning', asl: WORKER_PROVISIONING_ASL, tasks: PROVISIONING_TASKS },
  { key: 'worker-drain', asl: WORKER_DRAIN_ASL, tasks: DRAIN_TASKS },
] as const;
