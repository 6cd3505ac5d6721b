import { readFileSync } from 'node:fs';
import { type LocalStack, startLocalStack } from '@lcm/sandbox/local-stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { largeLabYaml } from '../fixtures/topologies/large-lab.ts';

/**
 * Issue 11 (items 2–4) end to end on the local stack, in process: realistic labs modelled on CML
 * community topologies, with no PATty tags on most nodes, are defined through the API (derived
 * consoles, requirements, warnings), booked as the portal books, and reach READY with one LDS
 * device per node that has a console, carrying all of the node's ports; the generated 302-node lab is stored, and its
 * booking refused at once naming the failing dimensions. A definition without formQualifiedName
 * is refused at booking (`npm start` sets LCM_BOOKING_REQUIRE_DELIVERABLE).
 */

const READY_TIMEOUT_MS = 90_000;

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/topologies/${name}`, import.meta.url), 'utf8');

interface Json {
  [key: string]: unknown;
}

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, inMemory: true, log: () => {} });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

async function api(role: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${stack.tokens[role]}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

async function define(id: string, topologyYaml: string, over: Json = {}) {
  const res = await api('admin', 'POST', '/v1/definitions', {
    id,
    name: id,
    topologyYaml,
    formQualifiedName: `community.${id}.v1`,
    maxDurationMinutes: 120,
    ...over,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body;
}

function book(definitionId: string) {
  const now = Date.now();
  return api('portal', 'POST', '/v1/sessions', {
    definitionId,
    reservationId: `res-${definitionId}-${now}`,
    owner: { userId: 'u-1', username: 'learner', email: 'learner@example.com' },
    timeslot: { start: new Date(now).toISOString(), end: new Date(now + 20 * 60_000).toISOString() },
  });
}

async function untilReady(sessionId: string): Promise<Json> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let last: Json = {};
  while (Date.now() < deadline) {
    last = (await api('portal', 'GET', `/v1/sessions/${sessionId}`)).body;
    if (last.status === 'READY') return last;
    if (last.status === 'FAILED' || last.status === 'TERMINATED') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`session ${sessionId} did not reach READY: ${JSON.stringify(last)}`);
}

describe('real CML content on the local stack', () => {
  it('small labs reach READY with one LDS device per console-bearing node, carrying its ports; the scale lab is refused at booking', async () => {
    // The 14-node multi-vendor lab and the 8-node IOL practice lab.
    const labs = [
      { id: 'multivendor-edge', yaml: fixture('multivendor-edge.yaml'), consoleNodes: 12, ports: 16 },
      { id: 'ospf-practice-iol', yaml: fixture('ospf-practice-iol.yaml'), consoleNodes: 8, ports: 8 },
    ];
    const definitions = new Map<string, Json>();
    for (const lab of labs) definitions.set(lab.id, await define(lab.id, lab.yaml));

    const edge = definitions.get('multivendor-edge')!;
    expect(edge.resourceRequirements).toEqual({ cpuCores: 16, memoryGb: 38.5, storageGb: 49, nodeCount: 12 });
    expect((edge.warnings as Json[]).map((w) => `${w.code} ${w.node}`)).toEqual([
      'RAM_ABOVE_DEFAULT R2',
      'UNKNOWN_NODE_DEFINITION XR2',
    ]);
    expect((edge.portTemplate as Json[]).filter((e) => e.derived)).toHaveLength(14);

    const booked = await Promise.all(labs.map((lab) => book(lab.id)));
    for (const b of booked) expect(b.status, JSON.stringify(b.body)).toBe(201);
    const ready = await Promise.all(booked.map((b) => untilReady(b.body.id as string)));

    for (const [i, lab] of labs.entries()) {
      const session = ready[i]!;
      const template = definitions.get(lab.id)!.portTemplate as Array<{
        name: string;
        nodeLabel: string;
        nodeId?: string;
        kind: string;
      }>;
      expect(template).toHaveLength(lab.ports);
      const allocated = session.allocatedPorts as Record<string, number>;
      expect(Object.keys(allocated).sort()).toEqual(template.map((e) => e.name).sort());
      const ldsSessionId = (session.userSession as Json).ldsSessionId as string;
      const devices = stack.resources.lds!.session(ldsSessionId)!.devices;
      // One device per console-bearing node (issue 11, item 2), carrying every port of its node:
      // each leased port reaches the learner exactly once, through the device of its own node.
      expect(devices).toHaveLength(lab.consoleNodes);
      const entry = (name: string) => template.find((e) => e.name === name)!;
      const nodeOf = (name: string) => entry(name).nodeId ?? entry(name).nodeLabel;
      expect(devices.flatMap((d) => d.ports!.map((p) => p.name)).sort()).toEqual(
        template.map((e) => e.name).sort(),
      );
      expect(new Set(devices.map((d) => nodeOf(d.ports![0]!.name))).size).toBe(lab.consoleNodes);
      for (const d of devices) {
        expect(new Set(d.ports!.map((p) => nodeOf(p.name))).size).toBe(1);
        expect(d.name).toBe(entry(d.ports![0]!.name).nodeLabel);
        for (const p of d.ports!) expect(p.port).toBe(allocated[p.name]);
        // Its main way in is the first of its ports: the serial console where the node has one.
        expect([d.port, d.protocol]).toEqual([d.ports![0]!.port, d.ports![0]!.protocol]);
        if (d.ports!.some((p) => entry(p.name).kind === 'serial')) expect(d.protocol).toBe('telnet');
        // Serial consoles are telnet, VNC screens vnc.
        for (const p of d.ports!) {
          const kind = entry(p.name).kind;
          if (kind === 'serial') expect(p.protocol).toBe('telnet');
          if (kind === 'vnc') expect(p.protocol).toBe('vnc');
        }
      }
      if (lab.id === 'multivendor-edge') {
        // The desktop and the Ubuntu server: a console and a screen each, one device each.
        expect(
          devices.filter((d) => d.ports!.length === 2).map((d) => d.ports!.map((p) => p.protocol)),
        ).toEqual(expect.arrayContaining([['telnet', 'vnc']]));
      }
    }

    // The 302-node scale lab: stored with its derived ports and requirements, refused at booking.
    const large = await define('scale-302', largeLabYaml());
    expect(large.resourceRequirements).toEqual({
      cpuCores: 390,
      memoryGb: 960,
      storageGb: 1220,
      nodeCount: 290,
    });
    expect(large.portTemplate as Json[]).toHaveLength(320);
    // Its author is told before anyone books it: what no enabled template can hold, field by field.
    expect(
      (large.warnings as Json[]).filter((w) => w.code === 'NO_TEMPLATE_CAN_HOLD').map((w) => w.field),
    ).toEqual([
      'resourceRequirements.cpuCores',
      'resourceRequirements.memoryGb',
      'resourceRequirements.storageGb',
      'resourceRequirements.nodeCount',
    ]);
    const started = Date.now();
    const refused = await book('scale-302');
    expect(refused.status).toBe(422);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((refused.body.errors as Json[]).map((e) => e.path)).toEqual([
      'resourceRequirements.cpuCores',
      'resourceRequirements.memoryGb',
      'resourceRequirements.storageGb',
      'resourceRequirements.nodeCount',
    ]);
    expect(refused.body.detail).toContain('cpuCores 390 > 48 on every template');

    // No LDS part: refused at booking, naming the field, instead of failing at LDS.
    await define('no-lds-part', fixture('ospf-practice-iol.yaml'), { formQualifiedName: undefined });
    const noPart = await book('no-lds-part');
    expect(noPart.status).toBe(422);
    expect(noPart.body.errors).toEqual([
      {
        path: 'formQualifiedName',
        message: 'missing: LDS cannot deliver a session without the part it is created for',
      },
    ]);
  }, 240_000);
});
