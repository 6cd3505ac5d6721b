import { OPERATIONS, type Operation, ROLES } from '@lcm/shared/api';
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  type CorsPreflightOptions,
  HttpApi,
  HttpMethod,
  HttpNoneAuthorizer,
  type HttpRoute,
  HttpStage,
  LogGroupLogDestination,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import type { IEventBus } from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { API_GROUPS, handlerEntryOf, operationsOf, type TableAccess, tableAccessOf } from './api-routes.ts';
import { LAMBDA_RUNTIME, LOCK_FILE, lambdaBundling, REPO_ROOT } from './bundling.ts';
import type { LcmStackProps } from './config.ts';
import { acknowledgeIamResources, acknowledgeTableIndexGrants } from './nag-acknowledgements.ts';
import { executionArnPatternOf, pascal } from './names.ts';

export interface ApiStackProps extends LcmStackProps {
  /** The single table (data stack): TABLE_NAME of every handler, granted per group. */
  readonly table: ITableV2;
  /**
   * Handler module of a route group. Default: functions/api/<group>.ts of this repository.
   * Tests may point a group at a fixture.
   */
  readonly handlerEntry?: (group: string) => string;
  /**
   * The session workflow (workflows stack): the `sessions` group starts executions, resolves and
   * fails task tokens and stops executions (WORKFLOW_ENGINE=stepfunctions). Without it, the group
   * keeps the recording engine (nothing is started).
   */
  readonly sessionWorkflow?: { readonly stateMachine: IStateMachine; readonly stateMachineName: string };
  /**
   * The ingest route's dependencies (events stack): the `events` group publishes to the bus and
   * reads the partner registry secret.
   */
  readonly eventIngest?: { readonly bus: IEventBus; readonly partnersSecret: ISecret };
  /**
   * The worker workflows (fleet stack): the `workers` group starts provisioning and drain
   * executions when an operator creates, starts, stops or terminates a worker.
   */
  readonly fleetWorkflows?: { readonly provisioning: IStateMachine; readonly drain: IStateMachine };
}

/** The route group whose handler drives the session workflow (functions/api/sessions.ts). */
export const SESSIONS_GROUP = 'sessions';
/** The route group of `POST /v1/events` (functions/api/events.ts). */
export const EVENTS_GROUP = 'events';
/** The route group whose actions start worker workflows (functions/api/workers.ts). */
export const WORKERS_GROUP = 'workers';

/**
 * One line of JSON per request in the access log group. HTTP API writes `-` for a variable with
 * no value, so every value is a string; `principal` is the JWT `sub` (`-` on public routes).
 */
export const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  routeKey: '$context.routeKey',
  method: '$context.httpMethod',
  path: '$context.path',
  status: '$context.status',
  latency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
  principal: '$context.authorizer.claims.sub',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  responseLength: '$context.responseLength',
} as const;

/** Request headers a browser may send cross-origin (CORS preflight). */
export const CORS_ALLOW_HEADERS = ['authorization', 'content-type', 'idempotency-key'];
/** Response headers a browser script may read. */
export const CORS_EXPOSE_HEADERS = ['location', 'retry-after'];

export const FUNCTION_MEMORY_MB = 512;
/** Below HTTP API's 30 s integration limit, so a slow handler times out in Lambda, visibly. */
export const FUNCTION_TIMEOUT = Duration.seconds(10);
export const POWERTOOLS_SERVICE_NAME = 'lcm-api';

/**
 * The HTTPS API (DESIGN §8): an HTTP API whose routes are generated from the operation catalogue
 * (`OPERATIONS`), one NodejsFunction per route group (functions/api/<group>.ts), a JWT
 * authorizer on every non-public route, JSON access logs, default-stage throttling and CORS
 * from context.
 *
 * Identity: the issuer and audience come from context (`jwtIssuer`, `jwtAudience`); without
 * them the stack creates a Cognito user pool with one group per role (ROLES) and an app client,
 * and accepts that pool's tokens (`cognito:groups` carries the roles; the handlers check them).
 *
 * Least privilege on the table: a group whose operations are all reads (`<resource>:read`
 * permissions or public) gets grantReadData; any other group grantReadWriteData (commands, and
 * their idempotency records in the same table). Each function has its own role with nothing
 * else but writing to its own log group and X-Ray.
 */
export class ApiStack extends Stack {
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  /** The stage URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/ */
  public readonly url: string;
  /** The function of each route group, by group. */
  public readonly functions: ReadonlyMap<string, NodejsFunction>;
  /** The table access granted to each group. */
  public readonly tableAccess: ReadonlyMap<string, TableAccess>;
  public readonly accessLogGroup: LogGroup;
  public readonly jwtIssuer: string;
  public readonly jwtAudience: readonly string[];
  /** Created when no issuer is given in context. */
  public readonly userPool?: cognito.UserPool;
  public readonly userPoolClient?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    const api = config.api;
    const entryOf = props.handlerEntry ?? handlerEntryOf;

