import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { describe, expect, it } from 'vitest';
import { acknowledgeTableIndexGrants } from '../../infra/lib/nag-acknowledgements.ts';
import { nagReport } from './nag.ts';

const REASON = 'Probe: the wildcard covers only the indexes of the one table.';

/** A table in one stack, a role granted on it (and on a bucket's objects) in another. */
const probe = () => {
  const app = new App({ context: { '@aws-cdk/core:defaultCrossStackReferences': 'weak' } });
  const producer = new Stack(app, 'Producer');
  const table = new dynamodb.TableV2(producer, 'Table', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    globalSecondaryIndexes: [
      { indexName: 'gsi1', partitionKey: { name: 'g', type: dynamodb.AttributeType.STRING } },
    ],
  });
  const bucket = new s3.Bucket(producer, 'Bucket');
  const consumer = new Stack(app, 'Consumer');
  const role = new iam.Role(consumer, 'Role', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
  });
  table.grantReadData(role);
  bucket.grantRead(role);
  return { consumer, role };
};

const iam5 = (ids: string[]) => ids.filter((id) => id.startsWith('AwsSolutions-IAM5'));

describe('acknowledgeTableIndexGrants', () => {
  it('acknowledges exactly the <table ARN>/index/* finding, as resolved across stacks', () => {
    const { consumer, role } = probe();
    acknowledgeTableIndexGrants(role, REASON);
    const report = nagReport(consumer);
    const acknowledged = iam5(report.acknowledgements.map((a) => a.ruleId));
    expect(acknowledged).toHaveLength(1);
    expect(acknowledged[0]).toMatch(/^AwsSolutions-IAM5\[Resource::.*Fn::GetStackOutput.*\/index\/\*\]$/);
    expect(report.staleAcknowledgements).toEqual([]);
    // The bucket's object wildcard and the actions' wildcards stay findings.
    const open = iam5(report.violations.map((v) => v.ruleId));
    expect(open.length).toBeGreaterThan(0);
    expect(open.some((id) => id.includes('/index/*'))).toBe(false);
    expect(open.some((id) => id.includes('Bucket'))).toBe(true);
  });

  it('leaves the finding open without it', () => {
    const { consumer } = probe();
    const open = iam5(nagReport(consumer).violations.map((v) => v.ruleId));
    expect(open.some((id) => id.includes('/index/*'))).toBe(true);
  });
});
