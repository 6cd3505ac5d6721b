import { TABLE, tableNameFor } from '@lcm/shared/platform';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { PROJECT_TAG } from '../../infra/lib/app.ts';
import { DEFAULTS } from '../../infra/lib/config.ts';
import { buildTestApp } from './app.ts';

const synth = (context: Record<string, unknown> = {}) => {
  const { stacks } = buildTestApp(context);
  return { stack: stacks.data, template: Template.fromStack(stacks.data) };
};

// One synthesis per stage, shared by the assertions below (synthesis is the slow part).
const dev = synth({ stage: 'dev' });
const prod = synth({ stage: 'prod' });
const staging = synth({ stage: 'staging' });

/** The only resource of a type in a template, with its logical id. */
const only = (template: Template, type: string) => {
  const found = Object.entries(template.findResources(type));
  expect(found, `exactly one ${type}`).toHaveLength(1);
  const [logicalId, resource] = found[0]!;
  return { logicalId, resource: resource as { Properties: Record<string, unknown>; [k: string]: unknown } };
};

const tableOf = (template: Template) => {
  template.resourceCountIs('AWS::DynamoDB::Table', 0);
  return only(template, 'AWS::DynamoDB::GlobalTable').resource;
};

/** The two buckets, told apart by the logging configuration only the evidence bucket has. */
const bucketsOf = (template: Template) => {
  const buckets = Object.entries(template.findResources('AWS::S3::Bucket'));
  expect(buckets).toHaveLength(2);
  const evidence = buckets.find(([, b]) => b.Properties?.LoggingConfiguration);
  const logs = buckets.find(([, b]) => !b.Properties?.LoggingConfiguration);
  expect(evidence, 'evidence bucket (with access logging)').toBeDefined();
  expect(logs, 'access log bucket').toBeDefined();
  return { evidence: evidence!, logs: logs! };
};

describe('DataStack: the single table', () => {
  const table = tableOf(dev.template);

  it('is named after the stage by the shared tableNameFor', () => {
    expect(table.Properties.TableName).toBe(tableNameFor('dev'));
    expect(tableOf(prod.template).Properties.TableName).toBe(tableNameFor('prod'));
  });

  it('has the partition and sort key of TABLE', () => {
    expect(table.Properties.KeySchema).toEqual([
      { AttributeName: TABLE.partitionKey, KeyType: 'HASH' },
      { AttributeName: TABLE.sortKey, KeyType: 'RANGE' },
    ]);
  });

  it('has exactly the GSIs of TABLE.indexes, each with its keys and projecting ALL', () => {
    const gsis = table.Properties.GlobalSecondaryIndexes as { IndexName: string }[];
    expect(gsis.map((g) => g.IndexName)).toEqual(TABLE.indexes.map((i) => i.indexName));
    for (const index of TABLE.indexes) {
      expect(gsis.find((g) => g.IndexName === index.indexName)).toEqual({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'ALL' },
      });
    }
  });

  it('defines every key attribute, and only those, as a string', () => {
    const keyNames = [
      TABLE.partitionKey,
      TABLE.sortKey,
      ...TABLE.indexes.flatMap((i) => [i.partitionKey, i.sortKey]),
    ];
    const definitions = table.Properties.AttributeDefinitions as {
      AttributeName: string;
      AttributeType: string;
    }[];
    expect(definitions.map((d) => d.AttributeName).sort()).toEqual([...keyNames].sort());
    for (const d of definitions) expect(d.AttributeType).toBe('S');
  });

  it('streams NEW_AND_OLD_IMAGES, expires items by TABLE.ttlAttribute, bills on demand, encrypts with KMS', () => {
    expect(table.Properties.StreamSpecification).toEqual({ StreamViewType: 'NEW_AND_OLD_IMAGES' });
    expect(table.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: TABLE.ttlAttribute,
      Enabled: true,
    });
    expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
  });

  it.each([
    ['dev', dev],
    ['prod', prod],
    ['staging', staging],
  ])('has point-in-time recovery in %s', (_stage, synthesised) => {
    const replicas = tableOf(synthesised.template).Properties.Replicas as Record<string, unknown>[];
    expect(replicas).toHaveLength(1);
    expect(replicas[0]!.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
  });

  it('is destroyed with the dev stack and unprotected', () => {
    expect(table.DeletionPolicy).toBe('Delete');
    expect(table.UpdateReplacePolicy).toBe('Delete');
    expect((table.Properties.Replicas as Record<string, unknown>[])[0]!.DeletionProtectionEnabled).toBe(
      false,
    );
  });

  it.each([
    ['prod', prod],
    ['staging', staging],
  ])('is retained and deletion-protected in %s', (_stage, synthesised) => {
    const t = tableOf(synthesised.template);
    expect(t.DeletionPolicy).toBe('Retain');
    expect(t.UpdateReplacePolicy).toBe('Retain');
    expect((t.Properties.Replicas as Record<string, unknown>[])[0]!.DeletionProtectionEnabled).toBe(true);
  });

  it('exposes the table and its stream to later stacks', () => {
    expect(dev.stack.table.tableStreamArn).toBeDefined();
    expect(dev.stack.resolve(dev.stack.table.tableName)).toEqual({
      Ref: only(dev.template, 'AWS::DynamoDB::GlobalTable').logicalId,
    });
  });
});

