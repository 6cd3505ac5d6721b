import { Stack } from 'aws-cdk-lib';
import type { ITableV2 } from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference.js';
import type { Construct } from 'constructs';
import type { LcmConfig } from './config.ts';
import type { LcmFunction } from './lambda.ts';
import { acknowledgeIamResources, acknowledgeTableIndexGrants } from './nag-acknowledgements.ts';
import {
  executionArnPatternOf,
  STATE_MACHINE_KEYS,
  stateMachineArnOf,
  stateMachineNameFor,
} from './names.ts';
import type { IntegrationSecrets } from './secrets.ts';

/**
 * What an LCM function may talk to, each as environment + the narrowest IAM grant. Shared by the
 * events, workflows and fleet stacks, so a given need means the same thing everywhere.
 */

/** Step Functions adapter of @lcm/shared (platform/workflow/engine.ts): WORKFLOW_ENGINE=stepfunctions. */
export const STEPFUNCTIONS_ENGINE = 'stepfunctions';

/** The session-lifecycle state machine of the stage, by name (no cross-stack reference). */
export const sessionStateMachineArnOf = (scope: Construct, config: LcmConfig): string =>
  stateMachineArnOf(scope, stateMachineNameFor(config.stage, STATE_MACHINE_KEYS.session));

/**
 * WORKFLOW_ENGINE=stepfunctions and SESSION_STATE_MACHINE_ARN: what every handler that builds the
 * workflow engine reads. No permission by itself.
 */
export const useSessionWorkflowEngine = (f: LcmFunction, config: LcmConfig): void => {
  f.addEnvironment('WORKFLOW_ENGINE', STEPFUNCTIONS_ENGINE);
  f.addEnvironment('SESSION_STATE_MACHINE_ARN', sessionStateMachineArnOf(f, config));
};

/** states:SendTaskSuccess / SendTaskFailure on the session state machine (resolving its waits). */
export const grantSessionTaskTokens = (f: LcmFunction, config: LcmConfig): void => {
  f.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
      resources: [sessionStateMachineArnOf(f, config)],
    }),
  );
};

/** states:DescribeExecution on the executions of the named state machines. */
export const grantDescribeExecutions = (f: LcmFunction, stateMachineNames: readonly string[]): void => {
  const patterns = stateMachineNames.map((name) => executionArnPatternOf(f, name));
  f.addToRolePolicy(new iam.PolicyStatement({ actions: ['states:DescribeExecution'], resources: patterns }));
  acknowledgeExecutionPatterns(f, stateMachineNames);
};

/** Acknowledges IAM5 on `…:execution:<name>:*` for exactly these state machines. */
export const acknowledgeExecutionPatterns = (f: LcmFunction, stateMachineNames: readonly string[]): void => {
  for (const name of stateMachineNames) {
    acknowledgeIamResources(
      f.role,
      (resource) => resource.endsWith(`:execution:${name}:*`),
      `Execution ARNs end in the execution name, known only at run time; the pattern covers only the executions of the one state machine ${name}.`,
    );
  }
};

/**
 * The CML credentials (LCM_CML_SECRET_ID) and, when context `lambdaSubnetIds` is set, network
 * access to the workers' private addresses.
 */
export const useCml = (f: LcmFunction, config: LcmConfig, secrets: IntegrationSecrets): void => {
  f.addEnvironment('LCM_CML_SECRET_ID', secrets.cmlCredentials.secretArn);
  secrets.cmlCredentials.grantRead(f.role);
  if (config.integrations.lambdaNetwork) f.placeInSubnets(config.integrations.lambdaNetwork);
};

/** The CML licensing token (LCM_CML_LICENSE_SECRET_ID). */
export const useCmlLicense = (f: LcmFunction, secrets: IntegrationSecrets): void => {
  f.addEnvironment('LCM_CML_LICENSE_SECRET_ID', secrets.cmlLicense.secretArn);
  secrets.cmlLicense.grantRead(f.role);
};

