import { App, RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { configFor, DEFAULTS, readConfig } from '../../infra/lib/config.ts';
import { cdkJsonContext } from './app.ts';

const configFromContext = (context: Record<string, unknown>) => readConfig(new App({ context }).node);

describe('infra config', () => {
  it('defaults to the dev stage, which is disposable', () => {
    const config = configFromContext({});
    expect(config).toMatchObject({
      stage: 'dev',
      isDev: true,
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      pointInTimeRecovery: true,
      autoDeleteObjects: true,
      evidenceRetentionDays: DEFAULTS.evidenceRetentionDays,
      accessLogRetentionDays: DEFAULTS.accessLogRetentionDays,
    });
  });

  it('cdk.json selects dev by default', () => {
    expect(cdkJsonContext().stage).toBe('dev');
  });

  it.each(['prod', 'staging', 'test', 'dev2'])(
    'retains and protects data in the non-dev stage %s',
    (stage) => {
      expect(configFromContext({ stage })).toMatchObject({
        stage,
        isDev: false,
        removalPolicy: RemovalPolicy.RETAIN,
        deletionProtection: true,
        pointInTimeRecovery: true,
        autoDeleteObjects: false,
      });
    },
  );

  it('parses numeric options given as strings on the command line', () => {
    const config = configFromContext({
      stage: 'prod',
      evidenceRetentionDays: '400',
      accessLogRetentionDays: 30,
    });
    expect(config.evidenceRetentionDays).toBe(400);
    expect(config.accessLogRetentionDays).toBe(30);
  });

  it.each(['0', '-1', '1.5', 'abc', '', true])('rejects evidenceRetentionDays=%j', (value) => {
    expect(() => configFromContext({ evidenceRetentionDays: value })).toThrow(/evidenceRetentionDays/);
  });

  it.each(['Prod', 'prod_1', '1prod', '', 'a'.repeat(21), 'prod stage'])('rejects stage %j', (stage) => {
    expect(() => configFor(stage)).toThrow(/Invalid stage/);
  });

  it('rejects a non-string stage', () => {
    expect(() => configFromContext({ stage: 42 })).toThrow(/stage/);
  });
});
