import { bearer, loginRoutes, tokenRoutes } from './cml/auth.ts';
import { CONTROLLER_DOWN, simControlRoutes } from './cml/control.ts';
import { labRoutes } from './cml/labs.ts';
import {
  type CmlAuthedCall,
  type CmlLabSnapshot,
  type CmlSimState,
  type CmlSimulatorOptions,
  controllerAnswering,
  createCmlState,
  getLab,
  snapshot,
  snapshotAll,
} from './cml/model.ts';
import { nodeRoutes } from './cml/nodes.ts';
import { cmlError, fail } from './cml/reply.ts';
import { systemInformationRoute, systemRoutes } from './cml/system.ts';
import {
  type FaultSpec,
  type RequestLogEntry,
  type SimReply,
  type SimRequest,
  startSimServer,
} from './common.ts';

/**
 * A CML 2.9 controller speaking the REST contract of shared/reference/cml-api.md, following
 * its "Checklist for a faithful simulator": bearer auth on everything but
 * `system_information`, a bare JSON string from `/authenticate`, id arrays unless `data=true`,
 * `{code, description}` errors with the exact 404 texts, labs imported from YAML whose nodes
 * move DEFINED_ON_CORE → QUEUED → STARTED → BOOTED over a configurable boot time.
 * UNVERIFIED behaviours of the reference are options (start/stop/wipe status, delete of a lab
 * that is not wiped). Failure injection: `injectFault()` or `POST /_sim/faults`.
 *
 * This module wires the parts in `cml/`: the state (model.ts), auth, system and licensing,
 * labs, nodes/interfaces/links, topology import and the `/_sim` control routes.
 */

export type { CmlLabSnapshot, CmlLabStateName, CmlNodeSnapshot, CmlSimulatorOptions } from './cml/model.ts';

export const CML_API_PREFIX = '/api/v0';

export interface CmlSimulator {
  /** Base URL of the API: `http://127.0.0.1:<port>/api/v0`. */
  url: string;
  origin: string;
  port: number;
  stop(): Promise<void>;
  /** Every lab the controller holds (tests assert none is left). */
  labs(): CmlLabSnapshot[];
  lab(labId: string): CmlLabSnapshot | undefined;
  injectFault(spec: FaultSpec): string;
  clearFaults(): void;
  /** Every issued token becomes invalid (next call → 401). */
  invalidateTokens(): void;
  /** Controller up (system_information answers) or down (502 everywhere). */
  setControllerUp(up: boolean): void;
  setReady(ready: boolean): void;
  /** What the next extract_configuration of a node (id or label) returns: the learner's work. */
  setRunningConfig(labId: string, node: string, config: string): void;
  /** Calls answered so far (method, path, status). */
  requests(): RequestLogEntry[];
}

/** The routes that need a bearer token, in the order they are tried (their paths do not overlap). */
const AUTHED_ROUTES: ReadonlyArray<(sim: CmlSimState, call: CmlAuthedCall) => SimReply | undefined> = [
  tokenRoutes,
  systemRoutes,
  labRoutes,
  nodeRoutes,
];

export async function startCmlSimulator(opts: CmlSimulatorOptions = {}): Promise<CmlSimulator> {
  const sim = createCmlState(opts);

  const route = (req: SimRequest): SimReply => {
    const control = simControlRoutes(sim, req);
    if (control) return control;
    if (!req.path.startsWith(`${CML_API_PREFIX}/`)) throw fail(404, 'Not found');
    if (!controllerAnswering(sim)) return CONTROLLER_DOWN;
    const call = { req, path: req.path.slice(CML_API_PREFIX.length), method: req.method };
    const open = systemInformationRoute(sim, call) ?? loginRoutes(sim, call);
    if (open) return open;
    const authed: CmlAuthedCall = { ...call, user: bearer(sim, req) };
    for (const routes of AUTHED_ROUTES) {
      const reply = routes(sim, authed);
      if (reply) return reply;
    }
    throw fail(404, 'Not found');
  };

  const server = await startSimServer({
    host: opts.host,
    port: opts.port,
    errorBody: cmlError,
    handler: route,
  });

  return {
    url: `${server.url}${CML_API_PREFIX}`,
    origin: server.url,
    port: server.port,
    stop: () => server.close(),
    labs: () => snapshotAll(sim),
    lab: (id) => {
      const lab = sim.labs.get(id);
      return lab ? snapshot(sim, lab) : undefined;
    },
    injectFault: server.injectFault,
    clearFaults: server.clearFaults,
    invalidateTokens: () => sim.tokens.clear(),
    setControllerUp: (up) => {
      sim.controllerUp = up;
    },
    setReady: (r) => {
      sim.ready = r;
    },
    setRunningConfig: (labId, nodeRef, config) => {
      const lab = getLab(sim, labId);
      const node = lab.nodes.find((n) => n.id === nodeRef || n.label === nodeRef);
      if (!node) throw new Error(`no node ${nodeRef} in lab ${labId}`);
      node.runningConfig = config;
    },
    requests: server.requests,
  };
}
