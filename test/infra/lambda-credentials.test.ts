import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { esbuildOptions, LAMBDA_BUNDLE, lambdaBundling } from '../../infra/lib/bundling.ts';
import { bundleProbe } from './bundle-probe.ts';

/**
 * The Lambda bundles' credential chain (infra/lib/bundling.ts): `@aws-sdk/credential-provider-node`
 * is aliased to the environment provider, which is where Lambda puts the role's credentials. A
 * client bundled with the deployed options must still find them there, and the rest of the SDK's
 * chain (with the STS, SSO and sign-in clients of @aws-sdk/nested-clients) must be gone.
 */

const dir = mkdtempSync(join(tmpdir(), 'lcm-credentials-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A DynamoDB client resolving its credentials, bundled as a Lambda function would be. */
const probe = () =>
  bundleProbe(dir, [
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
    "const client = new DynamoDBClient({ region: 'us-east-1' });",
    'const { accessKeyId, sessionToken } = await client.config.credentials();',
    'console.log(JSON.stringify({ accessKeyId, sessionToken }));',
  ]);

describe('Lambda credentials', () => {
  it('a bundled client takes the credentials from the environment, as Lambda sets them', async () => {
    const { outfile } = await probe();
    const run = spawnSync(process.execPath, [outfile], {
      env: {
        PATH: process.env.PATH,
        AWS_ACCESS_KEY_ID: 'AKIDLCMTEST',
        AWS_SECRET_ACCESS_KEY: 'secret',
        AWS_SESSION_TOKEN: 'token',
      },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ accessKeyId: 'AKIDLCMTEST', sessionToken: 'token' });
  });

  it('the rest of the default chain is not in the bundle', async () => {
    const { kept } = await probe();
    expect(kept.some((i) => i.endsWith('platform/runtime/aws/lambda-credentials.ts'))).toBe(true);
    expect(kept.filter((i) => /@aws-sdk\/(credential-provider-(?!env\/)|nested-clients\/)/.test(i))).toEqual(
      [],
    );
  });

  it('CDK gets the same alias as bench/bundle-size.ts', () => {
    const args = lambdaBundling().esbuildArgs ?? {};
    const fromOptions = esbuildOptions('x', 'y').alias ?? {};
    expect(Object.keys(fromOptions)).toEqual(Object.keys(LAMBDA_BUNDLE.alias));
    expect(args['--alias']).toEqual(Object.entries(fromOptions).map(([from, to]) => `${from}=${to}`));
  });
});
