import * as z from 'zod';

/**
 * Environment variables as zod schemas. A function kind declares the variables it reads as one
 * shape (`{ TABLE_NAME: envText(), LCM_X_SECONDS: envNumber({ min: 1 }), ... }`, see
 * packages/shared/src/app/env.ts); the shape is both the parser (strings to typed values, every
 * problem named after its variable) and the list of variables whose change means new
 * dependencies (`envFingerprint`), so no list of names is kept by hand.
 */

export type RawEnv = Readonly<Record<string, string | undefined>>;

/** The schemas of a function kind's variables, by variable name. */
export type EnvShape = Readonly<Record<string, z.ZodType<unknown, string | undefined>>>;

/** The parsed environment of a shape. */
export type EnvOf<S extends EnvShape> = { [K in keyof S]: z.output<S[K]> };

/** A variable that is missing or invalid; `variables` names every one at fault. */
export class EnvError extends Error {
  override readonly name = 'EnvError';
  constructor(
    readonly variables: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

const blank = (raw: string | undefined): raw is undefined => raw === undefined || raw.trim() === '';

/** A variable that must be set (and not blank). */
export const envText = () =>
  z
    .string({ error: 'is not set' })
    .refine((raw) => raw.trim() !== '', 'is not set')
    .transform((raw) => raw.trim());

/** An optional variable, as it is (an empty value counts as unset). */
export const envOptional = () =>
  z
    .string()
    .optional()
    .transform((raw) => (blank(raw) ? undefined : raw));

/** One of `values`; `fallback` when unset. */
export const envOneOf = <const T extends readonly [string, ...string[]]>(values: T, fallback: T[number]) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): T[number] => {
      const value = raw?.trim() || fallback;
      if ((values as readonly string[]).includes(value)) return value;
      ctx.addIssue({ code: 'custom', message: `must be one of ${values.join(', ')}, got ${raw}` });
      return z.NEVER;
    });

/** An optional number (finite, at least `min`, whole when `integer`). */
export const envNumber = (opts: { min?: number; integer?: boolean } = {}) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): number | undefined => {
      if (blank(raw)) return undefined;
      const n = Number(raw);
      const ok =
        Number.isFinite(n) &&
        (opts.min === undefined || n >= opts.min) &&
        (!opts.integer || Number.isInteger(n));
      if (ok) return n;
      const what = `${opts.integer ? 'a whole number' : 'a number'}${opts.min === undefined ? '' : ` >= ${opts.min}`}`;
      ctx.addIssue({ code: 'custom', message: `must be ${what}, got ${raw}` });
      return z.NEVER;
    });

/** An optional comma-separated list (items trimmed, empty items dropped). */
export const envList = () =>
  z
    .string()
    .optional()
    .transform((raw) =>
      raw === undefined
        ? undefined
        : raw
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s.length > 0),
    );

/** An optional JSON document, validated by `schema`; `what` describes it in the error. */
export const envJson = <T>(schema: z.ZodType<T>, what: string) =>
  z
    .string()
    .optional()
    .transform((raw, ctx): T | undefined => {
      if (blank(raw)) return undefined;
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        ctx.addIssue({ code: 'custom', message: `must be ${what} (it is not JSON)` });
        return z.NEVER;
      }
      const parsed = schema.safeParse(json);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `must be ${what}` });
      return z.NEVER;
    });

/**
 * Parses `env` with `shape`, or fails with every problem named after its variable, e.g.
 * `Invalid environment (session-task): TABLE_NAME is not set; LCM_LAB_BOOT_TIMEOUT_SECONDS must
 * be a whole number >= 1, got 0`.
 */
export function parseEnv<S extends EnvShape>(shape: S, env: RawEnv, kind?: string): EnvOf<S> {
  const input = Object.fromEntries(Object.keys(shape).map((name) => [name, env[name]]));
  const parsed = z.object(shape).safeParse(input);
  if (parsed.success) return parsed.data as EnvOf<S>;
  const problems = parsed.error.issues.map((issue) => ({
    name: String(issue.path[0]),
    message: issue.message,
  }));
  const variables = [...new Set(problems.map((p) => p.name))];
  throw new EnvError(
    variables,
    `Invalid environment${kind ? ` (${kind})` : ''}: ${problems.map((p) => `${p.name} ${p.message}`).join('; ')}`,
  );
}

/** The variables of a shape, in order. */
export const envKeys = (shape: EnvShape): string[] => Object.keys(shape);

/** What `shape` reads of `env`, as one string: equal fingerprints parse to equal environments. */
export const envFingerprint = (shape: EnvShape, env: RawEnv): string =>
  envKeys(shape)
    .map((name) => {
      const value = env[name];
      return value === undefined ? '\u0001' : value;
    })
    .join('\u0000');

const parsedEnvs = new WeakMap<EnvShape, { fingerprint: string; env: unknown }>();

/**
 * The process environment parsed with `shape`: once per cold start, again only when one of the
 * shape's variables changes (tests and the local stack change them in one process).
 */
export function readEnv<S extends EnvShape>(shape: S, kind?: string): EnvOf<S> {
  const fingerprint = envFingerprint(shape, process.env);
  const hit = parsedEnvs.get(shape);
  if (hit?.fingerprint === fingerprint) return hit.env as EnvOf<S>;
  const env = parseEnv(shape, process.env, kind);
  parsedEnvs.set(shape, { fingerprint, env });
  return env;
}

/** The table every handler works on (AWS_ENDPOINT_URL_DYNAMODB: DynamoDB Local). */
export const TABLE_ENV = {
  TABLE_NAME: envText(),
  AWS_ENDPOINT_URL_DYNAMODB: envOptional(),
} satisfies EnvShape;
