import * as z from 'zod';
import type { SyncRequestResult } from '../catalogue/index.ts';
import { FleetCapacitySchema as FleetCapacity } from '../fleet/index.ts';
import {
  ApplyObservedResultSchema as ApplyObservedResult,
  AvailabilitySchema as Availability,
  DefinitionCostSchema as DefinitionCost,
  DefinitionObservationsSchema as DefinitionObservations,
  ExtensionResultSchema as ExtensionResult,
  FleetCostReportSchema as FleetCostReport,
  FleetPoolsSchema as FleetPools,
  FleetUsageSchema as FleetUsage,
  ForceReleaseResultSchema as ForceReleaseResult,
  ObservationRequestResultSchema as ObservationRequestResult,
  RegradeResultSchema as RegradeResult,
} from '../sessions/index.ts';
import {
  DefinitionReplySchema,
  SessionActionReplySchema,
  SessionDetailSchema,
  SessionReplySchema,
} from './views.ts';

/**
 * Reply shapes that are not plain entities: the use cases' own result schemas, named for the
 * OpenAPI document, which is generated from them. Sessions and definitions appear as their views
 * (api/views.ts: no task tokens, no device credentials, login URLs per role).
 */

/** POST /v1/uploads: where to PUT the content, and the id a definition names it by. */
export const UploadReplySchema = z
  .object({
    uploadId: z
      .string()
      .meta({ description: 'Name it in `topologyUploadId` of a definition create or update.' }),
    url: z.string().meta({
      description:
        'Pre-signed URL: PUT the raw content (no Authorization header) before `expiresAt`. In AWS an S3 URL; ' +
        'locally one the local stack serves.',
    }),
    method: z.literal('PUT').describe('The HTTP method to send the topology with.'),
    expiresAt: z.string().meta({ description: 'When the URL stops working (ISO 8601).' }),
    maxBytes: z.number().int().meta({ description: 'The largest upload a definition accepts (50 MiB).' }),
  })
  .meta({ id: 'Upload' });

/** The reply of getFleetCapacity. */
export const FleetCapacitySchema = FleetCapacity.meta({ id: 'FleetCapacity' });

/** The reply of getFleetPools. */
export const FleetPoolsSchema = FleetPools.meta({ id: 'FleetPools' });

/** The reply of getFleetCost. */
export const FleetCostSchema = FleetCostReport.meta({ id: 'FleetCost' });

/** The reply of getDefinitionCost. */
export const DefinitionCostReplySchema = DefinitionCost.meta({ id: 'DefinitionCost' });

/** The reply of getAvailability. */
export const AvailabilityReplySchema = Availability.meta({ id: 'Availability' });

/** The reply of getFleetUsage. */
export const FleetUsageReplySchema = FleetUsage.meta({ id: 'FleetUsage' });

/** GET /v1/sessions/{id}: the session with its child records and history, as the caller may see it. */
export const SessionViewSchema = SessionDetailSchema.meta({ id: 'LabletSessionView' });

/** POST /v1/sessions/{id}/terminate and /finish. */
export const SessionActionResultSchema = SessionActionReplySchema.meta({ id: 'SessionActionResult' });

/** POST /v1/sessions/{id}/extend: the session with its new end and what was granted. */
export const ExtensionReplySchema = ExtensionResult.extend({ session: SessionReplySchema }).meta({
  id: 'ExtensionResult',
});

/** POST /v1/sessions/{id}/release: what the force-release gave back and the lab left for the sweep. */
export const ForceReleaseReplySchema = ForceReleaseResult.extend({ session: SessionReplySchema }).meta({
  id: 'ForceReleaseResult',
});

/** POST /v1/sessions/{id}/grade: the grading record after the re-submission. */
export const RegradeReplySchema = RegradeResult.meta({ id: 'RegradeResult' });

/** POST /v1/sessions/{id}/observe: the request recorded (or already pending). */
export const ObservationRequestResultSchema = ObservationRequestResult.meta({
  id: 'ObservationRequestResult',
});

/** GET /v1/definitions/{id}/observations: the newest observed sessions, aggregated. */
export const DefinitionObservationsSchema = DefinitionObservations.meta({ id: 'DefinitionObservations' });

/** POST /v1/definitions/{id}/apply-observed. */
export const ApplyObservedResultSchema = ApplyObservedResult.extend({
  definition: DefinitionReplySchema,
}).meta({
  id: 'ApplyObservedResult',
});

/** POST /v1/definitions/{id}/sync (checked against what requestContentSync returns). */
export const ContentSyncRequestResultSchema = z
  .object({
    outcome: z
      .enum(['requested', 'already-requested'])
      .describe('`requested`, or `already-requested`: a sync was pending and nothing changed.'),
    definition: DefinitionReplySchema.describe('The definition with its sync state.'),
  })
  .meta({ id: 'ContentSyncRequestResult' }) satisfies z.ZodType<SyncRequestResult>;
