import {
  API_RESOURCE_SERVER,
  API_SCOPES,
  OPERATION_PERMISSIONS,
  ROLE_SCOPES,
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
import { buildTestApp } from './app.ts';
import { functionOf, logicalIdOf, resourceOf, resourcesOf } from './template.ts';

/**
 * AWS hardening of the API stack (issue 12, item 7): the Cognito resource server and the portal's
 * client-credentials app client. (Throttles and reserved concurrency below.) cdk-nag stays clean:
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
