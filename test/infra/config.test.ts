import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BOOKING_CONFIG_ENV, lifecycleConfigFromEnv } from '@lcm/shared/app';
import { fleetConfigFromEnv, scalingConfigFromEnv } from '@lcm/shared/fleet';
import { parseEnv } from '@lcm/shared/platform';
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../infra/lib/bundling.ts';
import { configFor, DEFAULTS, readConfig } from '../../infra/lib/config.ts';
import { ALARM_SETTINGS, SETTINGS_DOC, settingsEnvironment } from '../../infra/lib/settings.ts';
import { buildTestApp, cdkJsonContext } from './app.ts';
import { envOf, functionOf } from './template.ts';

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

describe('infra config: HTTP API keys', () => {
  it('defaults: Cognito (no issuer), no CORS, default throttling, retention and log level', () => {
    expect(configFromContext({}).api).toEqual({
      jwt: undefined,
      corsOrigins: [],
      throttle: { rateLimit: DEFAULTS.throttleRateLimit, burstLimit: DEFAULTS.throttleBurstLimit },
      logRetention: DEFAULTS.logRetentionDays,
      logLevel: 'INFO',
    });
  });

  it('reads lists from cdk.json arrays and from comma-separated command-line strings', () => {
    const fromCli = configFromContext({
      jwtIssuer: 'https://idp.example.com/',
      jwtAudience: 'a, b',
      corsOrigins: 'https://x.example.com,https://y.example.com:8443',
    }).api;
    const fromJson = configFromContext({
      jwtIssuer: 'https://idp.example.com/',
      jwtAudience: ['a', 'b'],
      corsOrigins: ['https://x.example.com', 'https://y.example.com:8443'],
    }).api;
    expect(fromCli).toEqual(fromJson);
    expect(fromCli.jwt).toEqual({ issuer: 'https://idp.example.com/', audience: ['a', 'b'] });
    expect(fromCli.corsOrigins).toEqual(['https://x.example.com', 'https://y.example.com:8443']);
  });

  it('parses throttling, retention and log level given as strings', () => {
    const api = configFromContext({
      throttleRateLimit: '12.5',
      throttleBurstLimit: '30',
      logRetentionDays: '14',
      logLevel: 'warn',
    }).api;
    expect(api.throttle).toEqual({ rateLimit: 12.5, burstLimit: 30 });
    expect(api.logRetention).toBe(14);
    expect(api.logLevel).toBe('WARN');
    // one of the two throttle keys alone keeps the other's default
    expect(configFromContext({ throttleBurstLimit: 7 }).api.throttle).toEqual({
      rateLimit: DEFAULTS.throttleRateLimit,
      burstLimit: 7,
    });
  });

  it.each([
    [{ jwtIssuer: 'https://idp.example.com' }, /jwtAudience/],
    [{ jwtAudience: 'a' }, /jwtIssuer/],
    [{ jwtIssuer: 'not a url', jwtAudience: 'a' }, /jwtIssuer/],
    [{ jwtIssuer: 'https://idp.example.com', jwtAudience: ' , ' }, /jwtAudience/],
    [{ corsOrigins: 'https://ok.example.com,https://bad.example.com/' }, /corsOrigins.*bad/],
    [{ corsOrigins: 42 }, /corsOrigins/],
    [{ throttleRateLimit: '0' }, /throttleRateLimit/],
    [{ throttleBurstLimit: '1.5' }, /throttleBurstLimit/],
    [{ logRetentionDays: 10 }, /logRetentionDays/],
    [{ logLevel: 'TRACE' }, /logLevel/],
  ])('rejects %j', (context, message) => {
    expect(() => configFromContext(context)).toThrow(message);
  });

  it('accepts * and localhost over http as CORS origins', () => {
    expect(configFromContext({ corsOrigins: '*' }).api.corsOrigins).toEqual(['*']);
    expect(configFromContext({ corsOrigins: 'http://localhost:3000' }).api.corsOrigins).toEqual([
      'http://localhost:3000',
    ]);
  });
});