describe('DataStack: the evidence bucket', () => {
  const { evidence, logs } = bucketsOf(dev.template);
  const [evidenceId, evidenceBucket] = evidence;
  const [logsId, logsBucket] = logs;

  it.each([
    ['evidence', evidenceBucket],
    ['access log', logsBucket],
  ])('%s bucket is encrypted and blocks all public access', (_name, bucket) => {
    expect(bucket.Properties.BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    expect(bucket.Properties.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.Properties.OwnershipControls).toEqual({
      Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }],
    });
  });

  it.each([
    ['evidence', () => evidenceId],
    ['access log', () => logsId],
  ])('%s bucket policy denies every request without TLS', (_name, id) => {
    dev.template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: id() },
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Effect: 'Deny',
            Principal: { AWS: '*' },
            Action: 's3:*',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            Resource: [
              { 'Fn::GetAtt': [id(), 'Arn'] },
              { 'Fn::Join': ['', [{ 'Fn::GetAtt': [id(), 'Arn'] }, '/*']] },
            ],
          },
        ]),
      },
    });
  });

  it('is versioned and logs access to the access log bucket', () => {
    expect(evidenceBucket.Properties.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(evidenceBucket.Properties.LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logsId },
      LogFilePrefix: 'evidence/',
    });
  });

  it('expires evidence after the default retention, uploads after a day, never a current topology; access logs after theirs', () => {
    expect(evidenceBucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'expire-evidence',
          Prefix: 'sessions/',
          Status: 'Enabled',
          ExpirationInDays: DEFAULTS.evidenceRetentionDays,
          NoncurrentVersionExpiration: { NoncurrentDays: DEFAULTS.noncurrentVersionRetentionDays },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
        {
          Id: 'expire-uploads',
          Prefix: 'uploads/',
          Status: 'Enabled',
          ExpirationInDays: 1,
          NoncurrentVersionExpiration: { NoncurrentDays: 1 },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
        {
          Id: 'topologies-noncurrent',
          Prefix: 'topologies/',
          Status: 'Enabled',
          NoncurrentVersionExpiration: { NoncurrentDays: DEFAULTS.noncurrentVersionRetentionDays },
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
    expect(logsBucket.Properties.LifecycleConfiguration).toEqual({
      Rules: [
        {
          Id: 'expire-access-logs',
          Status: 'Enabled',
          ExpirationInDays: DEFAULTS.accessLogRetentionDays,
          AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
        },
      ],
    });
  });

  it('takes the retention periods from context (strings, as -c passes them)', () => {
    const { template } = synth({ stage: 'prod', evidenceRetentionDays: '30', accessLogRetentionDays: 7 });
    const buckets = bucketsOf(template);
    const rules = ([, bucket]: [string, { [key: string]: unknown }]) =>
      (bucket.Properties as { LifecycleConfiguration: { Rules: { ExpirationInDays: number }[] } })
        .LifecycleConfiguration.Rules;
    expect(rules(buckets.evidence)[0]!.ExpirationInDays).toBe(30);
    expect(rules(buckets.logs)[0]!.ExpirationInDays).toBe(7);
  });

  it('empties and deletes both buckets with the dev stack', () => {
    expect(evidenceBucket.DeletionPolicy).toBe('Delete');
    expect(logsBucket.DeletionPolicy).toBe('Delete');
    const autoDelete = dev.template.findResources('Custom::S3AutoDeleteObjects');
    expect(Object.values(autoDelete).map((r) => r.Properties.BucketName)).toEqual(
      expect.arrayContaining([{ Ref: evidenceId }, { Ref: logsId }]),
    );
  });

  it.each([
    ['prod', prod],
    ['staging', staging],
  ])('retains both buckets and their objects in %s', (_stage, synthesised) => {
    const b = bucketsOf(synthesised.template);
    for (const [, bucket] of [b.evidence, b.logs]) {
      expect(bucket.DeletionPolicy).toBe('Retain');
      expect(bucket.UpdateReplacePolicy).toBe('Retain');
    }
    synthesised.template.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
    synthesised.template.resourceCountIs('AWS::Lambda::Function', 0);
  });
});

describe('DataStack: naming, tags, outputs, environment', () => {
  it('is named Lcm-<stage>-Data and tagged with project and stage', () => {
    expect(prod.stack.stackName).toBe('Lcm-prod-Data');
    expect(prod.stack.tags.tagValues()).toEqual({ project: PROJECT_TAG, stage: 'prod' });
    expect(dev.stack.stackName).toBe('Lcm-dev-Data');
    expect(dev.stack.tags.tagValues()).toEqual({ project: PROJECT_TAG, stage: 'dev' });
  });

  it('outputs the table name, stream and bucket names', () => {
    const outputs = dev.template.findOutputs('*');
    // `PublishOutput...` outputs are not the stack's own: CDK adds them for the weak cross-stack
    // references (Fn::GetStackOutput) of the stacks that consume the table (the api stack).
    const own = Object.keys(outputs).filter((name) => !name.startsWith('PublishOutput'));
    expect(own.sort()).toEqual(
      ['AccessLogsBucketName', 'EvidenceBucketName', 'TableName', 'TableStreamArn'].sort(),
    );
    const { evidence } = bucketsOf(dev.template);
    expect(outputs.EvidenceBucketName!.Value).toEqual({ Ref: evidence[0] });
    expect(outputs.TableName!.Value).toEqual({
      Ref: only(dev.template, 'AWS::DynamoDB::GlobalTable').logicalId,
    });
  });

  it('is environment-agnostic unless an environment is given', () => {
    expect(dev.stack.environment).toBe('aws://unknown-account/unknown-region');
    const agnostic = tableOf(dev.template).Properties.Replicas as { Region: unknown }[];
    expect(agnostic.map((r) => r.Region)).toEqual([{ Ref: 'AWS::Region' }]);
    const { stacks } = buildTestApp({}, { env: { account: '123456789012', region: 'eu-west-1' } });
    expect(stacks.data.environment).toBe('aws://123456789012/eu-west-1');
    const replicas = tableOf(Template.fromStack(stacks.data)).Properties.Replicas as { Region: string }[];
    expect(replicas.map((r) => r.Region)).toEqual(['eu-west-1']);
  });
});
