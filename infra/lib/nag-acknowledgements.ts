import { Stack, Validations } from 'aws-cdk-lib';
import { CfnPolicy } from 'aws-cdk-lib/aws-iam';
// cdk-nag's own naming of a resource in IAM5 findings, so the acknowledgement matches exactly.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { Construct } from 'constructs';

interface Statement {
  readonly Effect?: string;
  readonly Resource?: unknown;
}

const INDEX_SUFFIX = '/index/*';

/**
 * Acknowledges the cdk-nag findings `AwsSolutions-IAM5[Resource::<resource>]` of the IAM
 * policies under `scope` whose (flattened, cdk-nag style) resource satisfies `matches`, and
 * nothing else. `matches` also sees the other resources of the same Allow statement.
 *
 * A finding names the resource as it resolves in its stack, which depends on how a cross-stack
 * reference is made (export/import, `Fn::GetStackOutput` with its generated output name) and on
 * the environment (literal or pseudo-parameter account, region and partition), so it cannot be
 * spelled out when the construct is created. It is computed in a construct validation instead,
 * which runs after cross-stack references are resolved and before the nag packs run.
 */
export const acknowledgeIamResources = (
  scope: Construct,
  matches: (resource: string, statementResources: readonly string[]) => boolean,
  reason: string,
): void => {
  let acknowledged = false;
  scope.node.addValidation({
    validate: () => {
      if (acknowledged) return [];
      acknowledged = true;
      const findings = new Set<string>();
      for (const policy of scope.node.findAll()) {
        if (!(policy instanceof CfnPolicy)) continue;
        const document = Stack.of(policy).resolve(policy.policyDocument) as { Statement?: Statement[] };
        for (const statement of document.Statement ?? []) {
          if (statement.Effect !== 'Allow') continue;
          const resources = [statement.Resource].flat().map(flattenCfnReference);
          for (const resource of resources) {
            if (resource.includes('*') && matches(resource, resources)) findings.add(resource);
          }
        }
      }
      for (const resource of findings) {
        Validations.of(scope).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
      }
      return [];
    },
  });
};

/**
 * Acknowledges the cdk-nag finding `AwsSolutions-IAM5[Resource::<table ARN>/index/*]` of the
 * DynamoDB table grants in the IAM policies under `scope`, and nothing else: only `<X>/index/*`
 * where `<X>` itself (the table) is a resource of the same statement, so the wildcard covers
 * exactly the indexes of that one table.
 */
export const acknowledgeTableIndexGrants = (scope: Construct, reason: string): void => {
  acknowledgeIamResources(
    scope,
    (resource, resources) => {
      if (!resource.endsWith(INDEX_SUFFIX)) return false;
      const table = resource.slice(0, -INDEX_SUFFIX.length);
      return !table.includes('*') && resources.includes(table);
    },
    reason,
  );
};
