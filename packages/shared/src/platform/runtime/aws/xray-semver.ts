/**
 * `semver` as LCM's Lambda bundles have it (infra/lib/bundling.ts aliases the package here).
 *
 * The only module of the bundles that requires `semver` is aws-xray-sdk-core's patcher for the AWS
 * SDK v2 (`dist/lib/patchers/aws_p.js`), which calls `semver.gte(AWS.VERSION, '2.7.15')` inside
 * `captureAWS` / `captureAWSClient`. LCM uses SDK v3 only, and the Powertools Tracer wraps its
 * clients with the v3 patcher (`captureAWSv3Client`), so that call never happens; the real package
 * costs about 29 KB of every bundle. Should anything call it after all, it fails loudly here
 * rather than answering a version comparison it never made. Nothing imports this module: tests
 * and `npm start` run the sources with the real package.
 */
const NOT_BUNDLED =
  'semver is not in this Lambda bundle (infra/lib/bundling.ts aliases it to platform/runtime/aws/xray-semver.ts): only the X-Ray SDK v2 patcher needed it';

export function gte(version: unknown, minimum: unknown): never {
  throw new Error(`${NOT_BUNDLED}; called semver.gte(${String(version)}, ${String(minimum)}).`);
}
