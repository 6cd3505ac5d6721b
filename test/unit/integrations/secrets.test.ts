import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import {
  CmlClient,
  cmlCredentialsFor,
  cmlSecretConfigFromEnv,
  cmlSecretIdFor,
  IntegrationError,
  loadSigningSecrets,
  SecretCache,
  SecretsManagerApiKeyProvider,
  SecretsManagerCredentialsProvider,
} from '@lcm/shared/platform';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { rejectionOf } from './support.ts';

const sm = mockClient(SecretsManagerClient);
const client = new SecretsManagerClient({ region: 'eu-west-1' });

afterEach(() => sm.reset());

const secretCalls = () => sm.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId);

describe('SecretsManagerCredentialsProvider', () => {
  it('reads {username, password} and caches it for the TTL', async () => {
    let now = 1_000;
    sm.on(GetSecretValueCommand, { SecretId: 'lcm/cml/default' }).resolves({
      SecretString: JSON.stringify({ username: 'lcm', password: 'p@ss', note: 'ignored' }),
    });
    const cache = new SecretCache({ client, ttlMs: 60_000, now: () => now });
    const provider = new SecretsManagerCredentialsProvider(cache, 'lcm/cml/default');
    expect(await provider.getCredentials()).toEqual({ username: 'lcm', password: 'p@ss' });
    now += 59_999;
    await provider.getCredentials();
    expect(secretCalls()).toEqual(['lcm/cml/default']);
    now += 2;
    await provider.getCredentials();
    expect(secretCalls()).toHaveLength(2);
    await provider.getCredentials({ forceRefresh: true });
    expect(secretCalls()).toHaveLength(3);
  });

  it('shares one GetSecretValue between concurrent readers and providers of the same secret', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: '{"username":"u","password":"p"}' });
    const cache = new SecretCache({ client });
    const a = new SecretsManagerCredentialsProvider(cache, 's');
    const b = new SecretsManagerCredentialsProvider(cache, 's');
    await Promise.all([a.getCredentials(), b.getCredentials(), a.getCredentials()]);
    expect(secretCalls()).toEqual(['s']);
  });

  it('does not cache a failure; a missing secret is a permanent CREDENTIALS_UNAVAILABLE', async () => {
    const notFound = Object.assign(new Error('Secrets Manager can’t find the specified secret.'), {
      name: 'ResourceNotFoundException',
    });
    sm.on(GetSecretValueCommand)
      .rejectsOnce(notFound)
      .resolves({ SecretString: '{"username":"u","password":"p"}' });
    const provider = new SecretsManagerCredentialsProvider(new SecretCache({ client }), 'missing');
    const err = (await rejectionOf(provider.getCredentials())) as IntegrationError;
    expect(err).toBeInstanceOf(IntegrationError);
    expect(err).toMatchObject({
      service: 'secretsmanager',
      code: 'CREDENTIALS_UNAVAILABLE',
      retryable: false,
    });
    expect(err.message).toBe('secret missing could not be read (ResourceNotFoundException)');
    expect(await provider.getCredentials()).toEqual({ username: 'u', password: 'p' });
  });

  it('a throttled read is retryable', async () => {
    sm.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('slow down'), { name: 'ThrottlingException' }),
    );
    const err = (await rejectionOf(
      new SecretsManagerCredentialsProvider(new SecretCache({ client }), 's').getCredentials(),
    )) as IntegrationError;
    expect(err.retryable).toBe(true);
  });

  it('rejects malformed secrets without ever quoting their content', async () => {
    const cases = ['not json hunter2', '{"username":"u"}', '{"username":"u","password":""}', '["hunter2"]'];
    for (const SecretString of cases) {
      sm.reset();
      sm.on(GetSecretValueCommand).resolves({ SecretString });
      const err = (await rejectionOf(
        new SecretsManagerCredentialsProvider(new SecretCache({ client }), 'bad').getCredentials(),
      )) as IntegrationError;
      expect(err).toMatchObject({ code: 'CREDENTIALS_UNAVAILABLE', retryable: false });
      expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('hunter2');
    }
  });

  it('reads a binary secret', async () => {
    sm.on(GetSecretValueCommand).resolves({
      SecretBinary: new TextEncoder().encode('{"username":"b","password":"c"}'),
    });
    expect(
      await new SecretsManagerCredentialsProvider(new SecretCache({ client }), 'bin').getCredentials(),
    ).toEqual({
      username: 'b',
      password: 'c',
    });
  });
});

