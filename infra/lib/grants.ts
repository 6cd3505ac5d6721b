import { MANAGED_BY, TAG_MANAGED_BY, TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { ArnFormat, Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import { NEEDS, type Need, type StateMachineKey } from '../../functions/catalogue.ts';
import type { LcmConfig } from './config.ts';
import type { LcmFunction } from './lambda.ts';
import { acknowledgeIamResources, acknowledgeTableIndexGrants } from './nag-acknowledgements.ts';
import {
  executionArnPatternOf,
  STATE_MACHINE_KEYS,
  stateMachineArnOf,
  stateMachineNameFor,
} from './names.ts';
import type { IntegrationSecrets } from './secrets.ts';

/**
 * The needs of the function catalogue (functions/catalogue.ts, NEEDS) as IAM: the one place a
 * need becomes a grant and the environment that goes with it. Every stack builds its functions
 * with LcmFunction, which applies exactly the needs of the function's catalogue entry (and of its
 * kind) through `grantNeeds`, so a need means the same thing in every stack.
 *
 * | need | environment | grant |
 * |---|---|---|
 * | table-read | TABLE_NAME | dynamodb read actions on the table and its indexes |
 * | table-write | TABLE_NAME | dynamodb read and write actions on the table and its indexes |
 * | cml | LCM_CML_SECRET_ID | read the CML credentials secret; the CML subnets (context `lambdaSubnetIds`) |
 * | cml-license | LCM_CML_LICENSE_SECRET_ID | read the CML licence secret |
 * | lds | LCM_LDS_BASE_URL, LCM_LDS_API_KEY_SECRET_ID | read the LDS API key secret (only with `ldsBaseUrl`) |
 * | booking | LCM_BOOKING_REQUIRE_DELIVERABLE=true (only with `ldsBaseUrl` and no `booking.requireDeliverable` setting, which then decides) | none |
 * | grading | LCM_GRADING_BASE_URL, LCM_GRADING_API_KEY_SECRET_ID | read the grading API key secret (only with `gradingBaseUrl`) |
 * | evidence-read | EVIDENCE_BUCKET | s3:GetObject on its objects, s3:ListBucket on it |
 * | evidence-write | EVIDENCE_BUCKET | s3:PutObject on its objects |
 * | topology-read | EVIDENCE_BUCKET | s3:GetObject on `topologies/*` of the evidence bucket, s3:ListBucket on it |
 * | topology-write | EVIDENCE_BUCKET | s3:PutObject on `topologies/*` of the evidence bucket |
 * | uploads | EVIDENCE_BUCKET | s3:GetObject and s3:PutObject on `uploads/*` of the evidence bucket, s3:ListBucket on it |
 * | stream-failures | LCM_STREAM_FAILURE_CONSUMERS | sqs:ReceiveMessage/DeleteMessage on the consumers' on-failure queues, dynamodb:GetShardIterator/GetRecords on the table's stream, lambda:InvokeFunction on the consumer functions |
 * | content-read | — | s3:GetObject on the objects of the `contentBuckets` |
 * | session-engine | WORKFLOW_ENGINE, SESSION_STATE_MACHINE_ARN | none |
 * | fleet-engine | WORKFLOW_ENGINE and the three state machine ARNs | none |
 * | task-tokens | WORKFLOW_ENGINE, SESSION_STATE_MACHINE_ARN | states:SendTaskSuccess/SendTaskFailure on the session machine |
 * | session-workflow | WORKFLOW_ENGINE, SESSION_STATE_MACHINE_ARN | states:StartExecution on the session machine; DescribeExecution/StopExecution on its executions |
 * | fleet-workflows | WORKFLOW_ENGINE, the two worker machine ARNs | states:StartExecution on the provisioning and drain machines |
 * | workflow-status | WORKFLOW_ENGINE and the three state machine ARNs | states:DescribeExecution on the executions of the three machines |
 * | bus | EVENT_BUS_NAME | events:PutEvents on the LCM bus |
 * | event-partners | LCM_EVENT_PARTNERS_SECRET_ID | read the partner registry secret |
 * | ec2-read | LCM_WORKER_AMI_OWNERS (when configured) | ec2:DescribeInstances, DescribeImages (Resource "*") |
 * | ec2-instance-types | — | ec2:DescribeInstanceTypes (Resource "*") |
 * | ec2-launch | LCM_WORKER_INSTANCE_PROFILE, LCM_WORKER_SUBNET_IDS/SECURITY_GROUP_IDS/KEY_NAME (when configured) | RunInstances of tagged workers of the allowed instance types, in the configured subnets and security groups, CreateTags on launch only, iam:PassRole of the worker role to EC2 |
 * | ec2-start | — | ec2:StartInstances on instances tagged with the stage and LCM |
 * | ec2-stop | — | ec2:StopInstances on instances tagged with the stage and LCM |
 * | ec2-terminate | — | ec2:TerminateInstances on instances tagged with the stage and LCM |
 * | cloudwatch | — | cloudwatch:GetMetricData (Resource "*") |
 * | ws-verify | LCM_JWT_ISSUER, LCM_JWT_AUDIENCES | none (the issuer's JWKS is public) |
 * | ws-post | LCM_WS_ENDPOINT | execute-api:ManageConnections on the WebSocket stage's @connections |
 */

/** Step Functions adapter of @lcm/shared (platform/workflow/engine.ts): WORKFLOW_ENGINE=stepfunctions. */
export const STEPFUNCTIONS_ENGINE = 'stepfunctions';

/** What the needs of a stack's functions are granted on; a need whose resource is absent fails the synthesis. */
export interface NeedResources {
  readonly table?: ITableV2;
  readonly evidenceBucket?: IBucket;
  readonly secrets?: Partial<IntegrationSecrets>;
  readonly bus?: IEventBus;
  /**
   * ARNs of the state machines, when the stack can reference them; otherwise each is built from
   * its deterministic name (names.ts), which needs no cross-stack reference.
   */
  readonly stateMachineArns?: Partial<Record<StateMachineKey, string>>;
  /** ec2-launch: the workers' instance profile and the one role the function may pass to EC2. */
  readonly workerLaunch?: { readonly instanceProfileArn: string; readonly role: iam.IRole };
  /** ws-verify: the issuer and audiences of the HTTP API's JWT authorizer. */
  readonly jwt?: { readonly issuer: string; readonly audiences: readonly string[] };
  /**
   * stream-failures: each table-stream consumer's function and on-failure queue, by consumer name
   * (the events stack's `streamConsumers`).
   */
  readonly streamConsumers?: ReadonlyMap<string, { readonly fn: LcmFunction; readonly dlq: IQueue }>;
  /** ws-post: the WebSocket API's stage (its management endpoint and connections ARN). */
  readonly webSocket?: { readonly managementEndpoint: string; readonly connectionsArn: string };
}

interface GrantContext {
  readonly f: LcmFunction;
  readonly config: LcmConfig;
  readonly resources: NeedResources;
  readonly need: Need;
}

/** Applies one need's grant; returns the environment it brings. */
type Grant = (ctx: GrantContext) => Record<string, string>;

/** An Allow statement without conditions on the function's role. */
const allow = (f: LcmFunction, actions: string[], resources: string[]): void =>
  f.addToRolePolicy(new iam.PolicyStatement({ actions, resources }));

const required = <T>(value: T | undefined, what: string, { f, need }: GrantContext): T => {
  if (value === undefined) {
    throw new Error(
      `${f.functionName}: need "${need}" requires ${what}, which ${Stack.of(f).stackName} does not provide`,
    );
  }
  return value;
};

/** A state machine's ARN: the one given to the stack, or built from its name. */
const stateMachineArn = ({ f, config, resources }: GrantContext, key: StateMachineKey): string =>
  resources.stateMachineArns?.[key] ?? stateMachineArnOf(f, stateMachineNameFor(config.stage, key));

const secretOf = (ctx: GrantContext, name: keyof IntegrationSecrets): ISecret =>
  required(ctx.resources.secrets?.[name], `the ${name} secret`, ctx);

/** Reads one secret; its ARN in `variable`. */
const readSecret = (ctx: GrantContext, name: keyof IntegrationSecrets, variable: string) => {
  const secret = secretOf(ctx, name);
  secret.grantRead(ctx.f.role);
  return { [variable]: secret.secretArn };
};

const table = (ctx: GrantContext, access: 'read' | 'readWrite') => {
  const t = required(ctx.resources.table, 'the table', ctx);
  if (access === 'read') t.grantReadData(ctx.f.role);
  else t.grantReadWriteData(ctx.f.role);
  acknowledgeTableIndexGrants(
    ctx.f.role,
    'The table grant covers the indexes of the single table (<table ARN>/index/*): the handler queries its GSIs, and the wildcard matches only the indexes of that one table.',
  );
  return { TABLE_NAME: t.tableName };
};

/** A partner client (LDS, Grading Engine): nothing unless its base URL is configured. */
const partner = (
  ctx: GrantContext,
  baseUrl: string | undefined,
  secret: 'ldsApiKey' | 'gradingApiKey',
  prefix: 'LCM_LDS' | 'LCM_GRADING',
) => {
  if (!baseUrl) return {};
  return { [`${prefix}_BASE_URL`]: baseUrl, ...readSecret(ctx, secret, `${prefix}_API_KEY_SECRET_ID`) };
};

/**
 * Acknowledges IAM5 on `<bucket ARN>/*` (object keys are per session, known at run time) for this
 * one bucket only, as the ARN resolves in the function's stack.
 */
const evidence = (ctx: GrantContext, actions: string[], list: boolean) => {
  const { f } = ctx;
  const bucket = required(ctx.resources.evidenceBucket, 'the evidence bucket', ctx);
  allow(f, actions, [bucket.arnForObjects('*')]);
  if (list) allow(f, ['s3:ListBucket'], [bucket.bucketArn]);
  acknowledgeIamResources(
    f.role,
    (resource) => resource === flattenCfnReference(Stack.of(f).resolve(bucket.arnForObjects('*'))),
    'Evidence objects are keyed by session (<bucket ARN>/*, keys known only at run time); the pattern covers the objects of the one evidence bucket.',
  );
  return { EVIDENCE_BUCKET: bucket.bucketName };
};

/** The prefixes whose object pattern is acknowledged already, per role (one acknowledgement each). */
const prefixesAcknowledged = new WeakMap<iam.IRole, Set<string>>();

/**
 * Topologies and uploads (issue 11, item 1): the same bucket as the evidence, but only the objects
 * under one prefix (`topologies/` by content hash, `uploads/` by upload id). A pre-signed URL acts
 * with the signer's permissions, so handing out a PUT (GET) URL needs s3:PutObject (GetObject).
 * s3:ListBucket comes with reading: without it S3 answers a missing key with 403 instead of 404,
 * and a missing upload or topology would be an internal error instead of the 422 that names it (a
 * condition on `s3:prefix` would not help: GetObject carries no prefix).
 */
const contentPrefix = (ctx: GrantContext, prefix: 'topologies/' | 'uploads/', actions: string[]) => {
  const { f } = ctx;
  const bucket = required(ctx.resources.evidenceBucket, 'the evidence bucket', ctx);
  const objects = bucket.arnForObjects(`${prefix}*`);
  allow(f, actions, [objects]);
  if (actions.includes('s3:GetObject')) allow(f, ['s3:ListBucket'], [bucket.bucketArn]);
  const acknowledged = prefixesAcknowledged.get(f.role) ?? new Set<string>();
  prefixesAcknowledged.set(f.role, acknowledged);
  if (acknowledged.has(prefix)) return { EVIDENCE_BUCKET: bucket.bucketName };
  acknowledged.add(prefix);
  acknowledgeIamResources(
    f.role,
    (resource) => resource === flattenCfnReference(Stack.of(f).resolve(objects)),
    `Objects under ${prefix} are keyed by content hash or upload id (known only at run time); the pattern covers only that prefix of the one evidence bucket.`,
  );
  return { EVIDENCE_BUCKET: bucket.bucketName };
};

/** Acknowledges IAM5 on `…:execution:<name>:*` for exactly these state machines. */
const acknowledgeExecutionPatterns = (f: LcmFunction, stateMachineNames: readonly string[]): void => {
  for (const name of stateMachineNames) {
    acknowledgeIamResources(
      f.role,
      (resource) => resource.endsWith(`:execution:${name}:*`),
      `Execution ARNs end in the execution name, known only at run time; the pattern covers only the executions of the one state machine ${name}.`,
    );
  }
};

const describeExecutions = (ctx: GrantContext, keys: readonly StateMachineKey[], actions: string[]) => {
  const names = keys.map((key) => stateMachineNameFor(ctx.config.stage, key));
  allow(
    ctx.f,
    actions,
    names.map((name) => executionArnPatternOf(ctx.f, name)),
  );
  acknowledgeExecutionPatterns(ctx.f, names);
};

const sessionEngine = (ctx: GrantContext) => ({
  WORKFLOW_ENGINE: STEPFUNCTIONS_ENGINE,
  SESSION_STATE_MACHINE_ARN: stateMachineArn(ctx, STATE_MACHINE_KEYS.session),
});

const workerMachines = (ctx: GrantContext) => ({
  WORKFLOW_ENGINE: STEPFUNCTIONS_ENGINE,
  WORKER_PROVISIONING_STATE_MACHINE_ARN: stateMachineArn(ctx, STATE_MACHINE_KEYS.provisioning),
  WORKER_DRAIN_STATE_MACHINE_ARN: stateMachineArn(ctx, STATE_MACHINE_KEYS.drain),
});

const allMachines = (ctx: GrantContext) => ({ ...sessionEngine(ctx), ...workerMachines(ctx) });

const ec2ArnOf = (f: LcmFunction, resource: string, resourceName: string, account?: string) =>
  Stack.of(f).formatArn({
    service: 'ec2',
    resource,
    resourceName,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    account,
  });

/** DescribeInstances and DescribeImages (no resource-level permissions: Resource "*"). */
const ec2Read: Grant = ({ f, config }) => {
  allow(f, ['ec2:DescribeInstances', 'ec2:DescribeImages'], ['*']);
  f.acknowledgeWildcardResource(
    'ec2:DescribeInstances and ec2:DescribeImages do not support resource-level permissions; they only read.',
  );
  const { amiOwners } = config.fleet;
  const env: Record<string, string> = {};
  if (amiOwners.length > 0) env.LCM_WORKER_AMI_OWNERS = amiOwners.join(',');
  return env;
};

/**
 * RunInstances of tagged workers (issue 12, item 7: conditioned on instance types and network):
 * - the instance must be tagged, on create, with this stage, LCM as manager and a worker id, and be
 *   of an allowed instance type (`ec2:InstanceType`, context `workerInstanceTypes`, default the
 *   bare-metal types CML needs); its volumes carry the same tags;
 * - its network interface only in the configured subnets (`ec2:Subnet`), using only the configured
 *   subnets, security groups and key pair as resources (any, in the default VPC, when none is
 *   configured);
 * - AMIs of the configured owners only (`ec2:Owner`, context `workerAmiOwners`), else any AMI
 *   (templates name them by id or pattern);
 * - CreateTags only as part of RunInstances (`ec2:CreateAction`);
 * - iam:PassRole only for the worker role, only to EC2.
 */
const ec2Launch: Grant = (ctx) => {
  const { f, config } = ctx;
  const { fleet } = config;
  const launch = required(ctx.resources.workerLaunch, 'the worker instance profile', ctx);
  const tagged = {
    StringEquals: {
      [`aws:RequestTag/${TAG_STAGE}`]: config.stage,
      [`aws:RequestTag/${TAG_MANAGED_BY}`]: MANAGED_BY,
    },
    Null: { [`aws:RequestTag/${TAG_WORKER_ID}`]: 'false' },
  };
  f.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'LaunchTaggedWorkerInstances',
      actions: ['ec2:RunInstances'],
      resources: [ec2ArnOf(f, 'instance', '*')],
      conditions: { ...tagged, StringLike: { 'ec2:InstanceType': [...fleet.instanceTypes] } },
    }),
  );
  f.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'LaunchTaggedWorkerVolumes',
      actions: ['ec2:RunInstances'],
      resources: [ec2ArnOf(f, 'volume', '*')],
      conditions: tagged,
    }),
  );
  const subnets =
    fleet.subnetIds.length > 0
      ? fleet.subnetIds.map((id) => ec2ArnOf(f, 'subnet', id))
      : [ec2ArnOf(f, 'subnet', '*')];
  f.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'LaunchInConfiguredSubnets',
      actions: ['ec2:RunInstances'],
      resources: [ec2ArnOf(f, 'network-interface', '*')],
      ...(fleet.subnetIds.length > 0 ? { conditions: { ArnEquals: { 'ec2:Subnet': subnets } } } : {}),
    }),
  );
  const used = [
    ...subnets,
    ...(fleet.securityGroupIds.length > 0
      ? fleet.securityGroupIds.map((id) => ec2ArnOf(f, 'security-group', id))
      : [ec2ArnOf(f, 'security-group', '*')]),
    ...(fleet.keyName ? [ec2ArnOf(f, 'key-pair', fleet.keyName)] : []),
  ];
  f.addToRolePolicy(
    new iam.PolicyStatement({ sid: 'LaunchWithResources', actions: ['ec2:RunInstances'], resources: used }),
  );
  const owners = fleet.amiOwners.map((o) => (o === 'self' ? Stack.of(f).account : o));
  f.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'LaunchFromImages',
      actions: ['ec2:RunInstances'],
      resources: [ec2ArnOf(f, 'image', '*', '')],
      ...(owners.length > 0 ? { conditions: { StringEquals: { 'ec2:Owner': owners } } } : {}),
    }),
  );
  f.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'TagOnLaunchOnly',
      actions: ['ec2:CreateTags'],
      resources: [ec2ArnOf(f, 'instance', '*'), ec2ArnOf(f, 'volume', '*')],
      conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    }),
  );
  f.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'PassWorkerRole',
      actions: ['iam:PassRole'],
      resources: [launch.role.roleArn],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    }),
  );
  acknowledgeIamResources(
    f.role,
    (resource) =>
      /:ec2:.*:(instance|volume|network-interface|subnet|security-group|image)\/\*$/.test(resource),
    'EC2 assigns instance, volume and network-interface ids at launch, and AMIs are chosen per template at run time, so RunInstances needs these patterns; the instance must be of an allowed instance type (ec2:InstanceType) and, with its volumes, carry the stage, manager and worker-id tags (aws:RequestTag conditions), its network interface must be in the configured subnets (ec2:Subnet), images of the configured owners (ec2:Owner), CreateTags is allowed only within RunInstances (ec2:CreateAction), and subnets and security groups are pinned when given in context.',
  );
  return {
    LCM_WORKER_INSTANCE_PROFILE: launch.instanceProfileArn,
    ...(fleet.subnetIds.length > 0 ? { LCM_WORKER_SUBNET_IDS: fleet.subnetIds.join(',') } : {}),
    ...(fleet.securityGroupIds.length > 0
      ? { LCM_WORKER_SECURITY_GROUP_IDS: fleet.securityGroupIds.join(',') }
      : {}),
    ...(fleet.keyName ? { LCM_WORKER_KEY_NAME: fleet.keyName } : {}),
  };
};

