import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat, SourceMapMode } from 'aws-cdk-lib/aws-lambda-nodejs';
import type { BuildOptions } from 'esbuild';

/**
 * The one place with the esbuild options of LCM's Lambda bundles. The CDK NodejsFunctions
 * (`lambdaBundling`) and `npm run bundle:size` (`esbuildOptions`, bench/bundle-size.ts) both derive
 * from `LAMBDA_BUNDLE`, so the sizes measured are the sizes deployed.
 *
 * Decisions:
 * - ESM output (`index.mjs`), with a banner that defines `require` through `createRequire`: a
 *   CommonJS dependency bundled into an ES module still calls `require('node:crypto')` etc. for
 *   Node built-ins, which esbuild leaves as `require` calls (its `__require` shim uses the
 *   module-scope `require` when one exists).
 * - `mainFields: module, main`: prefer a package's ES build so esbuild can tree-shake it
 *   (the AWS SDK v3 and Powertools ship both).
 * - Minified; linked source maps (`index.mjs.map`, read by `NODE_OPTIONS=--enable-source-maps`)
 *   without `sourcesContent`, which stack traces do not need and which would more than double
 *   the asset.
 * - Tree-shaking of the SDK's generated schemas relies on the root `postinstall`,
 *   tools/aws-sdk-schema-keys.mjs (their computed trait keys written as literals; without it
 *   esbuild keeps every schema of a client: all of EC2's, some 550 KB, for one EC2 command).
 * - Target node22, the Lambda runtime's major.
 * - Externals: none but Node's built-ins (esbuild's `platform: node` leaves those out by itself).
 *   The nodejs22.x runtime does ship AWS SDK v3, but we bundle it anyway: the runtime's copy is
 *   whatever version Lambda has rolled out in that region that week, while @aws-sdk/lib-dynamodb,
 *   the Powertools idempotency layer and our own code are tested against the versions pinned in
 *   package-lock.json (and the @aws-sdk and @smithy packages must match each other exactly).
 *   Bundled and tree-shaken, a client costs some 100-200 KB of minified code, and loading one
 *   file is no slower at cold start than resolving the runtime's unbundled node_modules.
 *   `npm run bundle:size` keeps the cost visible against the budgets (500 KB for an API
 *   function, 800 KB for any other).
 * - Two aliases, only in the bundles (tests and `npm start` run the sources with the real
 *   packages):
 *   - `@aws-sdk/credential-provider-node`, the SDK's default credential chain, becomes
 *     packages/shared/src/platform/runtime/aws/lambda-credentials.ts, the chain's environment link
 *     alone. Lambda gives a function its role's credentials in the environment, so the other links
 *     (SSO, INI files, credential process, web identity, container, instance metadata) never
 *     answer there; with them go the STS, SSO and sign-in clients they carry, about 137 KB of
 *     every bundle.
 *   - `semver` becomes packages/shared/src/platform/runtime/aws/xray-semver.ts, a `gte` that
 *     throws: its one requirer is aws-xray-sdk-core's AWS SDK v2 patcher (`captureAWS`), which the
 *     Powertools Tracer never calls for SDK v3 clients; about 29 KB of every bundle.
 */
export const LAMBDA_BUNDLE = {
  format: 'esm',
  platform: 'node',
  target: 'node22',
  minify: true,
  /** `index.mjs.map` next to the bundle plus the `sourceMappingURL` comment Node needs to find it. */
  sourcemap: 'linked',
  sourcesContent: false,
  mainFields: ['module', 'main'],
  /** Only Node built-ins: every npm dependency, the AWS SDK included, is bundled. */
  external: [] as string[],
  /** Package → module, relative to the repository root (see above). */
  alias: {
    '@aws-sdk/credential-provider-node': './packages/shared/src/platform/runtime/aws/lambda-credentials.ts',
    semver: './packages/shared/src/platform/runtime/aws/xray-semver.ts',
  } as Record<string, string>,
  banner:
    "import { createRequire as __lcmCreateRequire } from 'node:module'; const require = __lcmCreateRequire(import.meta.url);",
  /** UTF-8 output: non-ASCII text (zod's locale messages, for one) stays as is, not \u-escaped. */
  charset: 'utf8',
} as const;

/** The Lambda runtime the bundles target (NodejsFunction `runtime`). */
export const LAMBDA_RUNTIME = Runtime.NODEJS_22_X;

/** The repository root: NodejsFunction `projectRoot`, base of the handler entries. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The lock file NodejsFunction hashes into the asset and uses to find the project root. */
export const LOCK_FILE = fileURLToPath(new URL('../../package-lock.json', import.meta.url));

/** NodejsFunction `bundling` props: local esbuild (from node_modules), never Docker. */
export const lambdaBundling = (): BundlingOptions => ({
  format: OutputFormat.ESM,
  target: LAMBDA_BUNDLE.target,
  minify: LAMBDA_BUNDLE.minify,
  sourceMap: true,
  sourceMapMode: SourceMapMode.DEFAULT, // esbuild --sourcemap = linked
  sourcesContent: LAMBDA_BUNDLE.sourcesContent,
  mainFields: [...LAMBDA_BUNDLE.mainFields],
  externalModules: [...LAMBDA_BUNDLE.external],
  bundleAwsSDK: true,
  banner: LAMBDA_BUNDLE.banner,
  // Not `charset: Charset.UTF8`: aws-cdk-lib 2.276 accepts that prop but never passes it to
  // esbuild, which then escapes every non-ASCII character (+70 KB per bundle, measured).
  esbuildArgs: {
    '--charset': LAMBDA_BUNDLE.charset,
    '--alias': Object.entries(LAMBDA_BUNDLE.alias).map(([from, to]) => `${from}=${join(REPO_ROOT, to)}`),
  },
  forceDockerBundling: false,
});

/** The same bundle through esbuild's API (bench/bundle-size.ts): one entry to one `outfile`. */
export const esbuildOptions = (entry: string, outfile: string): BuildOptions => ({
  entryPoints: [entry],
  outfile,
  bundle: true,
  format: LAMBDA_BUNDLE.format,
  platform: LAMBDA_BUNDLE.platform,
  target: LAMBDA_BUNDLE.target,
  minify: LAMBDA_BUNDLE.minify,
  sourcemap: LAMBDA_BUNDLE.sourcemap,
  sourcesContent: LAMBDA_BUNDLE.sourcesContent,
  mainFields: [...LAMBDA_BUNDLE.mainFields],
  external: [...LAMBDA_BUNDLE.external],
  alias: Object.fromEntries(
    Object.entries(LAMBDA_BUNDLE.alias).map(([from, to]) => [from, join(REPO_ROOT, to)]),
  ),
  banner: { js: LAMBDA_BUNDLE.banner },
  charset: LAMBDA_BUNDLE.charset,
  absWorkingDir: REPO_ROOT,
  logLevel: 'warning',
});