    // Identity provider: the one from context, else a Cognito user pool of this stack.
    if (api.jwt) {
      this.jwtIssuer = api.jwt.issuer;
      this.jwtAudience = [...api.jwt.audience];
    } else {
      const { userPool, client } = this.createUserPool(props);
      this.userPool = userPool;
      this.userPoolClient = client;
      this.jwtIssuer = userPool.userPoolProviderUrl;
      this.jwtAudience = [client.userPoolClientId];
    }
    const jwtAuthorizer = new HttpJwtAuthorizer('JwtAuthorizer', this.jwtIssuer, {
      authorizerName: `lcm-${config.stage}-jwt`,
      jwtAudience: [...this.jwtAudience],
      identitySource: ['$request.header.Authorization'],
    });
    const publicRoute = new HttpNoneAuthorizer();

    this.httpApi = new HttpApi(this, 'HttpApi', {
      apiName: `lcm-${config.stage}`,
      description: `Lablet Cloud Manager API (${config.stage})`,
      // The default stage is created below, with access logs and throttling.
      createDefaultStage: false,
      corsPreflight: corsOf(api.corsOrigins),
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: api.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: api.throttle.rateLimit, burstLimit: api.throttle.burstLimit },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.url = this.stage.url;

    // One function and one integration per route group.
    const functions = new Map<string, NodejsFunction>();
    const tableAccess = new Map<string, TableAccess>();
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const group of API_GROUPS) {
      const access = tableAccessOf(group);
      const fn = this.createFunction(group, entryOf(group), access, props);
      functions.set(group, fn);
      tableAccess.set(group, access);
      integrations.set(group, new HttpLambdaIntegration(`${pascal(group)}Integration`, fn));
    }
    this.functions = functions;
    this.tableAccess = tableAccess;
    if (props.sessionWorkflow)
      this.grantSessionWorkflow(groupFunction(functions, SESSIONS_GROUP), props.sessionWorkflow);
    if (props.eventIngest) this.grantEventIngest(groupFunction(functions, EVENTS_GROUP), props.eventIngest);
    if (props.fleetWorkflows)
      this.grantFleetWorkflows(groupFunction(functions, WORKERS_GROUP), props.fleetWorkflows);

    // One route per operation, straight from the catalogue.
    for (const op of OPERATIONS as readonly Operation[]) {
      const routes = this.httpApi.addRoutes({
        path: op.path,
        methods: [HttpMethod[op.method]],
        integration: integrations.get(op.group)!,
        authorizer: op.permission === null ? publicRoute : jwtAuthorizer,
      });
      if (op.permission === null) for (const route of routes) acknowledgePublicRoute(route, op);
    }

