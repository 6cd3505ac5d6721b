import { randomUUID } from 'node:crypto';
import type { SimRequest } from '../common.ts';
import { fail } from './reply.ts';

/**
 * The simulated controller's state: its options, the labs it holds (with their nodes,
 * interfaces and links), the tokens it issued and the switches a test flips (controller up,
 * ready, licensed). Node states follow the lab's start time over `labBootMs`:
 * DEFINED_ON_CORE → QUEUED → STARTED → BOOTED.
 */

export interface CmlSimulatorOptions {
  host?: string;
  port?: number;
  /** username → password (default `{admin: 'admin-password'}`). */
  users?: Record<string, string>;
  /** Users allowed `show_all=true` (default: all). */
  admins?: string[];
  version?: string;
  /** `system_information.ready` (default true). */
  ready?: boolean;
  /** The controller answers 502 for this long after start (default 0). */
  controllerBootMs?: number;
  /** From DEFINED_ON_CORE/STOPPED to all nodes BOOTED after start (default 300 ms). */
  labBootMs?: number;
  /** Token lifetime (default 24 h). */
  tokenTtlMs?: number;
  /** Status of successful start/stop/wipe: 204 (default) or 200 with a `null` body. */
  labActionStatus?: 200 | 204;
  /** Deleting a lab that is not wiped: 409 (default) or 400 error, or 'allow'. */
  deleteUnwiped?: 409 | 400 | 'allow';
  /** Node definitions whose configuration cannot be extracted. */
  extractUnsupported?: string[];
  /** Allowed node definitions; absent = any. */
  nodeDefinitions?: string[];
  /** `null` (CML sometimes sends it) instead of `[]` for an import without warnings. */
  nullWarnings?: boolean;
  /** Host capacity reported by system_stats. */
  compute?: { cpus?: number; memoryGb?: number; diskGb?: number };
  licensed?: boolean;
  /** When set, only these tokens register (others 400). */
  validLicenseTokens?: string[];
}

export type CmlLabStateName = 'DEFINED_ON_CORE' | 'STARTED' | 'STOPPED';

export interface SimInterface {
  id: string;
  localId: string;
  label: string;
  slot: number | null;
  type: string;
  mac: string;
}

export interface SimNode {
  id: string;
  localId: string;
  label: string;
  nodeDefinition: string;
  x: number;
  y: number;
  tags: string[];
  configuration: Array<{ name: string; content: string }> | null;
  runningConfig: string;
  ram: number | null;
  cpus: number | null;
  cpuLimit: number | null;
  bootDiskSize: number | null;
  dataVolume: number | null;
  imageDefinition: string | null;
  interfaces: SimInterface[];
}

export interface SimLink {
  id: string;
  localId: string;
  n1: string;
  i1: string;
  n2: string;
  i2: string;
}

export interface SimLab {
  id: string;
  title: string;
  description: string;
  notes: string;
  owner: string;
  created: string;
  modified: string;
  state: CmlLabStateName;
  startedAt: number | undefined;
  nodes: SimNode[];
  links: SimLink[];
  yaml: string;
}

export interface CmlNodeSnapshot {
  id: string;
  label: string;
  nodeDefinition: string;
  state: string;
  tags: string[];
  configuration: Array<{ name: string; content: string }> | null;
}

export interface CmlLabSnapshot {
  id: string;
  title: string;
  owner: string;
  state: CmlLabStateName;
  nodes: CmlNodeSnapshot[];
  linkCount: number;
}

/** Node definitions that run no VM (no compute, no addresses, no stats). */
export const NO_VM: ReadonlySet<string> = new Set(['external_connector', 'unmanaged_switch']);
const DEFAULT_EXTRACT_UNSUPPORTED = ['external_connector', 'unmanaged_switch'];

export interface CmlSimState {
  readonly opts: CmlSimulatorOptions;
  readonly users: Record<string, string>;
  readonly admins: ReadonlySet<string>;
  readonly labBootMs: number;
  readonly tokenTtlMs: number;
  readonly extractUnsupported: ReadonlySet<string>;
  readonly allowedDefinitions: ReadonlySet<string> | undefined;
  readonly compute: { cpus: number; memoryGb: number; diskGb: number };
  readonly computeId: string;
  /** When the simulator started (the controller answers `controllerBootMs` after it). */
  readonly started: number;
  controllerUp: boolean;
  ready: boolean;
  licensed: boolean;
  macCounter: number;
  readonly tokens: Map<string, { username: string; expiresAt: number }>;
  readonly labs: Map<string, SimLab>;
}

