import { MAX_AVAILABILITY_SLOTS } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import type { components } from '../../packages/console/src/api/schema.gen.ts';
import {
  availabilityRanges,
  cellColour,
  hasAvailabilityRoute,
  heatMap,
  MAX_SLOTS_PER_REQUEST,
  slotsOf,
} from '../../packages/console/src/lib/availability.ts';
import { parseConfig } from '../../packages/console/src/lib/config.ts';
import {
  applyObservedPreview,
  diffDefinitions,
  learnerSettings,
  summariseTopology,
  warningsOf,
} from '../../packages/console/src/lib/definitions.ts';
import { capacityBars, formatDuration, lastBootSeconds } from '../../packages/console/src/lib/fleet.ts';
import { backoffMs, LiveClient, parseServerMessage } from '../../packages/console/src/lib/live.ts';
import { callerOf, can, visiblePages } from '../../packages/console/src/lib/permissions.ts';
import { fieldErrors, ProblemError, problemOf, toProblem } from '../../packages/console/src/lib/problem.ts';
import { extensions, sessionQuery, timeline } from '../../packages/console/src/lib/sessions.ts';
import { formOf, patchOf } from '../../packages/console/src/lib/templates.ts';
import { scopeOf } from '../../packages/shared/src/api/roles.ts';

type Definition = components['schemas']['LabletDefinition'];

/** An unsigned JWT with these claims (the console only reads claims; the API verifies). */
const jwt = (claims: Record<string, unknown>) =>
  `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.sig`;

describe('who may do what (api/roles.ts and api/operations.ts, not a copy)', () => {
  const as = (role: string) => callerOf(jwt({ sub: role, 'cognito:groups': [`lcm.${role}`] }));

  it('an operator sees the fleet actions and the session recovery, but not apply-observed', () => {
    const op = as('operator');
    expect(op.roles).toEqual(['lcm.operator']);
    for (const id of [
      'drainWorker',
      'terminateWorker',
      'terminateSession',
      'releaseSession',
      'updateWorkerTemplate',
    ] as const)
      expect(can(op, id)).toBe(true);
    expect(can(op, 'applyObservedToDefinition')).toBe(false);
    expect(visiblePages(op, false).map((p) => p.id)).toEqual([
      'fleet',
      'sessions',
      'definitions',
      'templates',
      'stream-failures',
    ]);
    expect(can(op, 'replayStreamFailure')).toBe(true);
    expect(visiblePages(op, true).map((p) => p.id)).toContain('capacity');
  });

  it('a viewer reads every page and may call no write', () => {
    const viewer = as('viewer');
    expect(visiblePages(viewer, false).map((p) => p.id)).toEqual([
      'fleet',
      'sessions',
      'definitions',
      'templates',
    ]);
    for (const id of [
      'drainWorker',
      'startWorker',
      'terminateSession',
      'finishSession',
      'observeSession',
      'regradeSession',
      'releaseSession',
      'updateWorkerTemplate',
      'applyObservedToDefinition',
      'syncDefinitionContent',
    ] as const)
      expect(can(viewer, id)).toBe(false);
  });

  it('the portal sees sessions and definitions only, and may terminate and finish its sessions', () => {
    const portal = as('portal');
    expect(visiblePages(portal, true).map((p) => p.id)).toEqual(['sessions', 'definitions', 'capacity']);
    expect(can(portal, 'terminateSession')).toBe(true);
    expect(can(portal, 'finishSession')).toBe(true);
    expect(can(portal, 'releaseSession')).toBe(false);
    expect(can(portal, 'listWorkers')).toBe(false);
  });

  it('a machine token gains its role from its scopes; no token may call nothing protected', () => {
    const scopes = [
      'sessions:read',
      'sessions:create',
      'sessions:operate',
      'definitions:read',
      'reservations:read',
    ] as const;
    const machine = callerOf(jwt({ client_id: 'portal-app', scope: scopes.map(scopeOf).join(' ') }));
    expect(machine).toEqual({ roles: ['lcm.portal'], subject: 'portal-app' });
    expect(can(null, 'listWorkers')).toBe(false);
    expect(can(null, 'getHealth')).toBe(true);
  });
});

