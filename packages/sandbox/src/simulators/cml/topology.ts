import { randomUUID } from 'node:crypto';
import { parse as parseYaml } from 'yaml';
import {
  type CmlSimState,
  normaliseConfiguration,
  type SimInterface,
  type SimLab,
  type SimLink,
  type SimNode,
} from './model.ts';
import { fail } from './reply.ts';

/**
 * `POST /import`: a CML topology YAML becomes a lab in DEFINED_ON_CORE with fresh ids for its
 * nodes, interfaces and links; a bad topology is a 400 naming the first fault, as CML does.
 */
export function importLab(
  sim: CmlSimState,
  text: string,
  title: string | null,
  owner: string,
): { id: string; warnings: string[] | null } {
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
    if (sim.allowedDefinitions && !sim.allowedDefinitions.has(def))
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
      sim.macCounter += 1;
      return {
        id: randomUUID(),
        localId: r.id === undefined ? `i${j}` : String(r.id),
        label: typeof r.label === 'string' ? r.label : `eth${j}`,
        slot: typeof r.slot === 'number' ? r.slot : null,
        type: typeof r.type === 'string' ? r.type : 'physical',
        mac: `52:54:00:${[sim.macCounter >> 16, sim.macCounter >> 8, sim.macCounter].map((b) => (b & 0xff).toString(16).padStart(2, '0')).join(':')}`,
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
        throw fail(400, `Invalid topology: links[${i}].${ik} references unknown interface ${String(l[ik])}`);
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
  sim.labs.set(lab.id, lab);
  return { id: lab.id, warnings: sim.opts.nullWarnings ? null : [] };
}
