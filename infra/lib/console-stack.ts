import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import { S3BucketOrigin } from 'aws-cdk-lib/aws-cloudfront-origins';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { BucketDeployment, Source } from 'aws-cdk-lib/aws-s3-deployment';
import type { Construct } from 'constructs';
import type { LcmStackProps } from './config.ts';
import { acknowledgeIamResources } from './nag-acknowledgements.ts';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The console's build (packages/console, Vite): deployed with the runtime config when it exists. */
export const CONSOLE_DIST = join(REPO_ROOT, 'packages', 'console', 'dist');
/** Vite's dev server: a callback URL of the console's app client (`npm run dev:console`). */
export const CONSOLE_DEV_URL = 'http://localhost:5173/';

/**
 * The console's content security policy: scripts, styles and fonts from the console's own origin;
 * API calls, the WebSocket and the sign-in (token endpoint) to HTTPS/WSS origins; no frames, no
 * plugins, no inline script.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  'connect-src https: wss:',
  "frame-ancestors 'none'",
  "base-uri 'self'",
  "form-action 'self' https:",
  "object-src 'none'",
].join('; ');

/**
 * The operator console's hosting (issue 14, item 4): a private S3 bucket (no public access,
 * TLS only, encrypted, versioned, server access logs) behind a CloudFront distribution that reads
 * it through origin access control; HTTPS only, security headers on every response (HSTS, CSP,
 * nosniff, frame denial, referrer policy), and the SPA fallback (403/404 of an unknown path →
 * `/index.html`, 200) so the console's client-side routes load. The runtime config
 * (`/config.json`) is written by ConsoleConfigStack once the API, the WebSocket API and the
 * console's app client exist (they come after this stack: the app client needs this URL).
 */
export class ConsoleStack extends Stack {
  public readonly bucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;
  /** `https://<distribution domain>`. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: LcmStackProps) {
    super(scope, id, props);
    const { config } = props;
    const logs = new s3.Bucket(this, 'AccessLogs', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      // CloudFront standard logs need ACLs on their bucket.
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: config.autoDeleteObjects,
    });
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: logs,
      serverAccessLogsPrefix: 'bucket/',
      removalPolicy: config.removalPolicy,
      autoDeleteObjects: config.autoDeleteObjects,
    });

    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      responseHeadersPolicyName: `lcm-${config.stage}-console`,
      comment: 'LCM console: security headers',
      securityHeadersBehavior: {
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(365),
          includeSubdomains: true,
          preload: true,
          override: true,
        },
        contentSecurityPolicy: { contentSecurityPolicy: CONSOLE_CSP, override: true },
        contentTypeOptions: { override: true },
        frameOptions: { frameOption: cloudfront.HeadersFrameOption.DENY, override: true },
        referrerPolicy: {
          referrerPolicy: cloudfront.HeadersReferrerPolicy.STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
          override: true,
        },
        xssProtection: { protection: true, modeBlock: true, override: true },
      },
    });

    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `LCM console (${config.stage})`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: headers,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        compress: true,
      },
      // The SPA's routes are not objects: S3 answers 403 (no ListBucket) or 404; serve the app.
      errorResponses: [403, 404].map((httpStatus) => ({
        httpStatus,
        responseHttpStatus: 200,
        responsePagePath: '/index.html',
        ttl: Duration.seconds(0),
      })),
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: logs,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Operators work from anywhere; access is controlled by sign-in (Cognito), not by geography.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves static files only; every API call is authorised by the API itself. A WAF web ACL can be attached per deployment.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'The default CloudFront certificate (no custom domain) permits TLSv1 at the viewer; with a custom domain the minimum protocol version TLSv1.2_2021 applies.',
      },
    );
    this.url = `https://${this.distribution.distributionDomainName}`;
    new CfnOutput(this, 'ConsoleUrl', { value: this.url, description: 'The operator console' });
  }
}

/** What the console fetches at start (`/config.json`); the local stack serves the same shape. */
export interface ConsoleRuntimeConfig {
  readonly apiUrl: string;
  readonly wsUrl: string;
  readonly oidc: { readonly authority: string; readonly clientId: string; readonly scope: string };
}

export interface ConsoleConfigStackProps extends LcmStackProps {
  readonly bucket: s3.IBucket;
  readonly distribution: cloudfront.IDistribution;
  readonly config_: ConsoleRuntimeConfig;
}

/**
 * The console's runtime config written into its bucket (`/config.json`, BucketDeployment with
 * Source.jsonData: the URLs and the app client id resolved at deploy time), with the console's
 * build when it exists; the distribution's cache is invalidated for both.
 */
export class ConsoleConfigStack extends Stack {
  public readonly deployment: BucketDeployment;

  constructor(scope: Construct, id: string, props: ConsoleConfigStackProps) {
    super(scope, id, props);
    const sources = [Source.jsonData('config.json', props.config_)];
    if (existsSync(join(CONSOLE_DIST, 'index.html'))) sources.unshift(Source.asset(CONSOLE_DIST));
    this.deployment = new BucketDeployment(this, 'Deploy', {
      destinationBucket: props.bucket,
      sources,
      distribution: props.distribution,
      distributionPaths: ['/index.html', '/config.json'],
      memoryLimit: 256,
      // The build and config.json are deployed together; nothing else is in the bucket to keep.
      prune: false,
    });
    // The deployment's custom-resource function is CDK's own (its role and policy CDK manages): the
    // acknowledgements are on that singleton handler only, each finding with what it is for.
    const handler = this.node.children.find((c) => c.node.id.startsWith('Custom::CDKBucketDeployment'));
    if (!handler)
      throw new Error("ConsoleConfigStack: no BucketDeployment handler (aws-cdk-lib's layout changed)");
    Validations.of(handler).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          "CDK's BucketDeployment handler writes its own logs with the managed basic execution policy (aws-cdk-lib's choice).",
      },
      ...['s3:Abort*', 's3:DeleteObject*', 's3:GetBucket*', 's3:GetObject*', 's3:List*'].map((a) => ({
        id: `AwsSolutions-IAM5[Action::${a}]`,
        reason:
          "CDK's BucketDeployment handler grants itself S3 read on the asset bucket and read-write on the console bucket with these action groups (aws-cdk-lib's grantRead/grantReadWrite).",
      })),
      {
        id: 'AwsSolutions-L1',
        reason: "The runtime of CDK's BucketDeployment custom resource is chosen and updated by aws-cdk-lib.",
      },
    );
    acknowledgeIamResources(
      handler,
      (resource) =>
        /^arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$/.test(resource),
      "Reads the deployment's source archive from the CDK bootstrap asset bucket, whose object keys are asset hashes.",
    );
    acknowledgeIamResources(
      handler,
      (resource, resources) =>
        resource.endsWith('/*') &&
        !resource.includes('-assets-') &&
        resources.includes(resource.slice(0, -2)),
      "Writes the console's files and config.json: the objects of the console bucket, which is also the statement's other resource, and no other bucket.",
    );
    acknowledgeIamResources(
      handler,
      (resource) => resource === '*',
      'cloudfront:CreateInvalidation and GetInvalidation, which aws-cdk-lib\'s BucketDeployment grants on "*"; the handler invalidates only the console distribution named in its properties (/index.html, /config.json).',
    );
  }
}
