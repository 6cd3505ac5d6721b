import { type App, type Environment, type Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { Construct } from 'constructs';
import { ApiStack } from './api-stack.ts';
import { type LcmConfig, type LcmStackProps, readConfig } from './config.ts';
import { ConsoleConfigStack, ConsoleStack } from './console-stack.ts';
import { DataStack } from './data-stack.ts';
import { EventsStack } from './events-stack.ts';
import { FleetStack } from './fleet-stack.ts';
import { ObservabilityStack } from './observability-stack.ts';
import { WebSocketStack } from './websocket-stack.ts';
import { WorkflowsStack } from './workflows-stack.ts';

/** Value of the `project` tag on every stack (CloudFormation propagates stack tags to resources). */
export const PROJECT_TAG = 'lablet-cloud-manager';

/** The stacks of one stage. A new stack adds one field here and one line in `buildApp`. */
export interface LcmStacks {
  readonly config: LcmConfig;
  readonly data: DataStack;
  readonly events: EventsStack;
  readonly workflows: WorkflowsStack;
  readonly fleet: FleetStack;
  readonly api: ApiStack;
  readonly webSocket: WebSocketStack;
  readonly console: ConsoleStack;
  readonly consoleConfig: ConsoleConfigStack;
  readonly observability: ObservabilityStack;
}

export interface BuildAppOptions {
  /**
   * Target environment. Default: CDK_DEFAULT_ACCOUNT / CDK_DEFAULT_REGION from the process
   * environment (the CDK CLI sets them from the active profile); when unset the stacks are
   * environment-agnostic, which is all `cdk synth` needs.
   */
  readonly env?: Environment;
}

/** `Lcm-<stage>-<Concern>`: the construct id and the CloudFormation stack name. */
export const stackNameFor = (stage: string, concern: string): string => `Lcm-${stage}-${concern}`;

const envFromProcess = (): Environment => ({
  account: process.env.CDK_DEFAULT_ACCOUNT,
  region: process.env.CDK_DEFAULT_REGION,
});

/** A stack class of this app: its props extend LcmStackProps. */
type LcmStackClass<S extends Stack, P extends LcmStackProps> = new (
  scope: Construct,
  id: string,
  props: P,
) => S;

/**
 * Adds the LCM stacks of the stage named in the app's context to `app`.
 *
 * One stack per concern (data, events, workflows, fleet, api, observability), each in its own file in infra/lib/. Stateful resources live in the data stack; the stateless stacks receive what they
 * need from it as props and grant themselves access, e.g.
 *
 *   const api = add(ApiStack, 'Api', 'HTTP API and handlers', { table: data.table });
 */
export const buildApp = (app: App, options: BuildAppOptions = {}): LcmStacks => {
  const config = readConfig(app.node);
  const env = options.env ?? envFromProcess();

  /** Creates a stack with the common props: name, environment, tags, description, config. */
  const add = <S extends Stack, P extends LcmStackProps>(
    Kind: LcmStackClass<S, P>,
    concern: string,
    description: string,
    props: Omit<P, keyof LcmStackProps>,
  ): S => {
    const stackName = stackNameFor(config.stage, concern);
    const common: LcmStackProps = {
      config,
      stackName,
      env,
      // Stack-level tags (the `explicitStackTags` flag is on): CloudFormation applies them to
      // every resource that supports tags.
      tags: { project: PROJECT_TAG, stage: config.stage },
      description: `Lablet Cloud Manager (${config.stage}): ${description}`,
    };
    return new Kind(app, stackName, { ...props, ...common } as P);
  };

  // Order (each stack only references the ones before it): Data → Events → Workflows → Fleet → Api
  // → Observability (alarms and dashboard over what the five others built).
  // Stacks that must name a later stack's resource (a state machine) build its ARN from its
  // deterministic name (names.ts); the explicit dependencies keep the deployment order anyway.
  const data = add(DataStack, 'Data', 'single DynamoDB table and evidence bucket', {});
  const events = add(
    EventsStack,
    'Events',
    'event bus, archive, rules, outbox publisher and integration secrets',
    {
      table: data.table,
      evidenceBucket: data.evidenceBucket,
    },
  );
  const workflows = add(WorkflowsStack, 'Workflows', 'session-lifecycle state machine and its tasks', {
    table: data.table,
    evidenceBucket: data.evidenceBucket,
    secrets: events.secrets,
  });
  const fleet = add(FleetStack, 'Fleet', 'worker provisioning and drain state machines, scalers and sweeps', {
    table: data.table,
    secrets: events.secrets,
  });
  fleet.addStackDependency(workflows, 'the sweeps describe and resolve session workflow executions');
  // The console's hosting comes before the API: its app client's callback is the console's URL.
  const consoleSite = add(
    ConsoleStack,
    'Console',
    'operator console: S3 bucket and CloudFront distribution',
    {},
  );
  const api = add(ApiStack, 'Api', 'HTTP API, JWT authorizer and route handlers', {
    console: { url: consoleSite.url },
    table: data.table,
    evidenceBucket: data.evidenceBucket,
    sessionWorkflow: { stateMachine: workflows.sessionStateMachine },
    eventIngest: { bus: events.bus, partnersSecret: events.secrets.eventPartners },
    gradingApiKey: events.secrets.gradingApiKey,
    fleetWorkflows: { provisioning: fleet.provisioning.stateMachine, drain: fleet.drain.stateMachine },
    streamConsumers: events.streamConsumers,
  });

  const webSocket = add(
    WebSocketStack,
    'WebSocket',
    'live updates: WebSocket API, connections and broadcaster',
    {
      table: data.table,
      bus: events.bus,
      jwt: { issuer: api.jwtIssuer, audiences: api.jwtAudience },
    },
  );
  const consoleConfig = add(
    ConsoleConfigStack,
    'ConsoleConfig',
    "operator console's runtime config and build",
    {
      bucket: consoleSite.bucket,
      distribution: consoleSite.distribution,
      config_: {
        apiUrl: api.url,
        wsUrl: webSocket.url,
        oidc: {
          authority: api.jwtIssuer,
          clientId: api.consoleClient?.userPoolClientId ?? '',
          scope: 'openid email profile',
        },
      },
    },
  );

  const observability = add(
    ObservabilityStack,
    'Observability',
    'alarm topic, alarms on every queue, state machine and function, operations dashboard',
    {
      watched: [data, events, workflows, fleet, api, webSocket],
      streamConsumers: events.streamConsumers,
      httpApi: api.httpApi,
    },
  );
  for (const watched of [data, events, workflows, fleet, api, webSocket]) {
    observability.addStackDependency(watched, 'its alarms and dashboard name what this stack builds');
  }

  return {
    config,
    data,
    events,
    workflows,
    fleet,
    api,
    webSocket,
    console: consoleSite,
    consoleConfig,
    observability,
  };
};

/**
 * Registers the cdk-nag AWS Solutions pack as a policy-validation plugin (cdk-nag 3.x): every
 * synthesis then reports unacknowledged findings in cdk.out/validation-report.json and fails on
 * errors. Acknowledge a justified finding where it arises:
 * `Validations.of(construct).acknowledge({ id: 'AwsSolutions-XX', reason: '...' })`.
 */
export const applyNagChecks = (app: App): void => {
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
};