describe('fleet page logic', () => {
  const cap = (cpuCores: number, memoryGb: number, storageGb: number, maxNodes: number) => ({
    cpuCores,
    memoryGb,
    storageGb,
    maxNodes,
  });

  it('one bar per dimension, allocated over declared, over-allocation flagged', () => {
    const bars = capacityBars(cap(8, 32, 100, 10), cap(4, 40, 0, 10));
    expect(bars.map((b) => [b.key, b.share, b.over])).toEqual([
      ['cpuCores', 0.5, false],
      ['memoryGb', 1, true],
      ['storageGb', 0, false],
      ['maxNodes', 1, false],
    ]);
    expect(capacityBars(cap(0, 0, 0, 0), cap(0, 0, 0, 0)).every((b) => b.share === 0)).toBe(true);
  });

  it('the last boot runs from STARTING to the RUNNING that followed', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const h = (from: string, to: string, s: number) => ({ from, to, at: t(s), by: 'x' }) as never;
    expect(
      lastBootSeconds({
        stateHistory: [
          h('PENDING', 'PROVISIONING', 0),
          h('PROVISIONING', 'STARTING', 10),
          h('STARTING', 'RUNNING', 95),
        ],
      }),
    ).toBe(85);
    // Stopped and started again: the second boot counts.
    expect(
      lastBootSeconds({
        stateHistory: [
          h('PENDING', 'PROVISIONING', 0),
          h('PROVISIONING', 'RUNNING', 30),
          h('RUNNING', 'STOPPED', 40),
          h('STOPPED', 'STARTING', 100),
          h('STARTING', 'RUNNING', 160),
        ],
      }),
    ).toBe(60);
    expect(lastBootSeconds({ stateHistory: [h('PENDING', 'PROVISIONING', 0)] })).toBeNull();
    expect(formatDuration(85)).toBe('1 min 25 s');
  });
});

const definition = (over: Partial<Definition>): Definition =>
  ({
    id: 'ccna',
    version: 1,
    name: 'CCNA',
    status: 'ACTIVE',
    resourceRequirements: { cpuCores: 2, memoryGb: 4, storageGb: 10, nodeCount: 2 },
    portTemplate: [{ name: 'r1-serial', nodeLabel: 'r1', kind: 'serial' }],
    devices: [],
    maxDurationMinutes: 60,
    topologyYaml: 'x',
    createdAt: '2026-01-01T00:00:00Z',
    createdBy: 'admin',
    ...over,
  }) as Definition;

