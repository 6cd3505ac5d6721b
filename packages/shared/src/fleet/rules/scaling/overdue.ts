import { type BootSeconds, bootMinutesOf } from './config.ts';
import { MINUTE, parseInstant, type ScalingTemplate, type ScalingWorker } from './model.ts';

/**
 * Overdue boots (issue 10, item 5: notice a failed boot early). A launch that is not RUNNING once
 * its template's expected boot time has passed (the observed p95 when `bootSeconds` has it, else
 * the template's `bootMinutes`) plus `graceMinutes` is unlikely to serve in time: of healthy boots
 * only one in twenty takes longer, while a boot that never becomes ready is otherwise noticed only
 * at the provisioning bound (boot minutes + FleetConfig.cmlReadyMarginMinutes), when the sessions
 * it was launched for are already late. The scale-up planner stops counting an overdue worker as
 * supply, so the sessions it was sized for get a replacement at once. The overdue worker itself is
 * left alone: the provisioning bound still ends it FAILED (terminated), and a slow boot that does
 * come up is ordinary spare capacity that scale-down drains when idle.
 *
 * Only launches count (PENDING, PROVISIONING: a fresh instance); a STARTING worker (a stopped one
 * being started) boots in warmStartMinutes and is left as it is. A worker without `launchedAt` (or
 * of a template the planner does not know) is never overdue.
 */
export const OVERDUE_BOOT_STATUSES: ReadonlySet<ScalingWorker['status']> = new Set([
  'PENDING',
  'PROVISIONING',
]);

export function overdueBoots(
  workers: readonly ScalingWorker[],
  templates: readonly ScalingTemplate[],
  nowMs: number,
  bootSeconds?: BootSeconds,
  graceMinutes = 0,
): Set<string> {
  const byName = new Map(templates.map((t) => [t.name, t]));
  const out = new Set<string>();
  for (const w of workers) {
    if (!OVERDUE_BOOT_STATUSES.has(w.status) || w.launchedAt === undefined) continue;
    const t = byName.get(w.templateName);
    if (t === undefined) continue;
    const launchedMs = parseInstant(w.launchedAt, `workers.${w.id}.launchedAt`);
    if (nowMs - launchedMs > (bootMinutesOf(t, bootSeconds) + graceMinutes) * MINUTE) out.add(w.id);
  }
  return out;
}
