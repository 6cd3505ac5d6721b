import {
  API_RESOURCE_SERVER,
  API_SCOPES,
  OPERATION_PERMISSIONS,
  OPERATIONS,
  ROLE_SCOPES,
  routeKeyOf,
  scopeOf,
} from '@lcm/shared/api';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  API_FUNCTIONS,
  FUNCTIONS,
  reservedConcurrencyOf,
  STREAM_FUNCTIONS,
} from '../../functions/catalogue.ts';
import { apiThrottlesOf, OWN_THROTTLE_CLASS, throttleClassOf } from '../../infra/lib/api-throttles.ts';
import { configFor } from '../../infra/lib/config.ts';
import { THROTTLE_SETTINGS } from '../../infra/lib/settings.ts';
import { buildTestApp } from './app.ts';
import { functionOf, logicalIdOf, resourceOf, resourcesOf } from './template.ts';

/**
 * AWS hardening of the API stack (issue 12, item 7): the Cognito resource server and the portal's
 * client-credentials app client, reserved concurrency from the function catalogue, per-route
 * throttles from the stage's settings. cdk-nag stays clean:
 * test/infra/api-stack.test.ts runs it on the same configurations.
 */

const synth = (context: Record<string, unknown> = {}) => {
  const { stacks } = buildTestApp(context);
  return { stacks, api: stacks.api, template: Template.fromStack(stacks.api) };
};

const dev = synth({ stage: 'dev' });

describe('Cognito: resource server and the portal’s client-credentials client', () => {
  const poolId = logicalIdOf(dev.api, dev.api.userPool!);

  it('a resource server `lcm` with one scope per operation permission of the role table', () => {
    const servers = resourcesOf(dev.template, 'AWS::Cognito::UserPoolResourceServer');
    expect(servers).toHaveLength(1);
    const [, server] = servers[0]!;
    expect(server.Properties).toMatchObject({
      Identifier: API_RESOURCE_SERVER,
      Name: 'lcm-dev-api',
      UserPoolId: { Ref: poolId },
    });
    const scopes = server.Properties.Scopes as { ScopeName: string; ScopeDescription: string }[];
    expect(scopes.map((s) => `${API_RESOURCE_SERVER}/${s.ScopeName}`)).toEqual(
      OPERATION_PERMISSIONS.map(scopeOf),
    );
    expect(scopes.map((s) => s.ScopeDescription)).toEqual(API_SCOPES.map((s) => s.description));
  });

  it('the portal client: client credentials only, a secret, exactly the portal role’s scopes, no user sign-in', () => {
    const client = resourceOf(dev.template, logicalIdOf(dev.api, dev.api.portalClient!));
    expect(client.Properties).toMatchObject({
      ClientName: 'lcm-dev-portal',
      UserPoolId: { Ref: poolId },
      GenerateSecret: true,
      AllowedOAuthFlowsUserPoolClient: true,
      AllowedOAuthFlows: ['client_credentials'],
      // Only refresh-token auth, which the client-credentials grant never issues: no SRP, no password.
      ExplicitAuthFlows: ['ALLOW_REFRESH_TOKEN_AUTH'],
      SupportedIdentityProviders: ['COGNITO'],
      PreventUserExistenceErrors: 'ENABLED',
      EnableTokenRevocation: true,
    });
    // No hosted-UI flows: no code or implicit grant, no callback or logout URL.
    expect(client.Properties.CallbackURLs).toBeUndefined();
    expect(client.Properties.LogoutURLs).toBeUndefined();
    // Scopes as `lcm/<scope>` (CloudFormation joins the server's identifier and the scope name).
    const scopes = JSON.stringify(client.Properties.AllowedOAuthScopes);
    const granted = (client.Properties.AllowedOAuthScopes as unknown[]).length;
    expect(granted).toBe(ROLE_SCOPES['lcm.portal'].length);
    for (const scope of ROLE_SCOPES['lcm.portal']) expect(scopes).toContain(`/${scope.split('/')[1]}`);
    for (const scope of ROLE_SCOPES['lcm.admin'].filter((s) => !ROLE_SCOPES['lcm.portal'].includes(s)))
      expect(scopes).not.toContain(`"/${scope.split('/')[1]}"`);
  });

  it('the human pool is as before: MFA required, SRP sign-in, no OAuth flows', () => {
    const pool = resourceOf(dev.template, poolId);
    expect(pool.Properties).toMatchObject({ MfaConfiguration: 'ON', UserPoolTier: 'PLUS' });
    const human = resourceOf(dev.template, logicalIdOf(dev.api, dev.api.userPoolClient!));
    expect(human.Properties).toMatchObject({ GenerateSecret: false, AllowedOAuthFlowsUserPoolClient: false });
    expect(human.Properties.AllowedOAuthScopes).toBeUndefined();
  });

  it('a Cognito domain for the token endpoint: lcm-<stage>-<account>, or the prefix from context', () => {
    const [, domain] = resourcesOf(dev.template, 'AWS::Cognito::UserPoolDomain')[0]!;
    expect(domain.Properties.UserPoolId).toEqual({ Ref: poolId });
    expect(domain.Properties.Domain).toEqual({ 'Fn::Join': ['', ['lcm-dev-', { Ref: 'AWS::AccountId' }]] });
    const named = synth({ stage: 'prod', cognitoDomainPrefix: 'acme-lcm-prod' });
    const [, namedDomain] = resourcesOf(named.template, 'AWS::Cognito::UserPoolDomain')[0]!;
    expect(namedDomain.Properties.Domain).toBe('acme-lcm-prod');
    for (const bad of ['Upper', 'has_underscore', '-leading', 'my-cognito-pool', 'x'.repeat(64), 3]) {
      expect(() => buildTestApp({ cognitoDomainPrefix: bad }), String(bad)).toThrow(/cognitoDomainPrefix/);
    }
  });

  it('the authorizer accepts both clients; outputs name the portal client, token endpoint and scopes', () => {
    const [, authorizer] = resourcesOf(dev.template, 'AWS::ApiGatewayV2::Authorizer')[0]!;
    const audience = (authorizer.Properties.JwtConfiguration as { Audience: unknown[] }).Audience;
    expect(audience).toContainEqual({ Ref: logicalIdOf(dev.api, dev.api.portalClient!) });
    dev.template.hasOutput('PortalClientId', { Value: { Ref: logicalIdOf(dev.api, dev.api.portalClient!) } });
    dev.template.hasOutput('PortalScopes', { Value: ROLE_SCOPES['lcm.portal'].join(' ') });
    const endpoint = JSON.stringify(dev.template.findOutputs('TokenEndpoint'));
    expect(endpoint).toContain('/oauth2/token');
  });
});

