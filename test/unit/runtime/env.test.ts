import {
  API_ENV,
  FLEET_ENV,
  INGEST_ENV,
  lifecycleConfigFromEnv,
  OUTBOX_ENV,
  RULE_TARGET_ENV,
  SESSION_TASK_ENV,
} from '@lcm/shared/app';
import { DEFAULT_FLEET_CONFIG, fleetConfigFromEnv } from '@lcm/shared/fleet';
import {
  EnvError,
  envFingerprint,
  envKeys,
  envList,
  envNumber,
  envOneOf,
  envText,
  parseEnv,
  readEnv,
} from '@lcm/shared/platform';
import { afterEach, describe, expect, it } from 'vitest';

const errorOf = (run: () => unknown): EnvError => {
  try {
    run();
  } catch (e) {
    if (e instanceof EnvError) return e;
    throw e;
  }
  throw new Error('expected an EnvError');
};

describe('environment schemas', () => {
  it('a missing variable fails naming it and the function kind', () => {
    const e = errorOf(() => parseEnv(SESSION_TASK_ENV, {}, 'session-task'));
    expect(e.variables).toEqual(['TABLE_NAME']);
    expect(e.message).toBe('Invalid environment (session-task): TABLE_NAME is not set');
  });

  it('a blank required variable counts as missing', () => {
    expect(errorOf(() => parseEnv(OUTBOX_ENV, { TABLE_NAME: 't', EVENT_BUS_NAME: '  ' })).variables).toEqual([
      'EVENT_BUS_NAME',
    ]);
  });

  it('every invalid variable is named, with what it must be and what it was', () => {
    const e = errorOf(() =>
      parseEnv(
        FLEET_ENV,
        {
          TABLE_NAME: 't',
          WORKFLOW_ENGINE: 'carrier-pigeon',
          LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS: '0',
          LCM_SCALING_MAX_WORKERS: 'many',
          LCM_WORKER_EXTRA_TAGS: '[1]',
          LCM_CML_CREDENTIALS: '{"username": "admin"}',
        },
        'fleet',
      ),
    );
    expect(e.variables).toEqual([
      'WORKFLOW_ENGINE',
      'LCM_CML_CREDENTIALS',
      'LCM_WORKER_EXTRA_TAGS',
      'LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS',
      'LCM_SCALING_MAX_WORKERS',
    ]);
    expect(e.message).toContain(
      'WORKFLOW_ENGINE must be one of recording, stepfunctions, got carrier-pigeon',
    );
    expect(e.message).toContain('LCM_INSTANCE_RUNNING_TIMEOUT_SECONDS must be a number >= 1, got 0');
    expect(e.message).toContain('LCM_SCALING_MAX_WORKERS must be a number, got many');
    expect(e.message).toContain('LCM_WORKER_EXTRA_TAGS must be a JSON object of tag → value');
    expect(e.message).toContain('LCM_CML_CREDENTIALS must be JSON {"username", "password"}');
  });

  it('parses to typed values and leaves unset optional variables undefined', () => {
    const env = parseEnv(FLEET_ENV, {
      TABLE_NAME: ' lcm-test ',
      LCM_WORKER_AMI_OWNERS: '111, 222,,',
      LCM_FLEET_POLL_SECONDS: '5',
      LCM_CML_CREDENTIALS: '{"username":"admin","password":"pw"}',
      LCM_WORKER_KEY_NAME: '',
    });
    expect(env.TABLE_NAME).toBe('lcm-test');
    expect(env.WORKFLOW_ENGINE).toBe('recording');
    expect(env.LCM_WORKER_AMI_OWNERS).toEqual(['111', '222']);
    expect(env.LCM_FLEET_POLL_SECONDS).toBe(5);
    expect(env.LCM_CML_CREDENTIALS).toEqual({ username: 'admin', password: 'pw' });
    expect(env.LCM_WORKER_KEY_NAME).toBeUndefined();
    expect(env.LCM_CML_SECRET_ID).toBeUndefined();
  });

  it('the config parsers name the variable at fault', () => {
    expect(() => fleetConfigFromEnv({ LCM_HEALTH_MAX_FAILURES: '0' })).toThrow(
      /LCM_HEALTH_MAX_FAILURES must be a number >= 1, got 0/,
    );
    expect(() => lifecycleConfigFromEnv({ LCM_PLACEMENT_RETRY_BASE_SECONDS: '1.5' })).toThrow(
      /LCM_PLACEMENT_RETRY_BASE_SECONDS must be a whole number >= 1, got 1.5/,
    );
    expect(fleetConfigFromEnv({})).toEqual(DEFAULT_FLEET_CONFIG);
    expect(
      fleetConfigFromEnv({ LCM_WORKER_USER_DATA_B64: Buffer.from('#!/bin/sh\n').toString('base64') })
        .userData,
    ).toBe('#!/bin/sh\n');
  });

  it('each kind lists its variables in its schema: no list is kept by hand', () => {
    expect(envKeys(API_ENV)).toEqual(expect.arrayContaining(['TABLE_NAME', 'WORKFLOW_ENGINE']));
    expect(envKeys(RULE_TARGET_ENV)).toEqual(
      expect.arrayContaining(['TABLE_NAME', 'SESSION_STATE_MACHINE_ARN']),
    );
    expect(envKeys(INGEST_ENV)).toEqual(
      expect.arrayContaining(['EVENT_BUS_NAME', 'LCM_EVENT_PARTNERS_SECRET_ID', 'LCM_EVENT_PARTNERS']),
    );
    expect(envKeys(SESSION_TASK_ENV)).toEqual(
      expect.arrayContaining(['EVIDENCE_BUCKET', 'LCM_LDS_BASE_URL', 'LCM_LAB_BOOT_TIMEOUT_SECONDS']),
    );
    // The fleet's: the table, the workflows, CML, the fleet and the scaling configuration.
    expect(envKeys(FLEET_ENV)).toEqual(
      expect.arrayContaining([
        'AWS_ENDPOINT_URL_DYNAMODB',
        'WORKER_DRAIN_STATE_MACHINE_ARN',
        'LCM_CML_LICENSE_SECRET_ID',
        'LCM_STUCK_SESSION_GRACE_SECONDS',
        'LCM_SCALING_WARM_START_MINUTES',
        'LCM_SCALING_FREED_ROOM_LEAD_MINUTES',
      ]),
    );
  });
});

