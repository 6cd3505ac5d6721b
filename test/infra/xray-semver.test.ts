import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LAMBDA_BUNDLE } from '../../infra/lib/bundling.ts';
import { bundleProbe } from './bundle-probe.ts';

/**
 * The Lambda bundles' `semver` (infra/lib/bundling.ts): aliased to platform/runtime/aws/xray-semver.ts,
 * a `gte` that throws, because its one requirer is the X-Ray SDK's AWS SDK v2 patcher. A Tracer
 * bundled with the deployed options must still trace SDK v3 clients, the real package must be gone,
 * and the v2 patcher, should anything call it, must fail naming the alias.
 */

const dir = mkdtempSync(join(tmpdir(), 'lcm-xray-semver-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An enabled Powertools Tracer wrapping a v3 client, then asked for the v2 patcher. */
const probe = () =>
  bundleProbe(dir, [
    "import { Tracer } from '@aws-lambda-powertools/tracer';",
    "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
    "const tracer = new Tracer({ serviceName: 'lcm-probe', enabled: true });",
    "const client = tracer.captureAWSv3Client(new DynamoDBClient({ region: 'us-east-1' }));",
    "const traced = client.middlewareStack.identify().some((m) => m.startsWith('XRaySDKInstrumentation'));",
    'let v2;',
    "try { tracer.captureAWS({ VERSION: '2.1692.0' }); v2 = 'answered'; } catch (e) { v2 = e.message; }",
    'console.log(JSON.stringify({ enabled: tracer.isTracingEnabled(), traced, v2 }));',
  ]);

describe('semver in the Lambda bundles', () => {
  it('is the stub, and the real package is not bundled', async () => {
    expect(LAMBDA_BUNDLE.alias.semver).toBe('./packages/shared/src/platform/runtime/aws/xray-semver.ts');
    const { kept } = await probe();
    expect(kept.some((i) => i.endsWith('platform/runtime/aws/xray-semver.ts'))).toBe(true);
    expect(kept.filter((i) => i.includes('node_modules/semver/'))).toEqual([]);
  });

  it('the bundled Tracer still traces SDK v3 clients; the v2 patcher fails naming the alias', async () => {
    const { outfile } = await probe();
    const run = spawnSync(process.execPath, [outfile], {
      env: {
        PATH: process.env.PATH,
        AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
        AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
        POWERTOOLS_TRACE_ENABLED: 'true',
      },
      encoding: 'utf8',
    });
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as { enabled: boolean; traced: boolean; v2: string };
    expect(out.enabled).toBe(true);
    expect(out.traced).toBe(true);
    expect(out.v2).toMatch(
      /^semver is not in this Lambda bundle .*xray-semver\.ts.*semver\.gte\(2\.1692\.0, 2\.7\.15\)/,
    );
  });
});
