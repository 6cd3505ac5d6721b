import type { NodeDefinitionInfo, WorkerCmlDefinitions } from '../../kernel/index.ts';

/**
 * The node-definition catalogue (issue 11, item 3), pure: what LCM knows about CML node
 * definitions — the defaults a node of it takes (CPU, RAM, disk), its boot time, its consoles and
 * the image it boots. A shipped table covers CML's reference platforms; each worker's own
 * definitions are read by the health sweep (`GET /node_definitions`, `GET /image_definitions`)
 * into `Worker.cmlDefinitions`, which placement checks (rejection category `node-definitions`).
 * docs/topology.md lists the table.
 *
 * Figures: CML's reference-platform node definitions (sim.linux_native cpus/ram, serial_ports,
 * video → VNC, boot.timeout), RAM rounded to what a lab typically needs; disk is the per-lab
 * overlay growth, not the image size.
 */

const vm = (
  id: string,
  cpus: number,
  ramMb: number,
  diskGb: number,
  bootSeconds: number,
  consoles: { serial?: number; vnc?: boolean },
  image: string,
): NodeDefinitionInfo => ({
  id,
  cpus,
  ramMb,
  diskGb,
  bootSeconds,
  serialConsoles: consoles.serial ?? 1,
  vnc: consoles.vnc ?? false,
  countsAsNode: true,
  image,
});

const noVm = (id: string): NodeDefinitionInfo => ({
  id,
  cpus: 0,
  ramMb: 0,
  diskGb: 0,
  bootSeconds: 0,
  serialConsoles: 0,
  vnc: false,
  countsAsNode: false,
});

/** The shipped default table: CML 2.9 reference platforms. */
export const REFERENCE_NODE_DEFINITIONS: readonly NodeDefinitionInfo[] = Object.freeze([
  vm('iosv', 1, 512, 1, 180, {}, 'iosv-159-3-m8'),
  vm('iosvl2', 1, 768, 1, 180, {}, 'iosvl2-2020'),
  vm('iol-xe', 1, 768, 1, 60, {}, 'iol-xe-17-15-01'),
  vm('ioll2-xe', 1, 768, 1, 60, {}, 'ioll2-xe-17-15-01'),
  vm('csr1000v', 1, 3072, 8, 420, {}, 'csr1000v-17-03-08a'),
  vm('cat8000v', 1, 4096, 8, 480, {}, 'cat8000v-17-15-01a'),
  vm('cat9000v', 4, 18_432, 8, 900, {}, 'cat9000v-q200-17-15-01'),
  vm('nxosv9000', 2, 8192, 8, 600, { serial: 2 }, 'nxosv9300-10-5-1-f'),
  vm('asav', 1, 2048, 8, 300, { vnc: true }, 'asav-9-22-1-1'),
  vm('iosxrv9000', 4, 16_384, 8, 900, { serial: 4 }, 'iosxrv9000-24-3-1'),
  vm('ubuntu', 1, 2048, 4, 120, { vnc: true }, 'ubuntu-24-04-20250503'),
  vm('alpine', 1, 512, 1, 30, {}, 'alpine-3-21-3-base'),
  vm('desktop', 1, 2048, 4, 90, { vnc: true }, 'alpine-desktop-3-21-3'),
  vm('server', 1, 512, 1, 30, { vnc: true }, 'tinycore-16-0'),
  vm('trex', 4, 4096, 4, 180, { vnc: true }, 'trex-3-06'),
  vm('wan_emulator', 1, 512, 1, 30, {}, 'wan-emulator-2-0-0'),
  noVm('external_connector'),
  noVm('unmanaged_switch'),
]);

/** What an unknown node definition is taken to be: 1 vCPU, 2 GB, 4 GB disk, one serial console. */
export const FALLBACK_NODE: NodeDefinitionInfo = Object.freeze({
  id: '(fallback)',
  cpus: 1,
  ramMb: 2048,
  diskGb: 4,
  bootSeconds: 300,
  serialConsoles: 1,
  vnc: false,
  countsAsNode: true,
});

/** The fallback as a warning says it. */
export const FALLBACK_DESCRIPTION = '1 vCPU, 2048 MB RAM, 4 GB disk, one serial console';

export type NodeDefinitionCatalogue = ReadonlyMap<string, NodeDefinitionInfo>;

/** A catalogue keyed by lower-case id; later entries win (a worker's figures over the shipped ones). */
export function nodeDefinitionCatalogue(
  ...sources: ReadonlyArray<readonly NodeDefinitionInfo[]>
): NodeDefinitionCatalogue {
  const out = new Map<string, NodeDefinitionInfo>();
  for (const source of sources) for (const d of source) out.set(d.id.toLowerCase(), d);
  return out;
}

export const DEFAULT_NODE_DEFINITIONS: NodeDefinitionCatalogue =
  nodeDefinitionCatalogue(REFERENCE_NODE_DEFINITIONS);

/** The definition's entry (ids match case-insensitively), or the fallback with `known: false`. */
export function lookupNodeDefinition(
  id: string,
  catalogue: NodeDefinitionCatalogue = DEFAULT_NODE_DEFINITIONS,
): { info: NodeDefinitionInfo; known: boolean } {
  const info = catalogue.get(id.toLowerCase());
  return info ? { info, known: true } : { info: FALLBACK_NODE, known: false };
}

