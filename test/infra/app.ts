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

export interface TestApp {
  readonly app: App;
  readonly stacks: LcmStacks;
  /** Every stack of the app, whatever stacks `buildApp` adds later. */
  readonly allStacks: Stack[];
}

/**
 * Builds the whole LCM app as `cdk synth -c key=value ...` would, environment-agnostic unless
 * `options.env` says otherwise (independent of the CDK_DEFAULT_* variables of the shell).
 */
export const buildTestApp = (
  context: Record<string, unknown> = {},
  options: BuildAppOptions = {},
): TestApp => {
  const app = new App({ context: { ...cdkJsonContext(), ...context } });
  const stacks = buildApp(app, { env: {}, ...options });
  const allStacks = app.node.findAll().filter((c): c is Stack => Stack.isStack(c));
  return { app, stacks, allStacks };
};
