import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { applyNagChecks } from '../../infra/lib/app.ts';
import { buildTestApp } from './app.ts';
import { expectNagClean, nagReport } from './nag.ts';

describe.each(['dev', 'prod'])('cdk-nag AwsSolutions on the whole app, stage %s', (stage) => {
  const { allStacks } = buildTestApp({ stage });

  it('builds at least the data stack', () => {
    expect(allStacks.map((s) => s.stackName)).toContain(`Lcm-${stage}-Data`);
  });

  // Every stack buildApp creates is checked, including the ones added later.
  it.each(allStacks.map((s) => [s.stackName, s] as const))(
    '%s: no unacknowledged finding, every acknowledgement justified',
    (_name, stack) => {
      expectNagClean(stack);
    },
  );

  it('synthesises with the nag plugin registered, with an empty validation report', () => {
    const { app } = buildTestApp({ stage });
    applyNagChecks(app);
    const assembly = app.synth(); // throws ValidationFailed (with the report) on any error
    const reportFile = join(assembly.directory, 'validation-report.json');
    expect(existsSync(reportFile), 'the validation plugins ran and wrote their report').toBe(true);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { pluginReports: unknown[] };
    expect(report.pluginReports).toEqual([]);
  });
});

describe('the nag helper itself', () => {
  const bareBucketStack = () => {
    const stack = new Stack(new App(), 'Probe');
    const bucket = new s3.Bucket(stack, 'Bare');
    return { stack, bucket };
  };

  it('reports the findings of a non-compliant stack', () => {
    const { stack } = bareBucketStack();
    const report = nagReport(stack);
    expect(report.violations.map((v) => v.ruleId).sort()).toEqual(['AwsSolutions-S1', 'AwsSolutions-S10']);
    expect(report.violations.every((v) => v.path === 'Probe/Bare/Resource' && v.severity === 'error')).toBe(
      true,
    );
    expect(() => expectNagClean(stack)).toThrow(/unacknowledged cdk-nag findings/);
    // and synthesis with the plugin fails on them
    const app = stack.node.root as App;
    applyNagChecks(app);
    expect(() => app.synth({ force: true })).toThrow(/AwsSolutions-S1/);
  });

  it('honours acknowledgements and records their reasons', () => {
    const { stack, bucket } = bareBucketStack();
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Probe bucket: access logging is out of scope.',
    });
    Validations.of(stack).acknowledge({
      id: 'AwsSolutions-S10',
      reason: 'Probe stack: never deployed, no traffic at all.',
    });
    const report = expectNagClean(stack);
    expect(report.acknowledgements.map((a) => [a.ruleId, a.path]).sort()).toEqual([
      ['AwsSolutions-S1', 'Probe/Bare'],
      ['AwsSolutions-S10', 'Probe'],
    ]);
  });

  it('honours the namespaced form the CDK CLI suggests (AwsSolutions::<rule>)', () => {
    const { stack, bucket } = bareBucketStack();
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S1',
      reason: 'Probe bucket: access logging is out of scope.',
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions::AwsSolutions-S10',
      reason: 'Probe bucket: never deployed, no traffic.',
    });
    expectNagClean(stack);
    // and synthesis with the plugin agrees
    const app = stack.node.root as App;
    applyNagChecks(app);
    expect(() => app.synth({ force: true })).not.toThrow();
  });

  it('rejects an acknowledgement without a real reason', () => {
    const { stack, bucket } = bareBucketStack();
    Validations.of(bucket).acknowledge({ id: 'AwsSolutions-S1', reason: ' ' });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S10',
      reason: 'Probe bucket: no traffic at all.',
    });
    expect(() => expectNagClean(stack)).toThrow(/acknowledgements without a reason/);
  });

  it('rejects an acknowledgement that matches no finding', () => {
    const { stack, bucket } = bareBucketStack();
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'Probe bucket: access logging is out of scope.',
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S10',
      reason: 'Probe bucket: never deployed, no traffic.',
    });
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason: 'There is no table here: this is stale.',
    });
    const report = nagReport(stack);
    expect(report.violations).toEqual([]);
    expect(report.staleAcknowledgements.map((a) => a.ruleId)).toEqual(['AwsSolutions-DDB3']);
    expect(() => expectNagClean(stack)).toThrow(/acknowledgements matching no finding/);
  });
});