/** Roles whose tagged-instance pattern is acknowledged already (one acknowledgement per role). */
const lifecycleAcknowledged = new WeakSet<iam.IRole>();

/**
 * One instance action (start, stop or terminate), only on instances tagged as workers of this
 * stage managed by LCM: each a need of its own, so a task gets only the actions it takes (the
 * start-instance task cannot stop or terminate; issue 12, item 7).
 */
const ec2Lifecycle =
  (action: 'Start' | 'Stop' | 'Terminate'): Grant =>
  ({ f, config }) => {
    f.addToRolePolicy(
      new iam.PolicyStatement({
        sid: `${action}TaggedWorkers`,
        actions: [`ec2:${action}Instances`],
        resources: [ec2ArnOf(f, 'instance', '*')],
        conditions: {
          StringEquals: {
            [`aws:ResourceTag/${TAG_STAGE}`]: config.stage,
            [`aws:ResourceTag/${TAG_MANAGED_BY}`]: MANAGED_BY,
          },
        },
      }),
    );
    if (!lifecycleAcknowledged.has(f.role)) {
      lifecycleAcknowledged.add(f.role);
      acknowledgeIamResources(
        f.role,
        (resource) => /:ec2:.*:instance\/\*$/.test(resource),
        'Worker instance ids are known only at run time; the statement is limited to instances tagged with this stage and LCM as manager (aws:ResourceTag conditions).',
      );
    }
    return {};
  };

