import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import {
  environmentOf,
  FUNCTION_KINDS,
  FUNCTIONS,
  type FunctionSpec,
  functionNameOf,
  functionSuffixOf,
  NEED_NAMES,
  NEEDS,
  needsOf,
  optionalEnvOf,
  STATE_MACHINES,
} from '../../functions/catalogue.ts';
import { REPO_ROOT } from '../../infra/lib/bundling.ts';
import { DEFAULTS } from '../../infra/lib/config.ts';
import { NEED_GRANTS } from '../../infra/lib/grants.ts';
import { buildTestApp } from './app.ts';
import { envOf, type Resource, resourcesOf } from './template.ts';

/**
 * The function catalogue (functions/catalogue.ts) against what uses it: every ASL Task state
 * waits at least its function's timeout plus a margin, and the synthesised app builds every entry
 * exactly once, from its spec, with the environment its needs declare.
 */

/** What a Task state gives its Lambda beyond the function's own timeout: invocation and cold start. */
const TIMEOUT_MARGIN_SECONDS = 10;

/** Variables every function has, whatever its needs (LcmFunction). */
const COMMON_ENV = ['LCM_STAGE', 'NODE_OPTIONS', 'POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_SERVICE_NAME'];

/** Every integration and fleet option configured: each need then sets all its variables. */
const FULL = {
  stage: 'staging',
  ldsBaseUrl: 'https://lds.example.com/api',
  gradingBaseUrl: 'https://grading.example.com',
  lambdaSubnetIds: 'subnet-0123456789abcdef0',
  lambdaSecurityGroupIds: 'sg-0123456789abcdef0',
  contentBuckets: 'lcm-content-packages',
  workerSubnetIds: 'subnet-0aaaaaaaaaaaaaaaa',
  workerSecurityGroupIds: 'sg-0cccccccccccccccc',
  workerKeyName: 'lcm-workers',
  workerAmiOwners: '123456789012',
};

type State = {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string };
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Branches?: { States: Record<string, State> }[];
  Iterator?: { States: Record<string, State> };
  ItemProcessor?: { States: Record<string, State> };
};

/** Every Task state of an ASL document, nested ones (Parallel, Map) included. */
const taskStatesOf = (states: Record<string, State>): [string, State][] =>
  Object.entries(states).flatMap(([name, s]) => [
    ...(s.Type === 'Task' ? ([[name, s]] as [string, State][]) : []),
    ...(s.Branches ?? []).flatMap((b) => taskStatesOf(b.States)),
    ...[s.Iterator, s.ItemProcessor].flatMap((p) => (p ? taskStatesOf(p.States) : [])),
  ]);

describe('ASL Task timeouts against the catalogue', () => {
  it.each(STATE_MACHINES.map((m) => [m.key, m] as const))(
    `%s: every Task state waits at least its function's timeout + ${TIMEOUT_MARGIN_SECONDS} s`,
    (_key, machine) => {
      const asl = JSON.parse(readFileSync(join(REPO_ROOT, machine.asl), 'utf8')) as {
        States: Record<string, State>;
      };
      const tasks = taskStatesOf(asl.States);
      expect(tasks.length).toBeGreaterThan(0);
      const used = new Set<string>();
      for (const [name, state] of tasks) {
        const substitution = /^\$\{([A-Za-z0-9_]+)\}$/.exec(state.Parameters?.FunctionName ?? '')?.[1];
        const spec = machine.tasks.find((t) => t.substitution === substitution);
        expect(spec, `${name} invokes a function of the catalogue`).toBeDefined();
        used.add(spec!.name);
        if (state.Resource?.endsWith('.waitForTaskToken') && state.TimeoutSecondsPath) {
          // A callback wait: the function stores the token and returns at once; the state's
          // timeout is the session's deadline for the callback (a path), not the function's.
          continue;
        }
        expect(state.TimeoutSeconds, `${name}: TimeoutSeconds`).toBeTypeOf('number');
        expect(
          state.TimeoutSeconds,
          `${name}: TimeoutSeconds ≥ ${spec!.name}'s ${spec!.timeoutSeconds} s + ${TIMEOUT_MARGIN_SECONDS} s`,
        ).toBeGreaterThanOrEqual(spec!.timeoutSeconds + TIMEOUT_MARGIN_SECONDS);
      }
      expect([...used].sort(), 'every task of the machine is invoked').toEqual(
        machine.tasks.map((t) => t.name).sort(),
      );
    },
  );
});

