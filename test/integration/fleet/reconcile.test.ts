import { DescribeInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { createStores, type Stores } from '@lcm/shared/app';
import { reconcileFleet } from '@lcm/shared/fleet';
import { RecordingFleetWorkflows, TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestTable, type TestTable } from '../../support/table.ts';
import { FakeEc2 } from '../../workflows/fleet/fake-ec2.ts';
import { lifecycleDeps, placedSession, runningWorker } from './support.ts';

/**
 * Reconciliation of the table with EC2 (DynamoDB Local; EC2 mocked at the SDK boundary), both
 * ways: instances tagged with a worker id whose worker is gone, TERMINATED or FAILED are
 * terminated; workers whose instance no longer exists become TERMINATED (after a grace period),
 * their sessions failed with WORKER_LOST; and workers whose status needs a workflow get it.
 */

let t: TestTable;
let s: Stores;
let ec2: FakeEc2;

const STAGE = 'itest';
const tags = (workerId: string, stage = STAGE) => ({ [TAG_WORKER_ID]: workerId, [TAG_STAGE]: stage });

beforeEach(async () => {
  ec2?.restore();
  await t?.cleanup();
  t = await createTestTable('fleet-reconcile');
  s = createStores({ client: t.client, tableName: t.tableName });
  ec2 = new FakeEc2();
});

afterAll(async () => {
  ec2?.restore();
  await t?.cleanup();
});

const terminated = () => ec2.calls(TerminateInstancesCommand).flatMap((c) => c.InstanceIds as string[]);

describe('reconcileFleet: instances without a live worker', () => {
  it('terminates instances whose worker is gone, TERMINATED or FAILED; keeps the others', async () => {
    const live = await runningWorker(s);
    const liveInstance = ec2.add({ tags: tags(live.id) });
    await s.workers.update(live.id, { ec2InstanceId: liveInstance.instanceId }, live.version);

    let done = await runningWorker(s);
    done = await s.workers.transition(done.id, 'RUNNING', 'SHUTTING_DOWN', 'test', 'setup');
    await s.workers.transition(done.id, 'SHUTTING_DOWN', 'TERMINATED', 'test', 'setup');
    const failed = await runningWorker(s);
    await s.workers.transition(failed.id, 'RUNNING', 'FAILED', 'test', 'setup');

    const orphanGone = ec2.add({ tags: tags('w-never-existed') });
    const orphanTerminated = ec2.add({ tags: tags(done.id) });
    const orphanFailed = ec2.add({ tags: tags(failed.id) });
    const otherStage = ec2.add({ tags: tags('w-of-prod', 'prod') });
    const notOurs = ec2.add({ tags: { Name: 'bastion' } });

    const result = await reconcileFleet(lifecycleDeps(s));
    expect(result.orphansTerminated.map((o) => o.instanceId).sort()).toEqual(
      [orphanGone.instanceId, orphanTerminated.instanceId, orphanFailed.instanceId].sort(),
    );
    expect(result.orphansTerminated.find((o) => o.instanceId === orphanGone.instanceId)?.why).toBe(
      'its worker does not exist',
    );
    expect(terminated().sort()).toEqual(
      [orphanGone.instanceId, orphanTerminated.instanceId, orphanFailed.instanceId].sort(),
    );
    for (const kept of [liveInstance, otherStage, notOurs]) {
      expect(ec2.instances.get(kept.instanceId)!.state).toBe('running');
    }
    // The listing asked EC2 for this stage's worker instances only.
    const listing = ec2.calls(DescribeInstancesCommand).find((c) => c.Filters);
    expect(listing!.Filters).toEqual(
      expect.arrayContaining([
        { Name: 'tag-key', Values: [TAG_WORKER_ID] },
        { Name: `tag:${TAG_STAGE}`, Values: [STAGE] },
      ]),
    );
    expect((await s.workers.get(live.id)).status).toBe('RUNNING');
  });

  it('a second instance of a worker (not the one it records) is terminated', async () => {
    const w = await runningWorker(s);
    const recorded = ec2.add({ tags: tags(w.id) });
    await s.workers.update(w.id, { ec2InstanceId: recorded.instanceId }, w.version);
    const duplicate = ec2.add({ tags: tags(w.id) });
    const result = await reconcileFleet(lifecycleDeps(s));
    expect(result.orphansTerminated).toEqual([
      {
        instanceId: duplicate.instanceId,
        workerId: w.id,
        why: `its worker records instance ${recorded.instanceId}`,
      },
    ]);
    expect(terminated()).toEqual([duplicate.instanceId]);
  });
});

describe('reconcileFleet: workers whose instance is gone', () => {
  it('become TERMINATED after the grace period, their sessions failed with WORKER_LOST', async () => {
    const ghost = await runningWorker(s, { ec2InstanceId: 'i-0000000000dead001' });
    const session = await placedSession(s, ghost);
    const stoppedGone = await runningWorker(s, { ec2InstanceId: 'i-0000000000dead002' });
    let st = await s.workers.transition(stoppedGone.id, 'RUNNING', 'DRAINING', 't', 'setup');
    st = await s.workers.transition(st.id, 'DRAINING', 'STOPPING', 't', 'setup');
    await s.workers.transition(st.id, 'STOPPING', 'STOPPED', 't', 'setup');
    const terminatedOutside = await runningWorker(s);
    const i = ec2.add({ state: 'terminated', tags: tags(terminatedOutside.id) });
    await s.workers.update(terminatedOutside.id, { ec2InstanceId: i.instanceId }, terminatedOutside.version);
    const pending = await runningWorker(s, { status: 'PENDING' });

    // Within the grace period (just changed): left alone.
    const early = await reconcileFleet(lifecycleDeps(s));
    expect(early.workersTerminated).toEqual([]);
    expect((await s.workers.get(ghost.id)).status).toBe('RUNNING');

    const later = new Date(Date.now() + 10 * 60_000);
    const deps = lifecycleDeps(s, { clock: () => later });
    const result = await reconcileFleet(deps);
    expect(result.workersTerminated.map((w) => w.workerId).sort()).toEqual(
      [ghost.id, stoppedGone.id, terminatedOutside.id].sort(),
    );
    expect(result.workersTerminated.find((w) => w.workerId === ghost.id)?.sessions).toEqual([session.id]);

    const g = await s.workers.get(ghost.id);
    expect(g.status).toBe('TERMINATED');
    expect(g.stateHistory.slice(-2).map((h) => `${h.from}→${h.to}`)).toEqual([
      'RUNNING→SHUTTING_DOWN',
      'SHUTTING_DOWN→TERMINATED',
    ]);
    expect(g.stateHistory.at(-1)!.reason).toBe('instance i-0000000000dead001 no longer exists');
    expect((await s.workers.get(stoppedGone.id)).status).toBe('TERMINATED');
    expect((await s.workers.get(terminatedOutside.id)).status).toBe('TERMINATED');
    expect((await s.workers.get(pending.id)).status).toBe('PENDING');

    const lost = await s.sessions.getSession(session.id);
    expect(lost.terminationReason).toBe('WORKER_LOST');
    expect(lost.terminationRequestedAt).toBeDefined();
  });
});

describe('reconcileFleet: workflows the statuses call for', () => {
  it('starts provisioning for a PENDING worker and the drain for SHUTTING_DOWN / stopping ones, once', async () => {
    const created = await runningWorker(s, { status: 'PENDING', desiredStatus: 'RUNNING' });
    const dying = await runningWorker(s);
    const dyingInstance = ec2.add({ tags: tags(dying.id) });
    await s.workers.update(dying.id, { ec2InstanceId: dyingInstance.instanceId }, dying.version);
    const shutting = await s.workers.transition(
      dying.id,
      'RUNNING',
      'SHUTTING_DOWN',
      'operator',
      'terminate',
      {
        patch: { desiredStatus: 'TERMINATED' },
      },
    );
    const draining = await runningWorker(s);
    const drainingInstance = ec2.add({ tags: tags(draining.id) });
    await s.workers.update(draining.id, { ec2InstanceId: drainingInstance.instanceId }, draining.version);
    await s.workers.transition(draining.id, 'RUNNING', 'DRAINING', 'operator', 'drain', {
      patch: { desiredStatus: 'DRAINING' },
    });

    const workflows = new RecordingFleetWorkflows();
    const deps = lifecycleDeps(s, { workflows });
    const result = await reconcileFleet(deps);
    expect(result.workflowsStarted.map((w) => `${w.workerId}:${w.kind}`).sort()).toEqual(
      [`${created.id}:provisioning`, `${dying.id}:drain`].sort(),
    );
    expect(workflows.callsOf('startProvisioning')).toEqual([
      expect.objectContaining({ workerId: created.id, name: `${created.id}-launch` }),
    ]);
    expect(workflows.callsOf('startDrain').map((c) => [c.workerId, c.then, c.name])).toEqual([
      [dying.id, 'TERMINATE', `${dying.id}-retire-${shutting.stateHistory.length - 1}`],
    ]);
    // A plain operator drain (desired DRAINING) needs no workflow; a second pass starts nothing new.
    await reconcileFleet(deps);
    expect(workflows.calls).toHaveLength(2);
  });
});
