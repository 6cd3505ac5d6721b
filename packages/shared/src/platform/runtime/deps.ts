import { type EnvOf, type EnvShape, envFingerprint, parseEnv } from './env.ts';

/**
 * Building a function's dependencies: once per cold start from its environment (`cachedDeps`),
 * each dependency only when first used (`lazy`), parts replaced in one process by the local stack
 * and tests (`override`), and parts a function does not wire failing with a clear message when
 * touched (`failing`).
 */

/** An object whose properties are built on first read, then kept (enumerable: spreads see them). */
export function lazy<T extends object>(factories: { [K in keyof T]: () => T[K] }): T {
  const out = {} as T;
  for (const key of Object.keys(factories) as (keyof T & string)[]) {
    Object.defineProperty(out, key, {
      enumerable: true,
      configurable: true,
      get() {
        const value = factories[key]();
        Object.defineProperty(out, key, { value, enumerable: true, configurable: true, writable: true });
        return value;
      },
    });
  }
  return out;
}

/** `base` with the defined properties of `over` in place of its own, without building the rest. */
export function overlay<T extends object>(base: T, over: Partial<T> | undefined): T {
  if (!over) return base;
  const out = {} as T;
  const keys = new Set([...Object.keys(base), ...Object.keys(over)]) as Set<keyof T & string>;
  for (const key of keys) {
    Object.defineProperty(out, key, {
      enumerable: true,
      get: () => (over[key] !== undefined ? over[key] : base[key]),
    });
  }
  return out;
}

/**
 * A stand-in for a dependency that is not there: reading it is fine (spreads, destructuring),
 * calling it or any of its methods throws `message`.
 */
export function failing<T>(message: string): T {
  const fail = () => {
    throw new Error(message);
  };
  return new Proxy(fail, {
    get: (_target, prop) => (prop === 'then' || typeof prop === 'symbol' ? undefined : fail),
    apply: fail,
  }) as T;
}

/** Dependencies a function wires in itself, each from the kind's parsed environment. */
export type DepsParts<D, E> = { readonly [K in keyof D]?: (env: E) => D[K] };

export interface CachedDeps<D, E> {
  /** The dependencies, rebuilt when a variable of the kind's environment changes. */
  (): D;
  /** The kind's parsed environment (the one the current dependencies were built from). */
  env(): E;
  /**
   * The same dependencies with `parts` in place of the kind's defaults, each built on first use
   * (once per environment): a handler wires the heavy adapters it needs, and a bundle without
   * that handler never contains them. The override still wins over a part.
   */
  with(parts: DepsParts<D, E>): () => D;
  /**
   * Replaces parts of the dependencies in this process, for every handler of the kind: the local
   * stack passes what has no local endpoint (the sandbox EC2), tests their fakes. `undefined`
   * removes the override.
   */
  override(parts: Partial<D> | undefined): void;
}

/**
 * The one cached dependency builder: `build` runs with the kind's environment parsed by `shape`
 * on first use and again only when one of the shape's variables changes (compared by
 * `envFingerprint`, so the list of variables is the shape itself). A missing or invalid variable
 * fails the call with an EnvError naming it.
 */
export function cachedDeps<S extends EnvShape, D extends object>(
  kind: string,
  shape: S,
  build: (env: EnvOf<S>) => D,
): CachedDeps<D, EnvOf<S>> {
  let cached: { fingerprint: string; env: EnvOf<S>; deps: D } | undefined;
  let overridden: Partial<D> | undefined;
  const current = () => {
    const fingerprint = envFingerprint(shape, process.env);
    if (cached?.fingerprint !== fingerprint) {
      const env = parseEnv(shape, process.env, kind);
      cached = { fingerprint, env, deps: build(env) };
    }
    return cached;
  };
  const deps = (() => overlay(current().deps, overridden)) as CachedDeps<D, EnvOf<S>>;
  deps.env = () => current().env;
  deps.with = (wiring) => {
    let wired: { env: EnvOf<S>; deps: D } | undefined;
    return () => {
      const { env, deps: built } = current();
      if (wired?.env !== env) {
        const factories = Object.fromEntries(
          Object.entries(wiring).map(([key, part]) => [key, () => (part as (e: EnvOf<S>) => unknown)(env)]),
        ) as { [K in keyof D]: () => D[K] };
        wired = { env, deps: overlay(built, lazy(factories)) };
      }
      return overlay(wired.deps, overridden);
    };
  };
  deps.override = (next) => {
    overridden = next;
  };
  return deps;
}
