/**
 * Fleet scaling rules (DESIGN §4, §7), pure: the scheduled scaler reads the fleet, the sessions
 * that need or hold capacity and the templates, calls these planners, then carries out and audits
 * the actions they return.
 *
 * Neither planner has placement rules of its own. Both pack demand (packing.ts) by calling
 * `choosePlacement` (the very function the session workflow places with) on virtual copies of the
 * fleet: workers already launching are treated as RUNNING with their declared capacity, STOPPED
 * workers as startable, and new hosts as fresh workers built from a template.
 *
 * - config.ts: `ScalingConfig`, its defaults and validation, the look-ahead window;
 * - model.ts: what the planners read of workers, sessions and templates, and the fleet counts;
 * - packing.ts: demand packed onto virtual workers (internal to the planners);
 * - scale-up.ts / scale-down.ts: the two planners;
 * - overdue.ts: launches past their expected boot time (not counted as supply by scale-up).
 */
export * from './config.ts';
export { fleetCounts, type ScalingSession, type ScalingTemplate, type ScalingWorker } from './model.ts';
export { OVERDUE_BOOT_STATUSES, overdueBoots } from './overdue.ts';
export * from './scale-down.ts';
export * from './scale-up.ts';
