import type { FleetTaskNeed } from '../tasks/fleet/index.ts';

/**
 * The scheduled Lambdas (DESIGN §7): the ONE list the CDK stack (an EventBridge Scheduler or
 * rule per entry) and the local stack's timers read. Imports no handler.
 */
export interface FleetSchedule {
  /** Function name suffix (`lcm-<stage>-schedule-<name>`). */
  readonly name: string;
  /** Handler module, relative to the repository root; exports `handler`. */
  readonly entry: string;
  /** EventBridge schedule expression. */
  readonly schedule: string;
  /** The same period in seconds (local timers). */
  readonly everySeconds: number;
  readonly timeoutSeconds: number;
  /** One run at a time (reserved concurrency 1): runs are also serialised by the scaler state. */
  readonly singleton: boolean;
  readonly needs: readonly FleetTaskNeed[];
  readonly description: string;
}

export const FLEET_SCHEDULES: readonly FleetSchedule[] = [
  {
    name: 'scale-up',
    entry: 'functions/schedules/scale-up.ts',
    schedule: 'rate(1 minute)',
    everySeconds: 60,
    timeoutSeconds: 55,
    singleton: true,
    needs: ['table', 'workflows'],
    description: 'Scale-up: launch or start workers for sessions waiting or starting within the look-ahead',
  },
  {
    name: 'scale-down',
    entry: 'functions/schedules/scale-down.ts',
    schedule: 'rate(5 minutes)',
    everySeconds: 300,
    timeoutSeconds: 120,
    singleton: true,
    needs: ['table', 'workflows'],
    description: 'Scale-down: drain idle workers (stop as warm capacity or terminate)',
  },
  {
    name: 'health-sweep',
    entry: 'functions/schedules/health-sweep.ts',
    schedule: 'rate(5 minutes)',
    everySeconds: 300,
    timeoutSeconds: 240,
    singleton: true,
    needs: ['table', 'ec2-read', 'ec2-lifecycle', 'cloudwatch', 'cml', 'workflows', 'task-tokens'],
    description: 'Reconcile workers with EC2; CML health, stats and CloudWatch CPU; lost workers FAILED',
  },
  {
    name: 'stuck-sessions',
    entry: 'functions/schedules/stuck-sessions.ts',
    schedule: 'rate(5 minutes)',
    everySeconds: 300,
    timeoutSeconds: 240,
    singleton: true,
    needs: ['table', 'workflows', 'cml', 'lds', 'task-tokens'],
    description: 'Tear down sessions whose workflow execution is no longer running',
  },
];
