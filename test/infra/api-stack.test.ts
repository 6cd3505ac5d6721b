import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPERATIONS, type Operation, ROLES, routeKeyOf } from '@lcm/shared/api';
import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { CfnRoute } from 'aws-cdk-lib/aws-apigatewayv2';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import {
  API_GROUPS,
  handlerEntryOf,
  isReadOperation,
  operationsOf,
  tableAccessOf,
} from '../../infra/lib/api-routes.ts';
import { ACCESS_LOG_FIELDS, type ApiStack, CORS_ALLOW_HEADERS } from '../../infra/lib/api-stack.ts';
import { esbuildOptions, LAMBDA_BUNDLE } from '../../infra/lib/bundling.ts';
import { DEFAULTS } from '../../infra/lib/config.ts';
import { buildTestApp, bundleStacks } from './app.ts';
import { expectNagClean } from './nag.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; [k: string]: unknown };

const ops: readonly Operation[] = OPERATIONS;
const publicOps = ops.filter((o) => o.permission === null);

const EXTERNAL_IDP = {
  jwtIssuer: 'https://login.example.com/realms/lcm',
  jwtAudience: 'lcm-api,lcm-portal',
};

const synth = (context: Record<string, unknown> = {}) => {
  const { stacks } = buildTestApp(context);
  return { api: stacks.api, data: stacks.data, template: Template.fromStack(stacks.api) };
};

// One synthesis per configuration, shared by the assertions below.
const dev = synth({ stage: 'dev' });
const prod = synth({ stage: 'prod' });
const external = synth({
  stage: 'staging',
  ...EXTERNAL_IDP,
  corsOrigins: 'https://portal.example.com, http://localhost:5173',
  throttleRateLimit: '20.5',
  throttleBurstLimit: 40,
  logRetentionDays: '30',
  logLevel: 'debug',
});

const resourcesOf = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.findResources(type)) as [string, Resource][];

const only = (template: Template, type: string): [string, Resource] => {
  const found = resourcesOf(template, type);
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0]!;
};

const logicalIdOf = (stack: Stack, construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as never);

const functionIdOf = (api: ApiStack, group: string): string => logicalIdOf(api, api.functions.get(group)!.fn);

/** The groups whose handlers do more than read and write the table (their catalogue needs say so). */
const SESSIONS_GROUP = 'sessions';
const EVENTS_GROUP = 'events';
const WORKERS_GROUP = 'workers';
const DEFINITIONS_GROUP = 'definitions';
const STREAMS_GROUP = 'streams';

/** Route key → the route resource. */
const routesOf = (template: Template): Map<string, Resource> =>
  new Map(
    resourcesOf(template, 'AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey as string, r]),
  );

/** Integration logical id → the function logical id it invokes. */
const integrationTargets = (template: Template): Map<string, string> =>
  new Map(
    resourcesOf(template, 'AWS::ApiGatewayV2::Integration').map(([id, r]) => {
      const uri = r.Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] };
      return [id, uri['Fn::GetAtt'][0]];
    }),
  );

const policyOf = (template: Template, roleId: string) => {
  const policies = resourcesOf(template, 'AWS::IAM::Policy').filter(([, p]) =>
    (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId),
  );
  expect(policies, `one policy on ${roleId}`).toHaveLength(1);
  return (policies[0]![1].Properties.PolicyDocument as { Statement: { Action: string | string[] }[] })
    .Statement;
};

const actionsOf = (statements: { Action: string | string[] }[]): string[] =>
  statements.flatMap((s) => [s.Action].flat());

/**
 * What three groups get beyond the table: `sessions` drives the session workflow on Step Functions,
 * `events` (POST /v1/events) publishes to the bus with the partner registry secret, `workers`
 * starts the provisioning and drain workflows.
 */