export function createCmlState(opts: CmlSimulatorOptions): CmlSimState {
  const users = opts.users ?? { admin: 'admin-password' };
  return {
    opts,
    users,
    admins: new Set(opts.admins ?? Object.keys(users)),
    labBootMs: opts.labBootMs ?? 300,
    tokenTtlMs: opts.tokenTtlMs ?? 24 * 3_600_000,
    extractUnsupported: new Set(opts.extractUnsupported ?? DEFAULT_EXTRACT_UNSUPPORTED),
    allowedDefinitions: opts.nodeDefinitions ? new Set(opts.nodeDefinitions) : undefined,
    compute: { cpus: 32, memoryGb: 128, diskGb: 500, ...opts.compute },
    computeId: randomUUID(),
    started: Date.now(),
    controllerUp: true,
    ready: opts.ready ?? true,
    licensed: opts.licensed ?? true,
    macCounter: 0,
    tokens: new Map(),
    labs: new Map(),
  };
}

/** The API, not only `system_information`, answers (else 502 everywhere). */
export const controllerAnswering = (sim: CmlSimState): boolean =>
  sim.controllerUp && Date.now() - sim.started >= (sim.opts.controllerBootMs ?? 0);

// --- node state over time ----------------------------------------------------------------------

export function nodeState(sim: CmlSimState, lab: SimLab, node: SimNode): { state: string; progress: string } {
  if (lab.state === 'DEFINED_ON_CORE') return { state: 'DEFINED_ON_CORE', progress: 'Not running' };
  if (lab.state === 'STOPPED') return { state: 'STOPPED', progress: 'Not running' };
  const elapsed = Date.now() - (lab.startedAt ?? 0);
  if (NO_VM.has(node.nodeDefinition) || elapsed >= sim.labBootMs)
    return { state: 'BOOTED', progress: 'Booted' };
  if (elapsed < sim.labBootMs / 4) return { state: 'QUEUED', progress: 'Booting' };
  return { state: 'STARTED', progress: 'Booting' };
}

export const isBooted = (sim: CmlSimState, lab: SimLab, node: SimNode): boolean =>
  nodeState(sim, lab, node).state === 'BOOTED';

// --- lookups (CML's exact 404 texts) -----------------------------------------------------------

export function getLab(sim: CmlSimState, id: string): SimLab {
  const lab = sim.labs.get(id);
  if (!lab) throw fail(404, `Lab not found: ${id}`);
  return lab;
}

export function getNode(lab: SimLab, id: string): SimNode {
  const node = lab.nodes.find((n) => n.id === id);
  if (!node) throw fail(404, `Node not found: ${id}`);
  return node;
}

export function findInterface(lab: SimLab, id: string): { node: SimNode; iface: SimInterface } {
  for (const node of lab.nodes) {
    const iface = node.interfaces.find((i) => i.id === id);
    if (iface) return { node, iface };
  }
  throw fail(404, `Interface not found: ${id}`);
}

/** A node's `configuration` as CML accepts it (string or list of files) → list of files. */
export function normaliseConfiguration(raw: unknown): Array<{ name: string; content: string }> | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') return [{ name: 'Main', content: raw }];
  if (Array.isArray(raw)) {
    return raw
      .filter((f): f is Record<string, unknown> => !!f && typeof f === 'object')
      .map((f) => ({ name: typeof f.name === 'string' ? f.name : 'Main', content: String(f.content ?? '') }));
  }
  throw fail(400, 'Invalid topology: configuration must be a string or a list of {name, content}');
}

// --- what tests read ---------------------------------------------------------------------------

export const snapshot = (sim: CmlSimState, lab: SimLab): CmlLabSnapshot => ({
  id: lab.id,
  title: lab.title,
  owner: lab.owner,
  state: lab.state,
  linkCount: lab.links.length,
  nodes: lab.nodes.map((n) => ({
    id: n.id,
    label: n.label,
    nodeDefinition: n.nodeDefinition,
    state: nodeState(sim, lab, n).state,
    tags: [...n.tags],
    configuration: n.configuration?.map((f) => ({ ...f })) ?? null,
  })),
});

export const snapshotAll = (sim: CmlSimState): CmlLabSnapshot[] =>
  [...sim.labs.values()].map((lab) => snapshot(sim, lab));

/** A call under `/api/v0`: the path without the prefix; `user` once the bearer token checked. */
export interface CmlCall {
  req: SimRequest;
  path: string;
  method: string;
}
export interface CmlAuthedCall extends CmlCall {
  user: string;
}
