import type { LabletDefinition, LabletSession, PortTemplateEntry, Worker } from '../../kernel/index.ts';
import type { LdsDevice, LdsProtocol } from '../../platform/index.ts';
import { nowOf } from '../../platform/index.ts';
import { loginDeadlineMs } from '../rules/no-show.ts';
import { advance, assertNotTerminated, type SessionStepDeps, secondsUntil, WORKFLOW_ACTOR } from './deps.ts';
import { integrationFailure, WORKFLOW_ERRORS, WorkflowTaskError } from './errors.ts';
import { SessionStepInput } from './instantiate.ts';

export interface ProvisionLdsOutput {
  ldsSessionId: string;
  /** Seconds until the timeslot ends: the LOGIN wait's timeout. */
  loginTimeoutSeconds: number;
}

const TCP_PROTOCOLS: Readonly<Record<number, LdsProtocol>> = {
  22: 'ssh',
  23: 'telnet',
  80: 'http',
  443: 'https',
  3389: 'rdp',
};

/** How the learner reaches a port of this kind (serial consoles are telnet on PATty). */
export function protocolOf(entry: Pick<PortTemplateEntry, 'kind' | 'insidePort'>): LdsProtocol {
  switch (entry.kind) {
    case 'serial':
      return 'telnet';
    case 'vnc':
      return 'vnc';
    case 'udp':
      return 'udp';
    default:
      return (entry.insidePort !== undefined ? TCP_PROTOCOLS[entry.insidePort] : undefined) ?? 'tcp';
  }
}

/**
 * The devices LDS shows: one per node that has a port (issue 11, item 2), at the worker's IP. Its
 * `ports` are every port of the node (the leased port, protocol and port name); `port` and
 * `protocol` are its main one: the port a definition device names (`portName`), else the node's
 * serial console, else its first port. A definition device naming a port of the node gives the
 * display name and the credentials (the first that has them); without one the node's label names it.
 */
export function ldsDevices(
  session: Pick<LabletSession, 'id' | 'portTemplate' | 'allocatedPorts'>,
  worker: Pick<Worker, 'id' | 'ipAddress'>,
  definition: Pick<LabletDefinition, 'devices'>,
): LdsDevice[] {
  if (!worker.ipAddress) throw new Error(`worker ${worker.id} has no IP address`);
  // Ports by node, in the template's order (labels need not be unique: a derived entry has its node id).
  const nodes = new Map<string, PortTemplateEntry[]>();
  for (const entry of session.portTemplate) {
    const key = entry.nodeId !== undefined ? `id:${entry.nodeId}` : `label:${entry.nodeLabel}`;
    nodes.set(key, [...(nodes.get(key) ?? []), entry]);
  }
  return [...nodes.values()].map((entries) => {
    const ports = entries.map((entry) => {
      const port = session.allocatedPorts?.[entry.name];
      if (port === undefined)
        throw new Error(`session ${session.id} has no port allocated for ${entry.name}`);
      const device = definition.devices.find((d) => d.portName === entry.name);
      return { entry, port, device, protocol: device?.protocol ?? protocolOf(entry) };
    });
    const named = ports.filter((p) => p.device !== undefined);
    const main = named[0] ?? ports.find((p) => p.entry.kind === 'serial') ?? ports[0]!;
    const credentials = named.find(
      (p) => p.device?.username !== undefined || p.device?.password !== undefined,
    )?.device;
    const ordered = [main, ...ports.filter((p) => p !== main)];
    return {
      name: main.device?.name ?? main.entry.nodeLabel,
      host: worker.ipAddress!,
      port: main.port,
      protocol: main.protocol,
      ...(credentials?.username !== undefined ? { username: credentials.username } : {}),
      ...(credentials?.password !== undefined ? { password: credentials.password } : {}),
      ports: ordered.map((p) => ({ name: p.entry.name, port: p.port, protocol: p.protocol })),
    };
  });
}