describe('definitions page logic', () => {
  it('diffs requirements, ports, topology, settings and warnings between two versions', () => {
    const a = definition({});
    const b = definition({
      version: 2,
      resourceRequirements: { cpuCores: 4, memoryGb: 4, storageGb: 10, nodeCount: 2 },
      portTemplate: [
        { name: 'r1-serial', nodeLabel: 'r1', kind: 'serial' },
        { name: 'web', nodeLabel: 'srv', kind: 'tcp', insidePort: 443 },
      ],
      maxDurationMinutes: 90,
      status: 'DEPRECATED',
    });
    const topo = {
      a: { nodes: [{ label: 'r1', nodeDefinition: 'iosv', tags: [] }], links: 0 },
      b: {
        nodes: [
          { label: 'r1', nodeDefinition: 'iosv', tags: [] },
          { label: 'srv', nodeDefinition: 'ubuntu', tags: [] },
        ],
        links: 1,
      },
    };
    expect(diffDefinitions(a, b, topo)).toEqual([
      { section: 'requirements', field: 'cpuCores', a: '2', b: '4' },
      { section: 'ports', field: 'srv/web', a: '—', b: 'tcp:443' },
      { section: 'topology', field: 'nodes', a: '1', b: '2' },
      { section: 'topology', field: 'links', a: '0', b: '1' },
      { section: 'topology', field: 'node definitions', a: 'r1:iosv', b: 'r1:iosv, srv:ubuntu' },
      { section: 'settings', field: 'maxDurationMinutes', a: '60', b: '90' },
      { section: 'settings', field: 'status', a: 'ACTIVE', b: 'DEPRECATED' },
      { section: 'warnings', field: 'warnings', a: '—', b: 'status DEPRECATED' },
    ]);
    expect(diffDefinitions(a, a)).toEqual([]);
    expect(
      warningsOf(definition({ portTemplate: [], sync: { status: 'FAILED', diagnostic: 'bad zip' } })),
    ).toEqual(['no console ports', 'content sync failed: bad zip']);
  });

  it("shows a definition's learner settings (issue 15), and diffs them between versions", () => {
    const plain = definition({ maxExtensionMinutes: 0, warmPoolDepth: 0 });
    expect(learnerSettings(plain)).toEqual([
      { label: 'Time extension', value: 'off' },
      { label: 'Idle auto-finish', value: 'off' },
      { label: 'Hot-start pool', value: 'off' },
    ]);
    const generous = definition({
      version: 2,
      maxExtensionMinutes: 30,
      warmPoolDepth: 1,
      idlePolicy: { limitMinutes: 15, graceMinutes: 5 },
    });
    expect(learnerSettings(generous)).toEqual([
      { label: 'Time extension', value: 'up to 30 min in all, within the 60 min longest timeslot' },
      { label: 'Idle auto-finish', value: 'warned after 15 min paused, finished and graded 5 min later' },
      { label: 'Hot-start pool', value: '1 lab kept ready' },
    ]);
    expect(learnerSettings(definition({ warmPoolDepth: 2 }))[2]).toEqual({
      label: 'Hot-start pool',
      value: '2 labs kept ready',
    });
    expect(diffDefinitions(plain, generous)).toEqual([
      { section: 'settings', field: 'maxExtensionMinutes', a: '0', b: '30' },
      { section: 'settings', field: 'warmPoolDepth', a: '0', b: '1' },
      { section: 'settings', field: 'idlePolicy', a: 'off', b: '15 + 5 min' },
    ]);
  });

  it('previews apply-observed: the dimensions max or latest would change', () => {
    const req = (cpuCores: number, memoryGb: number, storageGb: number, nodeCount: number) => ({
      cpuCores,
      memoryGb,
      storageGb,
      nodeCount,
    });
    const obs = {
      definitionId: 'ccna',
      latestVersion: 1,
      current: req(2, 4, 10, 2),
      limit: 20,
      sessionCount: 3,
      versions: [1],
      max: req(3, 4, 12, 2),
      avg: req(2.5, 4, 11, 2),
      latest: req(2, 4, 11, 2),
      driftSessions: 0,
      sessions: [],
    } as components['schemas']['DefinitionObservations'];
    expect(applyObservedPreview(obs, 'max')).toEqual([
      { field: 'cpuCores', before: 2, after: 3 },
      { field: 'storageGb', before: 10, after: 12 },
    ]);
    expect(applyObservedPreview(obs, 'latest')).toEqual([{ field: 'storageGb', before: 10, after: 11 }]);
    expect(applyObservedPreview({ ...obs, sessionCount: 0 }, 'max')).toEqual([]);
  });

  it('summarises a parsed topology', () => {
    expect(
      summariseTopology({
        nodes: [{ id: 'n0', label: 'r1', node_definition: 'iosv', tags: ['serial:7000'] }],
        links: [{ id: 'l0' }],
      }),
    ).toEqual({ nodes: [{ label: 'r1', nodeDefinition: 'iosv', tags: ['serial:7000'] }], links: 1 });
    expect(summariseTopology('text')).toBeNull();
  });
});

