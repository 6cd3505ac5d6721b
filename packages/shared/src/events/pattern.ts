/**
 * EventBridge event patterns (content filtering), as pure data and a matcher. The same syntax
 * is used by EventBridge rules and by Lambda event-source filter criteria, so one matcher serves
 * the local event bus (rules.ts) and the local stream poller (streams.ts). No AWS import here.
 *
 * Supported, with EventBridge's semantics:
 * - exact values: strings, numbers, booleans, null (`{"source": ["a", "b"]}`)
 * - `{"prefix": "x"}`, `{"suffix": "x"}`, `{"equals-ignore-case": "x"}`
 * - `{"anything-but": v | [v...] | {"prefix": "x"} | {"suffix": "x"}}`
 * - `{"exists": true | false}`
 * - `{"numeric": [">", 0, "<=", 5]}`
 * - nested objects; an array in the event matches when any of its elements matches
 * Patterns outside this subset are refused by validatePattern (so a rule never silently means
 * something different locally than in AWS).
 */

export type PatternScalar = string | number | boolean | null;

export type PatternMatcher =
  | PatternScalar
  | { prefix: string }
  | { suffix: string }
  | { 'equals-ignore-case': string }
  | { 'anything-but': PatternScalar | readonly PatternScalar[] | { prefix: string } | { suffix: string } }
  | { exists: boolean }
  | { numeric: readonly (string | number)[] };

export interface EventPattern {
  readonly [field: string]: readonly PatternMatcher[] | EventPattern;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const isScalar = (v: unknown): v is PatternScalar =>
  v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

const NUMERIC_OPERATORS = new Set(['<', '<=', '=', '>', '>=']);

/** Problems with a pattern (empty when it is valid in the supported subset). */
export function validatePattern(pattern: unknown, path = ''): string[] {
  if (!isObject(pattern)) return [`${path || 'pattern'}: must be an object`];
  const problems: string[] = [];
  const entries = Object.entries(pattern);
  if (entries.length === 0) problems.push(`${path || 'pattern'}: must not be empty`);
  for (const [key, value] of entries) {
    const at = path ? `${path}.${key}` : key;
    if (Array.isArray(value)) {
      if (value.length === 0) problems.push(`${at}: a match list must not be empty`);
      for (const m of value) problems.push(...validateMatcher(m, at));
    } else if (isObject(value)) {
      problems.push(...validatePattern(value, at));
    } else {
      problems.push(`${at}: must be a match list (array) or a nested pattern (object)`);
    }
  }
  return problems;
}

function validateMatcher(m: unknown, at: string): string[] {
  if (isScalar(m)) return [];
  if (!isObject(m)) return [`${at}: unsupported matcher ${JSON.stringify(m)}`];
  const keys = Object.keys(m);
  if (keys.length !== 1) return [`${at}: a matcher object has exactly one key`];
  const [op] = keys as [string];
  const arg = m[op];
  switch (op) {
    case 'prefix':
    case 'suffix':
    case 'equals-ignore-case':
      return typeof arg === 'string' ? [] : [`${at}: ${op} takes a string`];
    case 'exists':
      return typeof arg === 'boolean' ? [] : [`${at}: exists takes true or false`];
    case 'anything-but': {
      if (isScalar(arg)) return [];
      if (Array.isArray(arg)) {
        return arg.length > 0 && arg.every(isScalar) ? [] : [`${at}: anything-but list must hold values`];
      }
      if (isObject(arg)) {
        const k = Object.keys(arg);
        const ok =
          k.length === 1 && (k[0] === 'prefix' || k[0] === 'suffix') && typeof arg[k[0]] === 'string';
        return ok ? [] : [`${at}: anything-but takes a value, a list, {prefix} or {suffix}`];
      }
      return [`${at}: anything-but takes a value, a list, {prefix} or {suffix}`];
    }
    case 'numeric': {
      if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
        return [`${at}: numeric takes one or two [operator, number] pairs`];
      }
      for (let i = 0; i < arg.length; i += 2) {
        if (!NUMERIC_OPERATORS.has(String(arg[i])) || typeof arg[i + 1] !== 'number') {
          return [`${at}: numeric takes [operator, number] pairs (operators < <= = > >=)`];
        }
      }
      return [];
    }
    default:
      return [`${at}: unsupported matcher ${op}`];
  }
}