const GROUP_EXTRAS: Record<string, { env: string[]; services: string[] }> = {
  [SESSIONS_GROUP]: { env: ['WORKFLOW_ENGINE', 'SESSION_STATE_MACHINE_ARN'], services: ['states'] },
  [EVENTS_GROUP]: {
    env: ['EVENT_BUS_NAME', 'LCM_EVENT_PARTNERS_SECRET_ID'],
    services: ['events', 'secretsmanager'],
  },
  [WORKERS_GROUP]: {
    env: ['WORKFLOW_ENGINE', 'WORKER_PROVISIONING_STATE_MACHINE_ARN', 'WORKER_DRAIN_STATE_MACHINE_ARN'],
    services: ['states'],
  },
  // Create and update check the instance type (ec2:DescribeInstanceTypes, issue 10 item 4).
  templates: { env: [], services: ['ec2'] },
  // Topologies by hash and pre-signed uploads in the evidence bucket (issue 11, item 1).
  [DEFINITIONS_GROUP]: { env: ['EVIDENCE_BUCKET'], services: ['s3'] },
  // Stream failures: the on-failure queues, the table stream, the consumer functions (issue 11, item 5).
  [STREAMS_GROUP]: { env: ['LCM_STREAM_FAILURE_CONSUMERS'], services: ['sqs', 'lambda'] },
};

const WRITE_ACTIONS = [
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:BatchWriteItem',
];

describe('api routes derived from the operation catalogue', () => {
  it('has one group per distinct `group`, in catalogue order', () => {
    expect(API_GROUPS).toEqual([...new Set(ops.map((o) => o.group))]);
    expect(API_GROUPS).toEqual(expect.arrayContaining(['health', 'sessions', 'fleet']));
  });

  it('reads are `:read` permissions and public operations; idempotent commands always write', () => {
    const probe = (o: Partial<Operation>) =>
      isReadOperation({ ...ops[0]!, permission: null, idempotent: undefined, ...o } as Operation);
    expect(probe({ permission: 'fleet:read' })).toBe(true);
    expect(probe({ permission: null })).toBe(true);
    expect(probe({ permission: 'sessions:create' })).toBe(false);
    expect(probe({ permission: 'workers:write' })).toBe(false);
    expect(probe({ permission: 'fleet:read', idempotent: true })).toBe(false);
  });

  it('gives read-only access to the groups whose operations all read, read-write to the others', () => {
    for (const group of API_GROUPS) {
      const allRead = operationsOf(group).every(
        (o) => !o.idempotent && (o.permission === null || o.permission.endsWith(':read')),
      );
      expect(tableAccessOf(group), group).toBe(allRead ? 'read' : 'readWrite');
    }
    // Facts of today's catalogue, stated independently of the rule above.
    expect(tableAccessOf('health')).toBe('read');
    expect(tableAccessOf('fleet')).toBe('read');
    expect(tableAccessOf('sessions')).toBe('readWrite');
    expect(tableAccessOf('workers')).toBe('readWrite');
    expect(() => tableAccessOf('nope')).toThrow(/No operation/);
  });
});

