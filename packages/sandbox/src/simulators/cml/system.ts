import { nodeDefaults, REFERENCE_NODE_DEFINITIONS } from '@lcm/shared/catalogue';
import type { SimReply } from '../common.ts';
import { type CmlAuthedCall, type CmlCall, type CmlSimState, NO_VM } from './model.ts';
import { fail, ok } from './reply.ts';

/**
 * The controller's system and licensing calls: `system_information` (no auth), `system_stats`
 * (host capacity and what the started labs' nodes allocate), `system_health`, `licensing` and
 * (de)registration.
 */

/** `GET /system_information`: answers without a token. */
export function systemInformationRoute(
  sim: CmlSimState,
  { path: p, method: m }: CmlCall,
): SimReply | undefined {
  if (p !== '/system_information' || m !== 'GET') return undefined;
  return ok({
    version: sim.opts.version ?? '2.9.1+build.7',
    ready: sim.ready,
    allow_ssh_pubkey_auth: false,
    oui: '52:54:00:00:00:00',
  });
}

export function systemRoutes(
  sim: CmlSimState,
  { req, path: p, method: m }: CmlAuthedCall,
): SimReply | undefined {
  if (p === '/system_stats' && m === 'GET') return ok(systemStats(sim));
  if (p === '/system_health' && m === 'GET') {
    return ok({
      valid: true,
      is_licensed: sim.licensed,
      is_enterprise: sim.licensed,
      computes: {
        [sim.computeId]: {
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
  if (p === '/node_definitions' && m === 'GET') return ok(nodeDefinitions(sim));
  if (p === '/image_definitions' && m === 'GET') return ok(imageDefinitions(sim));
  if (p === '/licensing' && m === 'GET') return ok(licensing(sim));
  if (p === '/licensing/registration' && m === 'POST') {
    const b = req.json() as { token?: unknown };
    if (typeof b?.token !== 'string' || b.token.trim() === '') throw fail(400, 'token is required');
    if (sim.opts.validLicenseTokens && !sim.opts.validLicenseTokens.includes(b.token)) {
      throw fail(400, 'The registration token is not valid');
    }
    sim.licensed = true;
    return { status: 204 };
  }
  if (p === '/licensing/deregistration' && m === 'DELETE') {
    sim.licensed = false;
    return { status: 204 };
  }
  return undefined;
}

function systemStats(sim: CmlSimState) {
  const { compute, computeId } = sim;
  let totalNodes = 0;
  let runningNodes = 0;
  let allocatedCpus = 0;
  let allocatedMemory = 0;
  for (const lab of sim.labs.values()) {
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
}

function licensing(sim: CmlSimState) {
  const licensed = sim.licensed;
  return {
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
    udi: { hostname: 'cml-sim', product_uuid: sim.computeId },
    product_license: { active: licensed ? 'CML_Enterprise' : 'CML_Personal', is_enterprise: licensed },
  };
}

/** The reference platforms this controller offers (`nodeDefinitions` option: only those), in CML's shape. */
function offered(sim: CmlSimState) {
  return REFERENCE_NODE_DEFINITIONS.filter(
    (d) => !sim.allowedDefinitions || sim.allowedDefinitions.has(d.id),
  );
}

/** `GET /node_definitions`: CML 2.9's node-definition objects (the fields LCM reads). */
function nodeDefinitions(sim: CmlSimState) {
  return offered(sim).map((d) => ({
    id: d.id,
    general: { nature: d.countsAsNode ? 'router' : d.id === 'external_connector' ? 'cloud' : 'switch' },
    device: { interfaces: d.countsAsNode ? { serial_ports: d.serialConsoles, physical: ['port0'] } : {} },
    ui: { label_prefix: `${d.id}-`, visible: true },
    sim: d.countsAsNode
      ? {
          linux_native: {
            cpus: d.cpus,
            ram: d.ramMb,
            boot_disk_size: d.diskGb,
            ...(d.vnc ? { video: { memory: 16, model: 'vga' } } : {}),
          },
        }
      : {},
    boot: { timeout: d.bootSeconds },
    inherited: {},
    schema_version: '0.0.1',
  }));
}

/** `GET /image_definitions`: one image per node definition that boots one. */
function imageDefinitions(sim: CmlSimState) {
  return offered(sim)
    .filter((d) => d.image)
    .map((d) => ({
      id: d.image!,
      node_definition_id: d.id,
      label: d.image!,
      disk_image: `${d.image}.qcow2`,
      read_only: true,
      schema_version: '0.0.1',
    }));
}
