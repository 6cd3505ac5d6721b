import {
  BOOKING_CONFIG_ENV,
  BOOKING_CONFIG_VARIABLES,
  LIFECYCLE_CONFIG_ENV,
  LIFECYCLE_CONFIG_VARIABLES,
} from '@lcm/shared/app';
import {
  DEFAULT_FLEET_CONFIG,
  DEFAULT_SCALING_CONFIG,
  FLEET_CONFIG_ENV,
  FLEET_TIMING_VARIABLES,
  SCALING_CONFIG_ENV,
  SCALING_CONFIG_VARIABLES,
  scalingConfigFromEnv,
} from '@lcm/shared/fleet';
import { ValidationError } from '@lcm/shared/kernel';
import type { EnvShape } from '@lcm/shared/platform';
import { DEFAULT_BOOKING_CONFIG, DEFAULT_LIFECYCLE_CONFIG } from '@lcm/shared/sessions';
import * as z from 'zod';
import type { FunctionKind } from '../../functions/catalogue.ts';

/**
 * Tunable stages (issue 13, item 6): the scaling and lifecycle settings of each stage, from the
 * context key `settings` (cdk.json, or `-c settings='{"prod":{...}}'` as JSON):
 *
 *   "settings": {
 *     "prod": { "scaling": { "minWorkers": 1, "maxWorkers": 40 },
 *               "lifecycle": { "gradingTimeoutSeconds": 2400 },
 *               "fleet": { "maxConsecutiveFailures": 5 } } }
 *
 * Every stage's entry is validated at synth, whichever stage is synthesised: an unknown stage
 * name, group or key, or a value out of range, fails with its path (`settings.prod.scaling.maxWorkers`).
 * The ranges are not restated here: each value is parsed by the very environment schema the
 * functions parse it with (SCALING_CONFIG_ENV, LIFECYCLE_CONFIG_ENV, FLEET_CONFIG_ENV), and the
 * scaling group by the planners' own validation (scalingConfigFromEnv: whole numbers, max ≥ min,
 * drain share in [0, 1]). A setting given for the synthesised stage is set as its variable on the
 * functions whose kind reads it; one not given keeps the code's default (listed in the README).
 * The `alarms` group (ALARM_SETTINGS) holds alarm thresholds of the observability stack instead.
 *
 * The `throttle` group (issue 12, item 7) is read by CDK itself, not by a function: the HTTP API's
 * stage default route limits and the tighter limits of its write routes (api-throttles.ts). Its
 * values are validated here the same way (positive rates, whole bursts, each route's limits at most
 * the stage default's).
 */

/** The field → variable map, environment schema, defaults and readers of each group. */
interface SettingGroup {
  readonly variables: Readonly<Record<string, string>>;
  readonly shape: EnvShape;
  readonly defaults: object;
  /** The function kinds whose environment schema (packages/shared/src/app/env.ts) reads the group. */
  readonly kinds: readonly FunctionKind[];
  /** Cross-field validation as the runtime does it (a ValidationError names the field). */
  readonly check?: (env: Record<string, string>) => void;
  /** What each setting means, for the README. */
  readonly meanings: Readonly<Record<string, string>>;
}

