import {
  type LdsSimulator,
  ldsAutoOptionsFromEnv,
  SANDBOX_LDS_SOURCE,
  startLdsSimulator,
} from '@lcm/sandbox/simulators/lds';
import {
  CLOUDEVENTS_CONTENT_TYPE,
  INBOUND_EVENT_TYPES,
  type InboundCloudEvent,
  KEY_ID_HEADER,
  parseInboundEvent,
  WEBHOOK_ID_HEADER,
} from '@lcm/shared/events';
import type { IntegrationError } from '@lcm/shared/platform';
import {
  type ApiKeyProvider,
  DEFAULT_LDS_WIRE,
  LdsClient,
  type LdsDevice,
  staticApiKey,
} from '@lcm/shared/platform';
import { HTTP } from 'cloudevents';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  delivered,
  type EventReceiver,
  headerOf,
  type ReceivedEvent,
  rejectionOf,
  startEventReceiver,
} from './support.ts';

const API_KEY = 'lds-test-key';
const SECRET = 'lds-partner-secret-0123456789';
const noSleep = async () => {};

const DEVICES: LdsDevice[] = [
  { name: 'iosv-0', host: '10.0.1.7', port: 2001, protocol: 'telnet' },
  // One device per node (issue 11, item 2): a desktop with its serial console and VNC.
  {
    name: 'desktop-0',
    host: '10.0.1.7',
    port: 2003,
    protocol: 'telnet',
    ports: [
      { name: 'desktop-0_serial', port: 2003, protocol: 'telnet' },
      { name: 'desktop-0_vnc', port: 2004, protocol: 'vnc' },
    ],
  },
  { name: 'PC', host: '10.0.1.7', port: 2002, protocol: 'ssh', username: 'cisco', password: 'device-pass' },
];

const input = (lcmSessionId: string) => ({
  partId: 'CCNA-ENCOR-LAB-01',
  externalSessionId: lcmSessionId,
  user: { id: 'u-1', username: 'learner', email: 'learner@example.com' },
  timeslot: { start: '2026-11-22T10:00:00Z', end: '2026-11-22T12:00:00Z' },
});

/** Checks a received event the way LCM's ingest will: signature over the raw body, then schema. */
function verified(ev: ReceivedEvent, secrets = [SECRET]): InboundCloudEvent {
  expect(headerOf(ev.headers, 'content-type')).toBe(CLOUDEVENTS_CONTENT_TYPE);
  const check = delivered(ev, secrets);
  expect(check).toMatchObject({ ok: true, secretIndex: 0 });
  const parsed = parseInboundEvent(ev.body);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  // The CloudEvents SDK reads it as a structured-mode event, too.
  const sdk = HTTP.toEvent({ headers: ev.headers as Record<string, string>, body: ev.raw });
  expect(Array.isArray(sdk) ? sdk[0]?.type : sdk.type).toBe(parsed.event.type);
  return parsed.event;
}

