import {
  cachedDeps,
  EnvError,
  envNumber,
  envText,
  failing,
  lazy,
  nowIso,
  nowOf,
  overlay,
} from '@lcm/shared/platform';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const SHAPE = { LCM_DEPS_TEST_TABLE: envText(), LCM_DEPS_TEST_LIMIT: envNumber({ min: 1 }) };
const NAMES = Object.keys(SHAPE);

let saved: Record<string, string | undefined>;
beforeEach(() => {
  saved = Object.fromEntries(NAMES.map((n) => [n, process.env[n]]));
  process.env.LCM_DEPS_TEST_TABLE = 'table-a';
  delete process.env.LCM_DEPS_TEST_LIMIT;
});
afterEach(() => {
  for (const [n, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[n];
    else process.env[n] = v;
  }
});

interface Deps {
  table: string;
  limit: number;
  heavy: { call(): string };
}

/** A builder that counts its builds and the heavy part's. */
function counted() {
  const count = { builds: 0, heavy: 0 };
  const deps = cachedDeps('test', SHAPE, (env) => {
    count.builds += 1;
    return lazy<Deps>({
      table: () => env.LCM_DEPS_TEST_TABLE,
      limit: () => env.LCM_DEPS_TEST_LIMIT ?? 10,
      heavy: () => {
        count.heavy += 1;
        return { call: () => 'heavy' };
      },
    });
  });
  return { deps, count };
}

describe('cachedDeps', () => {
  it('builds once per environment and rebuilds when one of the schema’s variables changes', () => {
    const { deps, count } = counted();
    expect(deps().table).toBe('table-a');
    expect(deps().table).toBe('table-a');
    expect(count.builds).toBe(1);

    process.env.LCM_DEPS_UNRELATED = 'x';
    deps();
    expect(count.builds).toBe(1);
    delete process.env.LCM_DEPS_UNRELATED;

    process.env.LCM_DEPS_TEST_TABLE = 'table-b';
    expect(deps().table).toBe('table-b');
    process.env.LCM_DEPS_TEST_LIMIT = '3';
    expect(deps().limit).toBe(3);
    expect(count.builds).toBe(3);
    expect(deps.env()).toEqual({ LCM_DEPS_TEST_TABLE: 'table-b', LCM_DEPS_TEST_LIMIT: 3 });
  });

  it('a missing or invalid variable fails the call with an EnvError naming it', () => {
    const { deps } = counted();
    process.env.LCM_DEPS_TEST_LIMIT = '0';
    delete process.env.LCM_DEPS_TEST_TABLE;
    expect(() => deps()).toThrow(EnvError);
    expect(() => deps()).toThrow(
      'Invalid environment (test): LCM_DEPS_TEST_TABLE is not set; LCM_DEPS_TEST_LIMIT must be a number >= 1, got 0',
    );
  });

  it('builds each dependency on first use only', () => {
    const { deps, count } = counted();
    expect(deps().table).toBe('table-a');
    expect(count.heavy).toBe(0);
    expect(deps().heavy.call()).toBe('heavy');
    deps().heavy.call();
    expect(count.heavy).toBe(1);
  });

  it('`with` wires a part in per environment; the override wins over parts and defaults', () => {
    const { deps } = counted();
    let partBuilds = 0;
    const wired = deps.with({
      heavy: (env) => {
        partBuilds += 1;
        return { call: () => `wired ${env.LCM_DEPS_TEST_TABLE}` };
      },
    });
    expect(wired().heavy.call()).toBe('wired table-a');
    expect(wired().heavy.call()).toBe('wired table-a');
    expect(partBuilds).toBe(1);
    expect(deps().heavy.call()).toBe('heavy');

    process.env.LCM_DEPS_TEST_TABLE = 'table-b';
    expect(wired().heavy.call()).toBe('wired table-b');
    expect(partBuilds).toBe(2);

    deps.override({ heavy: { call: () => 'fake' } });
    expect(wired().heavy.call()).toBe('fake');
    expect(deps().heavy.call()).toBe('fake');
    expect(wired().table).toBe('table-b');
    deps.override(undefined);
    expect(wired().heavy.call()).toBe('wired table-b');
  });
});

describe('lazy, overlay, failing', () => {
  it('lazy properties are enumerable (spreads see them) and built once', () => {
    let n = 0;
    const o = lazy<{ a: number; b: string }>({ a: () => ++n, b: () => 'b' });
    expect({ ...o }).toEqual({ a: 1, b: 'b' });
    expect(o.a).toBe(1);
  });

  it('overlay replaces defined properties without building the others', () => {
    let built = false;
    const base = lazy<{ a: number; b: number }>({
      a: () => {
        built = true;
        return 1;
      },
      b: () => 2,
    });
    const o = overlay(base, { b: 3 });
    expect(o.b).toBe(3);
    expect(built).toBe(false);
    expect(o.a).toBe(1);
    expect(overlay(base, { a: undefined }).a).toBe(1);
  });

  it('a failing stand-in may be read and spread, and throws its message when used', async () => {
    const api = failing<{ get(): Promise<string> }>('LDS is not configured: set LCM_LDS_BASE_URL');
    const fn = failing<(x: number) => number>('not wired');
    expect({ api }.api).toBe(api);
    expect(() => api.get()).toThrow('LDS is not configured: set LCM_LDS_BASE_URL');
    expect(() => fn(1)).toThrow('not wired');
    // Not mistaken for a promise.
    expect(await Promise.resolve(api)).toBe(api);
  });
});

describe('the clock', () => {
  it('reads the deps’ clock when they have one, else the system’s', () => {
    const at = new Date('2030-01-02T03:04:05.000Z');
    expect(nowOf({ clock: () => at })).toBe(at);
    expect(nowIso({ clock: () => at })).toBe('2030-01-02T03:04:05.000Z');
    expect(nowIso(() => at)).toBe('2030-01-02T03:04:05.000Z');
    const before = Date.now();
    expect(nowOf({}).getTime()).toBeGreaterThanOrEqual(before);
    expect(Date.parse(nowIso())).toBeGreaterThanOrEqual(before - 1000);
  });
});