export const SETTING_GROUPS = {
  scaling: {
    variables: SCALING_CONFIG_VARIABLES,
    shape: SCALING_CONFIG_ENV,
    defaults: DEFAULT_SCALING_CONFIG,
    // 'api': the capacity book of POST /v1/sessions and GET /v1/availability counts with maxWorkers.
    kinds: ['fleet-task', 'schedule', 'api'],
    check: (env) => void scalingConfigFromEnv(env),
    meanings: {
      minWorkers: 'serving fleet floor: scale-up tops up to it, scale-down never drains below it',
      maxWorkers: 'ceiling on workers holding a running instance',
      maxConcurrentLaunches: 'ceiling on workers launching or starting at once',
      cooldownSeconds: 'no scale-up action within this many seconds of the previous one',
      lookAheadMarginMinutes: 'look-ahead window = longest enabled template boot + this margin',
      scaleDownIdleMinutes: 'idle threshold: a worker must be empty this long before it may be drained',
      postLaunchGraceMinutes: 'a worker launched or started less than this long ago is never drained',
      maxDrainShare: 'at most max(1, floor(share × serving fleet)) drains per scale-down run',
      warmStoppedPerTemplate: 'STOPPED workers kept per template as warm capacity',
      warmStartMinutes: 'minutes from starting a STOPPED worker until RUNNING (defers warm starts)',
      freedRoomLeadMinutes:
        "scale-up counts a placed session's room as free for demand starting at least this long after its booked end",
    },
  },
  lifecycle: {
    variables: LIFECYCLE_CONFIG_VARIABLES,
    shape: LIFECYCLE_CONFIG_ENV,
    defaults: DEFAULT_LIFECYCLE_CONFIG,
    // 'schedule': the stuck-session sweep runs the session teardown with these settings
    // (teardownTimeoutSeconds bounds it there as in the workflow).
    // 'api': the capacity book counts a booking as held from its placement lead.
    kinds: ['session-task', 'schedule', 'api'],
    meanings: {
      placementLeadSeconds:
        'late placement: a booked session is placed (takes capacity) this long before its timeslot; never less than the instantiate lead',
      instantiateLeadSeconds: 'lead: the lab is imported and started this long before the timeslot',
      labBootTimeoutSeconds: 'a started lab must converge within this (else CML_BOOT_TIMEOUT)',
      gradingTimeoutSeconds: 'the Grading Engine gets this long before grading is FAULTED (GRADING_TIMEOUT)',
      placementRetryBaseSeconds: 'first delay between placement attempts while no worker fits (doubles)',
      placementRetryMaxSeconds: 'ceiling of the placement retry delay',
      teardownTimeoutSeconds:
        'a teardown still failing this long after it began gives up: TEARDOWN_FAILED, left for force-release',
      noShowAfterSeconds:
        'a learner not logged in this long after the timeslot start is a no-show: NO_SHOW, capacity released (0 = wait until the timeslot end)',
    },
  },
  booking: {
    variables: BOOKING_CONFIG_VARIABLES,
    shape: BOOKING_CONFIG_ENV,
    defaults: DEFAULT_BOOKING_CONFIG,
    kinds: ['api'],
    meanings: {
      horizonDays: 'POST /v1/sessions refuses a timeslot that starts more than this many days ahead (400)',
      requireDeliverable:
        'true: POST /v1/sessions refuses (422) a CML definition with no topology or no formQualifiedName (the LDS part); not given: true on a stage with `ldsBaseUrl`, else false',
    },
  },
  fleet: {
    variables: FLEET_TIMING_VARIABLES,
    shape: FLEET_CONFIG_ENV,
    defaults: DEFAULT_FLEET_CONFIG,
    kinds: ['fleet-task', 'schedule'],
    meanings: {
      pollSeconds: 'seconds between two polls of the instance or of CML while provisioning',
      drainPollSeconds: "seconds between two checks of a draining worker's sessions",
      instancePollSeconds: 'seconds between two checks of a stopping or terminating instance',
      instanceRunningTimeoutSeconds: 'bound on pending → running (with an IP) of a new instance',
      cmlReadyMarginMinutes: "CML must be ready within the template's boot minutes plus this margin",
      maxConsecutiveFailures: 'health sweep: consecutive unhealthy sweeps before a worker is marked FAILED',
      cpuWindowMinutes: 'health sweep: CloudWatch window of the CPU reading',
      missingInstanceGraceSeconds:
        'reconciliation: a worker whose instance is missing is terminated only after this',
      stuckSessionGraceSeconds:
        'stuck-session sweep: sessions changed more recently than this are left alone (a session whose workflow is dead is re-driven from its status, or torn down from COLLECTING on; `npm start` runs the sweep once at startup without the grace)',
      provisioningBoundSeconds:
        'health sweep: a worker still booting this long after its launch or start, whose provisioning workflow is gone or hung, is FAILED and its instance terminated',
      launchTemplatesTried:
        'a launch out of EC2 capacity tries every subnet with this many templates: the worker’s own, then the next-cheapest that fit',
    },
  },
} as const satisfies Record<string, SettingGroup>;

