import * as z from 'zod';
import type { SyncRequestResult } from '../catalogue/index.ts';
import { FleetCapacitySchema as FleetCapacity } from '../fleet/index.ts';
import { LabletDefinitionSchema } from '../kernel/index.ts';
import {
  ActionResultSchema,
  ApplyObservedResultSchema as ApplyObservedResult,
  DefinitionObservationsSchema as DefinitionObservations,
  ObservationRequestResultSchema as ObservationRequestResult,
  SessionViewSchema as SessionView,
} from '../sessions/index.ts';

/**
 * Reply shapes that are not plain entities: the use cases' own result schemas, named for the
 * OpenAPI document, which is generated from them.
 */

/** The reply of getFleetCapacity. */
export const FleetCapacitySchema = FleetCapacity.meta({ id: 'FleetCapacity' });

/** GET /v1/sessions/{id}: the session with its child records and history. */
export const SessionViewSchema = SessionView.meta({ id: 'LabletSessionView' });

/** POST /v1/sessions/{id}/terminate and /finish. */
export const SessionActionResultSchema = ActionResultSchema.meta({ id: 'SessionActionResult' });

/** POST /v1/sessions/{id}/observe: the request recorded (or already pending). */
export const ObservationRequestResultSchema = ObservationRequestResult.meta({
  id: 'ObservationRequestResult',
});

/** GET /v1/definitions/{id}/observations: the newest observed sessions, aggregated. */
export const DefinitionObservationsSchema = DefinitionObservations.meta({ id: 'DefinitionObservations' });

/** POST /v1/definitions/{id}/apply-observed. */
export const ApplyObservedResultSchema = ApplyObservedResult.meta({ id: 'ApplyObservedResult' });

/** POST /v1/definitions/{id}/sync (checked against what requestContentSync returns). */
export const ContentSyncRequestResultSchema = z
  .object({
    outcome: z.enum(['requested', 'already-requested']),
    definition: LabletDefinitionSchema,
  })
  .meta({ id: 'ContentSyncRequestResult' }) satisfies z.ZodType<SyncRequestResult>;
