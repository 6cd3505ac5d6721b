import { readFileSync } from 'node:fs';
import { type CmlSimulator, startCmlSimulator } from '@lcm/sandbox/simulators/cml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** The reference's "Checklist for a faithful simulator", checked over raw HTTP. */

const TOPOLOGY = readFileSync(
  new URL('../../fixtures/topologies/patty-all-kinds.yaml', import.meta.url),
  'utf8',
);

let sim: CmlSimulator;
let token: string;

const call = async (
  method: string,
  path: string,
  init: { body?: string; auth?: boolean; type?: string } = {},
) => {
  const headers: Record<string, string> = {};
  if (init.auth !== false) headers.authorization = `Bearer ${token}`;
  if (init.type) headers['content-type'] = init.type;
  const res = await fetch(`${sim.url}${path}`, { method, headers, body: init.body });
  const text = await res.text();
  return { status: res.status, text, contentType: res.headers.get('content-type') ?? '' };
};
const json = (text: string): unknown => JSON.parse(text);

beforeAll(async () => {
  sim = await startCmlSimulator({ users: { admin: 'pw' }, labBootMs: 250 });
  const res = await fetch(`${sim.url}/authenticate`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: 'pw' }),
  });
  const text = await res.text();
  // A bare JSON string, not an object.
  expect(text.startsWith('"')).toBe(true);
  token = JSON.parse(text) as string;
});
afterAll(() => sim.stop());

