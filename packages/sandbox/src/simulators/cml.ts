import { randomBytes, randomUUID } from 'node:crypto';
import { nodeDefaults } from '@lcm/shared/catalogue';
import { parse as parseYaml } from 'yaml';
import {
  controlRoute,
  FaultRegistry,
  type FaultSpec,
  HttpError,
  header,
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
 */

export const CML_API_PREFIX = '/api/v0';

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

interface SimInterface {
  id: string;
  localId: string;
  label: string;
  slot: number | null;
  type: string;
  mac: string;
}

interface SimNode {
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

interface SimLink {
  id: string;
  localId: string;
  n1: string;
  i1: string;
  n2: string;
  i2: string;
}

interface SimLab {
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

const DEFAULT_EXTRACT_UNSUPPORTED = ['external_connector', 'unmanaged_switch'];
const NO_VM = new Set(['external_connector', 'unmanaged_switch']);

const cmlError = (status: number, description: string) => ({ code: status, description });
const fail = (status: number, description: string) =>
  new HttpError(status, description, cmlError(status, description));

const labNotFound = (id: string) => fail(404, `Lab not found: ${id}`);
const nodeNotFound = (id: string) => fail(404, `Node not found: ${id}`);
const interfaceNotFound = (id: string) => fail(404, `Interface not found: ${id}`);

const ok = (body: unknown, status = 200): SimReply => ({ status, body });
const flag = (q: URLSearchParams, name: string) => q.get(name)?.toLowerCase() === 'true';

const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export async function startCmlSimulator(opts: CmlSimulatorOptions = {}): Promise<CmlSimulator> {
  const users = opts.users ?? { admin: 'admin-password' };
  const admins = new Set(opts.admins ?? Object.keys(users));
  const labBootMs = opts.labBootMs ?? 300;
  const tokenTtlMs = opts.tokenTtlMs ?? 24 * 3_600_000;
  const extractUnsupported = new Set(opts.extractUnsupported ?? DEFAULT_EXTRACT_UNSUPPORTED);
  const allowedDefinitions = opts.nodeDefinitions ? new Set(opts.nodeDefinitions) : undefined;
  const compute = { cpus: 32, memoryGb: 128, diskGb: 500, ...opts.compute };
  const computeId = randomUUID();
  const started = Date.now();

  let controllerUp = true;
  let ready = opts.ready ?? true;
  let licensed = opts.licensed ?? true;
  let macCounter = 0;
  const tokens = new Map<string, { username: string; expiresAt: number }>();
  const labs = new Map<string, SimLab>();
  const faults = new FaultRegistry();

  const controllerAnswering = () => controllerUp && Date.now() - started >= (opts.controllerBootMs ?? 0);

  // --- node state over time --------------------------------------------------------------------

  const nodeState = (lab: SimLab, node: SimNode): { state: string; progress: string } => {
    if (lab.state === 'DEFINED_ON_CORE') return { state: 'DEFINED_ON_CORE', progress: 'Not running' };
    if (lab.state === 'STOPPED') return { state: 'STOPPED', progress: 'Not running' };
    const elapsed = Date.now() - (lab.startedAt ?? 0);
    if (NO_VM.has(node.nodeDefinition) || elapsed >= labBootMs)
      return { state: 'BOOTED', progress: 'Booted' };
    if (elapsed < labBootMs / 4) return { state: 'QUEUED', progress: 'Booting' };
    return { state: 'STARTED', progress: 'Booting' };
  };
  const isBooted = (lab: SimLab, node: SimNode) => nodeState(lab, node).state === 'BOOTED';

  // --- lookups -------------------------------------------------------------------------------

  const getLab = (id: string): SimLab => {
    const lab = labs.get(id);
    if (!lab) throw labNotFound(id);
    return lab;
  };
  const getNode = (lab: SimLab, id: string): SimNode => {
    const node = lab.nodes.find((n) => n.id === id);
    if (!node) throw nodeNotFound(id);
    return node;
  };
  const findInterface = (lab: SimLab, id: string): { node: SimNode; iface: SimInterface } => {
    for (const node of lab.nodes) {
      const iface = node.interfaces.find((i) => i.id === id);
      if (iface) return { node, iface };
    }
    throw interfaceNotFound(id);
  };

  // --- representations -----------------------------------------------------------------------

  const labJson = (lab: SimLab) => ({
    id: lab.id,
    created: lab.created,
    modified: lab.modified,
    lab_title: lab.title,
    lab_description: lab.description,
    lab_notes: lab.notes,
    owner: lab.owner,
    owner_username: lab.owner,
    state: lab.state,
    node_count: lab.nodes.length,
    link_count: lab.links.length,
    groups: [],
    effective_permissions: ['lab_admin', 'lab_edit', 'lab_exec', 'lab_view'],
  });

  const nodeJson = (lab: SimLab, node: SimNode, o: { operational: boolean; configuration: boolean }) => {
    const st = nodeState(lab, node);
    const running = ['QUEUED', 'STARTED', 'BOOTED'].includes(st.state) && !NO_VM.has(node.nodeDefinition);
    const d = nodeDefaults(node.nodeDefinition);
    return {
      id: node.id,
      lab_id: lab.id,
      label: node.label,
      x: node.x,
      y: node.y,
      node_definition: node.nodeDefinition,
      image_definition: node.imageDefinition,
      ram: node.ram,
      cpus: node.cpus,
      cpu_limit: node.cpuLimit,
      data_volume: node.dataVolume,
      boot_disk_size: node.bootDiskSize,
      hide_links: false,
      tags: [...node.tags],
      parameters: {},
      configuration: o.configuration ? (node.configuration?.map((f) => ({ ...f })) ?? null) : null,
      state: st.state,
      boot_progress: st.progress,
      compute_id: running ? computeId : null,
      operational: o.operational
        ? running
          ? {
              boot_disk_size: node.bootDiskSize ?? d.diskGb,
              cpu_limit: node.cpuLimit ?? 100,
              cpus: node.cpus ?? d.cpus,
              data_volume: node.dataVolume ?? 0,
              ram: node.ram ?? d.ramMb,
              compute_id: computeId,
              image_definition: node.imageDefinition ?? `${node.nodeDefinition}-sim`,
              vnc_key: node.id.slice(0, 8),
              resource_pool: null,
              serial_consoles: [
                { console_key: `${node.id}-0`, device_number: 0, label: `${node.label} console 0` },
              ],
            }
          : null
        : null,
      serial_consoles: [],
    };
  };

  const ifaceJson = (lab: SimLab, node: SimNode, iface: SimInterface, operational: boolean) => {
    const active = isBooted(lab, node) || nodeState(lab, node).state === 'STARTED';
    const connected = lab.links.some((l) => l.i1 === iface.id || l.i2 === iface.id);
    return {
      id: iface.id,
      lab_id: lab.id,
      node: node.id,
      label: iface.label,
      slot: iface.slot,
      type: iface.type,
      mac_address: null,
      is_connected: connected,
      state: active ? 'STARTED' : lab.state === 'STOPPED' ? 'STOPPED' : 'DEFINED_ON_CORE',
      operational:
        operational && active
          ? {
              device_name: `tap${iface.id.slice(0, 6)}`,
              mac_address: iface.mac,
              src_udp_port: null,
              dst_udp_port: null,
            }
          : null,
    };
  };

  const l3ForNode = (node: SimNode, index: number) => {
    const interfaces: Record<string, { id: string; label: string; ip4: string[]; ip6: string[] }> = {};
    node.interfaces.forEach((iface, i) => {
      if (iface.type !== 'physical') return;
      interfaces[iface.mac] = {
        id: iface.id,
        label: iface.label,
        ip4: [`192.168.${index % 256}.${(i % 254) + 1}`],
        ip6: [],
      };
    });
    return { name: node.label, interfaces };
  };

  const layer3 = (lab: SimLab) => {
    const out: Record<string, unknown> = {};
    if (lab.state !== 'STARTED') return out;
    lab.nodes.forEach((node, index) => {
      if (NO_VM.has(node.nodeDefinition) || !isBooted(lab, node)) return;
      out[node.id] = l3ForNode(node, index);
    });
    return out;
  };

  const simulationStats = (lab: SimLab) => {
    if (lab.state !== 'STARTED') return { nodes: {}, links: {} };
    const nodes: Record<string, unknown> = {};
    lab.nodes.forEach((node, i) => {
      if (NO_VM.has(node.nodeDefinition)) return;
      const d = nodeDefaults(node.nodeDefinition);
      const up = Date.now() - (lab.startedAt ?? Date.now());
      nodes[node.id] = {
        cpu_usage: 1.5 + i,
        ram_usage: Math.round((node.ram ?? d.ramMb) * 0.6),
        disk_usage: 0.25,
        block0_wr_bytes: 1_617_408 * (i + 1),
        block0_rd_bytes: 306_721_280,
        is_running: true,
        cpus: node.cpus ?? d.cpus,
        ram: node.ram ?? d.ramMb,
        cpu_limit: node.cpuLimit ?? 100,
        times: {
          QUEUED: 25,
          STARTED: up,
          ...(isBooted(lab, node) ? { BOOTED: Math.max(0, up - labBootMs) } : {}),
        },
      };
    });
    const links: Record<string, unknown> = {};
    lab.links.forEach((link, i) => {
      links[link.id] = {
        readbytes: 19_141 * (i + 1),
        readpackets: 213,
        writebytes: 56_261,
        writepackets: 809,
        drops: 0,
      };
    });
    return { nodes, links };
  };

  const systemStats = () => {
    let totalNodes = 0;
    let runningNodes = 0;
    let allocatedCpus = 0;
    let allocatedMemory = 0;
    for (const lab of labs.values()) {
      for (const node of lab.nodes) {
        if (NO_VM.has(node.nodeDefinition)) continue;
        totalNodes += 1;
        if (lab.state === 'STARTED') {
          const d = nodeDefaults(node.nodeDefinition);
          runningNodes += 1;
          allocatedCpus += node.cpus ?? d.cpus;
          allocatedMemory += (node.ram ?? d.ramMb) * 1024 * 1024;
        }
      }
    }
    const memTotal = compute.memoryGb * 1024 ** 3;
    const diskTotal = compute.diskGb * 1024 ** 3;
    const memUsed = Math.min(memTotal, 4 * 1024 ** 3 + allocatedMemory);
    const diskUsed = Math.min(diskTotal, 40 * 1024 ** 3 + totalNodes * 1024 ** 3);
    const cpu = {
      count: compute.cpus,
      percent: Math.min(100, 2 + (allocatedCpus / compute.cpus) * 35),
      load: [0.1, 0.2, 0.3],
    };
    const memory = { used: memUsed * 1.0, free: (memTotal - memUsed) * 1.0, total: memTotal * 1.0 };
    const disk = { used: diskUsed * 1.0, free: (diskTotal - diskUsed) * 1.0, total: diskTotal * 1.0 };
    return {
      computes: {
        [computeId]: {
          hostname: 'cml-sim',
          is_controller: true,
          stats: {
            cpu,
            memory,
            disk,
            dominfo: {
              total_nodes: totalNodes,
              total_orphans: 0,
              running_nodes: runningNodes,
              running_orphans: 0,
              allocated_cpus: allocatedCpus,
              allocated_memory: allocatedMemory,
              total_vcpus: compute.cpus,
            },
          },
        },
      },
      all: { cpu, memory, disk },
      controller: { disk },
    };
  };

  const licensing = () => ({
    registration: {
      status: licensed ? 'COMPLETED' : 'NOT_REGISTERED',
      expires: null,
      smart_account: licensed ? 'LCM Sandbox' : null,
      virtual_account: licensed ? 'Default' : null,
    },
    authorization: { status: licensed ? 'IN_COMPLIANCE' : 'EVAL', renew_time: null, expires: null },
    reservation_mode: false,
    features: licensed
      ? [{ id: 'regid.2019-10.com.cisco.CML_NODE_COUNT', name: 'CML - Node Count', in_use: 0 }]
      : [],
    transport: {
      ssms: 'https://smartreceiver.cisco.com/licservice/license',
      proxy: { server: null, port: null },
    },
    udi: { hostname: 'cml-sim', product_uuid: computeId },
    product_license: { active: licensed ? 'CML_Enterprise' : 'CML_Personal', is_enterprise: licensed },
  });

  // --- import ------------------------------------------------------------------------------------

  const importLab = (
    text: string,
    title: string | null,
    owner: string,
  ): { id: string; warnings: string[] | null } => {
    let doc: unknown;
    try {
      doc = parseYaml(text);
    } catch (e) {
      throw fail(400, `Invalid topology: ${(e as Error).message.split('\n')[0]}`);
    }
    if (!doc || typeof doc !== 'object') throw fail(400, 'Invalid topology: expected a mapping');
    const t = doc as Record<string, unknown>;
    const labMeta = (t.lab && typeof t.lab === 'object' ? t.lab : {}) as Record<string, unknown>;
    if (labMeta.version === undefined || labMeta.version === null || labMeta.version === '') {
      throw fail(400, 'Invalid topology: lab.version is required');
    }
    const rawNodes = t.nodes ?? [];
    const rawLinks = t.links ?? [];
    if (!Array.isArray(rawNodes) || !Array.isArray(rawLinks)) {
      throw fail(400, 'Invalid topology: nodes and links must be lists');
    }
    const nodes: SimNode[] = [];
    const localNodes = new Map<string, SimNode>();
    rawNodes.forEach((raw: unknown, i) => {
      if (!raw || typeof raw !== 'object') throw fail(400, `Invalid topology: nodes[${i}] must be a mapping`);
      const n = raw as Record<string, unknown>;
      const localId = n.id === undefined || n.id === null ? '' : String(n.id);
      const label = n.label === undefined || n.label === null ? '' : String(n.label);
      const def = typeof n.node_definition === 'string' ? n.node_definition : '';
      if (!localId) throw fail(400, `Invalid topology: nodes[${i}].id is required`);
      if (!label || label.length > 128)
        throw fail(400, `Invalid topology: nodes[${i}].label must be 1-128 characters`);
      if (!def) throw fail(400, `Invalid topology: nodes[${i}].node_definition is required`);
      if (allowedDefinitions && !allowedDefinitions.has(def))
        throw fail(400, `Node definition not found: ${def}`);
      if (localNodes.has(localId)) throw fail(400, `Invalid topology: duplicate node id ${localId}`);
      const tags = n.tags ?? [];
      if (!Array.isArray(tags)) throw fail(400, `Invalid topology: nodes[${i}].tags must be a list`);
      const tagStrings = tags.map(String);
      const longTag = tagStrings.find((tag) => tag.length > 64);
      if (longTag) throw fail(400, `Invalid topology: tag longer than 64 characters on node ${label}`);
      const configuration = normaliseConfiguration(n.configuration);
      const interfacesRaw = Array.isArray(n.interfaces) ? n.interfaces : [];
      const interfaces: SimInterface[] = interfacesRaw.map((ri: unknown, j) => {
        const r = (ri && typeof ri === 'object' ? ri : {}) as Record<string, unknown>;
        macCounter += 1;
        return {
          id: randomUUID(),
          localId: r.id === undefined ? `i${j}` : String(r.id),
          label: typeof r.label === 'string' ? r.label : `eth${j}`,
          slot: typeof r.slot === 'number' ? r.slot : null,
          type: typeof r.type === 'string' ? r.type : 'physical',
          mac: `52:54:00:${[macCounter >> 16, macCounter >> 8, macCounter].map((b) => (b & 0xff).toString(16).padStart(2, '0')).join(':')}`,
        };
      });
      const num = (v: unknown) => (typeof v === 'number' && v > 0 ? v : null);
      const node: SimNode = {
        id: randomUUID(),
        localId,
        label,
        nodeDefinition: def,
        x: typeof n.x === 'number' ? n.x : 0,
        y: typeof n.y === 'number' ? n.y : 0,
        tags: tagStrings,
        configuration,
        runningConfig: configuration?.find((f) => f.name === 'Main')?.content ?? `hostname ${label}\n!\nend`,
        ram: num(n.ram),
        cpus: num(n.cpus),
        cpuLimit: num(n.cpu_limit),
        bootDiskSize: num(n.boot_disk_size),
        dataVolume: num(n.data_volume),
        imageDefinition: typeof n.image_definition === 'string' ? n.image_definition : null,
        interfaces,
      };
      localNodes.set(localId, node);
      nodes.push(node);
    });
    const links: SimLink[] = rawLinks.map((raw: unknown, i) => {
      const l = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
      const end = (nk: string, ik: string) => {
        const node = localNodes.get(String(l[nk]));
        if (!node)
          throw fail(400, `Invalid topology: links[${i}].${nk} references unknown node ${String(l[nk])}`);
        const iface = node.interfaces.find((x) => x.localId === String(l[ik]));
        if (!iface)
          throw fail(
            400,
            `Invalid topology: links[${i}].${ik} references unknown interface ${String(l[ik])}`,
          );
        return { node, iface };
      };
      const a = end('n1', 'i1');
      const b = end('n2', 'i2');
      return {
        id: randomUUID(),
        localId: String(l.id ?? `l${i}`),
        n1: a.node.id,
        i1: a.iface.id,
        n2: b.node.id,
        i2: b.iface.id,
      };
    });
    const now = new Date().toISOString();
    const lab: SimLab = {
      id: randomUUID(),
      title: title ?? (typeof labMeta.title === 'string' ? labMeta.title : `Lab at ${now}`),
      description: typeof labMeta.description === 'string' ? labMeta.description : '',
      notes: typeof labMeta.notes === 'string' ? labMeta.notes : '',
      owner,
      created: now,
      modified: now,
      state: 'DEFINED_ON_CORE',
      startedAt: undefined,
      nodes,
      links,
      yaml: text,
    };
    labs.set(lab.id, lab);
    return { id: lab.id, warnings: opts.nullWarnings ? null : [] };
  };

  // --- auth --------------------------------------------------------------------------------------

  const issueToken = (username: string): string => {
    const exp = Date.now() + tokenTtlMs;
    const token = `${b64url({ alg: 'HS256', typ: 'JWT' })}.${b64url({ sub: username, exp: Math.floor(exp / 1000), jti: randomUUID() })}.${randomBytes(24).toString('base64url')}`;
    tokens.set(token, { username, expiresAt: exp });
    return token;
  };

  const bearer = (req: SimRequest): string => {
    const auth = header(req, 'authorization');
    if (!auth) throw fail(401, 'No authorization token provided.');
    const m = /^Bearer\s+(.+)$/i.exec(auth);
    const entry = m ? tokens.get(m[1]!) : undefined;
    if (!m || !entry || entry.expiresAt <= Date.now()) {
      if (m) tokens.delete(m[1]!);
      throw fail(401, 'Authorization token is invalid or expired.');
    }
    return entry.username;
  };

  const credentialsOf = (req: SimRequest): string => {
    const body = req.json();
    const b = (body && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    if (typeof b.username !== 'string' || typeof b.password !== 'string') {
      throw fail(400, 'username and password are required');
    }
    if (!Object.hasOwn(users, b.username) || users[b.username] !== b.password) {
      throw fail(403, 'Authentication failed!');
    }
    return b.username;
  };

  // --- routes ------------------------------------------------------------------------------------

  const route = (req: SimRequest): SimReply => {
    const control = controlRoute(req, faults, () => [...server.log]);
    if (control) return control;
    if (req.path === '/_sim/labs' && req.method === 'GET') return ok(snapshotAll());
    if (req.path === '/_sim/tokens/invalidate' && req.method === 'POST') {
      tokens.clear();
      return { status: 204 };
    }
    if (req.path === '/_sim/controller' && req.method === 'POST') {
      const b = req.json() as { up?: unknown; ready?: unknown };
      if (typeof b.up === 'boolean') controllerUp = b.up;
      if (typeof b.ready === 'boolean') ready = b.ready;
      return { status: 204 };
    }
    if (!req.path.startsWith(`${CML_API_PREFIX}/`)) throw fail(404, 'Not found');
    if (!controllerAnswering()) {
      return {
        status: 502,
        contentType: 'text/html',
        body: '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>',
      };
    }
    const p = req.path.slice(CML_API_PREFIX.length);
    const m = req.method;

    if (p === '/system_information' && m === 'GET') {
      return ok({
        version: opts.version ?? '2.9.1+build.7',
        ready,
        allow_ssh_pubkey_auth: false,
        oui: '52:54:00:00:00:00',
      });
    }
    if (p === '/authenticate' && m === 'POST') return ok(issueToken(credentialsOf(req)));
    if (p === '/auth_extended' && m === 'POST') {
      const username = credentialsOf(req);
      return ok({
        username,
        id: randomUUID(),
        token: issueToken(username),
        admin: admins.has(username),
        error: null,
      });
    }

    const user = bearer(req);

    if (p === '/authok' && m === 'GET') return ok(null);
    if (p === '/logout' && m === 'DELETE') {
      const token = /^Bearer\s+(.+)$/i.exec(header(req, 'authorization') ?? '')?.[1];
      if (token) tokens.delete(token);
      return ok(true);
    }
    if (p === '/system_stats' && m === 'GET') return ok(systemStats());
    if (p === '/system_health' && m === 'GET') {
      return ok({
        valid: true,
        is_licensed: licensed,
        is_enterprise: licensed,
        computes: {
          [computeId]: {
            kvm_vmx_enabled: true,
            enough_cpus: true,
            refplat_images_available: true,
            lld_connected: true,
            valid: true,
            is_controller: true,
            hostname: 'cml-sim',
          },
        },
        controller: { core_connected: true, nodes_loaded: true, images_loaded: true, valid: true },
      });
    }
    if (p === '/licensing' && m === 'GET') return ok(licensing());
    if (p === '/licensing/registration' && m === 'POST') {
      const b = req.json() as { token?: unknown };
      if (typeof b?.token !== 'string' || b.token.trim() === '') throw fail(400, 'token is required');
      if (opts.validLicenseTokens && !opts.validLicenseTokens.includes(b.token)) {
        throw fail(400, 'The registration token is not valid');
      }
      licensed = true;
      return { status: 204 };
    }
    if (p === '/licensing/deregistration' && m === 'DELETE') {
      licensed = false;
      return { status: 204 };
    }

    if (p === '/labs' && m === 'GET') {
      const all = flag(req.query, 'show_all');
      if (all && !admins.has(user)) throw fail(403, 'User does not have permission to see all labs');
      return ok([...labs.values()].filter((l) => all || l.owner === user).map((l) => l.id));
    }
    if (p === '/import' && m === 'POST') {
      const title = req.query.get('title');
      return ok(importLab(req.body, title && title.length > 0 ? title : null, user));
    }

    let r = /^\/labs\/([^/]+)$/.exec(p);
    if (r) {
      const lab = getLab(decodeURIComponent(r[1]!));
      if (m === 'GET') return ok(labJson(lab));
      if (m === 'PATCH') {
        const b = req.json() as Record<string, unknown>;
        if (typeof b.title === 'string') lab.title = b.title;
        if (typeof b.description === 'string') lab.description = b.description;
        if (typeof b.notes === 'string') lab.notes = b.notes;
        lab.modified = new Date().toISOString();
        return ok(labJson(lab));
      }
      if (m === 'DELETE') {
        if (lab.state !== 'DEFINED_ON_CORE' && opts.deleteUnwiped !== 'allow') {
          const status = opts.deleteUnwiped ?? 409;
          throw fail(status, `Lab ${lab.id} must be stopped and wiped before it can be deleted`);
        }
        labs.delete(lab.id);
        return { status: 204 };
      }
      throw fail(405, 'Method not allowed');
    }

    r =
      /^\/labs\/([^/]+)\/(state|start|stop|wipe|check_if_converged|lab_element_state|download|layer3_addresses|simulation_stats|nodes|links)$/.exec(
        p,
      );
    if (r) {
      const lab = getLab(decodeURIComponent(r[1]!));
      const action = r[2]!;
      const actionDone = (): SimReply =>
        (opts.labActionStatus ?? 204) === 200 ? { status: 200, body: null } : { status: 204 };
      switch (`${m} ${action}`) {
        case 'GET state':
          return ok(lab.state);
        case 'PUT start':
          if (lab.state !== 'STARTED') {
            lab.state = 'STARTED';
            lab.startedAt = Date.now();
          }
          return actionDone();
        case 'PUT stop':
          if (lab.state === 'STARTED') lab.state = 'STOPPED';
          lab.startedAt = undefined;
          return actionDone();
        case 'PUT wipe':
          if (lab.state === 'STARTED')
            throw fail(409, `Lab ${lab.id} must be stopped before it can be wiped`);
          lab.state = 'DEFINED_ON_CORE';
          return actionDone();
        case 'GET check_if_converged':
          return ok(lab.state !== 'STARTED' || lab.nodes.every((n) => isBooted(lab, n)));
        case 'GET lab_element_state': {
          const nodes: Record<string, string> = {};
          const interfaces: Record<string, string> = {};
          for (const n of lab.nodes) {
            nodes[n.id] = nodeState(lab, n).state;
            for (const i of n.interfaces) interfaces[i.id] = ifaceJson(lab, n, i, false).state;
          }
          const links: Record<string, string> = {};
          for (const l of lab.links) links[l.id] = lab.state === 'STARTED' ? 'STARTED' : lab.state;
          return ok({ nodes, links, interfaces });
        }
        case 'GET download':
          return { status: 200, contentType: 'text/plain; charset=utf-8', body: lab.yaml };
        case 'GET layer3_addresses':
          return ok(layer3(lab));
        case 'GET simulation_stats':
          return ok(simulationStats(lab));
        case 'GET nodes':
          if (!flag(req.query, 'data')) return ok(lab.nodes.map((n) => n.id));
          return ok(
            lab.nodes.map((n) =>
              nodeJson(lab, n, {
                operational: flag(req.query, 'operational'),
                configuration: req.query.get('exclude_configurations')?.toLowerCase() === 'false',
              }),
            ),
          );
        case 'GET links':
          return ok(lab.links.map((l) => l.id));
        default:
          throw fail(405, 'Method not allowed');
      }
    }

    r = /^\/labs\/([^/]+)\/interfaces\/([^/]+)$/.exec(p);
    if (r && m === 'GET') {
      const lab = getLab(decodeURIComponent(r[1]!));
      const { node, iface } = findInterface(lab, decodeURIComponent(r[2]!));
      return ok(ifaceJson(lab, node, iface, flag(req.query, 'operational')));
    }

    r =
      /^\/labs\/([^/]+)\/nodes\/([^/]+)(?:\/(state|interfaces|layer3_addresses|extract_configuration))?$/.exec(
        p,
      );
    if (r) {
      const lab = getLab(decodeURIComponent(r[1]!));
      const node = getNode(lab, decodeURIComponent(r[2]!));
      const sub = r[3];
      if (!sub && m === 'GET') {
        return ok(
          nodeJson(lab, node, {
            operational: flag(req.query, 'operational'),
            configuration: req.query.get('exclude_configurations')?.toLowerCase() !== 'true',
          }),
        );
      }
      if (!sub && m === 'PATCH') {
        const b = req.json() as Record<string, unknown>;
        if (b.tags !== undefined) {
          if (!Array.isArray(b.tags) || b.tags.some((t) => typeof t !== 'string' || t.length > 64)) {
            throw fail(400, 'tags must be a list of strings of at most 64 characters');
          }
          node.tags = [...(b.tags as string[])];
        }
        if (typeof b.label === 'string') node.label = b.label;
        const definedOnly = ['configuration', 'cpus', 'ram', 'cpu_limit', 'boot_disk_size', 'data_volume'];
        const touched = definedOnly.filter((k) => b[k] !== undefined);
        if (touched.length > 0) {
          if (nodeState(lab, node).state !== 'DEFINED_ON_CORE') {
            throw fail(400, `Node ${node.id} must be in DEFINED_ON_CORE to change ${touched.join(', ')}`);
          }
          if (b.configuration !== undefined) {
            node.configuration = normaliseConfiguration(b.configuration);
            node.runningConfig =
              node.configuration?.find((f) => f.name === 'Main')?.content ?? node.runningConfig;
          }
          if (typeof b.cpus === 'number') node.cpus = b.cpus;
          if (typeof b.ram === 'number') node.ram = b.ram;
          if (typeof b.cpu_limit === 'number') node.cpuLimit = b.cpu_limit;
        }
        return ok(node.id);
      }
      if (sub === 'state' && m === 'GET') {
        const st = nodeState(lab, node);
        return ok({ state: st.state, progress: st.progress });
      }
      if (sub === 'interfaces' && m === 'GET') {
        if (!flag(req.query, 'data')) return ok(node.interfaces.map((i) => i.id));
        return ok(node.interfaces.map((i) => ifaceJson(lab, node, i, flag(req.query, 'operational'))));
      }
      if (sub === 'layer3_addresses' && m === 'GET') {
        if (lab.state !== 'STARTED' || !isBooted(lab, node) || NO_VM.has(node.nodeDefinition)) return ok({});
        return ok(l3ForNode(node, lab.nodes.indexOf(node)).interfaces);
      }
      if (sub === 'extract_configuration' && m === 'PUT') {
        if (extractUnsupported.has(node.nodeDefinition)) {
          throw fail(
            400,
            `Configuration extraction is not supported for node definition ${node.nodeDefinition}`,
          );
        }
        if (!isBooted(lab, node))
          throw fail(400, `Node ${node.id} must be booted to extract its configuration`);
        node.configuration = [{ name: 'Main', content: node.runningConfig }];
        return ok(node.runningConfig);
      }
      throw fail(405, 'Method not allowed');
    }

    throw fail(404, 'Not found');
  };

  const snapshot = (lab: SimLab): CmlLabSnapshot => ({
    id: lab.id,
    title: lab.title,
    owner: lab.owner,
    state: lab.state,
    linkCount: lab.links.length,
    nodes: lab.nodes.map((n) => ({
      id: n.id,
      label: n.label,
      nodeDefinition: n.nodeDefinition,
      state: nodeState(lab, n).state,
      tags: [...n.tags],
      configuration: n.configuration?.map((f) => ({ ...f })) ?? null,
    })),
  });
  const snapshotAll = () => [...labs.values()].map(snapshot);

  const server = await startSimServer({
    host: opts.host,
    port: opts.port,
    errorBody: cmlError,
    faults,
    handler: route,
  });

  return {
    url: `${server.url}${CML_API_PREFIX}`,
    origin: server.url,
    port: server.port,
    stop: () => server.close(),
    labs: snapshotAll,
    lab: (id) => {
      const lab = labs.get(id);
      return lab ? snapshot(lab) : undefined;
    },
    injectFault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    invalidateTokens: () => tokens.clear(),
    setControllerUp: (up) => {
      controllerUp = up;
    },
    setReady: (r) => {
      ready = r;
    },
    setRunningConfig: (labId, nodeRef, config) => {
      const lab = getLab(labId);
      const node = lab.nodes.find((n) => n.id === nodeRef || n.label === nodeRef);
      if (!node) throw new Error(`no node ${nodeRef} in lab ${labId}`);
      node.runningConfig = config;
    },
    requests: () => [...server.log],
  };
}

function normaliseConfiguration(raw: unknown): Array<{ name: string; content: string }> | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw === 'string') return [{ name: 'Main', content: raw }];
  if (Array.isArray(raw)) {
    return raw
      .filter((f): f is Record<string, unknown> => !!f && typeof f === 'object')
      .map((f) => ({ name: typeof f.name === 'string' ? f.name : 'Main', content: String(f.content ?? '') }));
  }
  throw fail(400, 'Invalid topology: configuration must be a string or a list of {name, content}');
}
