import { readFileSync } from 'node:fs';
import { type CmlSimulator, type CmlSimulatorOptions, startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import {
  type CmlApi,
  CmlClient,
  type Credentials,
  type CredentialsProvider,
  configurationFiles,
  IntegrationError,
  staticCredentials,
} from '@lcm/shared/platform';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rejectionOf } from './support.ts';

const TOPOLOGY = readFileSync(
  new URL('../../fixtures/topologies/patty-all-kinds.yaml', import.meta.url),
  'utf8',
);
const USERS = { lcm: 'lcm-password', other: 'other-password' };
const CREDS = staticCredentials({ username: 'lcm', password: 'lcm-password' });
const LAB_BOOT_MS = 300;

const noSleep = async () => {};
const clientFor = (sim: CmlSimulator, over: Partial<ConstructorParameters<typeof CmlClient>[0]> = {}) =>
  new CmlClient({ baseUrl: sim.url, credentials: CREDS, sleep: noSleep, timeoutMs: 2000, ...over });

const count = (sim: CmlSimulator, pathSuffix: string, method?: string) =>
  sim.requests().filter((r) => r.path.endsWith(pathSuffix) && (!method || r.method === method)).length;

async function waitConverged(cml: CmlApi, labId: string, timeoutMs = 3000): Promise<number> {
  const started = Date.now();
  let polls = 0;
  for (;;) {
    polls++;
    if (await cml.checkIfConverged(labId)) return polls;
    if (Date.now() - started > timeoutMs) throw new Error('lab did not converge');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Stops, wipes and deletes whatever a test left behind. */
async function cleanUp(sim: CmlSimulator, cml: CmlApi) {
  sim.clearFaults();
  for (const lab of sim.labs()) {
    await cml.stopLab(lab.id);
    await cml.wipeLab(lab.id);
    await cml.deleteLab(lab.id);
  }
}

describe('CmlClient against the CML simulator', () => {
  let sim: CmlSimulator;
  let cml: CmlClient;

  beforeAll(async () => {
    sim = await startCmlSimulator({ users: USERS, labBootMs: LAB_BOOT_MS });
    cml = clientFor(sim);
  });
  afterEach(async () => {
    await cleanUp(sim, clientFor(sim));
    sim.setControllerUp(true);
    sim.setReady(true);
  });
  afterAll(() => sim.stop());

  describe('system_information', () => {
    it('needs no authentication', async () => {
      const fresh = clientFor(sim);
      const before = count(sim, '/authenticate');
      expect(await fresh.systemInformation()).toEqual({
        controllerUp: true,
        ready: true,
        version: '2.9.1+build.7',
      });
      expect(count(sim, '/authenticate')).toBe(before);
    });

    it('reports not ready on 502 while the controller boots, then ready', async () => {
      sim.setControllerUp(false);
      const before = count(sim, '/system_information');
      expect(await cml.systemInformation()).toEqual({ controllerUp: false, ready: false });
      // 502 is a state, not a failure: not retried.
      expect(count(sim, '/system_information')).toBe(before + 1);
      sim.setControllerUp(true);
      sim.setReady(false);
      expect(await cml.systemInformation()).toMatchObject({ controllerUp: true, ready: false });
      sim.setReady(true);
      expect(await cml.systemInformation()).toMatchObject({ controllerUp: true, ready: true });
    });

    it('answers 502 for the configured boot time after start', async () => {
      const booting = await startCmlSimulator({ users: USERS, controllerBootMs: 250 });
      try {
        const c = clientFor(booting);
        expect((await c.systemInformation()).controllerUp).toBe(false);
        await new Promise((r) => setTimeout(r, 300));
        expect(await c.systemInformation()).toMatchObject({ controllerUp: true, ready: true });
      } finally {
        await booting.stop();
      }
    });
  });

  describe('authentication', () => {
    it('authenticates once and reuses the token, also for concurrent first calls', async () => {
      const c = clientFor(sim);
      const before = count(sim, '/authenticate');
      await Promise.all([c.listLabs(), c.systemStats(), c.licensing(), c.systemHealth()]);
      await c.listLabs();
      expect(count(sim, '/authenticate') - before).toBe(1);
    });

    it('on 401 re-authenticates once and repeats the call', async () => {
      const c = clientFor(sim);
      await c.listLabs();
      const authBefore = count(sim, '/authenticate');
      const labsBefore = count(sim, '/labs', 'GET');
      sim.invalidateTokens();
      expect(await c.listLabs()).toEqual([]);
      expect(count(sim, '/authenticate') - authBefore).toBe(1);
      expect(count(sim, '/labs', 'GET') - labsBefore).toBe(2);
      expect(
        sim
          .requests()
          .filter((r) => r.path.endsWith('/labs'))
          .slice(-2)
          .map((r) => r.status),
      ).toEqual([401, 200]);
    });

    it('re-authenticates when the token expires', async () => {
      const shortLived = await startCmlSimulator({ users: USERS, tokenTtlMs: 100 });
      try {
        const c = clientFor(shortLived);
        await c.listLabs();
        await new Promise((r) => setTimeout(r, 150));
        await c.listLabs();
        expect(count(shortLived, '/authenticate')).toBe(2);
      } finally {
        await shortLived.stop();
      }
    });

    it('a second 401 after re-authenticating is a typed error, with no further attempts', async () => {
      const c = clientFor(sim);
      await c.listLabs();
      const authBefore = count(sim, '/authenticate');
      const statsBefore = count(sim, '/system_stats');
      sim.injectFault({ method: 'GET', path: '/system_stats$', status: 401, times: 'always' });
      const err = (await rejectionOf(c.systemStats())) as IntegrationError;
      expect(err).toBeInstanceOf(IntegrationError);
      expect(err).toMatchObject({
        service: 'cml',
        operation: 'systemStats',
        code: 'UNAUTHORIZED',
        status: 401,
      });
      expect(err.retryable).toBe(false);
      expect(count(sim, '/authenticate') - authBefore).toBe(1);
      expect(count(sim, '/system_stats') - statsBefore).toBe(2);
    });

    it('403 at /authenticate is BAD_CREDENTIALS and the password never appears in the error', async () => {
      const c = clientFor(sim, {
        credentials: staticCredentials({ username: 'lcm', password: 'wrong-pass-123' }),
      });
      const labsBefore = count(sim, '/labs', 'GET');
      const authBefore = count(sim, '/authenticate');
      const err = (await rejectionOf(c.listLabs())) as IntegrationError;
      expect(err).toMatchObject({
        code: 'BAD_CREDENTIALS',
        status: 403,
        operation: 'authenticate',
        retryable: false,
      });
      expect(err.body).toEqual({ code: 403, description: 'Authentication failed!' });
      expect(`${err.message} ${JSON.stringify(err)}`).not.toContain('wrong-pass-123');
      // The static provider gives the same credentials on refresh: one attempt, no lab call.
      expect(count(sim, '/authenticate') - authBefore).toBe(1);
      expect(count(sim, '/labs', 'GET')).toBe(labsBefore);
    });

    it('re-reads rotated credentials once after a 403', async () => {
      const served: Array<{ forceRefresh: boolean }> = [];
      let current: Credentials = { username: 'lcm', password: 'stale-password' };
      const rotating: CredentialsProvider = {
        getCredentials: async (o = {}) => {
          served.push({ forceRefresh: o.forceRefresh ?? false });
          if (o.forceRefresh) current = { username: 'lcm', password: 'lcm-password' };
          return current;
        },
      };
      const c = clientFor(sim, { credentials: rotating });
      expect(await c.listLabs()).toEqual([]);
      expect(served).toEqual([{ forceRefresh: false }, { forceRefresh: true }]);
    });

    it('system_information carries no bearer token (the client never authenticated for it)', async () => {
      const c = clientFor(sim, {
        credentials: {
          getCredentials: async () => {
            throw new Error('must not be asked');
          },
        },
      });
      await expect(c.systemInformation()).resolves.toMatchObject({ ready: true });
    });
  });

  describe('retries and timeouts', () => {
    it('retries two 503s and succeeds on the third attempt', async () => {
      const { id } = await cml.importLab(TOPOLOGY, 'retry');
      const before = count(sim, `/labs/${id}/state`);
      sim.injectFault({ method: 'GET', path: '/state$', status: 503, times: 2 });
      expect(await cml.labState(id)).toBe('DEFINED_ON_CORE');
      expect(count(sim, `/labs/${id}/state`) - before).toBe(3);
    });

    it('a permanent 500 is a typed error after the bounded attempts', async () => {
      const c = clientFor(sim, { retry: { attempts: 3 } });
      const { id } = await c.importLab(TOPOLOGY);
      sim.injectFault({ method: 'PUT', path: '/start$', status: 500, times: 'always' });
      const err = (await rejectionOf(c.startLab(id))) as IntegrationError;
      expect(err).toMatchObject({
        code: 'SERVER_ERROR',
        status: 500,
        retryable: true,
        attempts: 3,
        operation: 'startLab',
        body: { code: 500, description: 'injected fault (HTTP 500)' },
      });
      expect(count(sim, `/labs/${id}/start`)).toBe(3);
    });

    it('does not retry the import (not idempotent)', async () => {
      sim.injectFault({ method: 'POST', path: '/import$', status: 503 });
      const before = count(sim, '/import');
      const err = (await rejectionOf(cml.importLab(TOPOLOGY))) as IntegrationError;
      expect(err).toMatchObject({ code: 'SERVER_ERROR', attempts: 1 });
      expect(count(sim, '/import') - before).toBe(1);
      expect(sim.labs()).toHaveLength(0);
    });

    it('times out a hanging call and reports TIMEOUT after the bounded attempts', async () => {
      const c = clientFor(sim, { timeoutMs: 100, retry: { attempts: 2 } });
      await c.listLabs();
      sim.injectFault({ method: 'GET', path: '/system_stats$', delayMs: 800, times: 'always' });
      const started = Date.now();
      const err = (await rejectionOf(c.systemStats())) as IntegrationError;
      expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true, attempts: 2 });
      expect(Date.now() - started).toBeLessThan(700);
    });
  });

  describe('lab lifecycle', () => {
    it('imports, starts, converges, extracts, stops, wipes and deletes', async () => {
      const { id, warnings } = await cml.importLab(TOPOLOGY, 'LCM session s-1');
      expect(warnings).toEqual([]);
      expect(await cml.listLabs()).toEqual([id]);
      expect(await cml.getLab(id)).toMatchObject({
        id,
        lab_title: 'LCM session s-1',
        node_count: 4,
        link_count: 2,
      });
      expect(await cml.labState(id)).toBe('DEFINED_ON_CORE');

      const defined = await cml.listNodes(id);
      expect(defined.map((n) => [n.label, n.node_definition, n.state])).toEqual([
        ['iosv-0', 'iosv', 'DEFINED_ON_CORE'],
        ['PC', 'ubuntu', 'DEFINED_ON_CORE'],
        ['sw', 'unmanaged_switch', 'DEFINED_ON_CORE'],
        ['ext', 'external_connector', 'DEFINED_ON_CORE'],
      ]);
      expect(defined[0]!.tags).toEqual(['serial:4001', 'pat:5041:22', 'pat:tcp:5042:23', 'core']);
      expect(defined[0]!.operational).toBeNull();
      expect(await cml.layer3Addresses(id)).toEqual({});
      expect(await cml.simulationStats(id)).toEqual({ nodes: {}, links: {} });

      const byLabel = Object.fromEntries(defined.map((n) => [n.label, n.id]));
      // Not booted yet: extraction is "not supported", not a failure.
      expect(await cml.extractConfiguration(id, byLabel['iosv-0']!)).toMatchObject({ supported: false });

      await cml.startLab(id);
      expect(await cml.labState(id)).toBe('STARTED');
      expect(await cml.checkIfConverged(id)).toBe(false);
      const polls = await waitConverged(cml, id);
      expect(polls).toBeGreaterThan(1);

      const running = await cml.listNodes(id);
      expect(running.every((n) => n.state === 'BOOTED')).toBe(true);
      const iosv = running.find((n) => n.label === 'iosv-0')!;
      expect(iosv.operational).toMatchObject({ cpus: 1, ram: 512, compute_id: expect.any(String) });
      const pc = running.find((n) => n.label === 'PC')!;
      expect(pc.operational).toMatchObject({ cpus: 2, ram: 4096 });

      const node = await cml.getNode(id, iosv.id, { excludeConfigurations: true });
      expect(node.configuration).toBeNull();
      const ifaces = await cml.nodeInterfaces(id, iosv.id);
      expect(ifaces.map((i) => [i.label, i.type, i.is_connected])).toEqual([
        ['Loopback0', 'loopback', false],
        ['GigabitEthernet0/0', 'physical', true],
      ]);
      expect(ifaces[1]!.operational?.mac_address).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);

      const l3 = await cml.layer3Addresses(id);
      expect(Object.keys(l3).sort()).toEqual([iosv.id, pc.id].sort());
      const mac = ifaces[1]!.operational!.mac_address!;
      expect(l3[iosv.id]!.interfaces![mac]).toMatchObject({
        label: 'GigabitEthernet0/0',
        ip4: [expect.any(String)],
      });

      const stats = await cml.simulationStats(id);
      expect(Object.keys(stats.nodes).sort()).toEqual([iosv.id, pc.id].sort());
      expect(stats.nodes[iosv.id]!.cpu_usage).toBeGreaterThan(0);
      expect(Object.keys(stats.links)).toHaveLength(2);

      const extracted = await cml.extractConfiguration(id, iosv.id);
      expect(extracted).toEqual({
        supported: true,
        configuration: 'hostname iosv-0',
        files: [{ name: 'Main', content: 'hostname iosv-0' }],
      });
      sim.setRunningConfig(
        id,
        'iosv-0',
        'hostname iosv-0\ninterface Gi0/0\n ip address 10.0.0.1 255.255.255.0',
      );
      expect(await cml.extractConfiguration(id, iosv.id)).toMatchObject({
        supported: true,
        configuration: 'hostname iosv-0\ninterface Gi0/0\n ip address 10.0.0.1 255.255.255.0',
      });
      expect(await cml.extractConfiguration(id, byLabel.PC!)).toMatchObject({
        supported: true,
        configuration: 'hostname PC\n!\nend',
      });
      for (const label of ['sw', 'ext']) {
        const r = await cml.extractConfiguration(id, byLabel[label]!);
        expect(r.supported).toBe(false);
        if (!r.supported) expect(r.reason).toMatch(/not supported for node definition/);
      }

      // Delete needs stop + wipe first.
      const conflict = (await rejectionOf(cml.deleteLab(id))) as IntegrationError;
      expect(conflict).toMatchObject({ code: 'CONFLICT', status: 409, retryable: false });
      await cml.stopLab(id);
      expect(await cml.labState(id)).toBe('STOPPED');
      expect((await cml.listNodes(id)).every((n) => n.state === 'STOPPED')).toBe(true);
      await cml.wipeLab(id);
      expect(await cml.labState(id)).toBe('DEFINED_ON_CORE');
      expect(await cml.deleteLab(id)).toEqual({ deleted: true });
      expect(await cml.deleteLab(id)).toEqual({ deleted: false });
      expect(sim.labs()).toEqual([]);
    });

    it('maps unknown labs and nodes to NOT_FOUND with the exact CML texts', async () => {
      const lab = (await rejectionOf(cml.labState('nope'))) as IntegrationError;
      expect(lab).toMatchObject({
        code: 'NOT_FOUND',
        status: 404,
        body: { code: 404, description: 'Lab not found: nope' },
      });
      const { id } = await cml.importLab(TOPOLOGY);
      const node = (await rejectionOf(cml.getNode(id, 'n-x'))) as IntegrationError;
      expect(node.body).toEqual({ code: 404, description: 'Node not found: n-x' });
    });

    it('rejects an invalid topology with a 400 carrying the reason', async () => {
      const err = (await rejectionOf(
        cml.importLab(
          'lab: {title: t, version: 0.3.0}\nnodes:\n  - {id: n0, label: R1, node_definition: iosv}\nlinks:\n  - {id: l0, n1: n0, i1: i0, n2: n9, i2: i0}\n',
        ),
      )) as IntegrationError;
      expect(err).toMatchObject({ code: 'BAD_REQUEST', status: 400 });
      expect(err.body?.description).toMatch(/links\[0]\.i1 references unknown interface i0/);
      expect(sim.labs()).toEqual([]);
    });

    it('lists only its own labs unless showAll', async () => {
      const mine = await cml.importLab(TOPOLOGY);
      const theirs = await clientFor(sim, {
        credentials: staticCredentials({ username: 'other', password: 'other-password' }),
      }).importLab(TOPOLOGY);
      expect(await cml.listLabs()).toEqual([mine.id]);
      expect((await cml.listLabs({ showAll: true })).sort()).toEqual([mine.id, theirs.id].sort());
    });
  });

  describe('system calls', () => {
    it('reads stats, health and licensing, and registers a license', async () => {
      const { id } = await cml.importLab(TOPOLOGY);
      await cml.startLab(id);
      const stats = await cml.systemStats();
      const compute = Object.values(stats.computes)[0]!;
      expect(compute.stats?.dominfo).toMatchObject({ running_nodes: 2, allocated_cpus: 3 });
      expect(stats.all?.memory?.total).toBe(128 * 1024 ** 3);
      expect(await cml.systemHealth()).toMatchObject({ valid: true, is_licensed: true });
      const lic = await cml.licensing();
      expect(lic.registration?.status).toBe('COMPLETED');
      expect(lic.product_license).toMatchObject({ active: 'CML_Enterprise', is_enterprise: true });
      await cml.registerLicense('token-abc', { reregister: true });
    });

    it('registering an invalid token is BAD_REQUEST', async () => {
      const picky = await startCmlSimulator({ users: USERS, licensed: false, validLicenseTokens: ['good'] });
      try {
        const c = clientFor(picky);
        expect((await c.licensing()).registration?.status).toBe('NOT_REGISTERED');
        await expect(c.registerLicense('bad')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
        await c.registerLicense('good');
        expect((await c.licensing()).registration?.status).toBe('COMPLETED');
      } finally {
        await picky.stop();
      }
    });

    it('deregisters the licence: 204 → deregistered, 202 → on the host only; a 500 is a retryable error', async () => {
      const sim = await startCmlSimulator({ users: USERS, licensed: true });
      try {
        const c = clientFor(sim);
        expect(await c.deregisterLicense()).toEqual({ localOnly: false });
        expect((await c.licensing()).registration?.status).toBe('NOT_REGISTERED');
        await c.registerLicense('again');
        sim.injectFault({ method: 'DELETE', path: '/licensing/deregistration$', status: 202, after: true });
        expect(await c.deregisterLicense()).toEqual({ localOnly: true });
        expect((await c.licensing()).registration?.status).toBe('NOT_REGISTERED');
        sim.injectFault({
          method: 'DELETE',
          path: '/licensing/deregistration$',
          status: 500,
          times: 'always',
        });
        await expect(c.deregisterLicense()).rejects.toMatchObject({ status: 500, retryable: true });
      } finally {
        await sim.stop();
      }
    });
  });
});

