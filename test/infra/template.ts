import type { Stack } from 'aws-cdk-lib';
import type { Template } from 'aws-cdk-lib/assertions';
import { expect } from 'vitest';
import type { LcmFunction } from '../../infra/lib/lambda.ts';

/** Small readers of synthesised templates, shared by the stack tests. */

export type Resource = { Type: string; Properties: Record<string, unknown>; [k: string]: unknown };

export interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
  readonly Sid?: string;
}

/** A test environment: formatArn then yields literal ARNs that can be compared as strings. */
export const TEST_ENV = { account: '123456789012', region: 'eu-west-1' } as const;

export const resourcesOf = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.findResources(type)) as [string, Resource][];

export const resourceOf = (template: Template, logicalId: string): Resource => {
  const r = template.toJSON().Resources[logicalId] as Resource | undefined;
  expect(r, `resource ${logicalId}`).toBeDefined();
  return r!;
};

export const logicalIdOf = (stack: Stack, construct: { node: { defaultChild?: unknown } }): string =>
  stack.getLogicalId(construct.node.defaultChild as never);

/** The CloudFormation function resource of an LcmFunction. */
export const functionOf = (template: Template, stack: Stack, f: LcmFunction): Resource =>
  resourceOf(template, logicalIdOf(stack, f.fn));

export const envOf = (fn: Resource): Record<string, unknown> =>
  (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;

/** Every statement of the policies attached to the role of an LcmFunction. */
export const statementsOf = (template: Template, stack: Stack, f: LcmFunction): Statement[] => {
  const roleId = logicalIdOf(stack, f.role);
  return resourcesOf(template, 'AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
    .flatMap(([, p]) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
};

export const actionsOf = (statements: readonly Statement[]): string[] =>
  statements.flatMap((s) => [s.Action].flat());

/** The statements that allow `action`. */
export const allowing = (statements: readonly Statement[], action: string): Statement[] =>
  statements.filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action));

/** Services named by the actions (`dynamodb`, `logs`, ...), sorted, distinct. */
export const servicesOf = (statements: readonly Statement[]): string[] =>
  [...new Set(actionsOf(statements).map((a) => a.split(':')[0]!))].sort();

export const resourcesIn = (s: Statement): unknown[] => [s.Resource].flat();

/** `{ 'Fn::GetAtt': [id, 'Arn'] }` → id. */
export const getAttId = (value: unknown): string =>
  (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