describe('API keys and signing secrets', () => {
  it('reads an API key from a JSON field or a plain string', async () => {
    sm.on(GetSecretValueCommand, { SecretId: 'json' }).resolves({
      SecretString: '{"apiKey":"k-1","other":"x"}',
    });
    sm.on(GetSecretValueCommand, { SecretId: 'custom' }).resolves({ SecretString: '{"token":"k-2"}' });
    sm.on(GetSecretValueCommand, { SecretId: 'plain' }).resolves({ SecretString: '  k-3\n' });
    sm.on(GetSecretValueCommand, { SecretId: 'wrong' }).resolves({ SecretString: '{"token":"k-4"}' });
    const cache = new SecretCache({ client });
    expect(await new SecretsManagerApiKeyProvider(cache, 'json').getApiKey()).toBe('k-1');
    expect(await new SecretsManagerApiKeyProvider(cache, 'custom', 'token').getApiKey()).toBe('k-2');
    expect(await new SecretsManagerApiKeyProvider(cache, 'plain').getApiKey()).toBe('k-3');
    await expect(new SecretsManagerApiKeyProvider(cache, 'wrong').getApiKey()).rejects.toMatchObject({
      code: 'CREDENTIALS_UNAVAILABLE',
    });
  });

  it('loads current and previous signing secrets for rotation', async () => {
    const cur = 'c'.repeat(32);
    const prev = 'p'.repeat(32);
    sm.on(GetSecretValueCommand, { SecretId: 'both' }).resolves({
      SecretString: JSON.stringify({ current: cur, previous: prev }),
    });
    sm.on(GetSecretValueCommand, { SecretId: 'one' }).resolves({
      SecretString: JSON.stringify({ current: cur, previous: null }),
    });
    sm.on(GetSecretValueCommand, { SecretId: 'list' }).resolves({
      SecretString: JSON.stringify({ secrets: [cur, prev] }),
    });
    sm.on(GetSecretValueCommand, { SecretId: 'short' }).resolves({
      SecretString: JSON.stringify({ current: 'tiny' }),
    });
    const cache = new SecretCache({ client });
    expect(await loadSigningSecrets(cache, 'both')).toEqual([cur, prev]);
    expect(await loadSigningSecrets(cache, 'one')).toEqual([cur]);
    expect(await loadSigningSecrets(cache, 'list')).toEqual([cur, prev]);
    const err = (await rejectionOf(loadSigningSecrets(cache, 'short'))) as IntegrationError;
    expect(err.code).toBe('CREDENTIALS_UNAVAILABLE');
    expect(err.message).not.toContain('tiny');
  });
});

describe('CML secret per worker', () => {
  it('uses the per-worker override or the default', () => {
    const config = { defaultSecretId: 'lcm/cml/default', perWorker: { 'w-7': 'lcm/cml/w-7' } };
    expect(cmlSecretIdFor(config, 'w-7')).toBe('lcm/cml/w-7');
    expect(cmlSecretIdFor(config, 'w-8')).toBe('lcm/cml/default');
  });

  it('reads the config from the environment', () => {
    expect(cmlSecretConfigFromEnv({ LCM_CML_SECRET_ID: 'd' })).toEqual({ defaultSecretId: 'd' });
    expect(
      cmlSecretConfigFromEnv({ LCM_CML_SECRET_ID: 'd', LCM_CML_SECRET_OVERRIDES: '{"w-1":"s-1"}' }),
    ).toEqual({ defaultSecretId: 'd', perWorker: { 'w-1': 's-1' } });
    expect(() => cmlSecretConfigFromEnv({})).toThrow(/LCM_CML_SECRET_ID/);
    expect(() => cmlSecretConfigFromEnv({ LCM_CML_SECRET_ID: 'd', LCM_CML_SECRET_OVERRIDES: '[1]' })).toThrow(
      /LCM_CML_SECRET_OVERRIDES/,
    );
  });

  it('a CML client survives a password rotation: 403 → re-read the secret → authenticated', async () => {
    const sim = await startCmlSimulator({ users: { lcm: 'new-password' } });
    try {
      sm.on(GetSecretValueCommand, { SecretId: 'lcm/cml/default' })
        .resolvesOnce({ SecretString: '{"username":"lcm","password":"old-password"}' })
        .resolves({ SecretString: '{"username":"lcm","password":"new-password"}' });
      const cache = new SecretCache({ client });
      const credentials = cmlCredentialsFor(cache, { defaultSecretId: 'lcm/cml/default' }, 'w-1');
      const cml = new CmlClient({ baseUrl: sim.url, credentials });
      expect(await cml.listLabs()).toEqual([]);
      expect(secretCalls()).toEqual(['lcm/cml/default', 'lcm/cml/default']);
      expect(
        sim
          .requests()
          .filter((r) => r.path.endsWith('/authenticate'))
          .map((r) => r.status),
      ).toEqual([403, 200]);
    } finally {
      await sim.stop();
    }
  });
});
