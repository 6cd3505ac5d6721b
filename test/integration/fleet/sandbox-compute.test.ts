import { createSandboxCompute, type SandboxCompute } from '@lcm/sandbox/compute/index';
import { CmlClient, ComputeError, staticCredentials, TAG_STAGE, TAG_WORKER_ID } from '@lcm/shared/platform';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The sandbox compute provider: simulated instances with a boot delay, each running instance
 * backed by a real CML simulator (502 while it boots, then ready), idempotent launches, the
 * lifecycle calls, the listing the reconciliation uses, and injected failures.
 */

let compute: SandboxCompute | undefined;

afterEach(async () => {
  await compute?.stop();
  compute = undefined;
});

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const launch = (c: SandboxCompute, workerId: string, stage = 'local') =>
  c.launchInstance({
    clientToken: workerId,
    imageId: 'ami-0sandboxcml29100',
    instanceType: 'm5.large',
    tags: { [TAG_WORKER_ID]: workerId, [TAG_STAGE]: stage },
  });

describe('createSandboxCompute', () => {
  it('boots: pending, then running with an IP and a CML that answers 502 until it is ready', async () => {
    compute = createSandboxCompute({ bootSeconds: 0.6, transitionMs: 50 });
    const launched = await launch(compute, 'w-1');
    expect(launched.state).toBe('pending');
    expect(launched.privateIp).toBeUndefined();

    const running = await until('running', async () => {
      const i = await compute!.describeInstance(launched.instanceId);
      return i?.state === 'running' ? i : undefined;
    });
    expect(running.privateIp).toBe('127.0.0.1');
    expect(running.cmlBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v0$/);

    const cml = new CmlClient({
      baseUrl: running.cmlBaseUrl!,
      credentials: staticCredentials({ username: 'admin', password: 'admin-password' }),
      retry: { attempts: 1 },
    });
    const first = await cml.systemInformation();
    expect(first).toEqual({ controllerUp: false, ready: false });
    const ready = await until('CML ready', async () => {
      const info = await cml.systemInformation();
      return info.ready ? info : undefined;
    });
    expect(ready.controllerUp).toBe(true);
    expect((await cml.systemStats()).computes).toBeDefined();
  });

  it('launch is idempotent per client token; stop, start and terminate move the instance', async () => {
    compute = createSandboxCompute({ bootSeconds: 0.1, transitionMs: 30 });
    const a = await launch(compute, 'w-2');
    const b = await launch(compute, 'w-2');
    expect(b.instanceId).toBe(a.instanceId);
    expect(compute.instances()).toHaveLength(1);
    await until('running', async () =>
      (await compute!.describeInstance(a.instanceId))?.state === 'running' ? true : undefined,
    );

    await compute.stopInstance(a.instanceId);
    expect((await compute.describeInstance(a.instanceId))?.state).toBe('stopping');
    await sleep(40);
    expect((await compute.describeInstance(a.instanceId))?.state).toBe('stopped');
    expect(compute.cmlOf(a.instanceId)).toBeUndefined();

    await compute.startInstance(a.instanceId);
    const restarted = await until('running again', async () => {
      const i = await compute!.describeInstance(a.instanceId);
      return i?.state === 'running' ? i : undefined;
    });
    expect(restarted.cmlBaseUrl).toBeDefined();

    await compute.terminateInstance(a.instanceId);
    await sleep(40);
    expect((await compute.describeInstance(a.instanceId))?.state).toBe('terminated');
    await compute.terminateInstance(a.instanceId);
    await compute.terminateInstance('i-unknown');
    await expect(compute.startInstance(a.instanceId)).rejects.toMatchObject({ code: 'INSTANCE_NOT_FOUND' });
  });

  it('lists the stage’s live worker instances; vanished and terminated ones are not listed', async () => {
    compute = createSandboxCompute({ bootSeconds: 0.05, transitionMs: 10 });
    const keep = await launch(compute, 'w-keep');
    const other = await launch(compute, 'w-other', 'prod');
    const gone = await launch(compute, 'w-gone');
    await compute.vanish(gone.instanceId);
    expect((await compute.listWorkerInstances({ stage: 'local' })).map((i) => i.instanceId)).toEqual([
      keep.instanceId,
    ]);
    expect((await compute.listWorkerInstances()).map((i) => i.instanceId).sort()).toEqual(
      [keep.instanceId, other.instanceId].sort(),
    );
    expect(await compute.describeInstance(gone.instanceId)).toBeUndefined();
  });

  it('images: known ids and patterns resolve (newest match); strict mode refuses unknown ones', async () => {
    compute = createSandboxCompute({
      acceptAnyImage: false,
      images: [
        { imageId: 'ami-a', name: 'cml-2.8', creationDate: '2025-01-01T00:00:00.000Z' },
        { imageId: 'ami-b', name: 'cml-2.9', creationDate: '2025-05-01T00:00:00.000Z' },
      ],
    });
    expect((await compute.resolveImage({ amiNamePattern: 'cml-*' })).imageId).toBe('ami-b');
    expect((await compute.resolveImage({ amiId: 'ami-a' })).name).toBe('cml-2.8');
    await expect(compute.resolveImage({ amiId: 'ami-zzz' })).rejects.toMatchObject({
      code: 'IMAGE_NOT_FOUND',
    });
    await expect(compute.resolveImage({ amiNamePattern: 'ubuntu-*' })).rejects.toBeInstanceOf(ComputeError);
  });

  it('injected launch failures surface as EC2 would report them', async () => {
    compute = createSandboxCompute({ bootSeconds: 0.05 });
    compute.failLaunches('INSUFFICIENT_CAPACITY');
    await expect(launch(compute, 'w-ice')).rejects.toMatchObject({
      code: 'INSUFFICIENT_CAPACITY',
      providerCode: 'InsufficientInstanceCapacity',
      retryable: true,
    });
    expect((await launch(compute, 'w-ice')).state).toBe('pending');
  });

  it('CloudWatch CPU for running instances only', async () => {
    compute = createSandboxCompute({ bootSeconds: 0.05, cpu: () => 12.5 });
    const i = await launch(compute, 'w-cpu');
    expect(await compute.cpuUtilisation([i.instanceId, 'i-none'])).toEqual([
      { instanceId: i.instanceId },
      { instanceId: 'i-none' },
    ]);
    await sleep(30);
    const [reading] = await compute.cpuUtilisation([i.instanceId]);
    expect(reading).toMatchObject({ instanceId: i.instanceId, cpuPercent: 12.5 });
  });
});
