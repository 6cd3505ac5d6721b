import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import {
  SESSION_LIFECYCLE_ASL,
  SESSION_TASKS,
  type TaskNeed,
  type WorkflowTask,
} from '../../functions/tasks/index.ts';
import type { LcmConfig, LcmStackProps } from './config.ts';
import {
  grantEvidenceRead,
  grantEvidenceWrite,
  grantSessionTaskTokens,
  grantTableReadWrite,
  useCml,
  useGrading,
  useLds,
  useSessionWorkflowEngine,
} from './grants.ts';
import { LcmFunction } from './lambda.ts';
import { functionNameFor, pascal, STATE_MACHINE_KEYS, stateMachineNameFor } from './names.ts';
import type { IntegrationSecrets } from './secrets.ts';
import { AslStateMachine } from './state-machines.ts';

export interface WorkflowsStackProps extends LcmStackProps {
  /** The single table (data stack). */
  readonly table: ITableV2;
  /** The evidence bucket (data stack): device configurations collected from labs. */
  readonly evidenceBucket: IBucket;
  /** CML credentials, LDS and grading API keys (events stack). */
  readonly secrets: IntegrationSecrets;
}

const SERVICE_NAME = 'lcm-session-workflow';

/** What each need of the task table (functions/tasks/index.ts) gives a task function. */
const NEEDS: Record<TaskNeed, (fn: LcmFunction, props: WorkflowsStackProps) => void> = {
  table: (fn, { table }) => grantTableReadWrite(fn, table),
  cml: (fn, { config, secrets }) => useCml(fn, config, secrets),
  lds: (fn, { config, secrets }) => useLds(fn, config, secrets),
  grading: (fn, { config, secrets }) => useGrading(fn, config, secrets),
  'evidence-read': (fn, { evidenceBucket }) => grantEvidenceRead(fn, evidenceBucket),
  'evidence-write': (fn, { evidenceBucket }) => grantEvidenceWrite(fn, evidenceBucket),
  'task-tokens': (fn, { config }) => grantSessionTaskTokens(fn, config),
};

const applyNeed = (need: TaskNeed, fn: LcmFunction, props: WorkflowsStackProps): void => {
  const apply = NEEDS[need];
  if (!apply)
    throw new Error(`Unknown task need "${need}" (functions/tasks/index.ts): define what it grants`);
  apply(fn, props);
};

/** A session-workflow task function: `lcm-<stage>-task-<name>`, granted exactly its needs. */
export const createSessionTask = (
  scope: Construct,
  task: WorkflowTask,
  props: WorkflowsStackProps,
  config: LcmConfig,
): LcmFunction => {
  const fn = new LcmFunction(scope, `${pascal(task.name)}Task`, {
    config,
    entry: task.entry,
    functionName: functionNameFor(config.stage, `task-${task.name}`),
    description: `LCM (${config.stage}) session workflow: ${task.description}`,
    timeout: Duration.seconds(task.timeoutSeconds),
    serviceName: SERVICE_NAME,
    environment: { TABLE_NAME: props.table.tableName },
  });
  // Every task builds the workflow engine (app/session-env.ts); only `task-tokens` may use it.
  useSessionWorkflowEngine(fn, config);
  for (const need of new Set(task.needs)) applyNeed(need, fn, props);
  return fn;
};

/**
 * The session-lifecycle workflow (DESIGN §6): the STANDARD state machine
 * `lcm-<stage>-session-lifecycle` from statemachines/session-lifecycle.asl.json, whose `${…}`
 * placeholders are the ARNs of the task functions, one per entry of SESSION_TASKS
 * (functions/tasks/index.ts), each granted only what its `needs` name.
 *
 * The state machine's name is deterministic, so the functions that resolve its task tokens
 * (register-wait here, the rule targets of the events stack) are granted by the ARN built from
 * that name: a grant by reference would make the state machine depend on a function whose policy
 * depends on the state machine.
 */
export class WorkflowsStack extends Stack {
  public readonly sessionStateMachine: StateMachine;
  public readonly sessionWorkflow: AslStateMachine;
  /** The function of each task, by task name. */
  public readonly taskFunctions: ReadonlyMap<string, LcmFunction>;

  constructor(scope: Construct, id: string, props: WorkflowsStackProps) {
    super(scope, id, props);
    const { config } = props;

    const taskFunctions = new Map<string, LcmFunction>();
    for (const task of SESSION_TASKS)
      taskFunctions.set(task.name, createSessionTask(this, task, props, config));
    this.taskFunctions = taskFunctions;

    this.sessionWorkflow = new AslStateMachine(this, 'SessionLifecycle', {
      config,
      stateMachineName: stateMachineNameFor(config.stage, STATE_MACHINE_KEYS.session),
      aslPath: SESSION_LIFECYCLE_ASL,
      comment: `LCM (${config.stage}): one execution per lab session`,
      tasks: SESSION_TASKS.map((t) => ({ substitution: t.substitution, fn: taskFunctions.get(t.name)! })),
    });
    this.sessionStateMachine = this.sessionWorkflow.stateMachine;

    new CfnOutput(this, 'SessionStateMachineArn', {
      value: this.sessionStateMachine.stateMachineArn,
      description: 'The session-lifecycle state machine',
    });
  }
}