describe('sessions page logic', () => {
  it('builds the list query from the filters, leaving blanks out', () => {
    expect(
      sessionQuery(
        { status: 'READY', definitionId: '', workerId: 'w1', startFrom: '2026-12-07T10:00Z' },
        'c1',
      ),
    ).toEqual({
      limit: 25,
      status: 'READY',
      workerId: 'w1',
      startFrom: '2026-12-07T10:00:00.000Z',
      cursor: 'c1',
    });
    expect(sessionQuery({})).toEqual({ limit: 25 });
  });

  it('orders the history into a timeline with the time spent in each status', () => {
    const steps = timeline(
      [
        { from: 'SCHEDULED', to: 'INSTANTIATING', at: '2026-01-01T00:01:00Z', by: 'sfn' },
        { from: 'PENDING', to: 'SCHEDULED', at: '2026-01-01T00:00:00Z', by: 'api' },
      ],
      Date.parse('2026-01-01T00:03:30Z'),
    );
    expect(steps.map((s) => [s.to, s.seconds, s.current])).toEqual([
      ['SCHEDULED', 60, false],
      ['INSTANTIATING', 150, true],
    ]);
  });

  it('finds the time extensions in the history (status kept, the reason the extend operation records), not recoveries', () => {
    const found = extensions([
      {
        from: 'RUNNING',
        to: 'RUNNING',
        at: '2026-01-01T00:20:00Z',
        by: 'lcm.operator',
        reason: 'extended by 10 min to 2026-01-01T01:25:00.000Z (25 min in all): second: still\ncabling',
      },
      { from: 'READY', to: 'RUNNING', at: '2026-01-01T00:05:00Z', by: 'lds' },
      {
        from: 'RUNNING',
        to: 'RUNNING',
        at: '2026-01-01T00:10:00Z',
        by: 'lcm.admin',
        reason: 'extended by 15 min to 2026-01-01T01:15:00.000Z (15 min in all)',
      },
      {
        from: 'RUNNING',
        to: 'RUNNING',
        at: '2026-01-01T00:12:00Z',
        by: 'lcm.admin',
        reason: 'recovered: new execution',
      },
    ]);
    expect(found).toEqual([
      {
        at: '2026-01-01T00:10:00Z',
        by: 'lcm.admin',
        minutes: 15,
        end: '2026-01-01T01:15:00.000Z',
        total: 15,
      },
      {
        at: '2026-01-01T00:20:00Z',
        by: 'lcm.operator',
        minutes: 10,
        end: '2026-01-01T01:25:00.000Z',
        total: 25,
        reason: 'second: still\ncabling',
      },
    ]);
  });
});

describe('templates page logic', () => {
  const template = {
    name: 'small',
    instanceType: 'm5.xlarge',
    capacity: { cpuCores: 4, memoryGb: 16, storageGb: 100, maxNodes: 8 },
    costPerHourUsd: 0.2,
    licenseType: 'PERSONAL',
    createdAt: '',
    updatedAt: '',
    version: 3,
  } as components['schemas']['WorkerTemplate'];

  it('patches only what changed, with the version read; a non-number goes as typed so the API names the field', () => {
    const form = { ...formOf(template), 'capacity.cpuCores': '6', costPerHourUsd: 'abc' };
    expect(patchOf(template, form)).toEqual({
      expectedVersion: 3,
      capacity: { cpuCores: 6, memoryGb: 16, storageGb: 100, maxNodes: 8 },
      costPerHourUsd: 'abc',
    });
    expect(patchOf(template, formOf(template))).toEqual({ expectedVersion: 3 });
  });

  it('maps a problem+json to the fields it names', () => {
    const p = toProblem(400, {
      type: 'about:blank',
      title: 'Bad Request',
      status: 400,
      detail: 'invalid body',
      errors: [{ path: 'costPerHourUsd', message: 'expected number' }],
    });
    expect(fieldErrors(p)).toEqual({ costPerHourUsd: 'expected number' });
    expect(toProblem(401, { message: 'Unauthorized' })).toEqual({ title: 'Unauthorized', status: 401 });
    expect(toProblem(502, 'oops')).toEqual({ title: 'HTTP 502', status: 502 });
    // What a failed call threw, as the pages show it.
    const conflict = toProblem(409, { title: 'Conflict', status: 409 });
    expect(problemOf(new ProblemError(conflict))).toBe(conflict);
    expect(problemOf(new TypeError('Failed to fetch'))).toEqual({
      title: 'TypeError: Failed to fetch',
      status: 0,
    });
  });
});

