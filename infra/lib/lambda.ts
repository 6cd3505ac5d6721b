import { isAbsolute, join } from 'node:path';
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import {
  FUNCTION_KINDS,
  type FunctionSpec,
  functionNameOf,
  needsOf,
  reservedConcurrencyOf,
} from '../../functions/catalogue.ts';
import { LAMBDA_RUNTIME, LOCK_FILE, lambdaBundling, REPO_ROOT } from './bundling.ts';
import type { LcmConfig } from './config.ts';
import { grantNeeds, type NeedResources } from './grants.ts';
import { settingsEnvironment } from './settings.ts';

export interface LcmFunctionProps {
  readonly config: LcmConfig;
  /** The function's entry of the catalogue (functions/catalogue.ts). */
  readonly spec: FunctionSpec;
  /** What the stack grants the spec's needs on (grants.ts). */
  readonly resources?: NeedResources;
  /**
   * Handler module, absolute or relative to the repository root. Default: the spec's entry; tests
   * may point a function at a fixture.
   */
  readonly entry?: string;
}

/** What the spec says its function is part of, for its description. */
const contextOf = (spec: FunctionSpec): string => {
  switch (spec.kind) {
    case 'api':
      return `API ${spec.group}`;
    case 'session-task':
    case 'fleet-task':
      return spec.stateMachine;
    case 'schedule':
      return spec.schedule;
    default:
      return FUNCTION_KINDS[spec.kind].label;
  }
};

/**
 * Every Lambda function of LCM, built from its catalogue entry (functions/catalogue.ts): the name
 * `lcm-<stage>-<kind prefix><name>`, Node 22 on arm64, the bundling of bundling.ts, its own log
 * group with the configured retention, X-Ray active tracing, its own role without AWS managed
 * policies, POWERTOOLS_SERVICE_NAME of its kind, the stage's tunable settings its kind reads
 * (settings.ts), and exactly the grants and environment of its needs and its kind's (grants.ts), and the
 * reserved concurrency of its catalogue entry (reservedConcurrencyOf: the API and stream functions, 1 for a
 * singleton schedule). What wires
 * it to its trigger (route, ASL substitution, rule, schedule, stream) is its stack's.
 */
export class LcmFunction extends Construct {
  public readonly fn: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: LogGroup;
  public readonly spec: FunctionSpec;
  public readonly functionName: string;
  private readonly wildcardReasons = new Set<string>();

  constructor(scope: Construct, id: string, props: LcmFunctionProps) {
    super(scope, id);
    const { config, spec } = props;
    this.spec = spec;
    this.functionName = functionNameOf(config.stage, spec);
    const entry = props.entry ?? spec.entry;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: config.api.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      // IAM descriptions allow Latin-1 only: the function's description may say "READY → RUNNING".
      description: `Execution role of ${this.functionName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, 'Function', {
      functionName: this.functionName,
      description: `LCM (${config.stage}) ${contextOf(spec)}: ${spec.description}`.slice(0, 256),
      entry: isAbsolute(entry) ? entry : join(REPO_ROOT, entry),
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: spec.memoryMb,
      timeout: Duration.seconds(spec.timeoutSeconds),
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      bundling: lambdaBundling(),
      // From the catalogue: the API and stream functions, singleton schedules (reservedConcurrencyOf).
      reservedConcurrentExecutions: reservedConcurrencyOf(spec),
      environment: {
        POWERTOOLS_SERVICE_NAME: FUNCTION_KINDS[spec.kind].serviceName,
        POWERTOOLS_LOG_LEVEL: config.api.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        LCM_STAGE: config.stage,
        // The stage's tunable settings its kind reads (settings.ts; none unless given in context).
        ...settingsEnvironment(config.settings, spec.kind),
      },
    });

    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose (DESIGN §11): the bundles target node22 and every test runs on Node 22; moving to a newer runtime is a deliberate upgrade, not a drift.',
    });
    this.acknowledgeWildcardResource(
      'X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions, so their resource must be "*".',
    );
    grantNeeds(this, needsOf(spec), config, props.resources ?? {});
  }

  addEnvironment(name: string, value: string): void {
    this.fn.addEnvironment(name, value);
  }

  addToRolePolicy(statement: iam.PolicyStatement): void {
    this.role.addToPrincipalPolicy(statement);
  }

  /**
   * Records why a `Resource: "*"` statement of this function's role is needed (one reason per
   * kind of action: X-Ray, EC2 describes, ...). cdk-nag reports one IAM5[Resource::*] finding per
   * role; each reason becomes an acknowledgement of it.
   */
  acknowledgeWildcardResource(reason: string): void {
    if (this.wildcardReasons.has(reason)) return;
    this.wildcardReasons.add(reason);
    Validations.of(this.role).acknowledge({ id: 'AwsSolutions-IAM5[Resource::*]', reason });
  }

  /**
   * Runs the function in the given subnets (it calls hosts on private addresses). Lambda creates
   * its network interfaces with the function's role, so the role gets the ENI actions, which do
   * not support resource-level permissions.
   */
  placeInSubnets(network: {
    readonly subnetIds: readonly string[];
    readonly securityGroupIds: readonly string[];
  }) {
    const cfn = this.fn.node.defaultChild as CfnFunction;
    cfn.vpcConfig = { subnetIds: [...network.subnetIds], securityGroupIds: [...network.securityGroupIds] };
    this.addToRolePolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: ['*'],
      }),
    );
    this.acknowledgeWildcardResource(
      'VPC access (context lambdaSubnetIds): Lambda manages the function’s network interfaces with its role, and ec2:CreateNetworkInterface / DescribeNetworkInterfaces / DeleteNetworkInterface do not support resource-level permissions for this use.',
    );
  }
}
