import * as z from 'zod';
import { seg } from './http.ts';
import { type ApiKeyWire, WireClient, type WireClientOptions } from './partner-http.ts';

/**
 * Client of the Grading Engine: submit a grading session (LCM session id, grading rules
 * reference, evidence location) and get its id; the result arrives later as a CloudEvent
 * (`io.lablet.grading.session.completed.v1` / `...failed.v1`, see events/schemas.ts). The REST
 * contract is LCM's own (docs/integrations.md §Grading); its wire names live in
 * `DEFAULT_GRADING_WIRE`.
 */

export interface SubmitGradingInput {
  /** The LCM session id; echoed as `lcmSessionId` in the result events. */
  externalSessionId: string;
  /** The definition's grading rules reference (`gradingRulesRef`). */
  rulesRef: string;
  /** Where the evidence manifest is (`s3://bucket/key` in AWS). */
  evidenceUri: string;
  /**
   * Idempotency key of the submission (default: the external session id). A deliberate
   * re-grade of the same session passes a new key (e.g. `<sessionId>:2`).
   */
  idempotencyKey?: string | undefined;
}

export type GradingSessionState = 'SUBMITTED' | 'GRADING' | 'COMPLETED' | 'FAILED' | (string & {});

export interface GradingSessionInfo {
  id: string;
  state: GradingSessionState;
  externalSessionId?: string | undefined;
}

export interface GradingApi {
  submitGrading(input: SubmitGradingInput): Promise<{ gradingSessionId: string }>;
  getGradingSession(gradingSessionId: string): Promise<GradingSessionInfo>;
}

export interface GradingWireFormat extends ApiKeyWire {
  paths: { submit: string; session(id: string): string };
  encodeSubmit(input: SubmitGradingInput): unknown;
  decodeSubmitted(body: unknown): { gradingSessionId: string };
  decodeSession(body: unknown): GradingSessionInfo;
}

const SubmittedWire = z.looseObject({ id: z.string().min(1) });
const SessionWire = z.looseObject({
  id: z.string().min(1),
  state: z.string().min(1),
  externalSessionId: z.string().nullish(),
});

export const DEFAULT_GRADING_WIRE: GradingWireFormat = {
  apiKeyHeader: 'x-api-key',
  apiKeyPrefix: '',
  idempotencyKeyHeader: 'idempotency-key',
  paths: {
    submit: '/api/v1/grading-sessions',
    session: (id) => `/api/v1/grading-sessions/${seg(id)}`,
  },
  encodeSubmit: (input) => ({
    externalSessionId: input.externalSessionId,
    rulesRef: input.rulesRef,
    evidenceUri: input.evidenceUri,
  }),
  decodeSubmitted: (body) => ({ gradingSessionId: SubmittedWire.parse(body).id }),
  decodeSession: (body) => {
    const s = SessionWire.parse(body);
    return { id: s.id, state: s.state, externalSessionId: s.externalSessionId ?? undefined };
  },
};

export type GradingClientOptions = WireClientOptions<GradingWireFormat>;

export class GradingClient extends WireClient<GradingWireFormat> implements GradingApi {
  constructor(opts: GradingClientOptions) {
    super('grading', opts, DEFAULT_GRADING_WIRE);
  }

  submitGrading(input: SubmitGradingInput): Promise<{ gradingSessionId: string }> {
    return this.api.createKeyed({
      path: this.wire.paths.submit,
      operation: 'submitGrading',
      body: this.wire.encodeSubmit(input),
      key: input.idempotencyKey ?? input.externalSessionId,
      decode: (body) => this.wire.decodeSubmitted(body),
    });
  }

  async getGradingSession(gradingSessionId: string): Promise<GradingSessionInfo> {
    const res = await this.api.request<unknown>({
      method: 'GET',
      path: this.wire.paths.session(gradingSessionId),
      operation: 'getGradingSession',
    });
    return this.api.decode('getGradingSession', res.status, () => this.wire.decodeSession(res.body));
  }
}

export const createGradingClient = (opts: GradingClientOptions): GradingApi => new GradingClient(opts);

// ---------------------------------------------------------------------------------------------
// The evidence manifest: what LCM's collection step writes and the Grading Engine reads

export const EVIDENCE_MANIFEST_VERSION = 1;

export const EvidenceDeviceSchema = z.object({
  /** The CML node label (the device name LDS shows). */
  name: z.string().min(1).max(128),
  nodeId: z.string().max(128).optional(),
  nodeDefinition: z.string().max(128).optional(),
  /** false when CML cannot extract this node's configuration (e.g. unmanaged_switch). */
  supported: z.boolean(),
  /** The extracted configuration; null when unsupported or extraction failed. */
  configuration: z.string().max(1_000_000).nullable(),
  /** Why there is no configuration. */
  reason: z.string().max(2000).optional(),
  /** false when collecting this node failed (its error is in `reason` and in the manifest's `failed`). */
  collected: z.boolean().optional(),
});
export type EvidenceDevice = z.infer<typeof EvidenceDeviceSchema>;

export const EvidenceManifestSchema = z.object({
  schemaVersion: z.literal(EVIDENCE_MANIFEST_VERSION),
  lcmSessionId: z.string().min(1).max(128),
  cmlLabId: z.string().max(128).optional(),
  collectedAt: z.iso.datetime({ offset: true }),
  devices: z.array(EvidenceDeviceSchema).max(500),
  /**
   * What could not be collected (collection is per node and best effort): a node whose
   * configuration could not be extracted or stored, or `*` when the lab's nodes could not be listed.
   * The devices collected are in `devices` all the same.
   */
  failed: z
    .array(
      z.object({
        name: z.string().min(1).max(128),
        nodeId: z.string().max(128).optional(),
        error: z.string().max(2000),
      }),
    )
    .max(500)
    .optional(),
});
export type EvidenceManifest = z.infer<typeof EvidenceManifestSchema>;
