import { LIVE_UPDATES_RULE } from '@lcm/shared/api';
import { eventPatternJson } from '@lcm/shared/events';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { WEBSOCKET_FUNCTIONS } from '../../functions/catalogue.ts';
import { buildTestApp } from './app.ts';
import { expectNagClean, nagReport } from './nag.ts';
import { allowing, envOf, functionOf, resourcesOf, statementsOf } from './template.ts';

/** The WebSocket API of live updates and the console's hosting (issue 14, items 3 and 4). */
const { stacks } = buildTestApp({ stage: 'dev' });
const ws = Template.fromStack(stacks.webSocket);
const site = Template.fromStack(stacks.console);
const api = Template.fromStack(stacks.api);

describe('WebSocket stack', () => {
  it('routes $connect, $disconnect, subscribe, unsubscribe and $default to the catalogue’s functions', () => {
    ws.hasResourceProperties('AWS::ApiGatewayV2::Api', {
      ProtocolType: 'WEBSOCKET',
      RouteSelectionExpression: '$request.body.action',
    });
    const routes = resourcesOf(ws, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey);
    expect(routes.sort()).toEqual(['$connect', '$default', '$disconnect', 'subscribe', 'unsubscribe'].sort());
    ws.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: 'live',
      AutoDeploy: true,
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
      DefaultRouteSettings: Match.objectLike({ ThrottlingRateLimit: 100 }),
    });
    expect(stacks.webSocket.functions.size).toBe(WEBSOCKET_FUNCTIONS.length);
  });

  it('gives $connect the HTTP API’s issuer and audiences, the poster its endpoint and ManageConnections only', () => {
    const connect = stacks.webSocket.functions.get('connect')!;
    const env = envOf(functionOf(ws, stacks.webSocket, connect));
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining(['LCM_JWT_ISSUER', 'LCM_JWT_AUDIENCES', 'TABLE_NAME']),
    );
    expect(env).not.toHaveProperty('LCM_WS_ENDPOINT');
    for (const name of ['message', 'broadcast']) {
      const fn = stacks.webSocket.functions.get(name)!;
      expect(envOf(functionOf(ws, stacks.webSocket, fn))).toHaveProperty('LCM_WS_ENDPOINT');
      const manage = allowing(statementsOf(ws, stacks.webSocket, fn), 'execute-api:ManageConnections');
      expect(manage).toHaveLength(1);
      expect(JSON.stringify(manage[0]!.Resource)).toContain('/live/POST/@connections/*');
    }
    expect(allowing(statementsOf(ws, stacks.webSocket, connect), 'execute-api:ManageConnections')).toEqual(
      [],
    );
  });

  it('feeds the broadcaster every outbound CloudEvent of LCM’s bus, with retries and a DLQ', () => {
    ws.hasResourceProperties('AWS::Events::Rule', {
      Name: 'lcm-dev-live-updates',
      EventPattern: JSON.parse(eventPatternJson(LIVE_UPDATES_RULE)),
      Targets: [Match.objectLike({ DeadLetterConfig: Match.anyValue(), RetryPolicy: Match.anyValue() })],
    });
  });

  it('is cdk-nag clean', () => {
    expectNagClean(stacks.webSocket);
  });
});

describe('console stack', () => {
  it('serves a private bucket through CloudFront with origin access control', () => {
    site.hasResourceProperties('AWS::S3::Bucket', {
      PublicAccessBlockConfiguration: {
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      },
      VersioningConfiguration: { Status: 'Enabled' },
    });
    site.resourceCountIs('AWS::CloudFront::OriginAccessControl', 1);
    site.hasResourceProperties('AWS::CloudFront::Distribution', {
      DistributionConfig: Match.objectLike({
        DefaultRootObject: 'index.html',
        DefaultCacheBehavior: Match.objectLike({ ViewerProtocolPolicy: 'redirect-to-https' }),
        // The SPA fallback: unknown paths load the app.
        CustomErrorResponses: [
          { ErrorCode: 403, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
          { ErrorCode: 404, ResponseCode: 200, ResponsePagePath: '/index.html', ErrorCachingMinTTL: 0 },
        ],
        Origins: [Match.objectLike({ OriginAccessControlId: Match.anyValue() })],
      }),
    });
  });

  it('sends the security headers on every response', () => {
    site.hasResourceProperties('AWS::CloudFront::ResponseHeadersPolicy', {
      ResponseHeadersPolicyConfig: Match.objectLike({
        SecurityHeadersConfig: Match.objectLike({
          StrictTransportSecurity: Match.objectLike({ IncludeSubdomains: true, Override: true }),
          ContentSecurityPolicy: Match.objectLike({
            ContentSecurityPolicy: Match.stringLikeRegexp("frame-ancestors 'none'"),
          }),
          ContentTypeOptions: { Override: true },
          FrameOptions: { FrameOption: 'DENY', Override: true },
        }),
      }),
    });
  });

  it('has a console app client with the authorization code grant only, accepted by the API', () => {
    api.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      ClientName: 'lcm-dev-console',
      GenerateSecret: false,
      AllowedOAuthFlows: ['code'],
      AllowedOAuthFlowsUserPoolClient: true,
      CallbackURLs: Match.arrayWith(['http://localhost:5173/']),
    });
    const authorizer = resourcesOf(api, 'AWS::ApiGatewayV2::Authorizer')[0]![1];
    const audiences = (authorizer.Properties.JwtConfiguration as { Audience: unknown[] }).Audience;
    expect(audiences).toHaveLength(3);
  });

  it('writes the runtime config (/config.json) into the bucket', () => {
    const deploy = Template.fromStack(stacks.consoleConfig);
    deploy.resourceCountIs('Custom::CDKBucketDeployment', 1);
    const json = JSON.stringify(deploy.toJSON());
    // Source.jsonData: the values are deploy-time markers for the API's URL, the WebSocket API,
    // the user pool's issuer and the console's app client.
    for (const ref of ['RefHttpApi', 'RefWebSocketApi', 'UserPool', 'ProviderURL', 'ConsoleClient']) {
      expect(json).toContain(ref);
    }
    deploy.hasResourceProperties('Custom::CDKBucketDeployment', {
      DistributionPaths: ['/index.html', '/config.json'],
      Prune: false,
    });
  });

  it("acknowledges the config deployment's findings on CDK's BucketDeployment handler only, each wildcard resource by name", () => {
    const acks = nagReport(stacks.consoleConfig).acknowledgements;
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) expect(a.path).toMatch(/^Lcm-dev-ConsoleConfig\/Custom::CDKBucketDeployment[^/]*$/);
    const resources = acks
      .filter((a) => a.ruleId.startsWith('AwsSolutions-IAM5[Resource::'))
      .map((a) => a.ruleId);
    expect(resources).toHaveLength(3);
    expect(resources).toContain('AwsSolutions-IAM5[Resource::*]');
    expect(
      resources.some(
        (r) => r.includes(':s3:::cdk-') && r.endsWith('-assets-<AWS::AccountId>-<AWS::Region>/*]'),
      ),
    ).toBe(true);
  });

  it('is cdk-nag clean', () => {
    expectNagClean(stacks.console);
    expectNagClean(stacks.consoleConfig);
  });
});