/** s3:GetObject on the objects of the content buckets (context `contentBuckets`); none: no grant. */
const contentRead: Grant = ({ f, config }) => {
  const bucketNames = config.integrations.contentBuckets ?? [];
  if (bucketNames.length === 0) return {};
  const stack = Stack.of(f);
  const objectsOf = (name: string) =>
    stack.formatArn({ service: 's3', region: '', account: '', resource: name, resourceName: '*' });
  allow(f, ['s3:GetObject'], bucketNames.map(objectsOf));
  acknowledgeIamResources(
    f.role,
    (resource) => bucketNames.some((name) => resource.endsWith(`:s3:::${name}/*`)),
    'Content packages are read by the key a definition names (s3://<bucket>/<key>, known at run time); the pattern covers only the objects of the content buckets named in context (contentBuckets).',
  );
  return {};
};

/**
 * The operator API's stream failures (issue 11, item 5): receive and delete the messages of the
 * consumers' on-failure queues (moved into the table), read the table's stream (the failed records
 * by sequence number), invoke the consumer functions (the replay). Exactly those queues, that
 * stream and those functions.
 */
const streamFailures: Grant = (ctx) => {
  const { f } = ctx;
  const consumers = required(ctx.resources.streamConsumers, 'the stream consumers', ctx);
  const t = required(ctx.resources.table, 'the table', ctx);
  const streamArn = required(t.tableStreamArn, 'the table stream', ctx);
  const entries = [...consumers.entries()];
  allow(
    f,
    ['sqs:ReceiveMessage', 'sqs:DeleteMessage'],
    entries.map(([, c]) => c.dlq.queueArn),
  );
  allow(f, ['dynamodb:GetShardIterator', 'dynamodb:GetRecords'], [streamArn]);
  allow(
    f,
    ['lambda:InvokeFunction'],
    entries.map(([, c]) => c.fn.fn.functionArn),
  );
  return {
    LCM_STREAM_FAILURE_CONSUMERS: Stack.of(f).toJsonString(
      Object.fromEntries(
        entries.map(([name, c]) => [name, { queueUrl: c.dlq.queueUrl, functionName: c.fn.fn.functionName }]),
      ),
    ),
  };
};