describe('reserved concurrency from the function catalogue', () => {
  it('every API and stream function has one; singleton schedules 1; the rest none', () => {
    for (const spec of FUNCTIONS) {
      const reserved = reservedConcurrencyOf(spec);
      if (spec.kind === 'api' || spec.kind === 'stream-consumer')
        expect(reserved, spec.name).toBeGreaterThan(0);
      else if (spec.kind === 'schedule' && spec.singleton) expect(reserved, spec.name).toBe(1);
      else expect(reserved, spec.name).toBeUndefined();
    }
    // The sessions group (bookings, the portal's reads) has its own, above the kind's.
    expect(reservedConcurrencyOf(API_FUNCTIONS.find((f) => f.group === 'sessions')!)).toBe(50);
  });

  it('leaves at least 100 of a default 1,000-execution account unreserved (Lambda’s minimum)', () => {
    const total = FUNCTIONS.reduce((sum, spec) => sum + (reservedConcurrencyOf(spec) ?? 0), 0);
    expect(total).toBeLessThanOrEqual(900);
  });

  it('is what CDK sets on the API functions (api stack) and the stream consumers (events stack)', () => {
    for (const spec of API_FUNCTIONS) {
      const fn = functionOf(dev.template, dev.api, dev.api.functions.get(spec.group)!);
      expect(fn.Properties.ReservedConcurrentExecutions, spec.group).toBe(reservedConcurrencyOf(spec));
    }
    const events = dev.stacks.events;
    const eventsTemplate = Template.fromStack(events);
    for (const spec of STREAM_FUNCTIONS) {
      const fn = functionOf(eventsTemplate, events, events.streamConsumers.get(spec.name)!.fn);
      expect(fn.Properties.ReservedConcurrentExecutions, spec.name).toBe(reservedConcurrencyOf(spec));
    }
  });
});