describe('envFingerprint and readEnv', () => {
  const SHAPE = { LCM_TEST_TEXT: envText(), LCM_TEST_N: envNumber({ min: 0 }) };
  const saved = { text: process.env.LCM_TEST_TEXT, n: process.env.LCM_TEST_N };
  afterEach(() => {
    for (const [k, v] of [
      ['LCM_TEST_TEXT', saved.text],
      ['LCM_TEST_N', saved.n],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  it('reads only the shape’s own variables: others do not change the fingerprint', () => {
    const a = envFingerprint(SHAPE, { LCM_TEST_TEXT: 'x', OTHER: '1' });
    expect(envFingerprint(SHAPE, { LCM_TEST_TEXT: 'x', OTHER: '2' })).toBe(a);
    expect(envFingerprint(SHAPE, { LCM_TEST_TEXT: 'y' })).not.toBe(a);
    // Unset and empty are different fingerprints (an empty value is a change).
    expect(envFingerprint(SHAPE, { LCM_TEST_TEXT: 'x', LCM_TEST_N: '' })).not.toBe(a);
  });

  it('parses the process environment once, again when one of its variables changes', () => {
    process.env.LCM_TEST_TEXT = 'first';
    const first = readEnv(SHAPE);
    expect(readEnv(SHAPE)).toBe(first);
    process.env.LCM_TEST_N = '3';
    const second = readEnv(SHAPE);
    expect(second).not.toBe(first);
    expect(second).toEqual({ LCM_TEST_TEXT: 'first', LCM_TEST_N: 3 });
    delete process.env.LCM_TEST_TEXT;
    expect(() => readEnv(SHAPE, 'test')).toThrow('Invalid environment (test): LCM_TEST_TEXT is not set');
  });

  it('envOneOf falls back when unset; envList splits commas', () => {
    const shape = { K: envOneOf(['a', 'b'], 'a'), L: envList() };
    expect(parseEnv(shape, {})).toEqual({ K: 'a', L: undefined });
    expect(parseEnv(shape, { K: 'b', L: '' })).toEqual({ K: 'b', L: [] });
  });
});