describe('UNVERIFIED behaviours are tolerated both ways', () => {
  const variants: Array<[string, CmlSimulatorOptions]> = [
    [
      '200 with a body for start/stop/wipe, 400 for deleting an unwiped lab, null warnings',
      { labActionStatus: 200, deleteUnwiped: 400, nullWarnings: true },
    ],
    [
      '204 for start/stop/wipe, 409 for deleting an unwiped lab',
      { labActionStatus: 204, deleteUnwiped: 409 },
    ],
  ];
  for (const [name, options] of variants) {
    it(name, async () => {
      const sim = await startCmlSimulator({ users: USERS, labBootMs: 20, ...options });
      try {
        const cml = clientFor(sim);
        const { id, warnings } = await cml.importLab(TOPOLOGY);
        expect(warnings).toEqual([]);
        await cml.startLab(id);
        await waitConverged(cml, id);
        const err = (await rejectionOf(cml.deleteLab(id))) as IntegrationError;
        expect(err.status).toBe(options.deleteUnwiped);
        await cml.stopLab(id);
        await cml.wipeLab(id);
        expect(await cml.deleteLab(id)).toEqual({ deleted: true });
        expect(sim.labs()).toEqual([]);
      } finally {
        await sim.stop();
      }
    });
  }
});

describe('configurationFiles', () => {
  it('normalises string, list and null configurations', () => {
    expect(configurationFiles(null)).toEqual([]);
    expect(configurationFiles('hostname R1')).toEqual([{ name: 'Main', content: 'hostname R1' }]);
    expect(
      configurationFiles([
        { name: 'Main', content: 'a' },
        { name: 'day0.cfg', content: null },
      ]),
    ).toEqual([{ name: 'Main', content: 'a' }]);
  });
});