describe('CML simulator checklist', () => {
  it('authenticate returns a bare JSON string JWT; bad credentials 403; auth_extended an object', async () => {
    expect(token.split('.')).toHaveLength(3);
    const bad = await call('POST', '/authenticate', {
      auth: false,
      body: '{"username":"admin","password":"x"}',
    });
    expect(bad.status).toBe(403);
    expect(json(bad.text)).toEqual({ code: 403, description: 'Authentication failed!' });
    const ext = await call('POST', '/auth_extended', {
      auth: false,
      body: '{"username":"admin","password":"pw"}',
    });
    expect(json(ext.text)).toMatchObject({
      username: 'admin',
      admin: true,
      error: null,
      token: expect.any(String),
    });
  });

  it('system_information needs no auth; everything else checks the bearer token', async () => {
    const info = await call('GET', '/system_information', { auth: false });
    expect(info.status).toBe(200);
    expect(json(info.text)).toEqual({
      version: '2.9.1+build.7',
      ready: true,
      allow_ssh_pubkey_auth: false,
      oui: '52:54:00:00:00:00',
    });
    const none = await call('GET', '/labs', { auth: false });
    expect(none.status).toBe(401);
    expect(json(none.text)).toEqual({ code: 401, description: 'No authorization token provided.' });
    const res = await fetch(`${sim.url}/labs`, { headers: { authorization: 'Bearer forged' } });
    expect(res.status).toBe(401);
    expect((await call('GET', '/authok')).status).toBe(200);
  });

  it('labs: import {id, warnings}, state as a JSON string, id arrays unless data=true', async () => {
    const imp = await call('POST', '/import?title=Checklist', { body: TOPOLOGY, type: 'application/x-yaml' });
    expect(imp.status).toBe(200);
    const { id, warnings } = json(imp.text) as { id: string; warnings: unknown };
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(warnings).toEqual([]);

    const state = await call('GET', `/labs/${id}/state`);
    expect(state.text).toBe('"DEFINED_ON_CORE"');

    const ids = json((await call('GET', `/labs/${id}/nodes`)).text) as string[];
    expect(ids).toHaveLength(4);
    expect(ids.every((n) => typeof n === 'string')).toBe(true);
    const objects = json((await call('GET', `/labs/${id}/nodes?data=true`)).text) as Array<
      Record<string, unknown>
    >;
    expect(objects[0]).toMatchObject({
      id: ids[0],
      lab_id: id,
      label: 'iosv-0',
      node_definition: 'iosv',
      x: -280,
      y: 0,
      tags: ['serial:4001', 'pat:5041:22', 'pat:tcp:5042:23', 'core'],
      state: 'DEFINED_ON_CORE',
      boot_progress: 'Not running',
      configuration: null,
      operational: null,
    });
    expect(objects[3]!.tags).toEqual([]);

    // node state is an object; PATCH returns the id string; converged is a JSON bool
    expect(json((await call('GET', `/labs/${id}/nodes/${ids[0]}/state`)).text)).toEqual({
      state: 'DEFINED_ON_CORE',
      progress: 'Not running',
    });
    const patch = await call('PATCH', `/labs/${id}/nodes/${ids[0]}`, { body: '{"tags":["serial:2001"]}' });
    expect(patch.text).toBe(JSON.stringify(ids[0]));
    expect(
      (json((await call('GET', `/labs/${id}/nodes/${ids[0]}`)).text) as { tags: string[] }).tags,
    ).toEqual(['serial:2001']);
    expect((await call('GET', `/labs/${id}/check_if_converged`)).text).toBe('true');

    const ifaceIds = json((await call('GET', `/labs/${id}/nodes/${ids[0]}/interfaces`)).text) as string[];
    const iface = json((await call('GET', `/labs/${id}/interfaces/${ifaceIds[1]}?operational=true`)).text);
    expect(iface).toMatchObject({
      id: ifaceIds[1],
      label: 'GigabitEthernet0/0',
      slot: 0,
      type: 'physical',
      is_connected: true,
    });

    const download = await call('GET', `/labs/${id}/download`);
    expect(download.text).toBe(TOPOLOGY);

    // start: QUEUED/STARTED → BOOTED over the boot time
    expect((await call('PUT', `/labs/${id}/start`)).status).toBe(204);
    const early = json((await call('GET', `/labs/${id}/lab_element_state`)).text) as {
      nodes: Record<string, string>;
    };
    expect(['QUEUED', 'STARTED']).toContain(early.nodes[ids[0]!]);
    expect(early.nodes[ids[2]!]).toBe('BOOTED'); // unmanaged switch: no VM
    expect((await call('GET', `/labs/${id}/check_if_converged`)).text).toBe('false');
    // configuration changes only in DEFINED_ON_CORE; tags any time
    expect((await call('PATCH', `/labs/${id}/nodes/${ids[0]}`, { body: '{"ram":1024}' })).status).toBe(400);
    expect((await call('PATCH', `/labs/${id}/nodes/${ids[0]}`, { body: '{"tags":["a"]}' })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 300));
    expect((await call('GET', `/labs/${id}/check_if_converged`)).text).toBe('true');
    expect(json((await call('GET', `/labs/${id}/nodes/${ids[0]}/state`)).text)).toEqual({
      state: 'BOOTED',
      progress: 'Booted',
    });

    const extract = await call('PUT', `/labs/${id}/nodes/${ids[0]}/extract_configuration`);
    expect(extract.status).toBe(200);
    expect(json(extract.text)).toBe('hostname iosv-0');
    const unsupported = await call('PUT', `/labs/${id}/nodes/${ids[3]}/extract_configuration`);
    expect(unsupported.status).toBe(400);
    expect(json(unsupported.text)).toMatchObject({ code: 400 });

    expect((await call('PUT', `/labs/${id}/wipe`)).status).toBe(409);
    expect((await call('DELETE', `/labs/${id}`)).status).toBe(409);
    await call('PUT', `/labs/${id}/stop`);
    await call('PUT', `/labs/${id}/wipe`);
    expect((await call('DELETE', `/labs/${id}`)).status).toBe(204);
    expect(sim.labs()).toEqual([]);
  });

  it('errors use {code, description} with the exact 404 texts', async () => {
    expect(json((await call('GET', '/labs/abc')).text)).toEqual({
      code: 404,
      description: 'Lab not found: abc',
    });
    const { id } = json((await call('POST', '/import', { body: TOPOLOGY })).text) as { id: string };
    expect(json((await call('GET', `/labs/${id}/nodes/zzz`)).text)).toEqual({
      code: 404,
      description: 'Node not found: zzz',
    });
    expect(json((await call('GET', `/labs/${id}/interfaces/qq`)).text)).toEqual({
      code: 404,
      description: 'Interface not found: qq',
    });
    expect((await call('DELETE', `/labs/${id}`)).status).toBe(204);
  });

  it('answers 502 (HTML, like the nginx front) while the controller is down', async () => {
    sim.setControllerUp(false);
    try {
      const res = await call('GET', '/system_information', { auth: false });
      expect(res.status).toBe(502);
      expect(res.contentType).toContain('text/html');
      expect((await call('GET', '/labs')).status).toBe(502);
    } finally {
      sim.setControllerUp(true);
    }
  });

  it('injects faults over the control API, counted down, and lists and clears them', async () => {
    const add = await fetch(`${sim.origin}/_sim/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ method: 'GET', path: '/system_stats$', status: 503, times: 2 }),
    });
    expect(add.status).toBe(201);
    const list = (await (await fetch(`${sim.origin}/_sim/faults`)).json()) as Array<{ remaining: number }>;
    expect(list).toMatchObject([
      { method: 'GET', path: '/system_stats$', status: 503, remaining: 2, hits: 0 },
    ]);
    expect((await call('GET', '/system_stats')).status).toBe(503);
    const second = await call('GET', '/system_stats');
    expect(second.status).toBe(503);
    expect(json(second.text)).toEqual({ code: 503, description: 'injected fault (HTTP 503)' });
    expect((await call('GET', '/system_stats')).status).toBe(200);

    await fetch(`${sim.origin}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '/licensing$', status: 500, times: 'always' }),
    });
    expect((await call('GET', '/licensing')).status).toBe(500);
    expect((await fetch(`${sim.origin}/_sim/faults`, { method: 'DELETE' })).status).toBe(204);
    expect((await call('GET', '/licensing')).status).toBe(200);

    const invalid = await fetch(`${sim.origin}/_sim/faults`, {
      method: 'POST',
      body: '{"path":"(", "status":500}',
    });
    expect(invalid.status).toBe(400);
  });

  it('a fault `after` the call lets the call take effect and loses its answer', async () => {
    const add = await fetch(`${sim.origin}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({
        method: 'DELETE',
        path: '/licensing/deregistration$',
        status: 503,
        after: true,
      }),
    });
    expect(add.status).toBe(201);
    const list = (await (await fetch(`${sim.origin}/_sim/faults`)).json()) as unknown[];
    expect(list).toMatchObject([
      { path: '/licensing/deregistration$', status: 503, after: true, remaining: 1 },
    ]);
    expect(json((await call('GET', '/licensing')).text)).toMatchObject({
      registration: { status: 'COMPLETED' },
    });
    expect((await call('DELETE', '/licensing/deregistration')).status).toBe(503);
    // Deregistered although the caller saw a failure.
    expect(json((await call('GET', '/licensing')).text)).toMatchObject({
      registration: { status: 'NOT_REGISTERED' },
    });
    expect(
      (
        await call('POST', '/licensing/registration', {
          body: JSON.stringify({ token: 't', reregister: false }),
        })
      ).status,
    ).toBe(204);
    const invalid = await fetch(`${sim.origin}/_sim/faults`, {
      method: 'POST',
      body: JSON.stringify({ path: '/labs$', after: true, delayMs: 5 }),
    });
    expect(invalid.status).toBe(400);
  });

  it('invalidates tokens over the control API', async () => {
    expect((await fetch(`${sim.origin}/_sim/tokens/invalidate`, { method: 'POST' })).status).toBe(204);
    expect((await call('GET', '/labs')).status).toBe(401);
    const res = await fetch(`${sim.url}/authenticate`, {
      method: 'POST',
      body: JSON.stringify({ username: 'admin', password: 'pw' }),
    });
    token = (await res.json()) as string;
    expect((await call('GET', '/labs')).status).toBe(200);
  });
});