describe('LdsClient against the LDS simulator', () => {
  let sim: LdsSimulator;
  let lds: LdsClient;

  beforeAll(async () => {
    sim = await startLdsSimulator({ apiKey: API_KEY });
    lds = new LdsClient({ baseUrl: sim.url, apiKey: staticApiKey(API_KEY), sleep: noSleep });
  });
  afterEach(() => sim.clearFaults());
  afterAll(() => sim.stop());

  it('creates a session with a part, sets devices, reads the login URL and archives', async () => {
    const { id } = await lds.createSession(input('s-1'));
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    await lds.setDevices(id, DEVICES);
    const info = await lds.getSession(id);
    expect(info).toEqual({
      id,
      state: 'PROVISIONED',
      loginUrl: `http://127.0.0.1:${sim.port}/login/${id}`,
      externalSessionId: 's-1',
    });
    const stored = sim.session(id)!;
    expect(stored).toMatchObject({
      partId: 'CCNA-ENCOR-LAB-01',
      externalSessionId: 's-1',
      user: { id: 'u-1', username: 'learner', email: 'learner@example.com' },
      timeslot: { start: '2026-11-22T10:00:00Z', end: '2026-11-22T12:00:00Z' },
    });
    expect(stored.devices).toEqual(DEVICES);

    expect(await lds.archiveSession(id)).toEqual({ archived: true });
    expect((await lds.getSession(id)).state).toBe('ARCHIVED');
    // idempotent
    expect(await lds.archiveSession(id)).toEqual({ archived: true });
    // a session LDS no longer knows counts as gone, not as a failure
    expect(await lds.archiveSession('unknown-session')).toEqual({ archived: false });
  });

  it('create is idempotent on the external session id, so it is retried on 5xx', async () => {
    sim.injectFault({ method: 'POST', path: '^/api/v1/sessions$', status: 503, times: 2 });
    const before = sim.sessions().length;
    const first = await lds.createSession(input('s-idem'));
    const again = await lds.createSession(input('s-idem'));
    expect(again.id).toBe(first.id);
    expect(sim.sessions().length - before).toBe(1);
    expect(
      sim
        .requests()
        .filter((r) => r.path === '/api/v1/sessions')
        .slice(-4)
        .map((r) => r.status),
    ).toEqual([503, 503, 201, 200]);
  });

  it('finds the sessions of an LCM session id (archived included); a create whose answer was lost is found', async () => {
    expect(await lds.findSessions('s-find')).toEqual([]);
    // LDS creates it, the answer is lost (every retry of the keyed create too).
    sim.injectFault({
      method: 'POST',
      path: '^/api/v1/sessions$',
      status: 503,
      after: true,
      times: 'always',
    });
    const lost = (await rejectionOf(lds.createSession(input('s-find')))) as IntegrationError;
    expect(lost).toMatchObject({ status: 503, retryable: true });
    sim.clearFaults();
    const [found, ...more] = await lds.findSessions('s-find');
    expect(more).toEqual([]);
    expect(found).toMatchObject({ state: 'PROVISIONED', externalSessionId: 's-find' });
    expect(sim.sessions().filter((x) => x.externalSessionId === 's-find')).toHaveLength(1);
    await lds.archiveSession(found!.id);
    expect(await lds.findSessions('s-find')).toEqual([{ ...found, state: 'ARCHIVED' }]);
    expect(await lds.findSessions('s-other')).toEqual([]);
    const lookup = sim.requests().filter((r) => r.method === 'GET' && r.path === '/api/v1/sessions');
    expect(lookup.at(-1)?.status).toBe(200);
    // An LDS without the look-up finds nothing (the create's idempotency is then all there is).
    for (const status of [404, 405, 501]) {
      sim.injectFault({ method: 'GET', path: '^/api/v1/sessions$', status });
      expect(await lds.findSessions('s-find')).toEqual([]);
    }
    sim.injectFault({ method: 'GET', path: '^/api/v1/sessions$', status: 400 });
    expect(await rejectionOf(lds.findSessions('s-find'))).toMatchObject({ status: 400 });
  });

  it('maps LDS errors to typed errors (400 invalid device, 404 unknown session, no 4xx retry)', async () => {
    const { id } = await lds.createSession(input('s-err'));
    const bad = (await rejectionOf(
      lds.setDevices(id, [{ name: 'x', host: 'h', port: 0, protocol: 'ssh' }]),
    )) as IntegrationError;
    expect(bad).toMatchObject({ service: 'lds', operation: 'setDevices', code: 'BAD_REQUEST', status: 400 });
    expect(bad.body?.description).toBe('devices[0].port must be a TCP/UDP port');
    const badPorts = (await rejectionOf(
      lds.setDevices(id, [
        {
          name: 'x',
          host: 'h',
          port: 2001,
          protocol: 'telnet',
          ports: [{ name: 'x_vnc', port: 2002, protocol: 'vnc' }],
        },
      ]),
    )) as IntegrationError;
    expect(badPorts.body?.description).toBe("devices[0].ports[0] must be the device's own port and protocol");
    const missing = (await rejectionOf(lds.getSession('nope'))) as IntegrationError;
    expect(missing).toMatchObject({
      code: 'NOT_FOUND',
      attempts: 1,
      body: { code: 404, description: 'Session not found: nope' },
    });
  });

  it('retries a GET through two 503s', async () => {
    const { id } = await lds.createSession(input('s-retry'));
    sim.injectFault({ method: 'GET', path: `/api/v1/sessions/${id}$`, status: 503, times: 2 });
    expect((await lds.getSession(id)).id).toBe(id);
  });

  it('re-reads a rotated API key once after a 401; a wrong key is UNAUTHORIZED', async () => {
    const asked: boolean[] = [];
    const rotating: ApiKeyProvider = {
      getApiKey: async (o = {}) => {
        asked.push(o.forceRefresh ?? false);
        return o.forceRefresh ? API_KEY : 'old-key';
      },
    };
    const c = new LdsClient({ baseUrl: sim.url, apiKey: rotating, sleep: noSleep });
    expect((await c.createSession(input('s-rot'))).id).toBeTruthy();
    expect(asked).toEqual([false, true]);

    const wrong = new LdsClient({ baseUrl: sim.url, apiKey: staticApiKey('wrong-key-xyz'), sleep: noSleep });
    const err = (await rejectionOf(wrong.getSession('x'))) as IntegrationError;
    expect(err).toMatchObject({ code: 'UNAUTHORIZED', status: 401 });
    expect(JSON.stringify(err) + err.message).not.toContain('wrong-key-xyz');
  });

  it('reports a malformed reply as INVALID_RESPONSE', async () => {
    sim.injectFault({ method: 'GET', path: '/api/v1/sessions/', status: 200, body: { id: 'x' } });
    const err = (await rejectionOf(lds.getSession('x'))) as IntegrationError;
    expect(err).toMatchObject({ code: 'INVALID_RESPONSE', operation: 'getSession' });
    expect(err.message).toContain('state');
  });

  it('the default wire format is the documented contract', () => {
    expect(DEFAULT_LDS_WIRE.paths.createSession).toBe('/api/v1/sessions');
    expect(DEFAULT_LDS_WIRE.paths.findSessions.path).toBe('/api/v1/sessions');
    expect(DEFAULT_LDS_WIRE.paths.findSessions.query('s/1')).toEqual({ externalSessionId: 's/1' });
    expect(DEFAULT_LDS_WIRE.paths.devices('a/b')).toBe('/api/v1/sessions/a%2Fb/devices');
    expect(DEFAULT_LDS_WIRE.paths.archive('a')).toBe('/api/v1/sessions/a/archive');
    expect(
      DEFAULT_LDS_WIRE.encodeCreateSession({ partId: 'p', externalSessionId: 's', user: { id: 'u' } }),
    ).toEqual({
      partId: 'p',
      externalSessionId: 's',
      user: { id: 'u' },
    });
    expect(DEFAULT_LDS_WIRE.encodeDevices([DEVICES[1]!])).toEqual([
      {
        name: 'desktop-0',
        host: '10.0.1.7',
        port: 2003,
        protocol: 'telnet',
        ports: [
          { name: 'desktop-0_serial', port: 2003, protocol: 'telnet' },
          { name: 'desktop-0_vnc', port: 2004, protocol: 'vnc' },
        ],
      },
    ]);
    expect(DEFAULT_LDS_WIRE.encodeDevices([DEVICES[2]!])).toEqual([
      {
        name: 'PC',
        host: '10.0.1.7',
        port: 2002,
        protocol: 'ssh',
        username: 'cisco',
        password: 'device-pass',
      },
    ]);
  });
});

