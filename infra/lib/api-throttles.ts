import { OPERATIONS, type Operation, type OperationId, routeKeyOf } from '@lcm/shared/api';
import type { LcmConfig } from './config.ts';
import {
  THROTTLED_CLASSES,
  type ThrottledClass,
  type ThrottleSetting,
  throttleProblems,
  throttleSettingsOf,
} from './settings.ts';

/**
 * Per-route throttling of the HTTP API (issue 12, item 7), from the stage's `throttle` settings
 * (settings.ts; defaults there, the default route's from context `throttleRateLimit` /
 * `throttleBurstLimit`): every route gets the stage default; each write route (any method but GET)
 * a tighter limit of its class. Which route is which is derived from the operation catalogue,
 * never listed route by route: bookings and partner events by operation id, the other writes by
 * method.
 */

export interface ThrottleLimits {
  readonly rateLimit: number;
  readonly burstLimit: number;
}

/** Operations with a class of their own; every other write is `write`. */
export const OWN_THROTTLE_CLASS: Partial<Record<OperationId, ThrottledClass>> = {
  createSession: 'booking',
  ingestEvents: 'events',
};

/** `default` for reads (GET), else the operation's own class or `write`. */
export const throttleClassOf = (o: Operation): ThrottledClass | 'default' =>
  OWN_THROTTLE_CLASS[o.operationId as OperationId] ?? (o.method === 'GET' ? 'default' : 'write');

export interface ApiThrottles {
  /** The stage's default route settings: every route without a limit of its own. */
  readonly stage: ThrottleLimits;
  /** Route key (`POST /v1/sessions`) → its tighter limits: every write route. */
  readonly routes: ReadonlyMap<string, ThrottleLimits>;
}

/** The throttles of the configured stage; throws naming a route limit above the stage default. */
export function apiThrottlesOf(config: Pick<LcmConfig, 'api' | 'settings'>): ApiThrottles {
  const t = throttleSettingsOf(config.settings.throttle, config.api.throttle);
  const problems = throttleProblems(t);
  if (problems.length > 0) {
    throw new Error(
      `HTTP API throttles: ${problems.map((p) => `settings.<stage>.throttle.${p.field}: ${p.message}`).join('; ')}`,
    );
  }
  const limitsOf = (c: ThrottledClass): ThrottleLimits => ({
    rateLimit: t[`${c}RateLimit` as ThrottleSetting],
    burstLimit: t[`${c}BurstLimit` as ThrottleSetting],
  });
  const byClass = new Map(THROTTLED_CLASSES.map((c) => [c, limitsOf(c)]));
  const routes = new Map<string, ThrottleLimits>();
  for (const o of OPERATIONS as readonly Operation[]) {
    const c = throttleClassOf(o);
    if (c !== 'default') routes.set(routeKeyOf(o), byClass.get(c)!);
  }
  return { stage: { rateLimit: t.defaultRateLimit, burstLimit: t.defaultBurstLimit }, routes };
}