describe('ApiStack: routes and authorizer', () => {
  it.each([
    ['Cognito (default)', dev],
    ['external issuer', external],
  ])('%s: every operation has exactly its route, to its group function, JWT unless public', (_name, s) => {
    const routes = routesOf(s.template);
    expect([...routes.keys()].sort()).toEqual(ops.map(routeKeyOf).sort());
    const [authorizerId] = only(s.template, 'AWS::ApiGatewayV2::Authorizer');
    const targets = integrationTargets(s.template);
    for (const op of ops) {
      const route = routes.get(routeKeyOf(op))!;
      const target = route.Properties.Target as { 'Fn::Join': [string, [string, { Ref: string }]] };
      const integrationId = target['Fn::Join'][1][1].Ref;
      expect(targets.get(integrationId), `${op.operationId} → ${op.group}`).toBe(
        functionIdOf(s.api, op.group),
      );
      if (op.permission === null) {
        expect(route.Properties.AuthorizationType, op.operationId).toBe('NONE');
        expect(route.Properties.AuthorizerId, op.operationId).toBeUndefined();
      } else {
        expect(route.Properties.AuthorizationType, op.operationId).toBe('JWT');
        expect(route.Properties.AuthorizerId, op.operationId).toEqual({ Ref: authorizerId });
      }
    }
  });

  it('has public operations (health, openapi.json) and they are the only unauthenticated routes', () => {
    expect(publicOps.map((o) => o.operationId)).toEqual(expect.arrayContaining(['getHealth', 'getOpenApi']));
    const open = [...routesOf(dev.template).values()].filter((r) => r.Properties.AuthorizationType !== 'JWT');
    expect(open.map((r) => r.Properties.RouteKey).sort()).toEqual(publicOps.map(routeKeyOf).sort());
  });

  it('has one integration and one API Gateway invoke permission per route, scoped to that route', () => {
    expect(resourcesOf(dev.template, 'AWS::ApiGatewayV2::Integration')).toHaveLength(API_GROUPS.length);
    const permissions = resourcesOf(dev.template, 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(ops.length);
    for (const [, p] of permissions) {
      expect(p.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(p.Properties.SourceArn)).toMatch(/\/v1\//);
    }
  });

  it('without jwtIssuer: a Cognito user pool with one group per role, and its issuer and client', () => {
    const [poolId, pool] = only(dev.template, 'AWS::Cognito::UserPool');
    // The human client (SRP sign-in); the portal's machine client: test/infra/api-hardening.test.ts.
    const clientId = logicalIdOf(dev.api, dev.api.userPoolClient!);
    const client = dev.template.toJSON().Resources[clientId] as Resource;
    const portalClientId = logicalIdOf(dev.api, dev.api.portalClient!);
    // The operator console's client (issue 14): public, authorization code only (PKCE), no secret.
    const consoleClientId = logicalIdOf(dev.api, dev.api.consoleClient!);
    expect(
      resourcesOf(dev.template, 'AWS::Cognito::UserPoolClient')
        .map(([id]) => id)
        .sort(),
    ).toEqual([clientId, portalClientId, consoleClientId].sort());
    const consoleClient = dev.template.toJSON().Resources[consoleClientId] as Resource;
    expect(consoleClient.Properties).toMatchObject({
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      PreventUserExistenceErrors: 'ENABLED',
    });
    const groups = resourcesOf(dev.template, 'AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties);
    expect(groups.map((g) => g.GroupName)).toEqual([...ROLES]);
    expect(groups.every((g) => (g.UserPoolId as { Ref: string }).Ref === poolId)).toBe(true);
    const [, authorizer] = only(dev.template, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties).toMatchObject({
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: {
        Issuer: { 'Fn::GetAtt': [poolId, 'ProviderURL'] },
        Audience: [{ Ref: clientId }, { Ref: portalClientId }, { Ref: consoleClientId }],
      },
    });
    expect(pool.Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      UserPoolTier: 'PLUS',
      Policies: {
        PasswordPolicy: {
          MinimumLength: 12,
          RequireLowercase: true,
          RequireUppercase: true,
          RequireNumbers: true,
          RequireSymbols: true,
        },
      },
    });
    expect(client.Properties).toMatchObject({
      GenerateSecret: false,
      PreventUserExistenceErrors: 'ENABLED',
      ExplicitAuthFlows: ['ALLOW_USER_SRP_AUTH', 'ALLOW_REFRESH_TOKEN_AUTH'],
      AllowedOAuthFlowsUserPoolClient: false,
    });
    dev.template.hasOutput('UserPoolId', { Value: { Ref: poolId } });
    dev.template.hasOutput('UserPoolClientId', { Value: { Ref: clientId } });
    dev.template.hasOutput('ApiUrl', {});
  });

  it('with jwtIssuer and jwtAudience from context: that issuer and audience, no Cognito', () => {
    const [, authorizer] = only(external.template, 'AWS::ApiGatewayV2::Authorizer');
    expect(authorizer.Properties.JwtConfiguration).toEqual({
      Issuer: EXTERNAL_IDP.jwtIssuer,
      Audience: ['lcm-api', 'lcm-portal'],
    });
    for (const type of [
      'AWS::Cognito::UserPool',
      'AWS::Cognito::UserPoolClient',
      'AWS::Cognito::UserPoolGroup',
    ]) {
      external.template.resourceCountIs(type, 0);
    }
    const outputs = Object.keys(external.template.findOutputs('*'));
    expect(outputs).toContain('ApiUrl');
    expect(outputs).not.toContain('UserPoolId');
    expect(outputs).not.toContain('UserPoolClientId');
    expect(outputs).not.toContain('PortalClientId');
    external.template.resourceCountIs('AWS::Cognito::UserPoolResourceServer', 0);
    external.template.resourceCountIs('AWS::Cognito::UserPoolDomain', 0);
    expect(external.api.userPool).toBeUndefined();
  });

  it('rejects an issuer without audience, an audience without issuer and a non-https issuer', () => {
    expect(() => buildTestApp({ jwtIssuer: EXTERNAL_IDP.jwtIssuer })).toThrow(/jwtAudience/);
    expect(() => buildTestApp({ jwtAudience: 'x' })).toThrow(/jwtIssuer/);
    expect(() => buildTestApp({ jwtIssuer: 'http://insecure.example.com', jwtAudience: 'x' })).toThrow(
      /https/,
    );
  });
});

describe('ApiStack: one function per group', () => {
  const functions = resourcesOf(dev.template, 'AWS::Lambda::Function');

  it('has exactly one function per route group', () => {
    expect(functions).toHaveLength(API_GROUPS.length);
    expect([...dev.api.functions.keys()]).toEqual([...API_GROUPS]);
  });

  it.each(API_GROUPS.map((g) => [g]))(
    '%s: Node 22 on arm64, traced, its own log group, the environment',
    (group) => {
      const fn = functions.find(([id]) => id === functionIdOf(dev.api, group))![1];
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
      });
      const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(Object.keys(env).sort()).toEqual(
        [
          'LCM_STAGE',
          'NODE_OPTIONS',
          'POWERTOOLS_LOG_LEVEL',
          'POWERTOOLS_SERVICE_NAME',
          'TABLE_NAME',
          ...(GROUP_EXTRAS[group]?.env ?? []),
        ].sort(),
      );
      expect(env).toMatchObject({
        LCM_STAGE: 'dev',
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        POWERTOOLS_SERVICE_NAME: 'lcm-api',
      });
      // TABLE_NAME is the data stack's table, read across stacks.
      expect(JSON.stringify(env.TABLE_NAME)).toContain(dev.data.stackName);

      const logGroupId = (fn.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      const logGroup = dev.template.toJSON().Resources[logGroupId] as Resource;
      expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
      expect(logGroup.Properties.RetentionInDays).toBe(DEFAULTS.logRetentionDays);
    },
  );

  it('takes the log level and retention from context', () => {
    for (const [, fn] of resourcesOf(external.template, 'AWS::Lambda::Function')) {
      expect(fn.Properties.Environment).toMatchObject({
        Variables: { POWERTOOLS_LOG_LEVEL: 'DEBUG', LCM_STAGE: 'staging' },
      });
    }
    for (const [, group] of resourcesOf(external.template, 'AWS::Logs::LogGroup')) {
      expect(group.Properties.RetentionInDays).toBe(30);
    }
  });

  it.each(API_GROUPS.map((g) => [g, tableAccessOf(g)]))(
    '%s (%s): least privilege on the table, own role without managed policies',
    (group, access) => {
      const fn = functions.find(([id]) => id === functionIdOf(dev.api, group))![1];
      const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const role = dev.template.toJSON().Resources[roleId] as Resource;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      const actions = actionsOf(policyOf(dev.template, roleId));
      expect(actions).toEqual(
        expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:DescribeTable']),
      );
      expect(actions.filter((a) => a.includes('*'))).toEqual([]);
      if (access === 'read') {
        expect(actions.filter((a) => WRITE_ACTIONS.includes(a))).toEqual([]);
      } else {
        expect(actions).toEqual(expect.arrayContaining(WRITE_ACTIONS));
      }
      // Nothing beyond the table, its own log group and X-Ray (and what the group's extras need).
      const services = [...new Set(actions.map((a) => a.split(':')[0]))].sort();
      expect(services).toEqual(['dynamodb', 'logs', 'xray', ...(GROUP_EXTRAS[group]?.services ?? [])].sort());
    },
  );
});

describe('ApiStack: session workflow and event ingest', () => {
  const fnOf = (group: string) =>
    resourcesOf(dev.template, 'AWS::Lambda::Function').find(
      ([id]) => id === functionIdOf(dev.api, group),
    )![1];
  const envOf = (group: string) =>
    (fnOf(group).Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  const statementsOf = (group: string) => {
    const roleId = (fnOf(group).Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    return policyOf(dev.template, roleId) as unknown as {
      Action: string | string[];
      Resource: unknown;
      Effect: string;
    }[];
  };
  const withAction = (group: string, action: string) =>
    statementsOf(group).filter((st) => [st.Action].flat().includes(action));

  it('sessions: Step Functions engine on the workflows stack’s state machine', () => {
    const env = envOf(SESSIONS_GROUP);
    expect(env.WORKFLOW_ENGINE).toBe('stepfunctions');
    expect(JSON.stringify(env.SESSION_STATE_MACHINE_ARN)).toContain('Lcm-dev-Workflows');
    const [start] = withAction(SESSIONS_GROUP, 'states:StartExecution');
    expect([start!.Action].flat().sort()).toEqual(
      ['states:SendTaskFailure', 'states:SendTaskSuccess', 'states:StartExecution'].sort(),
    );
    // The state machine itself, the same value as SESSION_STATE_MACHINE_ARN.
    expect(start!.Resource).toEqual(env.SESSION_STATE_MACHINE_ARN);
    const [executions] = withAction(SESSIONS_GROUP, 'states:StopExecution');
    expect([executions!.Action].flat().sort()).toEqual(['states:DescribeExecution', 'states:StopExecution']);
    expect(JSON.stringify(executions!.Resource)).toMatch(/:execution:lcm-dev-session-lifecycle:\*"\]\]\}$/);
  });

  it('events: PutEvents on the LCM bus and read access to the partner secret, both from the events stack', () => {
    const env = envOf(EVENTS_GROUP);
    expect(JSON.stringify(env.EVENT_BUS_NAME)).toContain('Lcm-dev-Events');
    expect(JSON.stringify(env.LCM_EVENT_PARTNERS_SECRET_ID)).toContain('Lcm-dev-Events');
    const [put] = withAction(EVENTS_GROUP, 'events:PutEvents');
    expect(put!.Action).toBe('events:PutEvents');
    expect(JSON.stringify(put!.Resource)).toContain('Lcm-dev-Events');
    const [read] = withAction(EVENTS_GROUP, 'secretsmanager:GetSecretValue');
    expect([read!.Action].flat().sort()).toEqual([
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    // The partner secret's ARN, exactly the value the handler is given.
    expect(read!.Resource).toEqual(env.LCM_EVENT_PARTNERS_SECRET_ID);
  });

  it('workers may only start the two fleet state machines', () => {
    const starts = withAction(WORKERS_GROUP, 'states:StartExecution');
    expect(starts).toHaveLength(1);
    expect(actionsOf(statementsOf(WORKERS_GROUP)).filter((a) => a.startsWith('states:'))).toEqual([
      'states:StartExecution',
    ]);
  });

  it('definitions: the evidence bucket of the data stack, only its topologies/ and uploads/ objects', () => {
    const env = envOf(DEFINITIONS_GROUP);
    // The data stack's bucket, read across stacks.
    expect(JSON.stringify(env.EVIDENCE_BUCKET)).toContain('Lcm-dev-Data');
    expect(JSON.stringify(env.EVIDENCE_BUCKET)).toContain('EvidenceBucket');
    const s3 = statementsOf(DEFINITIONS_GROUP).filter((st) =>
      [st.Action].flat().some((a) => a.startsWith('s3:')),
    );
    const objectsOf = (action: string) =>
      s3
        .filter((st) => [st.Action].flat().includes(action))
        // Policies are minimised: a statement may carry several object patterns.
        .flatMap((st) => [st.Resource].flat().map((r) => JSON.stringify(r).match(/"\/([a-z]+\/)\*"/)?.[1]))
        .sort();
    // Reads and writes (pre-signed PUT URLs of uploads are signed by this role) under the two prefixes.
    expect(objectsOf('s3:GetObject')).toEqual(['topologies/', 'uploads/']);
    expect(objectsOf('s3:PutObject')).toEqual(['topologies/', 'uploads/']);
    // ListBucket on the bucket itself (a missing key answers 404, not 403); nothing else of S3.
    const list = s3.filter((st) => [st.Action].flat().includes('s3:ListBucket'));
    expect(list).toHaveLength(1);
    expect([list[0]!.Action].flat()).toEqual(['s3:ListBucket']);
    expect(JSON.stringify(list[0]!.Resource)).toContain('EvidenceBucket');
    expect(JSON.stringify(list[0]!.Resource)).not.toContain('/');
    expect([...new Set(actionsOf(s3).filter((a) => a.startsWith('s3:')))].sort()).toEqual([
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    // Never the sessions' evidence (sessions/) nor the whole bucket (<bucket ARN>/*).
    expect(JSON.stringify(s3)).not.toContain('sessions/');
    expect(JSON.stringify(s3)).not.toContain('"/*"');
  });

  it('streams: receive and delete on the consumers’ on-failure queues, read the table stream, invoke the consumers; nothing else', () => {
    const { stacks } = buildTestApp({ stage: 'dev' });
    const events = Template.fromStack(stacks.events);
    const api = stacks.api;
    const template = Template.fromStack(api);
    const fn = resourcesOf(template, 'AWS::Lambda::Function').find(
      ([id]) => id === functionIdOf(api, STREAMS_GROUP),
    )![1];
    const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = policyOf(template, roleId) as unknown as {
      Action: string | string[];
      Resource: unknown;
    }[];
    // (The table grant's own action list has GetRecords too, on the table ARN: not a stream.)
    const extra = statements.filter(
      (st) =>
        [st.Action].flat().some((a) => /^(sqs|lambda):/.test(a)) ||
        JSON.stringify(st.Resource).includes('StreamArn'),
    );
    const byAction = (action: string) => extra.filter((st) => [st.Action].flat().includes(action));
    // The queues: the two consumers' on-failure queues of the events stack, nothing else of SQS.
    const [queues] = byAction('sqs:ReceiveMessage');
    expect([queues!.Action].flat().sort()).toEqual(['sqs:DeleteMessage', 'sqs:ReceiveMessage']);
    const queueRefs = JSON.stringify(queues!.Resource);
    const dlqIds = Object.keys(events.findResources('AWS::SQS::Queue')).filter((id) =>
      /ConsumerDlq/.test(id),
    );
    expect(dlqIds).toHaveLength(2);
    for (const id of dlqIds) expect(queueRefs).toContain(id);
    expect([queues!.Resource].flat()).toHaveLength(2);
    // The stream of the data stack's table, read only.
    const [stream] = byAction('dynamodb:GetRecords');
    expect([stream!.Action].flat().sort()).toEqual(['dynamodb:GetRecords', 'dynamodb:GetShardIterator']);
    expect(JSON.stringify(stream!.Resource)).toContain('Lcm-dev-Data');
    expect(JSON.stringify(stream!.Resource)).toContain('StreamArn');
    // Invoke exactly the two consumer functions.
    const [invoke] = byAction('lambda:InvokeFunction');
    expect([invoke!.Action].flat()).toEqual(['lambda:InvokeFunction']);
    const fnRefs = JSON.stringify(invoke!.Resource);
    expect([invoke!.Resource].flat()).toHaveLength(2);
    expect(fnRefs).toMatch(/OutboxConsumer/);
    expect(fnRefs).toMatch(/TriggersConsumer/);
    expect(extra).toHaveLength(3);
    // The handler learns the same queues and functions by consumer name.
    const env = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
    const consumers = JSON.stringify(env.LCM_STREAM_FAILURE_CONSUMERS);
    for (const name of ['outbox', 'triggers', 'queueUrl', 'functionName', 'OutboxConsumerDlq']) {
      expect(consumers).toContain(name);
    }
    // No other group may receive, read the stream or invoke.
    for (const group of API_GROUPS.filter((g) => g !== STREAMS_GROUP)) {
      const other = resourcesOf(template, 'AWS::Lambda::Function').find(
        ([id]) => id === functionIdOf(api, group),
      )![1];
      const otherRole = (other.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
      const otherStatements = policyOf(template, otherRole) as unknown as {
        Action: string | string[];
        Resource: unknown;
      }[];
      expect(
        actionsOf(otherStatements).filter((a) => /^(sqs|lambda):/.test(a)),
        group,
      ).toEqual([]);
      expect(JSON.stringify(otherStatements), group).not.toContain('StreamArn');
    }
  });

  it('no group but definitions may touch S3', () => {
    for (const group of API_GROUPS.filter((g) => g !== DEFINITIONS_GROUP)) {
      expect(
        actionsOf(statementsOf(group)).filter((a) => a.startsWith('s3:')),
        group,
      ).toEqual([]);
    }
  });

  it('no other group may touch Step Functions, the bus or secrets', () => {
    for (const group of API_GROUPS.filter(
      (g) => ![SESSIONS_GROUP, EVENTS_GROUP, WORKERS_GROUP].includes(g),
    )) {
      const services = actionsOf(statementsOf(group)).map((a) => a.split(':')[0]);
      expect(
        services.filter((x) => ['states', 'events', 'secretsmanager'].includes(x!)),
        group,
      ).toEqual([]);
    }
  });

  it('is deployed after the events and workflows stacks it reads', () => {
    expect(dev.api.dependencies.map((d) => d.stackName)).toEqual(
      expect.arrayContaining(['Lcm-dev-Data', 'Lcm-dev-Events', 'Lcm-dev-Workflows', 'Lcm-dev-Fleet']),
    );
  });
});

describe('ApiStack: default stage', () => {
  it('writes JSON access logs with request id, route, status, latency and principal to a log group', () => {
    const [, stage] = only(dev.template, 'AWS::ApiGatewayV2::Stage');
    expect(stage.Properties).toMatchObject({ StageName: '$default', AutoDeploy: true });
    const settings = stage.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toEqual(ACCESS_LOG_FIELDS);
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      routeKey: '$context.routeKey',
      status: '$context.status',
      latency: '$context.responseLatency',
      principal: '$context.authorizer.claims.sub',
    });
    const [logGroupId] = (settings.DestinationArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    const logGroup = dev.template.toJSON().Resources[logGroupId] as Resource;
    expect(logGroup).toMatchObject({
      Type: 'AWS::Logs::LogGroup',
      Properties: { RetentionInDays: DEFAULTS.logRetentionDays },
    });
  });

  it('throttles with the defaults, or with the rate and burst from context', () => {
    const throttleOf = (template: Template) =>
      only(template, 'AWS::ApiGatewayV2::Stage')[1].Properties.DefaultRouteSettings;
    expect(throttleOf(dev.template)).toEqual({
      ThrottlingRateLimit: DEFAULTS.throttleRateLimit,
      ThrottlingBurstLimit: DEFAULTS.throttleBurstLimit,
    });
    expect(throttleOf(external.template)).toEqual({ ThrottlingRateLimit: 20.5, ThrottlingBurstLimit: 40 });
  });

  it("allows the console's origin (its distribution) and the origins given in context, no other", () => {
    // The console's URL, https://<distribution domain>, from the Console stack's output.
    const consoleOrigin = {
      'Fn::Join': [
        '',
        [
          'https://',
          {
            'Fn::GetStackOutput': Match.objectLike({
              StackName: Match.stringLikeRegexp('-Console$'),
              OutputName: Match.stringLikeRegexp('Distribution.*DomainName'),
            }),
          },
        ],
      ],
    };
    dev.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({ AllowOrigins: [consoleOrigin] }),
    });
    const [, api] = only(external.template, 'AWS::ApiGatewayV2::Api');
    external.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      CorsConfiguration: Match.objectLike({
        AllowOrigins: ['https://portal.example.com', 'http://localhost:5173', consoleOrigin],
      }),
    });
    const cors = api.Properties.CorsConfiguration as Record<string, string[] | boolean | number>;
    expect([...(cors.AllowMethods as string[])].sort()).toEqual(
      [...new Set([...ops.map((o) => o.method), 'OPTIONS'])].sort(),
    );
    expect(cors.AllowHeaders).toEqual(CORS_ALLOW_HEADERS);
    expect(cors.AllowCredentials).toBe(false);
  });

  it.each(['https://example.com/path', 'ftp://example.com', 'http://example.com', 'example.com'])(
    'rejects the CORS origin %j',
    (origin) => {
      expect(() => buildTestApp({ corsOrigins: origin })).toThrow(/corsOrigins/);
    },
  );
});

describe('ApiStack: stages', () => {
  it('retains the user pool and log groups outside dev, with deletion protection', () => {
    prod.template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtection: 'ACTIVE' }),
    });
    dev.template.hasResource('AWS::Cognito::UserPool', {
      DeletionPolicy: 'Delete',
      Properties: Match.objectLike({ DeletionProtection: 'INACTIVE' }),
    });
    for (const [, group] of resourcesOf(prod.template, 'AWS::Logs::LogGroup')) {
      expect(group.DeletionPolicy).toBe('Retain');
    }
  });

  it('is added by buildApp as Lcm-<stage>-Api, depending on the data stack', () => {
    expect(prod.api.stackName).toBe('Lcm-prod-Api');
    expect(prod.api.dependencies.map((d) => d.stackName)).toContain('Lcm-prod-Data');
  });
});

