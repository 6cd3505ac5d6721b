import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import {
  DuplicateError,
  IsoDateTime,
  type ScalingDecision,
  ScalingDecisionSchema,
  ValidationError,
} from '../../kernel/index.ts';
import {
  checkLimit,
  conditionError,
  ENTITY,
  isConditionFailed,
  keys,
  nowIso,
  oldItemOf,
  type Page,
  type PageRequest,
  parseItem,
  queryPage,
  type StoreConfig,
  TABLE,
  utcKey,
  validateInput,
} from '../../platform/index.ts';

/** The scaler's memory between runs, per scope (e.g. a template name or "fleet"). */
export const ScalerStateSchema = z.object({
  scope: z.string().min(1).max(128),
  lastScaleUpAt: IsoDateTime.optional(),
  lastScaleDownAt: IsoDateTime.optional(),
  /** No new action of this scope before this instant. */
  cooldownUntil: IsoDateTime.optional(),
  lastDecisionId: z.string().max(128).optional(),
  data: z.record(z.string(), z.unknown()).default({}),
  version: z.number().int().min(1),
  updatedAt: IsoDateTime,
});
export type ScalerState = z.infer<typeof ScalerStateSchema>;
export type ScalerStateInput = Omit<z.input<typeof ScalerStateSchema>, 'scope' | 'version' | 'updatedAt'>;

/** Access pattern 11: scaling decisions (audit trail, newest first) and scaler cooldown state. */
export interface ScalingStore {
  /** Appends a decision; ttlSeconds lets old audit entries expire. */
  putDecision(
    decision: z.input<typeof ScalingDecisionSchema>,
    opts?: { ttlSeconds?: number },
  ): Promise<ScalingDecision>;
  listDecisions(page?: PageRequest): Promise<Page<ScalingDecision>>;
  getState(scope: string): Promise<ScalerState | undefined>;
  /**
   * Replaces the state of a scope. expectedVersion undefined = create (fails if it exists);
   * otherwise the stored version must equal it. Two scalers cannot both take the cooldown.
   */
  putState(scope: string, state: ScalerStateInput, expectedVersion?: number): Promise<ScalerState>;
}

export class DynamoScalingStore implements ScalingStore {
  constructor(private readonly cfg: StoreConfig) {}

  async putDecision(
    input: z.input<typeof ScalingDecisionSchema>,
    opts: { ttlSeconds?: number } = {},
  ): Promise<ScalingDecision> {
    const decision = validateInput(ScalingDecisionSchema, input, 'decision');
    if (opts.ttlSeconds !== undefined && (!Number.isInteger(opts.ttlSeconds) || opts.ttlSeconds < 1)) {
      throw new ValidationError('ttlSeconds', `must be an integer >= 1, got ${String(opts.ttlSeconds)}`);
    }
    const at = utcKey(decision.at, 'decision.at');
    const expiresAt =
      opts.ttlSeconds === undefined ? undefined : Math.floor(Date.parse(at) / 1000) + opts.ttlSeconds;
    try {
      await this.cfg.client.send(
        new PutCommand({
          TableName: this.cfg.tableName,
          Item: {
            ...keys.scalingDecision(at, decision.id),
            [TABLE.entityAttribute]: ENTITY.scalingDecision,
            ...decision,
            [TABLE.ttlAttribute]: expiresAt,
          },
          ConditionExpression: 'attribute_not_exists(PK)',
        }),
      );
    } catch (e) {
      if (isConditionFailed(e)) throw new DuplicateError(ENTITY.scalingDecision, decision.id);
      throw e;
    }
    return decision;
  }

  async listDecisions(page: PageRequest = {}): Promise<Page<ScalingDecision>> {
    const out = await queryPage(this.cfg.client, this.cfg.tableName, {
      pk: keys.scalingPartition,
      sk: { beginsWith: keys.scalingDecisionPrefix },
      forward: false,
      limit: checkLimit(page.limit, 50),
      cursor: page.cursor,
    });
    return { items: out.items.map((i) => parseItem(ScalingDecisionSchema, i)), cursor: out.cursor };
  }

  async getState(scope: string): Promise<ScalerState | undefined> {
    const out = await this.cfg.client.send(
      new GetCommand({ TableName: this.cfg.tableName, Key: keys.scalerState(scope), ConsistentRead: true }),
    );
    return out.Item ? parseItem(ScalerStateSchema, out.Item) : undefined;
  }

  async putState(scope: string, input: ScalerStateInput, expectedVersion?: number): Promise<ScalerState> {
    const state = validateInput(ScalerStateSchema, {
      ...input,
      scope,
      version: (expectedVersion ?? 0) + 1,
      updatedAt: nowIso(this.cfg.clock),
    });
    const create = expectedVersion === undefined;
    try {
      await this.cfg.client.send(
        new PutCommand({
          TableName: this.cfg.tableName,
          Item: { ...keys.scalerState(scope), [TABLE.entityAttribute]: ENTITY.scalerState, ...state },
          ConditionExpression: create ? 'attribute_not_exists(PK)' : 'attribute_exists(PK) AND version = :v',
          ...(create ? {} : { ExpressionAttributeValues: { ':v': expectedVersion } }),
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
    } catch (e) {
      if (!isConditionFailed(e)) throw e;
      const old = oldItemOf(e);
      if (create) throw conditionError(ENTITY.scalerState, scope, old ?? {}, 0);
      throw conditionError(ENTITY.scalerState, scope, old, expectedVersion);
    }
    return state;
  }
}
