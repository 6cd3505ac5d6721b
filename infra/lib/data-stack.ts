import { TABLE, tableNameFor } from '@lcm/shared/platform';
import { CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import type { Construct } from 'constructs';
import type { LcmStackProps } from './config.ts';

export type DataStackProps = LcmStackProps;

/** Every key attribute of the single table holds a string (see packages/shared/src/platform/dynamodb/keys.ts). */
const stringKey = (name: string): dynamodb.Attribute => ({ name, type: dynamodb.AttributeType.STRING });

/**
 * Stateful resources of LCM: the single DynamoDB table and the evidence bucket.
 *
 * Kept apart from the stateless stacks so those can be replaced freely; later stacks receive
 * `table` and `evidenceBucket` as constructor props and grant themselves access.
 */
export class DataStack extends Stack {
  /** The single table (key schema from `TABLE` in @lcm/shared). Stream: NEW_AND_OLD_IMAGES. */
  public readonly table: dynamodb.ITableV2;
  /** Device configurations and observation artefacts collected from lab sessions. */
  public readonly evidenceBucket: s3.IBucket;
  /** Target of the S3 server access logs of the evidence bucket. */
  public readonly accessLogsBucket: s3.IBucket;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config } = props;
    // Access log delivery is granted by a bucket policy, not the legacy LogDeliveryWrite ACL
    // (which needs ACLs enabled). Pinned here so the stack synthesises the same in any app,
    // including test apps that do not load cdk.json.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    // The key schema comes from the shared definition: the repositories, the local runtime and
    // this stack read the same names. GSIs project ALL attributes: the queries behind them
    // (fleet view, status listings, look-ahead, sessions on a worker) read whole items.
    const table = new dynamodb.TableV2(this, 'Table', {
      tableName: tableNameFor(config.stage),
      partitionKey: stringKey(TABLE.partitionKey),
      sortKey: stringKey(TABLE.sortKey),
      globalSecondaryIndexes: TABLE.indexes.map((index) => ({
        indexName: index.indexName,
        partitionKey: stringKey(index.partitionKey),
        sortKey: stringKey(index.sortKey),
        projectionType: dynamodb.ProjectionType.ALL,
      })),
      timeToLiveAttribute: TABLE.ttlAttribute,
      billing: dynamodb.Billing.onDemand(),
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: config.pointInTimeRecovery },
      deletionProtection: config.deletionProtection,
      removalPolicy: config.removalPolicy,
      // AWS managed key (aws/dynamodb): encrypted at rest under a KMS key whose use is visible in
      // CloudTrail, with no key policy to own or rotate. All access is same-account through IAM,
      // so a customer managed key would add cost and a failure mode without adding control.
      encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    });

    // Access logs of the evidence bucket. SSE-S3 because S3 log delivery cannot write to a
    // bucket encrypted with SSE-KMS. cdk-nag (AwsSolutions-S1) accepts a bucket without access
    // logging of its own when it is the log target of another bucket in the stack.
    const accessLogsBucket = new s3.Bucket(this, 'AccessLogsBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(config.accessLogRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: config.autoDeleteObjects,
    });

    // SSE-S3: evidence is only read and written by LCM roles in this account, so IAM and the
    // bucket policy are the access control; a KMS key would add per-request cost and no boundary.
    const evidenceBucket = new s3.Bucket(this, 'EvidenceBucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogsBucket,
      serverAccessLogsPrefix: 'evidence/',
      // The bucket also holds definitions' topologies by hash (topologies/, kept: versions name them)
      // and uploads (uploads/, a day: a definition that names one copies it under its hash). Evidence
      // (sessions/) expires after its retention; only the noncurrent copies of a topology expire.
      lifecycleRules: [
        {
          id: 'expire-evidence',
          prefix: 'sessions/',
          expiration: Duration.days(config.evidenceRetentionDays),
          noncurrentVersionExpiration: Duration.days(config.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: 'expire-uploads',
          prefix: 'uploads/',
          expiration: Duration.days(1),
          noncurrentVersionExpiration: Duration.days(1),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        {
          id: 'topologies-noncurrent',
          prefix: 'topologies/',
          noncurrentVersionExpiration: Duration.days(config.noncurrentVersionRetentionDays),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: config.autoDeleteObjects,
    });

    this.table = table;
    this.evidenceBucket = evidenceBucket;
    this.accessLogsBucket = accessLogsBucket;

    new CfnOutput(this, 'TableName', { value: table.tableName, description: 'The single DynamoDB table' });
    new CfnOutput(this, 'TableStreamArn', {
      value: table.tableStreamArn!,
      description: 'Stream of the single table (NEW_AND_OLD_IMAGES)',
    });
    new CfnOutput(this, 'EvidenceBucketName', {
      value: evidenceBucket.bucketName,
      description: 'Evidence collected from lab sessions',
    });
    new CfnOutput(this, 'AccessLogsBucketName', {
      value: accessLogsBucket.bucketName,
      description: 'S3 server access logs of the evidence bucket',
    });
  }
}