describe('ApiStack: cdk-nag', () => {
  it.each([
    ['dev, Cognito', dev],
    ['prod, Cognito', prod],
    ['staging, external issuer and CORS', external],
  ])('%s: no unacknowledged finding; acknowledgements only where justified', (_name, s) => {
    const report = expectNagClean(s.api);
    const constructAt = (path: string) => s.api.node.findAll().find((c) => c.node.path === path);
    // APIG4 (no authorization) exactly on the public routes.
    const apig4 = report.acknowledgements.filter((a) => a.ruleId === 'AwsSolutions-APIG4');
    const routeKeys = apig4.map(
      (a) => (constructAt(a.path)?.node.defaultChild as CfnRoute | undefined)?.routeKey,
    );
    expect(routeKeys.sort()).toEqual(publicOps.map(routeKeyOf).sort());
    // Per function: L1 (runtime pinned) and, on its role, IAM5 for X-Ray and the table's indexes.
    const rest = report.acknowledgements
      .filter((a) => a.ruleId !== 'AwsSolutions-APIG4')
      .map((a) => `${a.ruleId} @ ${a.path.replace(`${s.api.stackName}/`, '')}`);
    const expected = API_GROUPS.flatMap((g) => {
      const id = s.api.functions.get(g)!.node.id;
      return [
        `AwsSolutions-L1 @ ${id}/Function`,
        `AwsSolutions-IAM5[Resource::*] @ ${id}/Role`,
        expect.stringMatching(new RegExp(`^AwsSolutions-IAM5\\[Resource::.+/index/\\*\\] @ ${id}/Role$`)),
        // The templates handler reads the instance-type catalogue: DescribeInstanceTypes has no
        // resource-level permissions (its own acknowledgement of Resource::*).
        ...(g === 'templates' ? [`AwsSolutions-IAM5[Resource::*] @ ${id}/Role`] : []),
        // The definitions handler reads and writes the topologies/ and uploads/ objects of the
        // evidence bucket (keys are content hashes and upload ids), one acknowledgement each.
        ...(g === DEFINITIONS_GROUP
          ? ['topologies', 'uploads'].map((prefix) =>
              expect.stringMatching(
                new RegExp(
                  `^AwsSolutions-IAM5\\[Resource::.+EvidenceBucket.+/${prefix}/\\*\\] @ ${id}/Role$`,
                ),
              ),
            )
          : []),
        // The sessions handler describes and stops the executions of the session state machine.
        ...(g === SESSIONS_GROUP
          ? [
              expect.stringMatching(
                new RegExp(
                  `^AwsSolutions-IAM5\\[Resource::.+:execution:lcm-${s.api.node.tryGetContext('stage')}-session-lifecycle:\\*\\] @ ${id}/Role$`,
                ),
              ),
            ]
          : []),
      ];
    });
    expect(rest).toHaveLength(expected.length);
    expect(rest).toEqual(expect.arrayContaining(expected));
  });
});

