import * as z from 'zod';
import { LabletSessionSchema, plainText } from '../kernel/index.ts';
import { nowOf } from '../platform/index.ts';
import { actOnSession, type BookingDeps, type SessionActionContext } from './booking.ts';
import { checkBookingCapacity } from './capacity-book.ts';
import { planExtension } from './rules/extension.ts';
import { ALL_SESSIONS } from './rules/tenancy.ts';

/**
 * POST /v1/sessions/{id}/extend (issue 15, item 1): the learner gets more time. The definition
 * version the session is pinned to must allow it (rules/extension.ts: READY or RUNNING,
 * `maxExtensionMinutes`, `maxDurationMinutes`), and the capacity book must still hold every
 * admitted booking with this session's end moved (capacity-book.ts: the booked set less this
 * session, plus this session with its new timeslot; an overflow is a 409 `capacity-full` with
 * the first minute that overflows). Granted: the timeslot end moves and the history records who
 * asked and why (a RUNNING→RUNNING or READY→READY entry), in one versioned transaction; the
 * outbox emits `session.extended`; the workflow's wait for the end (or the login) re-reads the
 * timeslot when it times out and waits again until the new end (steps/extension.ts).
 */

export const ExtendSessionInputSchema = z
  .object({
    minutes: z
      .number()
      .int()
      .min(1)
      .max(24 * 60)
      .meta({ description: 'Minutes to add to the timeslot end (1 to 1440).' }),
    reason: plainText(z.string().max(1500), { multiline: true })
      .meta({ description: "Why the learner needs more time (recorded in the session's history)." })
      .optional(),
  })
  .strict();
export type ExtendSessionInput = z.output<typeof ExtendSessionInputSchema>;

export const ExtensionResultSchema = z.object({
  session: LabletSessionSchema.describe('The session with its timeslot end moved.'),
  extension: z
    .object({
      minutes: z.number().int().describe('Minutes added by this request.'),
      previousEnd: z.string().describe('The timeslot end before this request (ISO 8601).'),
      end: z.string().describe('The new timeslot end (ISO 8601).'),
      extendedMinutes: z.number().int().describe('Minutes extended in all, this request included.'),
    })
    .describe('What this request granted.'),
});
export type ExtensionResult = z.output<typeof ExtensionResultSchema>;

export async function extendSession(
  deps: Pick<BookingDeps, 'sessions' | 'definitions' | 'templates' | 'capacity' | 'poolHolds' | 'clock'>,
  id: string,
  input: ExtendSessionInput,
  ctx: SessionActionContext,
): Promise<ExtensionResult> {
  const { minutes, reason } = input;
  return actOnSession(deps, id, ctx.scope ?? ALL_SESSIONS, async (s) => {
    const definition = await deps.definitions.getVersion(s.definitionId, s.definitionVersion);
    const plan = planExtension(s, definition, minutes, nowOf(deps));
    // Every admitted booking must still fit with this session holding capacity until its new end.
    await checkBookingCapacity(
      {
        sessions: deps.sessions,
        templates: deps.templates,
        capacity: deps.capacity,
        poolHolds: deps.poolHolds,
      },
      {
        ...s,
        timeslot: plan.timeslot,
      },
    );
    const session = await deps.sessions.recordExtension(id, {
      status: s.status,
      timeslot: plan.timeslot,
      extendedMinutes: plan.extendedMinutes,
      by: ctx.by,
      reason:
        `extended by ${minutes} min to ${plan.timeslot.end} (${plan.extendedMinutes} min in all)` +
        (reason ? `: ${reason}` : ''),
      expectedVersion: s.version,
    });
    return {
      session,
      extension: {
        minutes,
        previousEnd: s.timeslot.end,
        end: plan.timeslot.end,
        extendedMinutes: plan.extendedMinutes,
      },
    };
  });
}