/** The consoles LCM derives for a node without PATty tags: serial line 0 when it has one, VNC when offered. */
export function derivedConsoles(info: NodeDefinitionInfo): Array<'serial' | 'vnc'> {
  const out: Array<'serial' | 'vnc'> = [];
  if (info.serialConsoles > 0) out.push('serial');
  if (info.vnc) out.push('vnc');
  return out;
}

/**
 * What a worker's CML lacks of what a lab needs: node definitions (case-insensitive) and image
 * definitions. A worker whose definitions were never read lacks nothing (unknown is not absent).
 */
export function missingDefinitions(
  needs: {
    nodeDefinitions?: readonly string[] | undefined;
    imageDefinitions?: readonly string[] | undefined;
  },
  offered: Pick<WorkerCmlDefinitions, 'nodeDefinitions' | 'imageDefinitions'> | undefined,
): { nodeDefinitions: string[]; imageDefinitions: string[] } {
  if (!offered) return { nodeDefinitions: [], imageDefinitions: [] };
  const nodes = new Set(offered.nodeDefinitions.map((d) => d.id.toLowerCase()));
  const images = new Set(offered.imageDefinitions.map((d) => d.id));
  return {
    nodeDefinitions: (needs.nodeDefinitions ?? []).filter((d) => !nodes.has(d.toLowerCase())),
    imageDefinitions: (needs.imageDefinitions ?? []).filter((d) => !images.has(d)),
  };
}

// ---------------------------------------------------------------------------------------------
// CML's node and image definitions (the wire shapes, read leniently)

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const obj = (v: unknown): Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};

/**
 * One entry of CML's `GET /node_definitions` in LCM's terms: `sim.linux_native.{cpus, ram,
 * boot_disk_size, data_volume}`, `device.interfaces.serial_ports`, VNC when
 * `sim.linux_native.video` is set, `boot.timeout`; `general.nature` `switch`/`cloud` with no
 * `sim.linux_native` runs no VM. Undefined for an entry without an id.
 */
export function nodeDefinitionFromCml(raw: unknown): NodeDefinitionInfo | undefined {
  const d = obj(raw);
  const id = typeof d.id === 'string' && d.id.length > 0 ? d.id : undefined;
  if (!id) return undefined;
  const sim = obj(obj(d.sim).linux_native);
  const hasVm = Object.keys(sim).length > 0;
  const shipped = DEFAULT_NODE_DEFINITIONS.get(id.toLowerCase());
  if (!hasVm) return noVm(id);
  const serial = num(obj(obj(d.device).interfaces).serial_ports);
  return {
    id,
    cpus: num(sim.cpus) ?? shipped?.cpus ?? FALLBACK_NODE.cpus,
    ramMb: num(sim.ram) ?? shipped?.ramMb ?? FALLBACK_NODE.ramMb,
    diskGb:
      (num(sim.boot_disk_size) ?? shipped?.diskGb ?? FALLBACK_NODE.diskGb) + (num(sim.data_volume) ?? 0),
    bootSeconds: num(obj(d.boot).timeout) ?? shipped?.bootSeconds ?? FALLBACK_NODE.bootSeconds,
    serialConsoles: Math.max(0, Math.min(64, Math.trunc(serial ?? shipped?.serialConsoles ?? 1))),
    vnc: sim.video !== undefined && sim.video !== null,
    countsAsNode: true,
    ...(shipped?.image ? { image: shipped.image } : {}),
  };
}

/** `GET /image_definitions` entries: `{id, node_definition_id}`; entries without an id are skipped. */
export function imageDefinitionsFromCml(raw: unknown): Array<{ id: string; nodeDefinition?: string }> {
  if (!Array.isArray(raw)) return [];
  const out: Array<{ id: string; nodeDefinition?: string }> = [];
  for (const item of raw) {
    const d = obj(item);
    if (typeof d.id !== 'string' || d.id.length === 0) continue;
    out.push({
      id: d.id,
      ...(typeof d.node_definition_id === 'string' ? { nodeDefinition: d.node_definition_id } : {}),
    });
  }
  return out;
}

/**
 * A worker's catalogue from its CML answers: node definitions with, as `image`, the first image
 * definition CML has for each (the shipped image when CML lists it too).
 */
export function workerDefinitionsFromCml(
  nodeDefinitions: unknown,
  imageDefinitions: unknown,
  refreshedAt: string,
): WorkerCmlDefinitions {
  const images = imageDefinitionsFromCml(imageDefinitions);
  const nodes = (Array.isArray(nodeDefinitions) ? nodeDefinitions : [])
    .map(nodeDefinitionFromCml)
    .filter((d): d is NodeDefinitionInfo => d !== undefined)
    .slice(0, 500)
    .map((d) => {
      const own = images.filter((i) => i.nodeDefinition === d.id).map((i) => i.id);
      const image = d.image && own.includes(d.image) ? d.image : own[0];
      const { image: _shipped, ...rest } = d;
      return image ? { ...rest, image } : rest;
    });
  return { refreshedAt, nodeDefinitions: nodes, imageDefinitions: images.slice(0, 2000) };
}
