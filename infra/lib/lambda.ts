import { join } from 'node:path';
import { type Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, type CfnFunction, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { LAMBDA_RUNTIME, LOCK_FILE, lambdaBundling, REPO_ROOT } from './bundling.ts';
import type { LcmConfig } from './config.ts';

export const DEFAULT_MEMORY_MB = 512;

export interface LcmFunctionProps {
  readonly config: LcmConfig;
  /** Handler module relative to the repository root (exports `handler`). */
  readonly entry: string;
  readonly functionName: string;
  readonly description: string;
  readonly timeout: Duration;
  /** POWERTOOLS_SERVICE_NAME. */
  readonly serviceName: string;
  /** Environment beyond the common variables (stage, log level, source maps, service name). */
  readonly environment?: Record<string, string>;
  readonly memorySize?: number;
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Lambda function of LCM outside the API: the same runtime, architecture and bundling as the
 * API handlers (bundling.ts), its own role without AWS managed policies, its own log group, X-Ray
 * active tracing. Grants are added by the stack that owns it, through `role`.
 */
export class LcmFunction extends Construct {
  public readonly fn: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: LogGroup;
  private readonly wildcardReasons = new Set<string>();

  constructor(scope: Construct, id: string, props: LcmFunctionProps) {
    super(scope, id);
    const { config } = props;
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: config.api.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      // IAM descriptions allow Latin-1 only: the function's description may say "READY → RUNNING".
      description: `Execution role of ${props.functionName}`,
    });
    this.logGroup.grantWrite(this.role);

    this.fn = new NodejsFunction(this, 'Function', {
      functionName: props.functionName,
      description: props.description.slice(0, 256),
      entry: join(REPO_ROOT, props.entry),
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? DEFAULT_MEMORY_MB,
      timeout: props.timeout,
      tracing: Tracing.ACTIVE,
      role: this.role,
      logGroup: this.logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      bundling: lambdaBundling(),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_LOG_LEVEL: config.api.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        LCM_STAGE: config.stage,
        ...props.environment,
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