export type SettingGroupName = keyof typeof SETTING_GROUPS;

/**
 * The `alarms` group: thresholds of the observability stack's alarms that differ per stage. They
 * configure CloudWatch, not a function, so they have no variable; a value not given keeps its
 * default. Same rules as the other groups: unknown keys and values out of range fail the synth
 * with their path.
 */
export const ALARM_SETTINGS = {
  fleetCostPerHourUsd: {
    default: 50,
    max: 1_000_000,
    meaning:
      'alarm FleetCostPerHour: the billable workers cost more than this many USD per hour for 15 minutes (metric FleetCostPerHourUsd)',
  },
} as const;
export type AlarmSettingName = keyof typeof ALARM_SETTINGS;

/** The alarm thresholds of a stage: its `alarms` settings over ALARM_SETTINGS' defaults. */
export const alarmSettingsOf = (settings: StageSettings): Record<AlarmSettingName, number> =>
  Object.fromEntries(
    Object.entries(ALARM_SETTINGS).map(([name, a]) => [
      name,
      settings.alarms?.[name as AlarmSettingName] ?? a.default,
    ]),
  ) as Record<AlarmSettingName, number>;

/** A setting CDK reads (no function variable): its schema, default and meaning. */
interface InfraSetting {
  readonly schema: z.ZodType<number, unknown>;
  readonly default: number;
  readonly meaning: string;
}

const rate = z.number().positive().max(10_000);
const burst = z.number().int().min(1).max(5_000);

/**
 * HTTP API throttling per stage (issue 12, item 7): the stage default (every route) and tighter
 * limits for the write routes, bookings (POST /v1/sessions) and partner events (POST /v1/events).
 * The default route's two fall back to the context keys `throttleRateLimit` / `throttleBurstLimit`.
 */
export const THROTTLE_SETTINGS = {
  defaultRateLimit: {
    schema: rate,
    default: 50,
    meaning: 'stage default: steady requests per second of every route (else context throttleRateLimit)',
  },
  defaultBurstLimit: {
    schema: burst,
    default: 100,
    meaning: 'stage default: burst of every route (else context throttleBurstLimit)',
  },
  writeRateLimit: {
    schema: rate,
    default: 20,
    meaning: 'requests per second of each write route (any method but GET) without a limit of its own',
  },
  writeBurstLimit: { schema: burst, default: 40, meaning: 'burst of each such write route' },
  bookingRateLimit: {
    schema: rate,
    default: 10,
    meaning: 'requests per second of POST /v1/sessions (bookings)',
  },
  bookingBurstLimit: { schema: burst, default: 20, meaning: 'burst of POST /v1/sessions' },
  eventsRateLimit: {
    schema: rate,
    default: 25,
    meaning: "requests per second of POST /v1/events (partners' signed CloudEvents)",
  },
  eventsBurstLimit: { schema: burst, default: 50, meaning: 'burst of POST /v1/events' },
} as const satisfies Record<string, InfraSetting>;

export type ThrottleSetting = keyof typeof THROTTLE_SETTINGS;

/** The route classes below the stage default, and their settings. */
export const THROTTLED_CLASSES = ['write', 'booking', 'events'] as const;
export type ThrottledClass = (typeof THROTTLED_CLASSES)[number];

