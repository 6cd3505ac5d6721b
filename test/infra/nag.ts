import { type Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks, type IApplyRule, type NagPack, NagRuleCompliance } from 'cdk-nag';
import { expect } from 'vitest';

/**
 * cdk-nag 3.x checks for any stack, for reuse by every infra test:
 *
 *   expectNagClean(stack)   // no unacknowledged finding, every acknowledgement justified
 *
 * The packs run through `NagPack.validateScope` (the 3.x reporting API, the same code path the
 * policy-validation plugin runs during `cdk synth`), CDK's own warnings and errors are collected
 * from the stack's annotations, and acknowledgements are read from the construct metadata that
 * `Validations.of(construct).acknowledge({ id, reason })` records.
 */

export interface NagFinding {
  readonly ruleId: string;
  readonly severity: string;
  readonly path: string;
  readonly description: string;
}

export interface NagAcknowledgement {
  /** The id as recorded, e.g. `Annotation::AwsSolutions-S1` or `AwsSolutions::AwsSolutions-S1`. */
  readonly id: string;
  /** The rule id without namespace, e.g. `AwsSolutions-S1`. */
  readonly ruleId: string;
  readonly reason: unknown;
  /** Path of the construct the acknowledgement was recorded on. */
  readonly path: string;
}

export interface NagReport {
  /** Pack findings that no acknowledgement covers (errors and warnings). */
  readonly violations: NagFinding[];
  /** CDK annotations of level error or warning (acknowledged warnings are not included). */
  readonly annotations: { readonly level: string; readonly path: string; readonly message: string }[];
  /** Every acknowledgement on the stack, its descendants and its ancestors. */
  readonly acknowledgements: NagAcknowledgement[];
  /** Pack acknowledgements that match no finding of that rule at or below their construct. */
  readonly staleAcknowledgements: NagAcknowledgement[];
}

interface RawFinding {
  readonly ruleId: string;
  readonly path: string;
}

/**
 * Records every finding of `pack` before acknowledgements filter it, by wrapping its
 * (protected) `applyRule`; the rule id is built exactly as NagPack builds it.
 */
const recordRawFindings = (pack: NagPack): RawFinding[] => {
  const raw: RawFinding[] = [];
  const target = pack as unknown as { applyRule(params: IApplyRule): void };
  const applyRule = target.applyRule.bind(pack);
  target.applyRule = (params: IApplyRule) => {
    const ruleId = `${pack.readPackName}-${params.ruleSuffixOverride ?? params.rule.name}`;
    const path = params.node.node.path;
    try {
      const result = params.rule(params.node);
      if (result === NagRuleCompliance.NON_COMPLIANT) raw.push({ ruleId, path });
      else if (Array.isArray(result)) for (const f of result) raw.push({ ruleId: `${ruleId}[${f}]`, path });
    } catch {
      raw.push({ ruleId, path }); // the pack reports a rule that throws as a finding
    }
    applyRule(params);
  };
  return raw;
};

const ACK_KEY = Validations.ACKNOWLEDGED_RULES_METADATA_KEY;
/**
 * Both spellings acknowledge a pack finding during `cdk synth`: `AwsSolutions-S1` (the cdk-nag
 * README; aws-cdk-lib records it as `Annotation::AwsSolutions-S1` and cdk-nag filters the finding
 * itself) and `AwsSolutions::AwsSolutions-S1` (the form the CLI report suggests; aws-cdk-lib moves
 * the finding to `suppressedViolations` of validation-report.json, with its reason).
 */
const ruleIdOf = (id: string): string => id.replace(/^[^:]+::/, '');

const acknowledgementsOf = (stack: Stack): NagAcknowledgement[] => {
  const constructs = [...stack.node.scopes.slice(0, -1), ...stack.node.findAll()];
  return constructs.flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === ACK_KEY && m.data)
      .flatMap((m) =>
        Object.entries(m.data as Record<string, unknown>).map(([id, reason]) => ({
          id,
          ruleId: ruleIdOf(id),
          reason,
          path: c.node.path,
        })),
      ),
  );
};

const isAtOrBelow = (path: string, ancestor: string): boolean =>
  path === ancestor || path.startsWith(`${ancestor}/`);

export interface NagOptions {
  /** Rule packs to run, as factories (a pack keeps state per run). Default: AWS Solutions. */
  readonly packs?: readonly (() => NagPack)[];
}

/** Synthesises the stack's app and runs the packs over the stack. */
export const nagReport = (stack: Stack, options: NagOptions = {}): NagReport => {
  // Synthesis first: it runs aspects and finalises the tree the packs walk.
  Template.fromStack(stack);
  const packs = (options.packs ?? [() => new AwsSolutionsChecks()]).map((create) => create());

  const acknowledgements = acknowledgementsOf(stack);
  const acknowledged = (ruleId: string, path: string) =>
    acknowledgements.some((ack) => ack.ruleId === ruleId && isAtOrBelow(path, ack.path));

  const violations: NagFinding[] = [];
  const raw: RawFinding[] = [];
  const packNames: string[] = [];
  for (const pack of packs) {
    const packRaw = recordRawFindings(pack);
    const report = pack.validateScope(stack);
    for (const v of report.violations) {
      for (const r of v.violatingResources) {
        const path = r.constructPath ?? r.resourceLogicalId ?? '?';
        if (acknowledged(v.ruleName, path)) continue; // namespaced acknowledgement
        violations.push({
          ruleId: v.ruleName,
          severity: v.severity ?? 'error',
          path,
          description: v.description,
        });
      }
    }
    raw.push(...packRaw);
    packNames.push(pack.readPackName);
  }

  const messages = Annotations.fromStack(stack);
  const annotations = [
    ...messages.findError('*', Match.anyValue()).map((m) => ({ ...m, level: 'error' })),
    ...messages.findWarning('*', Match.anyValue()).map((m) => ({ ...m, level: 'warning' })),
  ].map((m) => ({ level: m.level, path: m.id, message: String(m.entry.data) }));

  const staleAcknowledgements = acknowledgements.filter(
    (ack) =>
      packNames.some((name) => ack.ruleId.startsWith(`${name}-`)) &&
      !raw.some((f) => f.ruleId === ack.ruleId && isAtOrBelow(f.path, ack.path)),
  );

  return { violations, annotations, acknowledgements, staleAcknowledgements };
};

/** Minimum length of an acknowledgement's reason: a sentence, not a placeholder. */
export const MIN_REASON_LENGTH = 20;

/**
 * Asserts that the stack has no unacknowledged pack finding (error or warning) and no CDK
 * warning or error, that every acknowledgement carries a real reason, and that every pack
 * acknowledgement still matches a finding (no blanket or leftover acknowledgements).
 */
export const expectNagClean = (stack: Stack, options: NagOptions = {}): NagReport => {
  const report = nagReport(stack, options);
  const where = `stack ${stack.stackName}`;
  expect(report.violations, `unacknowledged cdk-nag findings in ${where}`).toEqual([]);
  expect(report.annotations, `CDK warnings/errors in ${where}`).toEqual([]);
  const unjustified = report.acknowledgements.filter(
    (a) => typeof a.reason !== 'string' || a.reason.trim().length < MIN_REASON_LENGTH,
  );
  expect(unjustified, `acknowledgements without a reason in ${where}`).toEqual([]);
  expect(report.staleAcknowledgements, `acknowledgements matching no finding in ${where}`).toEqual([]);
  return report;
};