describe('infra config: events, integrations, workflows and fleet keys', () => {
  it('defaults: 30-day archive, no integrations, execution data logged in dev only, schedules on', () => {
    const config = configFromContext({});
    expect(config.events).toEqual({ archiveRetentionDays: DEFAULTS.eventArchiveRetentionDays });
    expect(config.integrations).toEqual({});
    expect(config.workflows).toEqual({ logExecutionData: true });
    expect(configFromContext({ stage: 'prod' }).workflows).toEqual({ logExecutionData: false });
    expect(config.fleet).toEqual({
      subnetIds: [],
      securityGroupIds: [],
      instanceTypes: [
        '*.metal',
        '*.metal-*',
        'c8i.*',
        'c8i-flex.*',
        'm8i.*',
        'm8i-flex.*',
        'r8i.*',
        'r8i-flex.*',
      ],
      amiOwners: [],
      schedulesEnabled: true,
    });
  });

  it('reads every key, from cdk.json values or command-line strings', () => {
    const config = configFromContext({
      stage: 'prod',
      eventArchiveRetentionDays: '7',
      ldsBaseUrl: 'https://lds.example.com/api',
      gradingBaseUrl: 'https://grading.example.com',
      contentBuckets: 'lcm-content, partner.labs',
      lambdaSubnetIds: ['subnet-0123456789abcdef0'],
      lambdaSecurityGroupIds: 'sg-0123456789abcdef0',
      workflowLogExecutionData: 'true',
      workerSubnetIds: 'subnet-0aaaaaaaaaaaaaaaa,subnet-0bbbbbbbbbbbbbbbb',
      workerSecurityGroupIds: ['sg-0cccccccccccccccc'],
      workerKeyName: 'lcm workers',
      workerRoleArn: 'arn:aws:iam::123456789012:role/path/cml-worker',
      workerAmiOwners: '123456789012 self amazon',
      workerInstanceTypes: 'm5zn.metal, c5.*',
      fleetSchedulesEnabled: false,
    });
    expect(config.events.archiveRetentionDays).toBe(7);
    expect(config.integrations).toEqual({
      ldsBaseUrl: 'https://lds.example.com/api',
      gradingBaseUrl: 'https://grading.example.com',
      contentBuckets: ['lcm-content', 'partner.labs'],
      lambdaNetwork: { subnetIds: ['subnet-0123456789abcdef0'], securityGroupIds: ['sg-0123456789abcdef0'] },
    });
    expect(config.workflows.logExecutionData).toBe(true);
    expect(config.fleet).toEqual({
      subnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
      securityGroupIds: ['sg-0cccccccccccccccc'],
      keyName: 'lcm workers',
      roleArn: 'arn:aws:iam::123456789012:role/path/cml-worker',
      instanceTypes: ['m5zn.metal', 'c5.*'],
      amiOwners: ['123456789012', 'self', 'amazon'],
      schedulesEnabled: false,
    });
  });

  it.each([
    [{ eventArchiveRetentionDays: '0' }, /eventArchiveRetentionDays/],
    [{ ldsBaseUrl: 'http://lds.example.com' }, /ldsBaseUrl/],
    [{ gradingBaseUrl: 'grading' }, /gradingBaseUrl/],
    [{ contentBuckets: 'Not_A_Bucket' }, /contentBuckets/],
    [{ lambdaSubnetIds: 'subnet-0123456789abcdef0' }, /give both or neither/],
    [{ lambdaSecurityGroupIds: 'sg-0123456789abcdef0' }, /give both or neither/],
    [{ lambdaSubnetIds: 'vpc-123', lambdaSecurityGroupIds: 'sg-0123456789abcdef0' }, /lambdaSubnetIds/],
    [{ workerSubnetIds: 'subnet-xyz' }, /workerSubnetIds/],
    [{ workerSecurityGroupIds: 'sg-1' }, /workerSecurityGroupIds/],
    [{ workerKeyName: '' }, /workerKeyName/],
    [{ workerRoleArn: 'cml-worker' }, /workerRoleArn/],
    [{ workerRoleArn: 'arn:aws:iam::123456789012:instance-profile/x' }, /workerRoleArn/],
    [{ workerAmiOwners: 'someone' }, /workerAmiOwners/],
    [{ workerInstanceTypes: 'metal' }, /workerInstanceTypes/],
    [{ workerInstanceTypes: [] }, /workerInstanceTypes/],
    [{ fleetSchedulesEnabled: 'yes' }, /fleetSchedulesEnabled/],
    [{ workflowLogExecutionData: 1 }, /workflowLogExecutionData/],
  ])('rejects %j', (context, error) => {
    expect(() => configFromContext(context)).toThrow(error);
  });
});