/** The throttle settings of a stage with defaults filled in (the default route's from `fallback`). */
export const throttleSettingsOf = (
  given: Readonly<Record<string, number>> | undefined,
  fallback: { readonly rateLimit: number; readonly burstLimit: number } = {
    rateLimit: THROTTLE_SETTINGS.defaultRateLimit.default,
    burstLimit: THROTTLE_SETTINGS.defaultBurstLimit.default,
  },
): Record<ThrottleSetting, number> => {
  const defaultRate = given?.defaultRateLimit ?? fallback.rateLimit;
  const defaultBurst = given?.defaultBurstLimit ?? fallback.burstLimit;
  // A route limit not given is its default, but never above the stage default (a lower stage
  // default lowers it); a route limit given above the stage default is a problem (throttleProblems).
  const out = Object.fromEntries(
    Object.entries(THROTTLE_SETTINGS).map(([k, v]) => [
      k,
      given?.[k] ?? Math.min(v.default, k.endsWith('RateLimit') ? defaultRate : defaultBurst),
    ]),
  ) as Record<ThrottleSetting, number>;
  out.defaultRateLimit = defaultRate;
  out.defaultBurstLimit = defaultBurst;
  return out;
};

/** `writeRateLimit: must be at most defaultRateLimit (50), got 80` for each route limit above the default. */
export const throttleProblems = (t: Record<ThrottleSetting, number>): { field: string; message: string }[] =>
  THROTTLED_CLASSES.flatMap((c) =>
    (['Rate', 'Burst'] as const).flatMap((kind) => {
      const field = `${c}${kind}Limit` as ThrottleSetting;
      const ceiling = `default${kind}Limit` as ThrottleSetting;
      return t[field] > t[ceiling]
        ? [{ field, message: `must be at most ${ceiling} (${t[ceiling]}), got ${t[field]}` }]
        : [];
    }),
  );

const throttleSchema = z
  .strictObject(
    Object.fromEntries(
      Object.entries(THROTTLE_SETTINGS).map(([field, setting]) => [
        field,
        z
          .union([z.number(), z.string().trim().min(1).transform(Number)], { error: 'must be a number' })
          .pipe(setting.schema)
          .optional(),
      ]),
    ),
  )
  .superRefine((values, ctx) => {
    for (const p of throttleProblems(throttleSettingsOf(values as Record<string, number>))) {
      ctx.addIssue({ code: 'custom', path: [p.field], message: p.message });
    }
  });

/** One stage's settings: per group, field → value (only the ones given). */
export type StageSettings = {
  readonly [G in SettingGroupName]?: Readonly<Record<string, number | boolean>>;
} & {
  readonly throttle?: Readonly<Record<string, number>>;
} & {
  readonly alarms?: { readonly [K in AlarmSettingName]?: number };
};

export interface SettingDoc {
  readonly path: string;
  /** The function variable; undefined for a setting CDK reads itself (`throttle`). */
  readonly variable: string | undefined;
  readonly default: unknown;
  readonly meaning: string;
  readonly kinds: readonly FunctionKind[];
}

/** Every setting, as the README lists it. */
export const SETTINGS_DOC: readonly SettingDoc[] = Object.entries(SETTING_GROUPS)
  .flatMap(([group, g]): SettingDoc[] =>
    Object.entries(g.variables).map(([field, variable]) => ({
      path: `${group}.${field}`,
      variable,
      default: (g.defaults as Record<string, unknown>)[field],
      meaning: (g.meanings as Record<string, string>)[field] ?? '',
      kinds: g.kinds,
    })),
  )
  .concat(
    Object.entries(THROTTLE_SETTINGS).map(
      ([field, t]): SettingDoc => ({
        path: `throttle.${field}`,
        variable: undefined,
        default: t.default,
        meaning: t.meaning,
        kinds: [],
      }),
    ),
  );

const STAGE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/**
 * A value as cdk.json (number, or true/false for a switch) or the command line (string) gives it,
 * parsed by the variable's schema: a numeric setting must be a number in its range, a switch
 * (`booking.requireDeliverable`) true or false.
 */
const settingValue = (schema: EnvShape[string]) =>
  z
    .union([z.number(), z.boolean(), z.string().trim().min(1)], { error: 'must be a number or true/false' })
    .transform((v) => String(v))
    // The variable's schema also accepts an unset value; here the value is always given.
    .pipe(schema as z.ZodType<unknown, string>)
    .refine((v) => typeof v === 'number' || v === 'true' || v === 'false', 'must be a number')
    .transform((v) => (v === 'true' ? true : v === 'false' ? false : v));