describe('capacity book logic', () => {
  const slot = (start: string, fits: boolean, additional: number) => ({ start, fits, additional });

  it('lays slots out as days × times of day and colours by what still fits', () => {
    const slots = [
      slot('2026-12-07T09:00:00.000Z', true, 2),
      slot('2026-12-07T10:00:00.000Z', false, 0),
      slot('2026-12-08T09:00:00.000Z', true, 4),
    ];
    const map = heatMap(slotsOf({ slots: [...slots, { start: 1 }] }));
    expect(map.days).toEqual(['2026-12-07', '2026-12-08']);
    expect(map.times).toEqual(['09:00', '10:00']);
    expect(map.cells[1]).toEqual([slots[2], null]);
    expect(map.maxAdditional).toBe(4);
    expect(cellColour(slots[1]!, 4)).toBe('#b91c1c');
    expect(cellColour(slots[2]!, 4)).toBe('hsl(142 60% 30%)');
    expect(cellColour(null, 4)).toBe('#e5e7eb');
  });

  it('asks for a week in parts the API answers (at most its MAX_AVAILABILITY_SLOTS each), covering the week exactly', () => {
    expect(MAX_SLOTS_PER_REQUEST).toBe(MAX_AVAILABILITY_SLOTS);
    const from = Date.parse('2026-12-07T00:00:00.000Z');
    const to = from + 7 * 86_400_000;
    for (const step of [30, 60, 120]) {
      const parts = availabilityRanges(from, to, step);
      expect(parts[0]!.from).toBe('2026-12-07T00:00:00.000Z');
      expect(parts.at(-1)!.to).toBe('2026-12-14T00:00:00.000Z');
      for (const [i, p] of parts.entries()) {
        expect((Date.parse(p.to) - Date.parse(p.from)) / (step * 60_000)).toBeLessThanOrEqual(
          MAX_AVAILABILITY_SLOTS,
        );
        if (i > 0) expect(p.from).toBe(parts[i - 1]!.to);
      }
    }
    expect(availabilityRanges(from, to, 30)).toHaveLength(4); // 336 slots: 96 + 96 + 96 + 48
    expect(availabilityRanges(from, to, 120)).toHaveLength(1); // 84 slots
  });

  it('is shown only when the OpenAPI document has the availability route', () => {
    expect(hasAvailabilityRoute({ paths: { '/v1/availability': {} } })).toBe(true);
    expect(hasAvailabilityRoute({ paths: { '/v1/health': {} } })).toBe(false);
    expect(hasAvailabilityRoute(null)).toBe(false);
  });
});

describe('runtime config', () => {
  it('accepts the agreed shape and names the field it lacks', () => {
    const good = {
      apiUrl: 'http://x/',
      wsUrl: 'ws://x/ws',
      oidc: { authority: 'http://x', clientId: 'c', scope: 'openid' },
    };
    expect(parseConfig(good).apiUrl).toBe('http://x');
    expect(() => parseConfig({ ...good, wsUrl: '' })).toThrow('wsUrl');
    expect(() => parseConfig({ ...good, oidc: { ...good.oidc, clientId: undefined } })).toThrow(
      'oidc.clientId',
    );
  });
});