/** Throws when the pattern is outside the supported subset. */
export function assertValidPattern(pattern: unknown, name = 'pattern'): asserts pattern is EventPattern {
  const problems = validatePattern(pattern);
  if (problems.length > 0)
    throw new Error(`${name} is not a supported event pattern: ${problems.join('; ')}`);
}

/** Does `event` (any JSON value, usually an EventBridge event or a stream record) match? */
export function matchesPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(pattern, event);
}

/** Does `event` match any of the patterns (Lambda filter criteria: OR of filters)? */
export const matchesAnyPattern = (patterns: readonly EventPattern[], event: unknown): boolean =>
  patterns.some((p) => matchesPattern(p, event));

function matchObject(pattern: EventPattern, value: unknown): boolean {
  const obj = isObject(value) ? value : undefined;
  for (const [key, sub] of Object.entries(pattern)) {
    const field = obj?.[key];
    if (Array.isArray(sub)) {
      if (!matchField(sub as readonly PatternMatcher[], field, obj !== undefined && key in obj)) return false;
    } else if (!matchObject(sub as EventPattern, field)) {
      return false;
    }
  }
  return true;
}

/** A field matches a match list when any matcher accepts it (or any of its elements). */
function matchField(matchers: readonly PatternMatcher[], field: unknown, present: boolean): boolean {
  const values: unknown[] = Array.isArray(field) ? field : present ? [field] : [];
  return matchers.some((m) => {
    if (isObject(m) && 'exists' in m) {
      // exists is about a leaf value being there; objects and empty arrays are not leaf values.
      const exists = values.some((v) => !isObject(v));
      return m.exists ? exists : !exists;
    }
    if (isObject(m) && 'anything-but' in m) {
      // A missing field does not match; an array matches when any element is not excluded.
      return values.some((v) => isScalar(v) && !matchesAnythingButArg(m['anything-but'], v));
    }
    return values.some((v) => matchValue(m, v));
  });
}

function matchesAnythingButArg(
  arg: PatternScalar | readonly PatternScalar[] | { prefix: string } | { suffix: string },
  v: PatternScalar,
): boolean {
  if (Array.isArray(arg)) return arg.some((a) => a === v);
  if (isObject(arg)) {
    if (typeof v !== 'string') return false;
    if ('prefix' in arg) return v.startsWith(arg.prefix as string);
    return v.endsWith((arg as { suffix: string }).suffix);
  }
  return arg === v;
}

function matchValue(m: PatternMatcher, v: unknown): boolean {
  if (isScalar(m)) return m === v;
  if ('prefix' in m) return typeof v === 'string' && v.startsWith(m.prefix);
  if ('suffix' in m) return typeof v === 'string' && v.endsWith(m.suffix);
  if ('equals-ignore-case' in m) {
    return typeof v === 'string' && v.toLowerCase() === m['equals-ignore-case'].toLowerCase();
  }
  if ('numeric' in m) return typeof v === 'number' && numericMatches(m.numeric, v);
  return false;
}

function numericMatches(spec: readonly (string | number)[], v: number): boolean {
  for (let i = 0; i < spec.length; i += 2) {
    const op = spec[i];
    const bound = spec[i + 1] as number;
    const ok =
      op === '<'
        ? v < bound
        : op === '<='
          ? v <= bound
          : op === '='
            ? v === bound
            : op === '>'
              ? v > bound
              : op === '>='
                ? v >= bound
                : false;
    if (!ok) return false;
  }
  return true;
}
