import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { REPO_ROOT } from './bundling.ts';
import type { LcmConfig } from './config.ts';
import type { LcmFunction } from './lambda.ts';

/** `${Name}` placeholders of an ASL document: the keys CloudFormation's DefinitionSubstitutions fills. */
const PLACEHOLDER = /\$\{([A-Za-z0-9_]+)\}/g;

/** The distinct `${Name}` substitution keys used in an ASL text. */
export const substitutionKeysOf = (asl: string): string[] =>
  [...new Set([...asl.matchAll(PLACEHOLDER)].map((m) => m[1]!))].sort();

/** The substitution keys of an ASL file (path relative to the repository root). */
export const substitutionKeysOfFile = (aslPath: string): string[] =>
  substitutionKeysOf(readFileSync(join(REPO_ROOT, aslPath), 'utf8'));

export interface AslTaskFunction {
  /** The `${…}` key whose value is this function's ARN. */
  readonly substitution: string;
  readonly fn: LcmFunction;
}

export interface AslStateMachineProps {
  readonly config: LcmConfig;
  readonly stateMachineName: string;
  /** The ASL file, relative to the repository root. */
  readonly aslPath: string;
  /** One per Lambda task of the ASL. */
  readonly tasks: readonly AslTaskFunction[];
  readonly comment: string;
}

/**
 * A STANDARD state machine from an ASL file of statemachines/ (`DefinitionBody.fromFile`), its
 * `${…}` placeholders filled with the task functions' ARNs (`definitionSubstitutions`), logging
 * ALL events to its own log group and X-Ray tracing on. Its role may invoke exactly the task
 * functions (their unqualified ARNs, as the ASL names them) and nothing else.
 *
 * The placeholders of the file and the task table must match both ways: a placeholder without a
 * task would deploy a definition with a literal `${…}` in it; a task without a placeholder would
 * be a function nothing calls. Either fails the synthesis.
 */
export class AslStateMachine extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  /** The deterministic name (names.ts), e.g. `lcm-prod-session-lifecycle`. */
  public readonly stateMachineName: string;
  public readonly logGroup: LogGroup;
  /** Substitution key → function, as passed to the state machine. */
  public readonly substitutions: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: AslStateMachineProps) {
    super(scope, id);
    const { config } = props;
    this.stateMachineName = props.stateMachineName;
    const keys = substitutionKeysOfFile(props.aslPath);
    const taskKeys = props.tasks.map((t) => t.substitution);
    const missing = keys.filter((k) => !taskKeys.includes(k));
    const unused = taskKeys.filter((k) => !keys.includes(k));
    const duplicated = taskKeys.filter((k, i) => taskKeys.indexOf(k) !== i);
    if (missing.length > 0 || unused.length > 0 || duplicated.length > 0) {
      throw new Error(
        `${props.aslPath} and its task table disagree: ${[
          missing.length > 0 ? `no task for \${${missing.join('}, ${')}}` : '',
          unused.length > 0 ? `tasks not used by the ASL: ${unused.join(', ')}` : '',
          duplicated.length > 0 ? `duplicate substitutions: ${duplicated.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join('; ')}`,
      );
    }
    const substitutions = Object.fromEntries(props.tasks.map((t) => [t.substitution, t.fn.fn.functionArn]));
    this.substitutions = substitutions;

    // The /aws/vendedlogs/ prefix keeps the log delivery resource policy small (one per prefix).
    this.logGroup = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention: config.api.logRetention,
      removalPolicy: config.removalPolicy,
    });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `Execution role of ${props.stateMachineName}`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: props.tasks.map((t) => t.fn.fn.functionArn),
      }),
    );

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      comment: props.comment,
      definitionBody: sfn.DefinitionBody.fromFile(join(REPO_ROOT, props.aslPath)),
      definitionSubstitutions: substitutions,
      role,
      logs: {
        destination: this.logGroup,
        level: sfn.LogLevel.ALL,
        includeExecutionData: config.workflows.logExecutionData,
      },
      tracingEnabled: true,
    });

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions logging and X-Ray tracing: the CloudWatch Logs delivery actions (logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups, ...) and xray:PutTraceSegments / PutTelemetryRecords / GetSamplingRules / GetSamplingTargets do not support resource-level permissions.',
    });
  }
}
