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
 * Acknowledges the cdk-nag finding `AwsSolutions-IAM5[Resource::<table ARN>/index/*]` of the
 * DynamoDB table grants in the IAM policies under `scope`, and nothing else.
 *
 * The finding names the table ARN as it resolves in this stack, which depends on how the
 * cross-stack reference is made (export/import, `Fn::GetStackOutput` with its generated output
 * name, the environment), so it cannot be spelled out when the construct is created. It is
 * computed in a construct validation instead, which runs after cross-stack references are
 * resolved and before the nag packs run. Only `<X>/index/*` is acknowledged where `<X>` itself
 * (the table) is a resource of the same statement: the wildcard then covers exactly the indexes
 * of that one table.
 */
export const acknowledgeTableIndexGrants = (scope: Construct, reason: string): void => {
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
            const table = resource.slice(0, -INDEX_SUFFIX.length);
            if (resource.endsWith(INDEX_SUFFIX) && !table.includes('*') && resources.includes(table)) {
              findings.add(resource);
            }
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
