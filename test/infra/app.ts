import { readFileSync } from 'node:fs';
import { App, Stack } from 'aws-cdk-lib';
import { type BuildAppOptions, buildApp, type LcmStacks } from '../../infra/lib/app.ts';

/** The context of cdk.json (stage default and feature flags), so tests synthesise what `cdk synth` does. */
export const cdkJsonContext = (): Record<string, unknown> => {
  const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return cdkJson.context ?? {};
};

/**
 * Context that turns asset bundling off (CDK's `aws:cdk:bundling-stacks`): the NodejsFunctions
 * keep their entry check (a missing handler module still fails) but esbuild does not run, so a
 * synthesis takes about a second instead of several. Tests of the bundles themselves pass
 * `BUNDLE_ALL_STACKS`; `cdk synth` always bundles.
 */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] } as const;
export const BUNDLE_ALL_STACKS = { 'aws:cdk:bundling-stacks': ['**'] } as const;
/** Bundles only the named stacks (construct paths = stack names, e.g. `Lcm-dev-Api`). */
export const bundleStacks = (...stackNames: string[]) => ({ 'aws:cdk:bundling-stacks': stackNames }) as const;

export interface TestApp {
  readonly app: App;
  readonly stacks: LcmStacks;
  /** Every stack of the app, whatever stacks `buildApp` adds later. */
  readonly allStacks: Stack[];
}

/**
 * Builds the whole LCM app as `cdk synth -c key=value ...` would, environment-agnostic unless
 * `options.env` says otherwise (independent of the CDK_DEFAULT_* variables of the shell), and
 * without bundling the Lambda code unless `context` contains `BUNDLE_ALL_STACKS`.
 */
export const buildTestApp = (
  context: Record<string, unknown> = {},
  options: BuildAppOptions = {},
): TestApp => {
  const app = new App({ context: { ...cdkJsonContext(), ...SKIP_BUNDLING, ...context } });
  const stacks = buildApp(app, { env: {}, ...options });
  const allStacks = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
  return { app, stacks, allStacks };
};