/**
 * The LDS client: LCM_LDS_BASE_URL (context `ldsBaseUrl`) and its API key secret. Without a base
 * URL the function gets neither (the client reports "not configured" when first used).
 */
export const useLds = (f: LcmFunction, config: LcmConfig, secrets: IntegrationSecrets): void => {
  const baseUrl = config.integrations.ldsBaseUrl;
  if (!baseUrl) return;
  f.addEnvironment('LCM_LDS_BASE_URL', baseUrl);
  f.addEnvironment('LCM_LDS_API_KEY_SECRET_ID', secrets.ldsApiKey.secretArn);
  secrets.ldsApiKey.grantRead(f.role);
};

/** The Grading Engine client: LCM_GRADING_BASE_URL (context `gradingBaseUrl`) and its API key. */
export const useGrading = (f: LcmFunction, config: LcmConfig, secrets: IntegrationSecrets): void => {
  const baseUrl = config.integrations.gradingBaseUrl;
  if (!baseUrl) return;
  f.addEnvironment('LCM_GRADING_BASE_URL', baseUrl);
  f.addEnvironment('LCM_GRADING_API_KEY_SECRET_ID', secrets.gradingApiKey.secretArn);
  secrets.gradingApiKey.grantRead(f.role);
};

/**
 * Acknowledges IAM5 on `<bucket ARN>/*` (object keys are per session, known at run time) for this
 * one bucket only, as the ARN resolves in the function's stack.
 */
const acknowledgeObjectsOf = (f: LcmFunction, bucket: IBucket, reason: string): void => {
  acknowledgeIamResources(
    f.role,
    (resource) => resource === flattenCfnReference(Stack.of(f).resolve(bucket.arnForObjects('*'))),
    reason,
  );
};

/** EVIDENCE_BUCKET and s3:PutObject on its objects (device configurations, observations). */
export const grantEvidenceWrite = (f: LcmFunction, bucket: IBucket): void => {
  f.addEnvironment('EVIDENCE_BUCKET', bucket.bucketName);
  f.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [bucket.arnForObjects('*')] }),
  );
  acknowledgeObjectsOf(
    f,
    bucket,
    'Evidence objects are keyed by session (<bucket ARN>/*, keys known only at run time); the pattern covers the objects of the one evidence bucket.',
  );
};

/** EVIDENCE_BUCKET, s3:GetObject on its objects and s3:ListBucket on it. */
export const grantEvidenceRead = (f: LcmFunction, bucket: IBucket): void => {
  f.addEnvironment('EVIDENCE_BUCKET', bucket.bucketName);
  f.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: [bucket.arnForObjects('*')] }),
  );
  f.addToRolePolicy(new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [bucket.bucketArn] }));
  acknowledgeObjectsOf(
    f,
    bucket,
    'Evidence objects are keyed by session (<bucket ARN>/*, keys known only at run time); the pattern covers the objects of the one evidence bucket.',
  );
};

/** The table: read and write (the workflow tasks and rule targets change sessions and workers). */
export const grantTableReadWrite = (f: LcmFunction, table: ITableV2): void => {
  table.grantReadWriteData(f.role);
  acknowledgeTableIndexGrants(
    f.role,
    'The table grant covers the indexes of the single table (<table ARN>/index/*): the handler queries its GSIs, and the wildcard matches only the indexes of that one table.',
  );
};

/** s3:GetObject on the objects of the content buckets (context `contentBuckets`); none: no grant. */
export const grantContentRead = (f: LcmFunction, bucketNames: readonly string[]): void => {
  if (bucketNames.length === 0) return;
  const stack = Stack.of(f);
  const objectsOf = (name: string) =>
    stack.formatArn({ service: 's3', region: '', account: '', resource: name, resourceName: '*' });
  f.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject'], resources: bucketNames.map(objectsOf) }),
  );
  acknowledgeIamResources(
    f.role,
    (resource) => bucketNames.some((name) => resource.endsWith(`:s3:::${name}/*`)),
    'Content packages are read by the key a definition names (s3://<bucket>/<key>, known at run time); the pattern covers only the objects of the content buckets named in context (contentBuckets).',
  );
};
