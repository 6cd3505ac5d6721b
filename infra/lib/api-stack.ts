import {
  API_RESOURCE_SERVER,
  API_SCOPES,
  OPERATIONS,
  type Operation,
  ROLE_SCOPES,
  ROLES,
  routeKeyOf,
} from '@lcm/shared/api';
import { Aws, CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import type { CfnStage } from 'aws-cdk-lib/aws-apigatewayv2';
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
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { API_FUNCTIONS, type ApiFunctionSpec } from '../../functions/catalogue.ts';
import { API_GROUPS, isReadOperation, operationsOf, type TableAccess, tableAccessOf } from './api-routes.ts';
import { type ApiThrottles, apiThrottlesOf } from './api-throttles.ts';
import type { LcmStackProps } from './config.ts';
import { CONSOLE_DEV_URL } from './console-stack.ts';
import type { NeedResources } from './grants.ts';
import { LcmFunction } from './lambda.ts';
import { pascal } from './names.ts';

export interface ApiStackProps extends LcmStackProps {
  /** The single table (data stack): TABLE_NAME of every handler, granted per group. */
  readonly table: ITableV2;
  /**
   * The evidence bucket (data stack), for the `topology-read`, `topology-write` and `uploads`
   * needs: the `definitions` group stores topologies by hash (`topologies/`), hands out pre-signed
   * PUT URLs for `uploads/` (POST /v1/uploads) and GET URLs of topologies (?include=topology).
   */
  readonly evidenceBucket: IBucket;
  /**
   * Handler module of a route group (absolute, or relative to the repository root). Default: the
   * entry of the group's function in the catalogue. Tests may point a group at a fixture.
   */
  readonly handlerEntry?: (group: string) => string;
  /**
   * The session workflow (workflows stack), for the `session-workflow` and `task-tokens` needs
   * (the `sessions` group starts, stops and describes executions, resolves and fails task tokens).
   */
  readonly sessionWorkflow: { readonly stateMachine: IStateMachine };
  /** The ingest route's dependencies (events stack), for the `bus` and `event-partners` needs. */
  readonly eventIngest: { readonly bus: IEventBus; readonly partnersSecret: ISecret };
  /**
   * The Grading Engine's API key secret (events stack), for the `grading` need: the `sessions`
   * group re-submits a failed grading (POST /v1/sessions/{id}/grade).
   */
  readonly gradingApiKey?: ISecret;
  /** The operator console (console stack): its app client's callback URL (issue 14, item 2). */
  readonly console?: { readonly url: string };
  /**
   * The worker workflows (fleet stack), for the `fleet-workflows` need: the `workers` group
   * starts provisioning and drain executions when an operator creates, starts, stops or
   * terminates a worker.
   */
  readonly fleetWorkflows: { readonly provisioning: IStateMachine; readonly drain: IStateMachine };
  /**
   * The table-stream consumers (events stack: function and on-failure queue by consumer name), for
   * the `stream-failures` need: the `streams` group lists and replays what they gave up on.
   */
  readonly streamConsumers: NeedResources['streamConsumers'];
}

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

/**
 * The HTTPS API (DESIGN §8): an HTTP API whose routes are generated from the operation catalogue
 * (`OPERATIONS`), one LcmFunction per route group (the catalogue's API functions,
 * functions/catalogue.ts; handler functions/api/<group>.ts), a JWT
 * authorizer on every non-public route, JSON access logs, throttling (the stage default on every
 * route, tighter limits on the write routes: api-throttles.ts, from the stage's settings) and CORS
 * from context.
 *
 * Identity: the issuer and audience come from context (`jwtIssuer`, `jwtAudience`); without
 * them the stack creates a Cognito user pool with one group per role (ROLES) and an app client
 * for people (SRP sign-in, MFA, `cognito:groups` carries the roles; the handlers check them),
 * plus, for the reservation portal as a machine client (issue 12, item 7): a resource server
 * `lcm` with one scope per operation permission of the role table (API_SCOPES), a domain for
 * its token endpoint, and a client-credentials app client granted exactly the portal role's
 * scopes (ROLE_SCOPES; no user, so no MFA prompt; no hosted-UI flows). The API accepts both
 * clients' tokens; a token with scopes and no groups gets the role its scopes grant.
 *
 * Least privilege: each function gets exactly the needs of its catalogue entry (grants.ts). On
 * the table, a group whose operations are all reads (`<resource>:read` permissions or public)
 * must say `table-read`, any other group `table-write` (commands, and their idempotency records
 * in the same table); the synthesis fails when the catalogue and the operations disagree. Beyond
 * its needs, each function's own role may only write to its own log group and to X-Ray.
 */
export class ApiStack extends Stack {
  public readonly httpApi: HttpApi;
  public readonly stage: HttpStage;
  /** The stage URL, e.g. https://abc123.execute-api.eu-west-1.amazonaws.com/ */
  public readonly url: string;
  /** The function of each route group, by group. */
  public readonly functions: ReadonlyMap<string, LcmFunction>;
  /** The table access granted to each group. */
  public readonly tableAccess: ReadonlyMap<string, TableAccess>;
  public readonly accessLogGroup: LogGroup;
  /** The stage default and per-route throttles (api-throttles.ts). */
  public readonly throttles: ApiThrottles;
  public readonly jwtIssuer: string;
  public readonly jwtAudience: readonly string[];
  /** Created when no issuer is given in context. */
  public readonly userPool?: cognito.UserPool;
  public readonly userPoolClient?: cognito.UserPoolClient;
  /** The reservation portal's client-credentials app client (with the user pool). */
  public readonly portalClient?: cognito.UserPoolClient;
  public readonly resourceServer?: cognito.UserPoolResourceServer;
  public readonly userPoolDomain?: cognito.UserPoolDomain;
  /** The operator console's app client (authorization code + PKCE, hosted UI), with `console`. */
  public readonly consoleClient?: cognito.UserPoolClient;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;
    const api = config.api;

    // Identity provider: the one from context, else a Cognito user pool of this stack.
    if (api.jwt) {
      this.jwtIssuer = api.jwt.issuer;
      this.jwtAudience = [...api.jwt.audience];
    } else {
      const { userPool, client } = this.createUserPool(props);
      this.userPool = userPool;
      this.userPoolClient = client;
      const machine = this.createPortalClient(props, userPool);
      this.resourceServer = machine.resourceServer;
      this.userPoolDomain = machine.domain;
      this.portalClient = machine.client;
      this.jwtIssuer = userPool.userPoolProviderUrl;
      // A client-credentials token has no `aud`: API Gateway then checks its `client_id`.
      if (props.console) this.consoleClient = this.createConsoleClient(props, userPool, props.console.url);
      this.jwtAudience = [
        client.userPoolClientId,
        machine.client.userPoolClientId,
        ...(this.consoleClient ? [this.consoleClient.userPoolClientId] : []),
      ];
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
      // The console (another origin: its CloudFront distribution) calls this API from the browser.
      corsPreflight: corsOf([...api.corsOrigins, ...(props.console ? [props.console.url] : [])]),
    });

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: api.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.throttles = apiThrottlesOf(config);
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      throttle: { ...this.throttles.stage },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });
    this.url = this.stage.url;

    // One function and one integration per route group, each function from its catalogue entry.
    const resources: NeedResources = {
      table: props.table,
      evidenceBucket: props.evidenceBucket,
      bus: props.eventIngest.bus,
      secrets: {
        eventPartners: props.eventIngest.partnersSecret,
        ...(props.gradingApiKey ? { gradingApiKey: props.gradingApiKey } : {}),
      },
      ...(props.streamConsumers ? { streamConsumers: props.streamConsumers } : {}),
      // By reference: this stack is deployed after the workflows and fleet stacks.
      stateMachineArns: {
        'session-lifecycle': props.sessionWorkflow.stateMachine.stateMachineArn,
        'worker-provisioning': props.fleetWorkflows.provisioning.stateMachineArn,
        'worker-drain': props.fleetWorkflows.drain.stateMachineArn,
      },
    };
    const functions = new Map<string, LcmFunction>();
    const tableAccess = new Map<string, TableAccess>();
    const integrations = new Map<string, HttpLambdaIntegration>();
    for (const spec of apiFunctionsOfGroups()) {
      const fn = new LcmFunction(this, `${pascal(spec.group)}Api`, {
        config,
        spec,
        resources,
        ...(props.handlerEntry ? { entry: props.handlerEntry(spec.group) } : {}),
      });
      functions.set(spec.group, fn);
      tableAccess.set(spec.group, tableAccessOf(spec.group));
      integrations.set(spec.group, new HttpLambdaIntegration(`${pascal(spec.group)}Integration`, fn.fn));
    }
    this.functions = functions;
    this.tableAccess = tableAccess;

    // One route per operation, straight from the catalogue.
    for (const op of OPERATIONS as readonly Operation[]) {
      const routes = this.httpApi.addRoutes({
        path: op.path,
        methods: [HttpMethod[op.method]],
        integration: integrations.get(op.group)!,
        authorizer: op.permission === null ? publicRoute : jwtAuthorizer,
      });
      if (op.permission === null) for (const route of routes) acknowledgePublicRoute(route, op);
      // A route's settings name its route key: the stage is created after the route.
      if (this.throttles.routes.has(routeKeyOf(op)))
        for (const route of routes) this.stage.node.addDependency(route);
    }
    // Tighter limits on the write routes (issue 12, item 7), beside the stage default.
    (this.stage.node.defaultChild as CfnStage).routeSettings = Object.fromEntries(
      [...this.throttles.routes].map(([routeKey, limits]) => [
        routeKey,
        // RouteSettings is JSON in CloudFormation: its keys are written as CloudFormation spells them.
        { ThrottlingRateLimit: limits.rateLimit, ThrottlingBurstLimit: limits.burstLimit },
      ]),
    );

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
        description: 'App client of the API for people (SRP sign-in): an audience of its tokens',
      });
    }
    if (this.portalClient && this.userPoolDomain) {
      new CfnOutput(this, 'PortalClientId', {
        value: this.portalClient.userPoolClientId,
        description:
          'Client-credentials app client of the reservation portal (its secret: aws cognito-idp describe-user-pool-client)',
      });
      new CfnOutput(this, 'TokenEndpoint', {
        value: `${this.userPoolDomain.baseUrl()}/oauth2/token`,
        description: 'OAuth token endpoint of the user pool (grant_type=client_credentials)',
      });
      new CfnOutput(this, 'PortalScopes', {
        value: ROLE_SCOPES['lcm.portal'].join(' '),
        description: 'The scopes the portal client is granted (the lcm.portal role)',
      });
    }
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

  /**
   * The operator console's app client (issue 14, item 2): a public client (no secret: a browser
   * cannot keep one) with only the authorization code grant, which Cognito's hosted UI serves
   * with PKCE, on the pool's domain; callbacks and sign-out to the console's URL and Vite's dev
   * server. Its access tokens carry `cognito:groups` (the roles) and its `client_id`, which the
   * API accepts as an audience.
   */
  private createConsoleClient(
    { config }: ApiStackProps,
    userPool: cognito.UserPool,
    consoleUrl: string,
  ): cognito.UserPoolClient {
    const urls = [`${consoleUrl}/`, CONSOLE_DEV_URL];
    return userPool.addClient('ConsoleClient', {
      userPoolClientName: `lcm-${config.stage}-console`,
      generateSecret: false,
      authFlows: {},
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
        callbackUrls: urls,
        logoutUrls: urls,
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
  }

  /**
   * The reservation portal as a machine client: the resource server with the scopes of the role
   * table, the pool's domain (its token endpoint) and a client-credentials app client granted the
   * portal role's scopes. Only the client-credentials grant: no authorization code or implicit
   * flow, no callback URL, no hosted-UI sign-in; its explicit auth flows allow only refresh-token
   * auth, which the client-credentials grant never issues, so no user can sign in through it.
   */
  private createPortalClient(
    { config }: ApiStackProps,
    userPool: cognito.UserPool,
  ): {
    resourceServer: cognito.UserPoolResourceServer;
    domain: cognito.UserPoolDomain;
    client: cognito.UserPoolClient;
  } {
    const scopes = new Map(
      API_SCOPES.map((s) => [
        `${API_RESOURCE_SERVER}/${s.name}`,
        new cognito.ResourceServerScope({ scopeName: s.name, scopeDescription: s.description }),
      ]),
    );
    const resourceServer = userPool.addResourceServer('ResourceServer', {
      identifier: API_RESOURCE_SERVER,
      userPoolResourceServerName: `lcm-${config.stage}-api`,
      scopes: [...scopes.values()],
    });
    const domain = userPool.addDomain('Domain', {
      cognitoDomain: {
        domainPrefix: config.api.cognitoDomainPrefix ?? `lcm-${config.stage}-${Aws.ACCOUNT_ID}`,
      },
    });
    const client = userPool.addClient('PortalClient', {
      userPoolClientName: `lcm-${config.stage}-portal`,
      generateSecret: true,
      oAuth: {
        flows: { clientCredentials: true },
        scopes: ROLE_SCOPES['lcm.portal'].map((name) =>
          cognito.OAuthScope.resourceServer(resourceServer, scopes.get(name)!),
        ),
      },
      supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
      preventUserExistenceErrors: true,
      enableTokenRevocation: true,
      accessTokenValidity: Duration.hours(1),
    });
    (client.node.defaultChild as cognito.CfnUserPoolClient).explicitAuthFlows = ['ALLOW_REFRESH_TOKEN_AUTH'];
    return { resourceServer, domain, client };
  }
}

/**
 * The catalogue's API functions in the order of the operation catalogue's groups, after checking
 * that they are one per group and that each one's table need is what its operations require
 * (api-routes.ts: `read` when every operation reads).
 */
const apiFunctionsOfGroups = (): ApiFunctionSpec[] => {
  const byGroup = new Map(API_FUNCTIONS.map((f) => [f.group as string, f]));
  const problems: string[] = [];
  for (const group of API_GROUPS) if (!byGroup.has(group)) problems.push(`no function for group "${group}"`);
  for (const group of byGroup.keys()) {
    if (!API_GROUPS.includes(group)) problems.push(`function "${group}" serves no operation`);
  }
  if (API_FUNCTIONS.length !== byGroup.size) problems.push('a group has more than one function');
  for (const [group, spec] of byGroup) {
    if (!API_GROUPS.includes(group)) continue;
    const expected = tableAccessOf(group) === 'read' ? 'table-read' : 'table-write';
    const table = spec.needs.filter((n) => n === 'table-read' || n === 'table-write');
    if (table.length !== 1 || table[0] !== expected) {
      const writes = operationsOf(group)
        .filter((o) => !isReadOperation(o))
        .map((o) => o.operationId);
      problems.push(
        `group "${group}" must need ${expected}, not ${table.join(' + ') || 'no table'}${writes.length > 0 ? ` (writing operations: ${writes.join(', ')})` : ''}`,
      );
    }
  }
  if (problems.length > 0) {
    throw new Error(
      `functions/catalogue.ts API_FUNCTIONS and the operation catalogue disagree: ${problems.join('; ')}`,
    );
  }
  return API_GROUPS.map((group) => byGroup.get(group)!);
};

/** CORS only for the console and the configured origins; the methods are those the catalogue uses. */
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