/**
 * ProvisionLds: the LDS session for the definition's part (`formQualifiedName`) with the devices
 * (worker IP + allocated port + protocol per port template entry), recorded as the UserSession
 * (its id right after creation, so a failure later still lets teardown archive it), then
 * INSTANTIATING → READY with the login URL. The LDS create is idempotent on the session id, and an
 * attempt that finds no recorded UserSession first looks LDS up by the session id (a session an
 * earlier attempt created but never recorded is adopted, not created twice).
 * LDS 5xx/network → `LdsUnavailable` (retried, then reason LDS_UNAVAILABLE); 4xx → `LdsRejected`.
 */
export async function provisionLdsStep(
  deps: SessionStepDeps,
  input: SessionStepInput,
): Promise<ProvisionLdsOutput> {
  const { sessionId } = SessionStepInput.parse(input);
  const { sessions, workers, definitions } = deps.stores;
  const aggregate = await sessions.get(sessionId);
  let session = aggregate.session;
  assertNotTerminated(session);
  if (!session.workerId) throw new Error(`session ${sessionId} has no worker`);
  const [worker, definition] = await Promise.all([
    workers.get(session.workerId),
    definitions.getVersion(session.definitionId, session.definitionVersion),
  ]);
  if (!definition.formQualifiedName) {
    throw new WorkflowTaskError(
      WORKFLOW_ERRORS.ldsRejected,
      `definition ${definition.id} v${definition.version} has no formQualifiedName (LDS part)`,
    );
  }
  const devices = ldsDevices(session, worker, definition);
  const lds = async <T>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (e) {
      throw integrationFailure(e, WORKFLOW_ERRORS.ldsUnavailable, WORKFLOW_ERRORS.ldsRejected, `LDS ${what}`);
    }
  };

  const now = () => nowOf(deps).toISOString();
  let userSession = aggregate.userSession;
  if (!userSession) {
    // An earlier attempt may have created it and failed before recording it (its answer lost,
    // or the save failed): look it up by LCM's session id before creating another.
    const found = (await lds('findSessions', () => deps.lds.findSessions(session.id))).find(
      (s) => s.state !== 'ARCHIVED',
    );
    const created =
      found ??
      (await lds('createSession', () =>
        deps.lds.createSession({
          partId: definition.formQualifiedName!,
          externalSessionId: session.id,
          user: { id: session.owner.userId, username: session.owner.username, email: session.owner.email },
          timeslot: session.timeslot,
        }),
      ));
    userSession = await sessions.putUserSession(session.id, {
      ldsSessionId: created.id,
      status: 'PROVISIONED',
      createdAt: now(),
      updatedAt: now(),
    });
  }
  const ldsSessionId = userSession.ldsSessionId;
  await lds('setDevices', () => deps.lds.setDevices(ldsSessionId, devices));
  const info = await lds('getSession', () => deps.lds.getSession(ldsSessionId));
  if (!info.loginUrl) {
    throw new WorkflowTaskError(
      WORKFLOW_ERRORS.ldsUnavailable,
      `LDS session ${ldsSessionId} has no login URL yet`,
    );
  }
  if (userSession.loginUrl !== info.loginUrl) {
    userSession = await sessions.putUserSession(session.id, {
      ...userSession,
      loginUrl: info.loginUrl,
      updatedAt: now(),
    });
  }
  session = await advance(
    deps,
    session,
    'INSTANTIATING',
    'READY',
    WORKFLOW_ACTOR,
    `lab ${session.cmlLabId ?? '?'} booted; LDS session ${ldsSessionId} provisioned with ${devices.length} devices`,
  );
  // AwaitLogin times out at the login deadline (rules/no-show.ts): then NO_SHOW, capacity released.
  const deadline = new Date(loginDeadlineMs(session.timeslot, deps.config)).toISOString();
  return { ldsSessionId, loginTimeoutSeconds: secondsUntil(deadline, nowOf(deps)) };
}