describe('infra config: tunable stages (settings)', () => {
  const PROD = {
    scaling: { minWorkers: 1, maxWorkers: 40, maxDrainShare: 0.25 },
    lifecycle: { gradingTimeoutSeconds: 2400 },
    fleet: { maxConsecutiveFailures: 5 },
  };

  it("reads the synthesised stage's entry, from cdk.json objects or command-line JSON", () => {
    expect(configFromContext({ stage: 'prod', settings: { prod: PROD, dev: {} } }).settings).toEqual(PROD);
    expect(configFromContext({ stage: 'prod', settings: JSON.stringify({ prod: PROD }) }).settings).toEqual(
      PROD,
    );
    // a command-line value may be a numeric string
    expect(
      configFromContext({ stage: 'prod', settings: { prod: { scaling: { maxWorkers: '7' } } } }).settings,
    ).toEqual({ scaling: { maxWorkers: 7 } });
    expect(configFromContext({ stage: 'dev', settings: { prod: PROD } }).settings).toEqual({});
    expect(configFromContext({}).settings).toEqual({});
    // the alarm thresholds (no variable: they configure the observability stack)
    const alarms = { prod: { alarms: { fleetCostPerHourUsd: '75.5' } } };
    expect(configFromContext({ stage: 'prod', settings: alarms }).settings).toEqual({
      alarms: { fleetCostPerHourUsd: 75.5 },
    });
    expect(cdkJsonContext().settings).toEqual({ dev: {} });
  });

  it.each([
    [{ prod: { scaling: { maxWorker: 4 } } }, 'settings.prod.scaling.maxWorker: unknown setting'],
    [{ prod: { scalng: {} } }, 'settings.prod.scalng: unknown setting'],
    [{ Prod: {} }, 'settings.Prod: is not a stage name'],
    [
      { prod: { lifecycle: { labBootTimeoutSeconds: 0 } } },
      'settings.prod.lifecycle.labBootTimeoutSeconds: must be a whole number >= 1, got 0',
    ],
    [
      { prod: { lifecycle: { instantiateLeadSeconds: 1.5 } } },
      'settings.prod.lifecycle.instantiateLeadSeconds: must be a whole number >= 0, got 1.5',
    ],
    [
      { prod: { fleet: { maxConsecutiveFailures: 0 } } },
      'settings.prod.fleet.maxConsecutiveFailures: must be a number >= 1, got 0',
    ],
    [
      { prod: { scaling: { minWorkers: 5, maxWorkers: 2 } } },
      'settings.prod.scaling.maxWorkers: must be >= minWorkers (5)',
    ],
    [
      { prod: { scaling: { minWorkers: -1 } } },
      'settings.prod.scaling.minWorkers: must be an integer >= 0, got -1',
    ],
    [
      { prod: { scaling: { maxDrainShare: 1.5 } } },
      'settings.prod.scaling.maxDrainShare: must be a number in [0, 1], got 1.5',
    ],
    [
      { prod: { scaling: { cooldownSeconds: 'soon' } } },
      'settings.prod.scaling.cooldownSeconds: must be a number, got soon',
    ],
    [
      { prod: { scaling: { cooldownSeconds: true } } },
      'settings.prod.scaling.cooldownSeconds: must be a number',
    ],
    [
      { prod: { alarms: { fleetCostPerHourUsd: 0 } } },
      'settings.prod.alarms.fleetCostPerHourUsd: must be a number > 0 and <= 1000000',
    ],
    [
      { prod: { alarms: { fleetCostPerHourUsd: 'lots' } } },
      'settings.prod.alarms.fleetCostPerHourUsd: must be a number',
    ],
    [{ prod: { alarms: { fleetCost: 10 } } }, 'settings.prod.alarms.fleetCost: unknown setting'],
  ])('rejects %j naming the path', (settings, message) => {
    // validated whichever stage is synthesised
    for (const stage of ['dev', 'prod']) {
      expect(() => configFromContext({ stage, settings })).toThrow(
        `Context "settings" is invalid: ${message}`,
      );
    }
  });

  it('rejects command-line text that is not JSON, and a non-object', () => {
    expect(() => configFromContext({ settings: '{prod:' })).toThrow(
      /Context "settings" must be a JSON object/,
    );
    expect(() => configFromContext({ settings: [1] })).toThrow(/Context "settings" is invalid/);
  });

  it('fails the synthesis of the whole app on an invalid setting', () => {
    expect(() => buildTestApp({ settings: { prod: { scaling: { maxWorkers: -3 } } } })).toThrow(
      /settings\.prod\.scaling\.maxWorkers/,
    );
  });

  it('a setting reaches the environment of the functions that read it, and parses back to its value', () => {
    const { stacks } = buildTestApp({ stage: 'prod', settings: { prod: PROD } });
    const fleet = Template.fromStack(stacks.fleet);
    const scaleUp = envOf(functionOf(fleet, stacks.fleet, stacks.fleet.schedules.get('scale-up')!.fn));
    expect(scaleUp).toMatchObject({
      LCM_SCALING_MIN_WORKERS: '1',
      LCM_SCALING_MAX_WORKERS: '40',
      LCM_SCALING_MAX_DRAIN_SHARE: '0.25',
      LCM_HEALTH_MAX_FAILURES: '5',
    });
    const raw = scaleUp as Record<string, string>;
    expect(scalingConfigFromEnv(raw)).toMatchObject({ minWorkers: 1, maxWorkers: 40, maxDrainShare: 0.25 });
    expect(fleetConfigFromEnv(raw).maxConsecutiveFailures).toBe(5);
    // a fleet task too
    const launch = envOf(
      functionOf(fleet, stacks.fleet, stacks.fleet.taskFunctions.get('fleet-launch-instance')!),
    );
    expect(launch.LCM_SCALING_MAX_WORKERS).toBe('40');

    const workflows = Template.fromStack(stacks.workflows);
    const grading = envOf(
      functionOf(workflows, stacks.workflows, stacks.workflows.taskFunctions.get('submit-grading')!),
    );
    expect(grading.LCM_GRADING_TIMEOUT_SECONDS).toBe('2400');
    expect(lifecycleConfigFromEnv(grading as Record<string, string>).gradingTimeoutSeconds).toBe(2400);
    expect(grading.LCM_SCALING_MAX_WORKERS).toBeUndefined();

    // the API reads the scaling and lifecycle settings (the capacity book: maxWorkers, the
    // placement lead), not the fleet's
    const api = Template.fromStack(stacks.api);
    const sessionsApi = envOf(functionOf(api, stacks.api, stacks.api.functions.get('sessions')!));
    expect(sessionsApi).toMatchObject({ LCM_SCALING_MAX_WORKERS: '40', LCM_GRADING_TIMEOUT_SECONDS: '2400' });
    expect(scalingConfigFromEnv(sessionsApi as Record<string, string>).maxWorkers).toBe(40);
    expect(Object.keys(sessionsApi).filter((k) => /^LCM_HEALTH_/.test(k))).toEqual([]);

    // a function whose kind reads none of them gets none
    const eventsStack = Template.fromStack(stacks.events);
    const [outbox] = [...stacks.events.streamConsumers.values()];
    const stream = envOf(functionOf(eventsStack, stacks.events, outbox!.fn));
    expect(Object.keys(stream).filter((k) => /^LCM_(SCALING|GRADING|HEALTH)_/.test(k))).toEqual([]);
  });

  it('booking.requireDeliverable is a switch a stage can deploy: true/false, as JSON or command-line text (issue 11, item 4)', () => {
    const on = configFromContext({
      stage: 'prod',
      settings: { prod: { booking: { requireDeliverable: true } } },
    });
    expect(settingsEnvironment(on.settings, 'api')).toEqual({ LCM_BOOKING_REQUIRE_DELIVERABLE: 'true' });
    const off = configFromContext({
      stage: 'prod',
      settings: '{"prod":{"booking":{"requireDeliverable":"false"}}}',
    });
    expect(settingsEnvironment(off.settings, 'api')).toEqual({ LCM_BOOKING_REQUIRE_DELIVERABLE: 'false' });
    // What the API parses it to (BOOKING_CONFIG_ENV), and only the API gets it.
    expect(
      parseEnv(BOOKING_CONFIG_ENV, settingsEnvironment(on.settings, 'api'), 'api')
        .LCM_BOOKING_REQUIRE_DELIVERABLE,
    ).toBe('true');
    expect(settingsEnvironment(on.settings, 'session-task')).toEqual({});
    expect(() =>
      configFromContext({ stage: 'prod', settings: { prod: { booking: { requireDeliverable: 'yes' } } } }),
    ).toThrow(/settings\.prod\.booking\.requireDeliverable/);
    expect(() =>
      configFromContext({ stage: 'prod', settings: { prod: { booking: { requireDeliverable: 1 } } } }),
    ).toThrow(/settings\.prod\.booking\.requireDeliverable/);
    expect(() =>
      configFromContext({ stage: 'prod', settings: { prod: { booking: { horizonDays: true } } } }),
    ).toThrow(/settings\.prod\.booking\.horizonDays: must be a whole number >= 1, got true/);
    // Without LDS and without the setting: the code's default (off).
    expect(settingsEnvironment({}, 'api')).toEqual({});
  });

  it('a stage with ldsBaseUrl refuses undeliverable definitions at booking unless its setting says false', () => {
    const withLds = buildTestApp({ stage: 'prod', ldsBaseUrl: 'https://lds.example.com/api' });
    const api = Template.fromStack(withLds.stacks.api);
    // The function that books (the sessions API, its `booking` need) has it on; no other needs it.
    for (const [group, fn] of withLds.stacks.api.functions) {
      expect(envOf(functionOf(api, withLds.stacks.api, fn)).LCM_BOOKING_REQUIRE_DELIVERABLE, group).toBe(
        group === 'sessions' ? 'true' : undefined,
      );
    }
    const workflows = Template.fromStack(withLds.stacks.workflows);
    const provision = envOf(
      functionOf(
        workflows,
        withLds.stacks.workflows,
        withLds.stacks.workflows.taskFunctions.get('provision-lds')!,
      ),
    );
    expect(provision.LCM_BOOKING_REQUIRE_DELIVERABLE).toBeUndefined();

    const optedOut = configFromContext({
      stage: 'prod',
      ldsBaseUrl: 'https://lds.example.com/api',
      settings: { prod: { booking: { requireDeliverable: false } } },
    });
    expect(settingsEnvironment(optedOut.settings, 'api')).toEqual({
      LCM_BOOKING_REQUIRE_DELIVERABLE: 'false',
    });
    const optedOutApp = buildTestApp({
      stage: 'prod',
      ldsBaseUrl: 'https://lds.example.com/api',
      settings: { prod: { booking: { requireDeliverable: false } } },
    });
    const sessions = optedOutApp.stacks.api.functions.get('sessions')!;
    expect(
      envOf(functionOf(Template.fromStack(optedOutApp.stacks.api), optedOutApp.stacks.api, sessions))
        .LCM_BOOKING_REQUIRE_DELIVERABLE,
    ).toBe('false');
  });

  it('the README lists every setting with its variable and default', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const [name, a] of Object.entries(ALARM_SETTINGS)) {
      expect(readme, name).toContain(`| \`alarms.${name}\` | (none) | ${a.default} | ${a.meaning} |`);
    }
    for (const s of SETTINGS_DOC) {
      // A setting CDK reads itself (throttle) has no variable: `—`.
      const variable = s.variable === undefined ? '—' : `\`${s.variable}\``;
      expect(readme, s.path).toContain(
        `| \`${s.path}\` | ${variable} | ${String(s.default)} | ${s.meaning} |`,
      );
    }
  });
});
