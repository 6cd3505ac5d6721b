import { CfnOutput, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { SESSION_STATE_MACHINE } from '../../functions/catalogue.ts';
import type { LcmStackProps } from './config.ts';
import type { NeedResources } from './grants.ts';
import { LcmFunction } from './lambda.ts';
import { pascal, STATE_MACHINE_KEYS, stateMachineNameFor } from './names.ts';
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

/**
 * The session-lifecycle workflow (DESIGN §6): the STANDARD state machine
 * `lcm-<stage>-session-lifecycle` from statemachines/session-lifecycle.asl.json, whose `${…}`
 * placeholders are the ARNs of the task functions, one per session task of the function catalogue
 * (functions/catalogue.ts), each granted only what its needs name (grants.ts).
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
    const resources: NeedResources = {
      table: props.table,
      evidenceBucket: props.evidenceBucket,
      secrets: props.secrets,
    };

    const taskFunctions = new Map<string, LcmFunction>();
    for (const spec of SESSION_STATE_MACHINE.tasks) {
      taskFunctions.set(
        spec.name,
        new LcmFunction(this, `${pascal(spec.name)}Task`, { config, spec, resources }),
      );
    }
    this.taskFunctions = taskFunctions;

    this.sessionWorkflow = new AslStateMachine(this, 'SessionLifecycle', {
      config,
      stateMachineName: stateMachineNameFor(config.stage, STATE_MACHINE_KEYS.session),
      aslPath: SESSION_STATE_MACHINE.asl,
      comment: `LCM (${config.stage}): one execution per lab session`,
      tasks: SESSION_STATE_MACHINE.tasks.map((t) => ({
        substitution: t.substitution,
        fn: taskFunctions.get(t.name)!,
      })),
    });
    this.sessionStateMachine = this.sessionWorkflow.stateMachine;

    new CfnOutput(this, 'SessionStateMachineArn', {
      value: this.sessionStateMachine.stateMachineArn,
      description: 'The session-lifecycle state machine',
    });
  }
}