const groupSchema = (g: SettingGroup) =>
  z
    .strictObject(
      Object.fromEntries(
        Object.entries(g.variables).map(([field, variable]) => [
          field,
          settingValue(g.shape[variable]!).optional(),
        ]),
      ),
    )
    .superRefine((values, ctx) => {
      if (!g.check) return;
      try {
        g.check(environmentOf(g, values as Record<string, number | boolean | undefined>));
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        const field = e.field.replace(/^config\./, '');
        ctx.addIssue({ code: 'custom', path: [field], message: e.message.replace(/^config\.\S+: /, '') });
      }
    });

/** A positive threshold, as cdk.json (number) or the command line (string) gives it. */
const thresholdValue = (max: number) =>
  z
    .union([z.number(), z.string().trim().min(1)], { error: 'must be a number' })
    .transform((v) => Number(v))
    .pipe(
      z
        .number({ error: 'must be a number' })
        .refine((n) => Number.isFinite(n) && n > 0 && n <= max, `must be a number > 0 and <= ${max}`),
    );

const alarmsSchema = z.strictObject(
  Object.fromEntries(
    Object.entries(ALARM_SETTINGS).map(([name, a]) => [name, thresholdValue(a.max).optional()]),
  ),
);

const stageSchema = z.strictObject({
  ...Object.fromEntries(Object.entries(SETTING_GROUPS).map(([name, g]) => [name, groupSchema(g).optional()])),
  throttle: throttleSchema.optional(),
  alarms: alarmsSchema.optional(),
});

export const SettingsSchema = z.record(
  z
    .string()
    .regex(STAGE_NAME, 'is not a stage name (lowercase letters, digits, "-", starting with a letter)'),
  stageSchema,
);

/** The variables a group's values set. */
const environmentOf = (g: SettingGroup, values: Readonly<Record<string, number | boolean | undefined>>) =>
  Object.fromEntries(
    Object.entries(values)
      .filter((e): e is [string, number | boolean] => e[1] !== undefined)
      .map(([field, value]) => [g.variables[field]!, String(value)]),
  );

/** `settings.prod.scaling.maxWorkers: must be >= minWorkers (5)` for each problem. */
const describe = (error: z.ZodError, key: string): string =>
  error.issues
    .map((issue) => {
      const path = [key, ...issue.path.map(String)];
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((k) => `${[...path, k].join('.')}: unknown setting`).join('; ');
      }
      if (issue.code === 'invalid_key') return `${path.join('.')}: is not a stage name`;
      return `${path.join('.')}: ${issue.message}`;
    })
    .join('; ');

/**
 * The settings of `stage` from the raw context value (object, or JSON text from the command line);
 * every stage's entry is validated. Throws naming each bad path.
 */
export function readSettings(raw: unknown, stage: string, key = 'settings'): StageSettings {
  if (raw === undefined) return {};
  let value = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new Error(`Context "${key}" must be a JSON object of stage → settings`);
    }
  }
  const parsed = SettingsSchema.safeParse(value);
  if (!parsed.success) throw new Error(`Context "${key}" is invalid: ${describe(parsed.error, key)}`);
  return (parsed.data[stage] ?? {}) as StageSettings;
}

/**
 * The variables a function of `kind` gets from the stage's settings. (Where the stage configures
 * LDS and does not set `booking.requireDeliverable`, the sessions API still gets it on: its
 * `booking` need, infra/lib/grants.ts.)
 */
export function settingsEnvironment(settings: StageSettings, kind: FunctionKind): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, g] of Object.entries(SETTING_GROUPS) as [SettingGroupName, SettingGroup][]) {
    const values = settings[name];
    if (values && g.kinds.includes(kind)) Object.assign(env, environmentOf(g, values));
  }
  return env;
}