/** Each need of the catalogue's vocabulary: its grant, returning its environment. */
export const NEED_GRANTS: Record<Need, Grant> = {
  /** No permission: the issuer's JWKS is public. */
  'ws-verify': (ctx) => {
    const jwt = required(ctx.resources.jwt, 'the JWT issuer and audiences', ctx);
    return { LCM_JWT_ISSUER: jwt.issuer, LCM_JWT_AUDIENCES: jwt.audiences.join(',') };
  },
  /** execute-api:ManageConnections on the connections of the WebSocket API's stage. */
  'ws-post': (ctx) => {
    const ws = required(ctx.resources.webSocket, 'the WebSocket API', ctx);
    allow(ctx.f, ['execute-api:ManageConnections'], [ws.connectionsArn]);
    acknowledgeIamResources(
      ctx.f.role,
      (resource) => resource.endsWith('/POST/@connections/*'),
      'Connection ids are known only at run time; the statement covers the @connections of this one WebSocket API stage.',
    );
    return { LCM_WS_ENDPOINT: ws.managementEndpoint };
  },
  'table-read': (ctx) => table(ctx, 'read'),
  'table-write': (ctx) => table(ctx, 'readWrite'),
  /** The CML credentials and, when context `lambdaSubnetIds` is set, the workers' private network. */
  cml: (ctx) => {
    const env = readSecret(ctx, 'cmlCredentials', 'LCM_CML_SECRET_ID');
    if (ctx.config.integrations.lambdaNetwork) ctx.f.placeInSubnets(ctx.config.integrations.lambdaNetwork);
    return env;
  },
  'cml-license': (ctx) => readSecret(ctx, 'cmlLicense', 'LCM_CML_LICENSE_SECRET_ID'),
  lds: (ctx) => partner(ctx, ctx.config.integrations.ldsBaseUrl, 'ldsApiKey', 'LCM_LDS'),
  /**
   * No permission. Where LDS is configured, booking refuses a definition LDS cannot deliver
   * (issue 11, item 4) unless the stage's `booking.requireDeliverable` setting says otherwise (the
   * setting's own variable, settings.ts, then decides).
   */
  booking: (ctx) => {
    const env: Record<string, string> = {};
    if (
      ctx.config.integrations.ldsBaseUrl !== undefined &&
      ctx.config.settings.booking?.requireDeliverable === undefined
    ) {
      env.LCM_BOOKING_REQUIRE_DELIVERABLE = 'true';
    }
    return env;
  },
  grading: (ctx) => partner(ctx, ctx.config.integrations.gradingBaseUrl, 'gradingApiKey', 'LCM_GRADING'),
  'evidence-read': (ctx) => evidence(ctx, ['s3:GetObject'], true),
  'evidence-write': (ctx) => evidence(ctx, ['s3:PutObject'], false),
  'topology-read': (ctx) => contentPrefix(ctx, 'topologies/', ['s3:GetObject']),
  'topology-write': (ctx) => contentPrefix(ctx, 'topologies/', ['s3:PutObject']),
  uploads: (ctx) => contentPrefix(ctx, 'uploads/', ['s3:GetObject', 's3:PutObject']),
  'content-read': contentRead,
  'stream-failures': streamFailures,
  'session-engine': sessionEngine,
  'fleet-engine': allMachines,
  'task-tokens': (ctx) => {
    const env = sessionEngine(ctx);
    allow(ctx.f, ['states:SendTaskSuccess', 'states:SendTaskFailure'], [env.SESSION_STATE_MACHINE_ARN]);
    return env;
  },
  'session-workflow': (ctx) => {
    const env = sessionEngine(ctx);
    allow(ctx.f, ['states:StartExecution'], [env.SESSION_STATE_MACHINE_ARN]);
    describeExecutions(
      ctx,
      [STATE_MACHINE_KEYS.session],
      ['states:DescribeExecution', 'states:StopExecution'],
    );
    return env;
  },
  'fleet-workflows': (ctx) => {
    const env = workerMachines(ctx);
    allow(
      ctx.f,
      ['states:StartExecution'],
      [env.WORKER_PROVISIONING_STATE_MACHINE_ARN, env.WORKER_DRAIN_STATE_MACHINE_ARN],
    );
    return env;
  },
  'workflow-status': (ctx) => {
    describeExecutions(ctx, Object.values(STATE_MACHINE_KEYS), ['states:DescribeExecution']);
    return allMachines(ctx);
  },
  bus: (ctx) => {
    const bus = required(ctx.resources.bus, 'the event bus', ctx);
    bus.grantPutEventsTo(ctx.f.role);
    return { EVENT_BUS_NAME: bus.eventBusName };
  },
  'event-partners': (ctx) => readSecret(ctx, 'eventPartners', 'LCM_EVENT_PARTNERS_SECRET_ID'),
  'ec2-read': ec2Read,
  'ec2-instance-types': ({ f }) => {
    allow(f, ['ec2:DescribeInstanceTypes'], ['*']);
    f.acknowledgeWildcardResource(
      'ec2:DescribeInstanceTypes does not support resource-level permissions; it only reads the instance type catalogue.',
    );
    return {};
  },
  'ec2-launch': ec2Launch,
  'ec2-start': ec2Lifecycle('Start'),
  'ec2-stop': ec2Lifecycle('Stop'),
  'ec2-terminate': ec2Lifecycle('Terminate'),
  /** cloudwatch:GetMetricData (no resource-level permissions: Resource "*"). */
  cloudwatch: ({ f }) => {
    allow(f, ['cloudwatch:GetMetricData'], ['*']);
    f.acknowledgeWildcardResource(
      'cloudwatch:GetMetricData does not support resource-level permissions; it only reads the workers’ CPU metrics.',
    );
    return {};
  },
};

/**
 * Grants the needs to the function and sets the environment they bring. A grant that sets a
 * variable its need does not declare in NEEDS fails the synthesis, so the catalogue's list of
 * variables stays true.
 */
export const grantNeeds = (
  f: LcmFunction,
  needs: readonly Need[],
  config: LcmConfig,
  resources: NeedResources,
): void => {
  const environment: Record<string, string> = {};
  for (const need of new Set(needs)) {
    const grant = NEED_GRANTS[need];
    if (!grant) throw new Error(`${f.functionName}: unknown need "${need}" (functions/catalogue.ts NEEDS)`);
    const env = grant({ f, config, resources, need });
    const declared: readonly string[] = NEEDS[need].env;
    const undeclared = Object.keys(env).filter((key) => !declared.includes(key));
    if (undeclared.length > 0) {
      throw new Error(
        `need "${need}" sets ${undeclared.join(', ')}, not declared in NEEDS (functions/catalogue.ts)`,
      );
    }
    Object.assign(environment, env);
  }
  for (const [key, value] of Object.entries(environment)) f.addEnvironment(key, value);
};
