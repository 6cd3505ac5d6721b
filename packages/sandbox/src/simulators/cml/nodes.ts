import { nodeDefaults } from '@lcm/shared/catalogue';
import type { SimReply } from '../common.ts';
import {
  type CmlAuthedCall,
  type CmlSimState,
  findInterface,
  getLab,
  getNode,
  isBooted,
  NO_VM,
  nodeState,
  normaliseConfiguration,
  type SimInterface,
  type SimLab,
  type SimNode,
} from './model.ts';
import { fail, flag, ok } from './reply.ts';

/**
 * A lab's nodes, interfaces and links: id arrays unless `data=true`, operational data when
 * `operational=true`, tags and (while DEFINED_ON_CORE) resources and configuration by PATCH,
 * layer-3 addresses and simulation stats of booted nodes, and `extract_configuration`, which
 * answers the node's running configuration (what `setRunningConfig` last set).
 */

const nodeJson = (
  sim: CmlSimState,
  lab: SimLab,
  node: SimNode,
  o: { operational: boolean; configuration: boolean },
) => {
  const st = nodeState(sim, lab, node);
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
    compute_id: running ? sim.computeId : null,
    operational: o.operational
      ? running
        ? {
            boot_disk_size: node.bootDiskSize ?? d.diskGb,
            cpu_limit: node.cpuLimit ?? 100,
            cpus: node.cpus ?? d.cpus,
            data_volume: node.dataVolume ?? 0,
            ram: node.ram ?? d.ramMb,
            compute_id: sim.computeId,
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

const ifaceJson = (
  sim: CmlSimState,
  lab: SimLab,
  node: SimNode,
  iface: SimInterface,
  operational: boolean,
) => {
  const active = isBooted(sim, lab, node) || nodeState(sim, lab, node).state === 'STARTED';
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

const layer3 = (sim: CmlSimState, lab: SimLab) => {
  const out: Record<string, unknown> = {};
  if (lab.state !== 'STARTED') return out;
  lab.nodes.forEach((node, index) => {
    if (NO_VM.has(node.nodeDefinition) || !isBooted(sim, lab, node)) return;
    out[node.id] = l3ForNode(node, index);
  });
  return out;
};

const simulationStats = (sim: CmlSimState, lab: SimLab) => {
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
        ...(isBooted(sim, lab, node) ? { BOOTED: Math.max(0, up - sim.labBootMs) } : {}),
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

export function nodeRoutes(sim: CmlSimState, call: CmlAuthedCall): SimReply | undefined {
  const { req, path: p, method: m } = call;
  let r = /^\/labs\/([^/]+)\/(lab_element_state|layer3_addresses|simulation_stats|nodes|links)$/.exec(p);
  if (r) {
    const lab = getLab(sim, decodeURIComponent(r[1]!));
    switch (`${m} ${r[2]!}`) {
      case 'GET lab_element_state': {
        const nodes: Record<string, string> = {};
        const interfaces: Record<string, string> = {};
        for (const n of lab.nodes) {
          nodes[n.id] = nodeState(sim, lab, n).state;
          for (const i of n.interfaces) interfaces[i.id] = ifaceJson(sim, lab, n, i, false).state;
        }
        const links: Record<string, string> = {};
        for (const l of lab.links) links[l.id] = lab.state === 'STARTED' ? 'STARTED' : lab.state;
        return ok({ nodes, links, interfaces });
      }
      case 'GET layer3_addresses':
        return ok(layer3(sim, lab));
      case 'GET simulation_stats':
        return ok(simulationStats(sim, lab));
      case 'GET nodes':
        if (!flag(req.query, 'data')) return ok(lab.nodes.map((n) => n.id));
        return ok(
          lab.nodes.map((n) =>
            nodeJson(sim, lab, n, {
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
    const lab = getLab(sim, decodeURIComponent(r[1]!));
    const { node, iface } = findInterface(lab, decodeURIComponent(r[2]!));
    return ok(ifaceJson(sim, lab, node, iface, flag(req.query, 'operational')));
  }

  r =
    /^\/labs\/([^/]+)\/nodes\/([^/]+)(?:\/(state|interfaces|layer3_addresses|extract_configuration))?$/.exec(
      p,
    );
  if (!r) return undefined;
  const lab = getLab(sim, decodeURIComponent(r[1]!));
  const node = getNode(lab, decodeURIComponent(r[2]!));
  const sub = r[3];
  if (!sub && m === 'GET') {
    return ok(
      nodeJson(sim, lab, node, {
        operational: flag(req.query, 'operational'),
        configuration: req.query.get('exclude_configurations')?.toLowerCase() !== 'true',
      }),
    );
  }
  if (!sub && m === 'PATCH') return patchNode(sim, lab, node, req.json() as Record<string, unknown>);
  if (sub === 'state' && m === 'GET') {
    const st = nodeState(sim, lab, node);
    return ok({ state: st.state, progress: st.progress });
  }
  if (sub === 'interfaces' && m === 'GET') {
    if (!flag(req.query, 'data')) return ok(node.interfaces.map((i) => i.id));
    return ok(node.interfaces.map((i) => ifaceJson(sim, lab, node, i, flag(req.query, 'operational'))));
  }
  if (sub === 'layer3_addresses' && m === 'GET') {
    if (lab.state !== 'STARTED' || !isBooted(sim, lab, node) || NO_VM.has(node.nodeDefinition)) return ok({});
    return ok(l3ForNode(node, lab.nodes.indexOf(node)).interfaces);
  }
  if (sub === 'extract_configuration' && m === 'PUT') {
    if (sim.extractUnsupported.has(node.nodeDefinition)) {
      throw fail(400, `Configuration extraction is not supported for node definition ${node.nodeDefinition}`);
    }
    if (!isBooted(sim, lab, node))
      throw fail(400, `Node ${node.id} must be booted to extract its configuration`);
    node.configuration = [{ name: 'Main', content: node.runningConfig }];
    return ok(node.runningConfig);
  }
  throw fail(405, 'Method not allowed');
}

/** Tags and label any time; resources and configuration only while DEFINED_ON_CORE. */
function patchNode(sim: CmlSimState, lab: SimLab, node: SimNode, b: Record<string, unknown>): SimReply {
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
    if (nodeState(sim, lab, node).state !== 'DEFINED_ON_CORE') {
      throw fail(400, `Node ${node.id} must be in DEFINED_ON_CORE to change ${touched.join(', ')}`);
    }
    if (b.configuration !== undefined) {
      node.configuration = normaliseConfiguration(b.configuration);
      node.runningConfig = node.configuration?.find((f) => f.name === 'Main')?.content ?? node.runningConfig;
    }
    if (typeof b.cpus === 'number') node.cpus = b.cpus;
    if (typeof b.ram === 'number') node.ram = b.ram;
    if (typeof b.cpu_limit === 'number') node.cpuLimit = b.cpu_limit;
  }
  return ok(node.id);
}