describe('LDS simulator events', () => {
  let receiver: EventReceiver;
  beforeAll(async () => {
    receiver = await startEventReceiver();
  });
  afterEach(() => {
    receiver.received.length = 0;
  });
  afterAll(() => receiver.close());

  it('auto login and auto end send signed running and ended CloudEvents', async () => {
    const sim = await startLdsSimulator({
      apiKey: API_KEY,
      eventsUrl: receiver.url,
      eventSecret: SECRET,
      eventKeyId: 'k-2026',
      autoLoginSeconds: 0.05,
      autoEndSeconds: 0.05,
    });
    try {
      const lds = new LdsClient({ baseUrl: sim.url, apiKey: staticApiKey(API_KEY) });
      const { id } = await lds.createSession(input('s-auto'));
      await new Promise((r) => setTimeout(r, 80));
      // The login clock starts when the devices are set, not at create.
      expect(receiver.received).toHaveLength(0);
      await lds.setDevices(id, DEVICES);
      const [running, ended] = await receiver.waitFor(2);
      const r = verified(running!);
      expect(r).toMatchObject({
        specversion: '1.0',
        type: INBOUND_EVENT_TYPES.ldsSessionRunning,
        source: SANDBOX_LDS_SOURCE,
        subject: id,
        data: { ldsSessionId: id, lcmSessionId: 's-auto', at: expect.any(String) },
      });
      // Standard Webhooks: the message id is the event id (no key id: every active secret is tried).
      expect(headerOf(running!.headers, WEBHOOK_ID_HEADER)).toBe(r.id);
      expect(headerOf(running!.headers, KEY_ID_HEADER)).toBeUndefined();
      const e = verified(ended!);
      expect(e.type).toBe(INBOUND_EVENT_TYPES.ldsSessionEnded);
      expect(e.id).not.toBe(r.id);
      expect((await lds.getSession(id)).state).toBe('ENDED');
      await sim.idle();
      expect(sim.deliveries().map((d) => [d.type, d.ok, d.attempts])).toEqual([
        [INBOUND_EVENT_TYPES.ldsSessionRunning, true, 1],
        [INBOUND_EVENT_TYPES.ldsSessionEnded, true, 1],
      ]);
    } finally {
      await sim.stop();
    }
  });

  it('opening the login URL logs the learner in; pause and user-finished follow; a bad secret fails verification', async () => {
    const sim = await startLdsSimulator({ apiKey: API_KEY, eventsUrl: receiver.url, eventSecret: SECRET });
    try {
      const lds = new LdsClient({ baseUrl: sim.url, apiKey: staticApiKey(API_KEY) });
      const { id } = await lds.createSession(input('s-login'));
      await lds.setDevices(id, DEVICES);
      const page = await fetch((await lds.getSession(id)).loginUrl!);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('CCNA-ENCOR-LAB-01');
      await receiver.waitFor(1);
      expect((await lds.getSession(id)).state).toBe('RUNNING');
      await sim.pause(id);
      await sim.userFinish(id);
      const events = await receiver.waitFor(3);
      expect(events.map((ev) => verified(ev).type)).toEqual([
        INBOUND_EVENT_TYPES.ldsSessionRunning,
        INBOUND_EVENT_TYPES.ldsSessionPaused,
        INBOUND_EVENT_TYPES.ldsSessionUserFinished,
      ]);
      // Verified against other secrets only: rejected.
      expect(delivered(events[0]!, ['another-secret-abcdef'])).toEqual({
        ok: false,
        reason: 'MISMATCH',
      });
      // No event for a transition that cannot happen (finished session cannot log in again).
      expect(await sim.login(id)).toBeUndefined();
    } finally {
      await sim.stop();
    }
  });

  it('retries an event delivery the receiver answered with 5xx', async () => {
    const sim = await startLdsSimulator({
      apiKey: API_KEY,
      eventsUrl: receiver.url,
      eventSecret: SECRET,
      eventRetryDelayMs: 10,
    });
    try {
      const lds = new LdsClient({ baseUrl: sim.url, apiKey: staticApiKey(API_KEY) });
      const { id } = await lds.createSession(input('s-redeliver'));
      receiver.queueStatuses(503);
      const delivery = await sim.login(id);
      expect(delivery).toMatchObject({ ok: true, status: 202, attempts: 2 });
      expect(receiver.received).toHaveLength(1);
      verified(receiver.received[0]!);
    } finally {
      await sim.stop();
    }
  });

  it('stop() cancels pending auto events', async () => {
    const sim = await startLdsSimulator({
      apiKey: API_KEY,
      eventsUrl: receiver.url,
      eventSecret: SECRET,
      autoLoginSeconds: 0.3,
    });
    const lds = new LdsClient({ baseUrl: sim.url, apiKey: staticApiKey(API_KEY) });
    const { id } = await lds.createSession(input('s-cancel'));
    await lds.setDevices(id, DEVICES);
    await sim.stop();
    await new Promise((r) => setTimeout(r, 400));
    expect(receiver.received).toHaveLength(0);
  });
});

describe('ldsAutoOptionsFromEnv', () => {
  it('reads the local-stack variables; unset means never', () => {
    expect(ldsAutoOptionsFromEnv({})).toEqual({});
    expect(
      ldsAutoOptionsFromEnv({ LCM_SANDBOX_LDS_AUTOLOGIN_SECONDS: '5', LCM_SANDBOX_LDS_AUTOEND_SECONDS: '' }),
    ).toEqual({ autoLoginSeconds: 5 });
    expect(() => ldsAutoOptionsFromEnv({ LCM_SANDBOX_LDS_AUTOEND_SECONDS: 'soon' })).toThrow(/seconds/);
  });
});