describe('HTTP API throttles: the stage default and tighter limits on the write routes', () => {
  const stageOf = (template: Template) => resourcesOf(template, 'AWS::ApiGatewayV2::Stage')[0]!;
  const routeIds = (template: Template) =>
    new Map(
      resourcesOf(template, 'AWS::ApiGatewayV2::Route').map(([id, r]) => [
        r.Properties.RouteKey as string,
        id,
      ]),
    );
  const writes = OPERATIONS.filter((o) => o.method !== 'GET').map(routeKeyOf);

  it('defaults: every route 50 rps / 100; POST /v1/sessions 10 / 20, POST /v1/events 25 / 50, other writes 20 / 40', () => {
    const [, stage] = stageOf(dev.template);
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: THROTTLE_SETTINGS.defaultRateLimit.default,
      ThrottlingBurstLimit: THROTTLE_SETTINGS.defaultBurstLimit.default,
    });
    const routes = stage.Properties.RouteSettings as Record<string, Record<string, number>>;
    expect(Object.keys(routes).sort()).toEqual([...writes].sort());
    expect(routes['POST /v1/sessions']).toEqual({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(routes['POST /v1/events']).toEqual({ ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 });
    for (const key of writes.filter((k) => k !== 'POST /v1/sessions' && k !== 'POST /v1/events')) {
      expect(routes[key], key).toEqual({ ThrottlingRateLimit: 20, ThrottlingBurstLimit: 40 });
    }
    // No read route has a setting of its own: the stage default applies.
    for (const o of OPERATIONS.filter((op) => op.method === 'GET'))
      expect(routes).not.toHaveProperty(routeKeyOf(o));
  });

  it('the stage is created after the routes its settings name (CloudFormation refuses unknown route keys)', () => {
    const [, stage] = stageOf(dev.template);
    const ids = routeIds(dev.template);
    const dependsOn = stage.DependsOn as string[];
    for (const key of writes) expect(dependsOn, key).toContain(ids.get(key));
  });

  it('per-stage values from the settings (cdk.json), as numbers or strings', () => {
    const prod = synth({
      stage: 'prod',
      settings: {
        prod: {
          throttle: {
            defaultRateLimit: 200,
            defaultBurstLimit: '400',
            bookingRateLimit: 30,
            writeBurstLimit: 80,
          },
        },
        dev: { throttle: { eventsRateLimit: 5 } },
      },
    });
    const [, stage] = stageOf(prod.template);
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: 200,
      ThrottlingBurstLimit: 400,
    });
    const routes = stage.Properties.RouteSettings as Record<string, Record<string, number>>;
    expect(routes['POST /v1/sessions']).toEqual({ ThrottlingRateLimit: 30, ThrottlingBurstLimit: 20 });
    expect(routes['POST /v1/events']).toEqual({ ThrottlingRateLimit: 25, ThrottlingBurstLimit: 50 });
    expect(routes['POST /v1/worker-templates']).toEqual({
      ThrottlingRateLimit: 20,
      ThrottlingBurstLimit: 80,
    });
  });

  it('a lower stage default from context lowers the route defaults with it', () => {
    const t = apiThrottlesOf(configFor('test', { api: { throttle: { rateLimit: 8, burstLimit: 30 } } }));
    expect(t.stage).toEqual({ rateLimit: 8, burstLimit: 30 });
    expect(t.routes.get('POST /v1/events')).toEqual({ rateLimit: 8, burstLimit: 30 });
    expect(t.routes.get('POST /v1/sessions')).toEqual({ rateLimit: 8, burstLimit: 20 });
  });

  it.each([
    [
      { prod: { throttle: { writeRateLimit: 80 } } },
      'settings.prod.throttle.writeRateLimit: must be at most defaultRateLimit (50), got 80',
    ],
    [
      { prod: { throttle: { defaultBurstLimit: 10, bookingBurstLimit: 11 } } },
      'settings.prod.throttle.bookingBurstLimit: must be at most defaultBurstLimit (10), got 11',
    ],
    [{ prod: { throttle: { eventsBurstLimit: 2.5 } } }, 'settings.prod.throttle.eventsBurstLimit'],
    [{ prod: { throttle: { bookingRateLimit: 0 } } }, 'settings.prod.throttle.bookingRateLimit'],
    [{ prod: { throttle: { writeRateLimit: 'fast' } } }, 'settings.prod.throttle.writeRateLimit'],
    [{ prod: { throttle: { perRoute: 1 } } }, 'settings.prod.throttle.perRoute: unknown setting'],
  ])('refuses %j', (settings, message) => {
    expect(() => buildTestApp({ stage: 'dev', settings })).toThrow(message);
  });

  it('refuses a route limit above a stage default given in context', () => {
    expect(() =>
      buildTestApp({
        stage: 'prod',
        throttleRateLimit: 5,
        settings: { prod: { throttle: { bookingRateLimit: 6 } } },
      }),
    ).toThrow('settings.<stage>.throttle.bookingRateLimit: must be at most defaultRateLimit (5), got 6');
  });

  it('every write route has a class; the classes of their own name operations of the catalogue', () => {
    const ids = new Set(OPERATIONS.map((o) => o.operationId));
    for (const id of Object.keys(OWN_THROTTLE_CLASS)) expect(ids.has(id as never), id).toBe(true);
    for (const o of OPERATIONS)
      expect(throttleClassOf(o) === 'default', o.operationId).toBe(o.method === 'GET');
  });
});
