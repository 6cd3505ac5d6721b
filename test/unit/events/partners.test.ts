import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  FORCED_REFRESH_INTERVAL_MS,
  parsePartnersDocument,
  partnerAllows,
  partnerRegistryFromEnv,
  SecretsManagerPartnerRegistry,
  StaticPartnerRegistry,
} from '@lcm/shared/events';
import { SecretCache } from '@lcm/shared/platform';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';

const sm = mockClient(SecretsManagerClient);
afterEach(() => sm.reset());

const SECRET_A = 'lds-secret-0123456789';
const SECRET_B = 'lds-secret-rotated-9876543210';
const doc = (secrets: unknown[]) =>
  JSON.stringify({
    partners: {
      lds: { sources: ['urn:lablet:lds'], types: ['io.lablet.lds.'], secrets },
      grading: { sources: ['urn:lablet:grading'], secrets: ['grading-secret-0123456789'] },
    },
  });

describe('parsePartnersDocument', () => {
  it('reads partners with sources, optional type prefixes and secrets (plain or keyed)', () => {
    const partners = parsePartnersDocument(
      JSON.parse(doc([{ keyId: 'k2', secret: SECRET_B }, SECRET_A])),
      'x',
    );
    expect(partners).toEqual([
      {
        id: 'lds',
        sources: ['urn:lablet:lds'],
        types: ['io.lablet.lds.'],
        secrets: [{ keyId: 'k2', secret: SECRET_B }, SECRET_A],
      },
      { id: 'grading', sources: ['urn:lablet:grading'], secrets: ['grading-secret-0123456789'] },
    ]);
  });

  it('refuses short secrets and missing sources without quoting any secret', () => {
    const bad = { partners: { lds: { sources: [], secrets: ['short'] } } };
    expect(() => parsePartnersDocument(bad, 'secret x')).toThrow(
      /secret x is not a valid partner configuration/,
    );
    try {
      parsePartnersDocument(bad, 'secret x');
    } catch (e) {
      expect((e as Error).message).not.toContain('short');
    }
  });
});

describe('partnerAllows', () => {
  const [lds, grading] = parsePartnersDocument(JSON.parse(doc([SECRET_A])), 'x');
  it('checks the source allow-list and, when configured, the type prefixes', () => {
    expect(partnerAllows(lds!, 'urn:lablet:lds', 'io.lablet.lds.session.running.v1')).toBe(true);
    expect(partnerAllows(lds!, 'urn:lablet:grading', 'io.lablet.lds.session.running.v1')).toBe(false);
    expect(partnerAllows(lds!, 'urn:lablet:lds', 'io.lablet.grading.session.completed.v1')).toBe(false);
    expect(partnerAllows(grading!, 'urn:lablet:grading', 'io.lablet.lds.session.running.v1')).toBe(true);
  });
});

describe('SecretsManagerPartnerRegistry', () => {
  it('reads the secret once per cache period, and again at once when forced (rate-limited)', async () => {
    sm.on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: doc([SECRET_A]) })
      .resolves({ SecretString: doc([SECRET_B, SECRET_A]) });
    let now = 1_000_000;
    const registry = new SecretsManagerPartnerRegistry(
      new SecretCache({ client: new SecretsManagerClient({ region: 'us-east-1' }), now: () => now }),
      'lcm/partners',
      () => now,
    );
    expect((await registry.partners())[0]!.secrets).toEqual([SECRET_A]);
    expect((await registry.partners())[0]!.secrets).toEqual([SECRET_A]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toEqual({ SecretId: 'lcm/partners' });

    expect((await registry.partners({ forceRefresh: true }))[0]!.secrets).toEqual([SECRET_B, SECRET_A]);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    // A second forced refresh within the interval is served from the cache.
    now += FORCED_REFRESH_INTERVAL_MS - 1;
    await registry.partners({ forceRefresh: true });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    now += 1;
    await registry.partners({ forceRefresh: true });
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(3);
  });

  it('a secret that is not JSON is an error that does not quote it', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'not-json-super-secret' });
    const registry = new SecretsManagerPartnerRegistry(
      new SecretCache({ client: new SecretsManagerClient({ region: 'us-east-1' }) }),
      'lcm/partners',
    );
    const error = await registry.partners().catch((e) => e);
    expect(error.message).toMatch(/lcm\/partners is not JSON/);
    expect(error.message).not.toContain('super-secret');
  });
});

describe('partnerRegistryFromEnv', () => {
  it('uses Secrets Manager when LCM_EVENT_PARTNERS_SECRET_ID is set', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: doc([SECRET_A]) });
    const registry = partnerRegistryFromEnv(
      { LCM_EVENT_PARTNERS_SECRET_ID: 'arn:partners' },
      () => new SecretsManagerClient({ region: 'us-east-1' }),
    );
    expect(registry).toBeInstanceOf(SecretsManagerPartnerRegistry);
    expect((await registry.partners()).map((p) => p.id)).toEqual(['lds', 'grading']);
  });

  it('uses the inline JSON of LCM_EVENT_PARTNERS otherwise, and needs one of them', async () => {
    const registry = partnerRegistryFromEnv({ LCM_EVENT_PARTNERS: doc([SECRET_A]) });
    expect(registry).toBeInstanceOf(StaticPartnerRegistry);
    expect((await registry.partners()).map((p) => p.id)).toEqual(['lds', 'grading']);
    expect(() => partnerRegistryFromEnv({})).toThrow(/LCM_EVENT_PARTNERS_SECRET_ID/);
    expect(() => partnerRegistryFromEnv({ LCM_EVENT_PARTNERS: '{' })).toThrow(/not JSON/);
  });
});