describe('the catalogue', () => {
  it('names every function uniquely and points at handler modules that exist', () => {
    const suffixes = FUNCTIONS.map(functionSuffixOf);
    expect(new Set(suffixes).size).toBe(FUNCTIONS.length);
    expect(new Set(FUNCTIONS.map((f) => f.entry)).size).toBe(FUNCTIONS.length);
    for (const f of FUNCTIONS) expect(existsSync(join(REPO_ROOT, f.entry)), f.entry).toBe(true);
    // Lambda's limit on function names, for the longest stage names in use.
    for (const f of FUNCTIONS) expect(functionNameOf('staging', f).length, f.name).toBeLessThanOrEqual(64);
  });

  it('every function has a kind, a timeout, memory and at most one table need', () => {
    for (const f of FUNCTIONS) {
      expect(Object.keys(FUNCTION_KINDS)).toContain(f.kind);
      expect(f.timeoutSeconds, f.name).toBeGreaterThan(0);
      expect(f.timeoutSeconds, f.name).toBeLessThanOrEqual(900);
      expect(f.memoryMb, f.name).toBeGreaterThanOrEqual(128);
      expect(
        f.needs.filter((n) => n === 'table-read' || n === 'table-write').length,
        f.name,
      ).toBeLessThanOrEqual(1);
    }
  });

  it('every need has a grant (infra/lib/grants.ts) and its optional variables are among its own', () => {
    expect(Object.keys(NEED_GRANTS).sort()).toEqual([...NEED_NAMES].sort());
    for (const need of NEED_NAMES) {
      const env: readonly string[] = NEEDS[need].env;
      for (const v of optionalEnvOf(need)) expect(env, need).toContain(v);
    }
  });
});

/**
 * Functions CDK itself adds, not LCM's: the provider of `autoDeleteObjects` on the dev stage's
 * buckets (data and console stacks) and the BucketDeployment handler that writes the console's
 * runtime config (console-config stack). Anything else without a name fails the test.
 */
const CDK_PROVIDERS = [
  /^Lcm-dev-(Data|Console)\/CustomS3AutoDeleteObjectsCustomResourceProviderHandler[0-9A-F]{8}$/,
  /^Lcm-[a-z]+-ConsoleConfig\/CustomCDKBucketDeployment[0-9A-F]{32}256MiB[0-9A-F]{8}$/,
];

/** Every function resource of the app, by function name. */
const functionsOf = (context: Record<string, unknown>) => {
  const { allStacks } = buildTestApp(context);
  const byName = new Map<string, Resource[]>();
  const unnamed: string[] = [];
  const logGroups = new Map<string, Resource>();
  for (const stack of allStacks) {
    const template = Template.fromStack(stack);
    for (const [id, r] of resourcesOf(template, 'AWS::Logs::LogGroup')) logGroups.set(id, r);
    for (const [id, fn] of resourcesOf(template, 'AWS::Lambda::Function')) {
      const name = fn.Properties.FunctionName;
      const path = `${stack.stackName}/${id}`;
      if (typeof name === 'string') byName.set(name, [...(byName.get(name) ?? []), fn]);
      else if (!CDK_PROVIDERS.some((p) => p.test(path))) unnamed.push(path);
    }
  }
  return { byName, unnamed, logGroups };
};

describe('the synthesised app builds every catalogue entry exactly once', () => {
  const dev = functionsOf({ stage: 'dev' });
  const full = functionsOf(FULL);
  const specOf = (stage: string) => new Map(FUNCTIONS.map((f) => [functionNameOf(stage, f), f]));

  it.each([
    ['dev', dev],
    ['staging, everything configured', full],
  ])('%s: one function per entry, and no function that is not in the catalogue', (name, app) => {
    const stage = name.split(',')[0]!;
    expect(app.unnamed, 'functions without a name (not built from the catalogue)').toEqual([]);
    const counts = Object.fromEntries([...app.byName].map(([n, fns]) => [n, fns.length]));
    expect(counts).toEqual(Object.fromEntries([...specOf(stage).keys()].map((n) => [n, 1])));
  });

  it.each(FUNCTIONS.map((f) => [functionSuffixOf(f), f] as const))(
    '%s: its spec, Node 22 on arm64, traced, its own log group, the environment its needs declare',
    (_suffix, spec: FunctionSpec) => {
      const [fn] = dev.byName.get(functionNameOf('dev', spec))!;
      expect(fn!.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        TracingConfig: { Mode: 'Active' },
        Timeout: spec.timeoutSeconds,
        MemorySize: spec.memoryMb,
      });
      const logGroupId = (fn!.Properties.LoggingConfig as { LogGroup: { Ref: string } }).LogGroup.Ref;
      expect(dev.logGroups.get(logGroupId)?.Properties.RetentionInDays).toBe(DEFAULTS.logRetentionDays);
      expect(envOf(fn!).POWERTOOLS_SERVICE_NAME).toBe(FUNCTION_KINDS[spec.kind].serviceName);

      // Everything configured: exactly the variables of its needs (and its kind's).
      const [configured] = full.byName.get(functionNameOf('staging', spec))!;
      expect(Object.keys(envOf(configured!)).sort()).toEqual([...COMMON_ENV, ...environmentOf(spec)].sort());
      // Nothing configured: the same but the optional ones.
      const optional = new Set(needsOf(spec).flatMap(optionalEnvOf));
      expect(Object.keys(envOf(fn!)).sort()).toEqual(
        [...COMMON_ENV, ...environmentOf(spec).filter((v) => !optional.has(v))].sort(),
      );
    },
  );
});