describe('Lambda bundles', () => {
  // The one synthesis that runs esbuild (through NodejsFunction, as `cdk synth` does), for the
  // api stack only: the other stacks' functions are bundled the same way (LcmFunction).
  const { app, stacks } = buildTestApp({ ...bundleStacks('Lcm-dev-Api'), ...EXTERNAL_IDP });
  const outdir = app.synth().directory;
  const benchDir = mkdtempSync(join(tmpdir(), 'lcm-bundle-'));
  afterAll(() => {
    rmSync(outdir, { recursive: true, force: true });
    rmSync(benchDir, { recursive: true, force: true });
  });
  const template = Template.fromStack(stacks.api);
  const assetDirOf = (group: string): string => {
    const fn = template.toJSON().Resources[functionIdOf(stacks.api, group)] as Resource;
    const key = (fn.Properties.Code as { S3Key: string }).S3Key;
    return join(outdir, `asset.${key.replace(/\.zip$/, '')}`);
  };

  it.each(API_GROUPS.map((g) => [g]))(
    '%s: minified ESM with the require banner and a linked source map',
    (group) => {
      const dir = assetDirOf(group);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith(LAMBDA_BUNDLE.banner), 'createRequire banner first').toBe(true);
      expect(code).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      expect(code).toMatch(/export\s*\{[^}]*\bas handler\b/);
      // Minified: long lines (a few line breaks remain inside template literals).
      expect(code.length / code.split('\n').length, 'mean line length').toBeGreaterThan(1000);
      const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as {
        sourcesContent?: unknown;
      };
      expect(map.sourcesContent, 'no sources content').toBeUndefined();
      expect(existsSync(join(dir, 'node_modules')), 'everything bundled').toBe(false);
    },
  );

  it('is byte for byte what bench/bundle-size.ts measures (the shared esbuild options)', async () => {
    const group = 'health';
    const outfile = join(benchDir, group, 'index.mjs');
    await build(esbuildOptions(handlerEntryOf(group), outfile));
    const deployed = readFileSync(join(assetDirOf(group), 'index.mjs'));
    const measured = readFileSync(outfile);
    expect(measured.length).toBe(deployed.length);
    expect(measured.equals(deployed)).toBe(true);
  });
});