    new CfnOutput(this, 'ApiUrl', {
      value: this.url,
      description: 'Base URL of the HTTP API (routes under /v1)',
    });
    new CfnOutput(this, 'JwtIssuer', { value: this.jwtIssuer, description: 'Issuer of the accepted JWTs' });
    if (this.userPool && this.userPoolClient) {
      new CfnOutput(this, 'UserPoolId', {
        value: this.userPool.userPoolId,
        description: 'Cognito user pool of the API (one group per role)',
      });
      new CfnOutput(this, 'UserPoolClientId', {
        value: this.userPoolClient.userPoolClientId,
        description: 'App client of the API: the audience of its tokens',
      });
    }
  }

  private createFunction(
    group: string,
    entry: string,
    access: TableAccess,
    { config, table }: ApiStackProps,
  ): NodejsFunction {
    const id = `${pascal(group)}Function`;
    const operationIds = operationsOf(group).map((o) => o.operationId);
    const logGroup = new LogGroup(this, `${id}Logs`, {
      retention: config.api.logRetention,
      removalPolicy: config.removalPolicy,
    });
    // Own role, no AWS managed policy: logs to its own group only, X-Ray, and the table grant.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `LCM API ${group} handler (${config.stage})`,
    });
    logGroup.grantWrite(role);

    const fn = new NodejsFunction(this, id, {
      description: `LCM API (${config.stage}) ${group}: ${operationIds.join(', ')}`.slice(0, 256),
      entry,
      handler: 'handler',
      runtime: LAMBDA_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: FUNCTION_MEMORY_MB,
      timeout: FUNCTION_TIMEOUT,
      tracing: Tracing.ACTIVE,
      role,
      logGroup,
      projectRoot: REPO_ROOT,
      depsLockFilePath: LOCK_FILE,
      bundling: lambdaBundling(),
      environment: {
        TABLE_NAME: table.tableName,
        POWERTOOLS_SERVICE_NAME,
        POWERTOOLS_LOG_LEVEL: config.api.logLevel,
        NODE_OPTIONS: '--enable-source-maps',
        LCM_STAGE: config.stage,
      },
    });
    if (access === 'read') table.grantReadData(fn);
    else table.grantReadWriteData(fn);

    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to nodejs22.x on purpose (DESIGN §11): the bundles target node22 and every test runs on Node 22; moving to a newer runtime is a deliberate upgrade, not a drift.',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing (Tracing.ACTIVE): xray:PutTraceSegments and xray:PutTelemetryRecords do not support resource-level permissions, so their resource must be "*".',
    });
    acknowledgeTableIndexGrants(
      role,
      'The table grant covers the indexes of the single table (<table ARN>/index/*): the handlers query its GSIs, and the wildcard matches only the indexes of that one table.',
    );
    return fn;
  }

  /**
   * The sessions handler on Step Functions: StartExecution on the state machine, task success and
   * failure (finish, terminate), DescribeExecution (a repeated start) and StopExecution (terminate)
   * on its executions.
   */
  private grantSessionWorkflow(fn: NodejsFunction, workflow: NonNullable<ApiStackProps['sessionWorkflow']>) {
    fn.addEnvironment('WORKFLOW_ENGINE', 'stepfunctions');
    fn.addEnvironment('SESSION_STATE_MACHINE_ARN', workflow.stateMachine.stateMachineArn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution', 'states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: [workflow.stateMachine.stateMachineArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executionArnPatternOf(this, workflow.stateMachineName)],
      }),
    );
    acknowledgeIamResources(
      fn.role!,
      (resource) => resource.endsWith(`:execution:${workflow.stateMachineName}:*`),
      `Execution ARNs end in the execution name (one per session, known at run time); the pattern covers only the executions of ${workflow.stateMachineName}.`,
    );
  }

  /** Worker actions: StartExecution on the provisioning and drain machines (names make it idempotent). */
  private grantFleetWorkflows(fn: NodejsFunction, wf: NonNullable<ApiStackProps['fleetWorkflows']>) {
    fn.addEnvironment('WORKFLOW_ENGINE', 'stepfunctions');
    fn.addEnvironment('WORKER_PROVISIONING_STATE_MACHINE_ARN', wf.provisioning.stateMachineArn);
    fn.addEnvironment('WORKER_DRAIN_STATE_MACHINE_ARN', wf.drain.stateMachineArn);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: [wf.provisioning.stateMachineArn, wf.drain.stateMachineArn],
      }),
    );
  }

  /** POST /v1/events: PutEvents on the LCM bus, the partner registry secret (HMAC keys). */
  private grantEventIngest(fn: NodejsFunction, ingest: NonNullable<ApiStackProps['eventIngest']>) {
    fn.addEnvironment('EVENT_BUS_NAME', ingest.bus.eventBusName);
    fn.addEnvironment('LCM_EVENT_PARTNERS_SECRET_ID', ingest.partnersSecret.secretArn);
    ingest.bus.grantPutEventsTo(fn);
    ingest.partnersSecret.grantRead(fn);
  }

  private createUserPool({ config }: ApiStackProps): {
    userPool: cognito.UserPool;
    client: cognito.UserPoolClient;
  } {
    const userPool = new cognito.UserPool(this, 'UserPool', {
      userPoolName: `lcm-${config.stage}`,
      // Operators and integrations are invited by an administrator, never self-registered.
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
      },
      mfa: cognito.Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      // Plus tier: threat protection (compromised credentials, adaptive authentication) enforced.
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      deletionProtection: config.deletionProtection,
      removalPolicy: config.removalPolicy,
    });
    // One group per role: the `cognito:groups` claim is what the handlers read roles from.
    ROLES.forEach((role, precedence) => {
      new cognito.UserPoolGroup(this, `Group${pascal(role)}`, {
        userPool,
        groupName: role,
        description: `LCM role ${role}`,
        precedence,
      });
    });
    const client = userPool.addClient('ApiClient', {
      userPoolClientName: `lcm-${config.stage}-api`,
      authFlows: { userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
      // No hosted UI or OAuth flows: tokens come from SRP sign-in (the console, a CLI, the portal).
      disableOAuth: true,
    });
    return { userPool, client };
  }
}

const groupFunction = (functions: ReadonlyMap<string, NodejsFunction>, group: string): NodejsFunction => {
  const fn = functions.get(group);
  if (!fn) throw new Error(`The operation catalogue has no route group "${group}"`);
  return fn;
};

/** CORS only when origins are configured; the methods are those the catalogue uses. */
const corsOf = (origins: readonly string[]): CorsPreflightOptions | undefined => {
  if (origins.length === 0) return undefined;
  const methods = [...new Set((OPERATIONS as readonly Operation[]).map((o) => o.method))];
  return {
    allowOrigins: [...origins],
    allowMethods: [...methods.map((m) => CorsHttpMethod[m]), CorsHttpMethod.OPTIONS],
    allowHeaders: CORS_ALLOW_HEADERS,
    exposeHeaders: CORS_EXPOSE_HEADERS,
    // Bearer tokens, not cookies.
    allowCredentials: false,
    maxAge: Duration.hours(1),
  };
};

const acknowledgePublicRoute = (route: HttpRoute, op: Operation): void => {
  Validations.of(route).acknowledge({
    id: 'AwsSolutions-APIG4',
    reason: `${op.method} ${op.path} (${op.operationId}) is public by design (permission null in OPERATIONS): liveness probes and API clients read it without a token; it only reads.`,
  });
};
