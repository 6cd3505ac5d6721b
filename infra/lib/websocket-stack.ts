import { LIVE_UPDATES_RULE } from '@lcm/shared/api';
import { eventPatternJson } from '@lcm/shared/events';
import { CfnOutput, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { LogGroupLogDestination, WebSocketApi, WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { LIVE_RULE_ROUTE, WEBSOCKET_FUNCTIONS } from '../../functions/catalogue.ts';
import type { LcmStackProps } from './config.ts';
import { createDeadLetterQueue, RULE_TARGET_RETRY, TARGET_ASYNC_RETRY } from './events-stack.ts';
import type { NeedResources } from './grants.ts';
import { LcmFunction } from './lambda.ts';

export interface WebSocketStackProps extends LcmStackProps {
  readonly table: ITableV2;
  readonly bus: events.IEventBus;
  /** The HTTP API's JWT authorizer: $connect checks tokens against the same issuer and audiences. */
  readonly jwt: { readonly issuer: string; readonly audiences: readonly string[] };
}

/** The stage of the WebSocket API (its URL is `wss://<id>.execute-api.<region>.amazonaws.com/live`). */
export const WEBSOCKET_STAGE = 'live';

/**
 * Live updates (issue 14, item 3): an API Gateway WebSocket API whose routes are the catalogue's
 * `websocket` functions (functions/websocket/: `$connect` checks the access token of `?token=`,
 * `$disconnect`, `subscribe` / `unsubscribe` / `$default` by `$request.body.action`), with access
 * logs and stage throttling, and the live-updates rule (api/live.ts LIVE_UPDATES_RULE: every
 * outbound CloudEvent of LCM's bus) targeting the broadcaster, which posts to the subscribed
 * connections through the management API (need `ws-post`) and removes gone ones. Connections and
 * subscriptions are items of the one table, with a TTL (docs/data-model.md, pattern 14).
 */
export class WebSocketStack extends Stack {
  public readonly webSocketApi: WebSocketApi;
  public readonly stage: WebSocketStage;
  /** `wss://…/live`: what clients connect to (`?token=<access token>`). */
  public readonly url: string;
  public readonly functions: ReadonlyMap<string, LcmFunction>;
  public readonly rule: events.Rule;
  public readonly accessLogGroup: LogGroup;

  constructor(scope: Construct, id: string, props: WebSocketStackProps) {
    super(scope, id, props);
    const { config } = props;

    this.webSocketApi = new WebSocketApi(this, 'WebSocketApi', {
      apiName: `lcm-${config.stage}-live`,
      description: `Lablet Cloud Manager live updates (${config.stage})`,
      routeSelectionExpression: '$request.body.action',
    });
    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: config.api.logRetention,
      removalPolicy: config.removalPolicy,
    });
    this.stage = new WebSocketStage(this, 'Stage', {
      webSocketApi: this.webSocketApi,
      stageName: WEBSOCKET_STAGE,
      autoDeploy: true,
      throttle: { rateLimit: 100, burstLimit: 200 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogGroup),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            connectionId: '$context.connectionId',
            routeKey: '$context.routeKey',
            eventType: '$context.eventType',
            status: '$context.status',
            integrationError: '$context.integrationErrorMessage',
            requestTime: '$context.requestTime',
          }),
        ),
      },
    });
    this.url = this.stage.url;

    const resources: NeedResources = {
      table: props.table,
      jwt: props.jwt,
      webSocket: {
        managementEndpoint: this.stage.callbackUrl,
        connectionsArn: this.formatArn({
          service: 'execute-api',
          resource: this.webSocketApi.apiId,
          resourceName: `${WEBSOCKET_STAGE}/POST/@connections/*`,
        }),
      },
    };
    const functions = new Map<string, LcmFunction>();
    for (const spec of WEBSOCKET_FUNCTIONS) {
      const fn = new LcmFunction(this, `${pascal(spec.name)}Function`, { config, spec, resources });
      functions.set(spec.name, fn);
      for (const route of spec.routes) {
        if (route === LIVE_RULE_ROUTE) continue;
        const created = this.webSocketApi.addRoute(route, {
          integration: new WebSocketLambdaIntegration(`${pascal(spec.name)}${pascal(route)}`, fn.fn),
        });
        // Browsers cannot send an Authorization header on a WebSocket: the token comes as ?token=
        // and the $connect handler checks it exactly as the HTTP API's JWT authorizer does
        // (api/live-auth.ts); other routes belong to an accepted connection.
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            route === '$connect'
              ? 'A browser cannot send an Authorization header on a WebSocket: the access token comes as ?token= and the $connect handler verifies it (issuer, audience or client_id, expiry, RS256 signature) as the HTTP API authorizer does; a refused token ends the handshake with 401.'
              : 'API Gateway authorizes a WebSocket API on $connect only; this route runs only on connections whose token the $connect handler accepted.',
        });
      }
    }
    this.functions = functions;

    const broadcaster = functions.get(LIVE_UPDATES_RULE.target.function)!;
    const dlq = createDeadLetterQueue(
      this,
      'BroadcastDlq',
      config,
      'outbound events the live-updates broadcaster could not deliver after the retries',
    );
    broadcaster.fn.configureAsyncInvoke({ ...TARGET_ASYNC_RETRY, onFailure: new SqsDestination(dlq) });
    this.rule = new events.Rule(this, 'LiveUpdatesRule', {
      eventBus: props.bus,
      ruleName: `lcm-${config.stage}-${LIVE_UPDATES_RULE.name}`,
      description: LIVE_UPDATES_RULE.description,
      eventPattern: JSON.parse(eventPatternJson(LIVE_UPDATES_RULE)) as events.EventPattern,
      targets: [new targets.LambdaFunction(broadcaster.fn, { deadLetterQueue: dlq, ...RULE_TARGET_RETRY })],
    });

    new CfnOutput(this, 'WebSocketUrl', {
      value: this.url,
      description: 'Live updates: connect with ?token=<access token>, then {"action":"subscribe","topic":…}',
    });
  }
}

const pascal = (s: string): string =>
  s
    .replace(/^\$/, '')
    .split(/[-_]/)
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