describe('live updates client', () => {
  class FakeSocket {
    static all: FakeSocket[] = [];
    readyState = 0;
    sent: string[] = [];
    onopen: ((ev: unknown) => void) | null = null;
    onclose: ((ev: unknown) => void) | null = null;
    onerror: ((ev: unknown) => void) | null = null;
    onmessage: ((ev: { data: unknown }) => void) | null = null;
    constructor(readonly url: string) {
      FakeSocket.all.push(this);
    }
    send(d: string) {
      this.sent.push(d);
    }
    close() {
      this.readyState = 3;
      this.onclose?.({});
    }
    open() {
      this.readyState = 1;
      this.onopen?.({});
    }
  }

  it('gives up a socket whose handshake hangs and reconnects; a late close or open of it changes nothing', () => {
    FakeSocket.all = [];
    const { pending, fire, options } = fakeTimers();
    const client = new LiveClient({
      url: 'ws://host/ws',
      token: () => 't',
      createSocket: (u) => new FakeSocket(u),
      ...options,
      openTimeoutMs: 10_000,
      random: () => 1,
    });
    const states: string[] = [];
    client.onState((s) => states.push(s));
    client.subscribe('fleet', () => {});
    client.start();
    const hung = FakeSocket.all[0]!;
    expect(pending().map((t) => t.ms)).toEqual([10_000]);
    fire(pending()[0]!);
    // Closed by the client, and its own close event ignored: one reconnect timer, not two.
    expect(hung.readyState).toBe(3);
    expect(states).toEqual(['connecting', 'closed']);
    expect(pending().map((t) => t.ms)).toEqual([500]);
    hung.open();
    expect(hung.sent).toEqual([]);
    expect(states).toEqual(['connecting', 'closed']);
    fire(pending()[0]!);
    const next = FakeSocket.all[1]!;
    next.open();
    expect(next.sent.map((s) => JSON.parse(s))).toEqual([{ action: 'subscribe', topic: 'fleet' }]);
    // Opened in time: its handshake timer is cleared, nothing left to fire.
    expect(pending()).toEqual([]);
    expect(states).toEqual(['connecting', 'closed', 'connecting', 'open']);
    client.stop();
    expect(FakeSocket.all).toHaveLength(2);
  });

  it('backs off exponentially with jitter, capped', () => {
    expect(backoffMs(0, () => 0)).toBe(250);
    expect(backoffMs(0, () => 1)).toBe(500);
    expect(backoffMs(3, () => 1)).toBe(4000);
    expect(backoffMs(50, () => 1)).toBe(15_000);
  });

  it('parses only the protocol messages', () => {
    expect(parseServerMessage('{"type":"event","topic":"fleet","event":{"type":"x"}}')).toEqual({
      type: 'event',
      topic: 'fleet',
      event: { type: 'x' },
    });
    expect(parseServerMessage('{"type":"subscribed","topic":"fleet"}')?.type).toBe('subscribed');
    expect(parseServerMessage('{"type":"event","topic":"fleet"}')).toBeNull();
    expect(parseServerMessage('not json')).toBeNull();
  });

  it('connects with the token, subscribes, delivers events by topic, reconnects with backoff and re-subscribes', () => {
    FakeSocket.all = [];
    const { timers, pending, fire, options } = fakeTimers();
    const client = new LiveClient({
      url: 'ws://host/ws',
      token: () => 'tok en',
      createSocket: (u) => new FakeSocket(u),
      ...options,
      random: () => 1,
    });
    const got: string[] = [];
    const states: string[] = [];
    client.onState((s) => states.push(s));
    client.subscribe('fleet', (e) => got.push(`fleet:${e.type}`));
    client.start();
    const first = FakeSocket.all[0]!;
    expect(first.url).toBe('ws://host/ws?token=tok%20en');
    first.open();
    const off = client.subscribe('session:s1', (e) => got.push(`s1:${e.type}`));
    expect(first.sent.map((s) => JSON.parse(s))).toEqual([
      { action: 'subscribe', topic: 'fleet' },
      { action: 'subscribe', topic: 'session:s1' },
    ]);
    first.onmessage?.({
      data: JSON.stringify({ type: 'event', topic: 'fleet', event: { type: 'lcm.worker.status-changed' } }),
    });
    first.onmessage?.({
      data: JSON.stringify({ type: 'event', topic: 'sessions', event: { type: 'ignored' } }),
    });
    expect(got).toEqual(['fleet:lcm.worker.status-changed']);

    // The server goes away: one reconnect after the backoff, then the first attempt's delay again once open.
    off();
    first.close();
    // (The handshake timer of the first socket was cleared when it opened.)
    expect(pending().map((t) => t.ms)).toEqual([500]);
    fire(pending()[0]!);
    const second = FakeSocket.all[1]!;
    second.open();
    expect(second.sent.map((s) => JSON.parse(s))).toEqual([{ action: 'subscribe', topic: 'fleet' }]);
    second.close();
    expect(pending().map((t) => t.ms)).toEqual([500]);
    expect(timers.filter((t) => t.ms === 500)).toHaveLength(2);
    expect(states).toEqual(['connecting', 'open', 'closed', 'connecting', 'open', 'closed']);

    // Stopped: no reconnect.
    client.stop();
    expect(FakeSocket.all).toHaveLength(2);
  });
});

/** Timers the test fires by hand: `pending()` are those neither fired nor cleared. */
function fakeTimers() {
  type Timer = { fn: () => void; ms: number; done: boolean };
  const timers: Timer[] = [];
  return {
    timers,
    pending: () => timers.filter((t) => !t.done),
    fire: (t: Timer) => {
      t.done = true;
      t.fn();
    },
    options: {
      setTimer: (fn: () => void, ms: number) => {
        const t = { fn, ms, done: false };
        timers.push(t);
        return t;
      },
      clearTimer: (h: unknown) => {
        (h as Timer).done = true;
      },
    },
  };
}
