import { type Document, isMap, isScalar, isSeq, parseDocument, type Scalar, type YAMLError } from 'yaml';
import * as z from 'zod';
import type {
  PortAllocations,
  PortKind,
  PortTemplate,
  PortTemplateEntry,
  ResourceRequirements,
} from '../../kernel/index.ts';
import { DomainError, ValidationError } from '../../kernel/index.ts';

/**
 * CML topology YAML (cml-api.md §7): validation, the port template read from PATty node tags,
 * resource estimates, and rewriting the PATty outside ports to the ports leased on a worker.
 * docs/topology.md documents the defaults table and the tag rules.
 */

/** CML writes ids and labels as strings; a bare number in hand-written YAML is accepted. */
const IdLike = z.union([z.string().min(1), z.number()]).transform(String);
/** Absent, null and 0 all mean "not set": the node definition's default applies. */
const OptionalAmount = z.number().nonnegative().nullish();

const CmlInterfaceSchema = z.looseObject({
  id: IdLike,
  label: z.string().nullish(),
  type: z.string().nullish(),
  slot: z.number().nullish(),
});

const CmlNodeSchema = z.looseObject({
  id: IdLike,
  label: IdLike,
  node_definition: z.string().min(1),
  ram: OptionalAmount,
  cpus: OptionalAmount,
  cpu_limit: z.number().min(0).max(100).nullish(),
  boot_disk_size: OptionalAmount,
  data_volume: OptionalAmount,
  tags: z
    .array(z.union([z.string(), z.number(), z.boolean()]).transform(String))
    .nullish()
    .transform((t) => t ?? []),
  interfaces: z
    .array(CmlInterfaceSchema)
    .nullish()
    .transform((i) => i ?? []),
});

const CmlLinkSchema = z.looseObject({ id: IdLike, n1: IdLike, n2: IdLike, i1: IdLike, i2: IdLike });

export const CmlTopologySchema = z.looseObject({
  lab: z.looseObject({
    version: z
      .union([z.string().trim().min(1), z.number()], {
        error: 'required: the topology schema version, e.g. 0.3.0',
      })
      .transform(String),
    title: z.string().nullish(),
  }),
  nodes: z
    .array(CmlNodeSchema)
    .nullish()
    .transform((n) => n ?? []),
  links: z
    .array(CmlLinkSchema)
    .nullish()
    .transform((l) => l ?? []),
});
export type CmlTopology = z.output<typeof CmlTopologySchema>;
export type CmlNode = CmlTopology['nodes'][number];

// ---------------------------------------------------------------------------------------------
// Parsing

function parseYamlDocument(yamlText: string): Document.Parsed {
  if (typeof yamlText !== 'string') throw new DomainError('TOPOLOGY_INVALID', 'topology must be YAML text');
  const doc = parseDocument(yamlText, { prettyErrors: true, uniqueKeys: true });
  const err: YAMLError | undefined = doc.errors[0];
  if (err) {
    const pos = err.linePos?.[0];
    const where = pos ? ` at line ${pos.line}, column ${pos.col}` : '';
    const reason = err.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '') ?? err.code;
    throw new DomainError('TOPOLOGY_INVALID', `invalid YAML${where}: ${reason}`, {
      ...(pos ? { line: pos.line, col: pos.col } : {}),
      yamlCode: err.code,
    });
  }
  return doc;
}

/** Resolves the document to plain data; alias bombs and the like become TOPOLOGY_INVALID too. */
function toData(doc: Document.Parsed): unknown {
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new DomainError('TOPOLOGY_INVALID', `invalid YAML: ${(e as Error).message}`);
  }
}

function validateTopology(data: unknown): CmlTopology {
  const parsed = CmlTopologySchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.map(String).join('.') || '(root)';
    throw new DomainError('TOPOLOGY_INVALID', `${field}: ${issue.message}`, {
      field,
      issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
    });
  }
  const topology = parsed.data;

  const interfacesByNode = new Map<string, Set<string>>();
  topology.nodes.forEach((node, i) => {
    if (interfacesByNode.has(node.id)) {
      throw new DomainError('TOPOLOGY_INVALID', `nodes.${i}.id: duplicate node id ${node.id}`, {
        field: `nodes.${i}.id`,
        nodeId: node.id,
      });
    }
    const ids = new Set<string>();
    node.interfaces.forEach((iface, j) => {
      if (ids.has(iface.id)) {
        throw new DomainError('TOPOLOGY_INVALID', `node ${node.id}: duplicate interface id ${iface.id}`, {
          field: `nodes.${i}.interfaces.${j}.id`,
          nodeId: node.id,
          interfaceId: iface.id,
        });
      }
      ids.add(iface.id);
    });
    interfacesByNode.set(node.id, ids);
  });

  const linkIds = new Set<string>();
  topology.links.forEach((link, i) => {
    if (linkIds.has(link.id)) {
      throw new DomainError('TOPOLOGY_INVALID', `links.${i}.id: duplicate link id ${link.id}`, {
        field: `links.${i}.id`,
        linkId: link.id,
      });
    }
    linkIds.add(link.id);
    for (const [nodeKey, ifaceKey] of [
      ['n1', 'i1'],
      ['n2', 'i2'],
    ] as const) {
      const nodeId = link[nodeKey];
      const ifaces = interfacesByNode.get(nodeId);
      if (!ifaces) {
        throw new DomainError(
          'TOPOLOGY_INVALID',
          `link ${link.id}: ${nodeKey} references unknown node ${nodeId}`,
          {
            field: `links.${i}.${nodeKey}`,
            linkId: link.id,
            reference: nodeId,
          },
        );
      }
      const ifaceId = link[ifaceKey];
      if (!ifaces.has(ifaceId)) {
        throw new DomainError(
          'TOPOLOGY_INVALID',
          `link ${link.id}: ${ifaceKey} references unknown interface ${ifaceId} of node ${nodeId}`,
          { field: `links.${i}.${ifaceKey}`, linkId: link.id, reference: ifaceId, nodeId },
        );
      }
    }
  });
  return topology;
}

/** Parses and validates a CML topology; every problem is a TOPOLOGY_INVALID DomainError. */
export function parseTopology(yamlText: string): CmlTopology {
  return validateTopology(toData(parseYamlDocument(yamlText)));
}

// ---------------------------------------------------------------------------------------------
// PATty tags and the port template

/** Service names for well-known inside TCP ports; others are named `tcp<port>`. */
export const WELL_KNOWN_TCP_PORTS: Readonly<Record<number, string>> = {
  22: 'ssh',
  23: 'telnet',
  80: 'http',
  443: 'https',
  830: 'netconf',
  3389: 'rdp',
};

export interface PattyTag {
  kind: PortKind;
  /** The outside port written in the tag. */
  outside: number;
  /** Inside port (tcp/udp) or console line (serial); undefined for vnc. */
  inside?: number | undefined;
  /** Name suffix of the port template entry (`serial`, `serial1`, `vnc`, `ssh`, `tcp8080`, `udp161`). */
  service: string;
}

const PATTY_PREFIX = /^\s*(serial|vnc|pat)\s*:/i;
const SERIAL_TAG = /^serial:(\d{1,5})(?::(\d{1,5}))?$/;
const VNC_TAG = /^vnc:(\d{1,5})$/;
const PAT_TAG = /^pat:(?:(tcp|udp):)?(\d{1,5}):(\d{1,5})$/;

const port = (digits: string, min: number): number | undefined => {
  const n = Number(digits);
  return n >= min && n <= 65_535 ? n : undefined;
};

/**
 * Reads one node tag. Returns undefined for a tag that is not PATty (left alone); throws a
 * ValidationError (field = `field`) for a tag that looks like PATty but is malformed, so a typo
 * never silently drops a console port. PATty syntax is lower-case.
 */
export function parsePattyTag(tag: string, field = 'tag', nodeLabel?: string): PattyTag | undefined {
  if (!PATTY_PREFIX.test(tag)) return undefined;
  const bad = (why: string): never => {
    const where = nodeLabel === undefined ? '' : `node ${nodeLabel}: `;
    throw new ValidationError(field, `${where}malformed PATty tag "${tag}": ${why}`, {
      tag,
      ...(nodeLabel === undefined ? {} : { node: nodeLabel }),
    });
  };
  let m = SERIAL_TAG.exec(tag);
  if (m) {
    const outside = port(m[1]!, 1) ?? bad('outside port must be 1-65535');
    const line = m[2] === undefined ? 0 : (port(m[2], 0) ?? bad('console line must be 0-65535'));
    return { kind: 'serial', outside, inside: line, service: line > 0 ? `serial${line}` : 'serial' };
  }
  m = VNC_TAG.exec(tag);
  if (m)
    return { kind: 'vnc', outside: port(m[1]!, 1) ?? bad('outside port must be 1-65535'), service: 'vnc' };
  m = PAT_TAG.exec(tag);
  if (m) {
    const outside = port(m[2]!, 1) ?? bad('outside port must be 1-65535');
    const inside = port(m[3]!, 1) ?? bad('inside port must be 1-65535');
    if (m[1] === 'udp') return { kind: 'udp', outside, inside, service: `udp${inside}` };
    return { kind: 'tcp', outside, inside, service: WELL_KNOWN_TCP_PORTS[inside] ?? `tcp${inside}` };
  }
  return bad('expected serial:<outside>[:<line>], vnc:<outside> or pat:[tcp:|udp:]<outside>:<inside>');
}

interface TaggedPort {
  nodeIndex: number;
  tagIndex: number;
  tag: string;
  parsed: PattyTag;
  entry: PortTemplateEntry;
}

/** Walks nodes and tags in document order; rewriting relies on this order being stable. */
function collectTaggedPorts(topology: CmlTopology): TaggedPort[] {
  const out: TaggedPort[] = [];
  const used = new Set<string>();
  topology.nodes.forEach((node, nodeIndex) => {
    let vncTag: string | undefined;
    node.tags.forEach((tag, tagIndex) => {
      const field = `nodes.${nodeIndex}.tags.${tagIndex}`;
      const parsed = parsePattyTag(tag, field, node.label);
      if (!parsed) return;
      if (parsed.kind === 'vnc') {
        if (vncTag !== undefined) {
          throw new ValidationError(field, `node ${node.label}: more than one vnc tag (${vncTag}, ${tag})`, {
            node: node.label,
            tag,
          });
        }
        vncTag = tag;
      }
      const base = `${node.label}_${parsed.service}`;
      let name = base;
      for (let k = 2; used.has(name); k++) name = `${base}_${k}`;
      used.add(name);
      out.push({
        nodeIndex,
        tagIndex,
        tag,
        parsed,
        entry: {
          name,
          nodeLabel: node.label,
          kind: parsed.kind,
          ...(parsed.inside !== undefined ? { insidePort: parsed.inside } : {}),
          templatePort: parsed.outside,
        },
      });
    });
  });
  return out;
}

/**
 * The named ports a lab needs, one per PATty tag, in document order. Names are
 * `<label>_<service>`; a name already taken gets `_2`, `_3`, … in document order.
 */
export function extractPortTemplate(topology: CmlTopology): PortTemplate {
  return collectTaggedPorts(topology).map((p) => p.entry);
}

// ---------------------------------------------------------------------------------------------
// Resource estimates

export interface NodeDefaults {
  cpus: number;
  ramMb: number;
  diskGb: number;
  /** False for definitions that run no VM (they do not count against a worker's maxNodes). */
  countsAsNode: boolean;
}

const vm = (cpus: number, ramMb: number, diskGb: number): NodeDefaults => ({
  cpus,
  ramMb,
  diskGb,
  countsAsNode: true,
});
const NO_VM: NodeDefaults = { cpus: 0, ramMb: 0, diskGb: 0, countsAsNode: false };

/** Per node_definition estimates used when a node sets no ram/cpus (see docs/topology.md). */
export const NODE_DEFAULTS: Readonly<Record<string, NodeDefaults>> = Object.freeze({
  iosv: vm(1, 512, 1),
  iosvl2: vm(1, 768, 1),
  'iol-xe': vm(1, 768, 1),
  'ioll2-xe': vm(1, 768, 1),
  csr1000v: vm(1, 3072, 8),
  cat8000v: vm(1, 4096, 8),
  cat9000v: vm(4, 18_432, 8),
  nxosv9000: vm(2, 8192, 8),
  asav: vm(1, 2048, 8),
  iosxrv9000: vm(4, 16_384, 8),
  ubuntu: vm(1, 2048, 4),
  alpine: vm(1, 512, 1),
  desktop: vm(1, 2048, 4),
  server: vm(1, 512, 1),
  trex: vm(4, 4096, 4),
  wan_emulator: vm(1, 512, 1),
  external_connector: NO_VM,
  unmanaged_switch: NO_VM,
});

/** For a node_definition not in the table (custom images). */
export const DEFAULT_NODE: NodeDefaults = Object.freeze(vm(1, 2048, 4));

export const nodeDefaults = (nodeDefinition: string): NodeDefaults =>
  Object.hasOwn(NODE_DEFAULTS, nodeDefinition.toLowerCase())
    ? NODE_DEFAULTS[nodeDefinition.toLowerCase()]!
    : DEFAULT_NODE;

/** Rounds up to a multiple of `step`, tolerating float noise just above a multiple. */
const ceilTo = (value: number, step: number): number => Math.max(0, Math.ceil(value / step - 1e-9) * step);

/**
 * What one session of this topology needs. Per node: cpus × cpu_limit% (default 100), ram (MB),
 * boot_disk_size + data_volume (GB), each falling back to the node definition's default when
 * unset or 0. Totals: cpuCores rounded up to 0.1, memoryGb = MB / 1024 rounded up to 0.5,
 * storageGb rounded up to a whole GB, nodeCount = nodes that run a VM.
 */
export function estimateResources(topology: CmlTopology): ResourceRequirements {
  let cpu = 0;
  let ramMb = 0;
  let diskGb = 0;
  let nodeCount = 0;
  for (const node of topology.nodes) {
    const d = nodeDefaults(node.node_definition);
    if (!d.countsAsNode) continue;
    nodeCount++;
    cpu += (node.cpus || d.cpus) * ((node.cpu_limit || 100) / 100);
    ramMb += node.ram || d.ramMb;
    diskGb += (node.boot_disk_size || d.diskGb) + (node.data_volume ?? 0);
  }
  return {
    cpuCores: Math.round(ceilTo(cpu, 0.1) * 10) / 10,
    memoryGb: ceilTo(ramMb / 1024, 0.5),
    storageGb: ceilTo(diskGb, 1),
    nodeCount,
  };
}

// ---------------------------------------------------------------------------------------------
// Rewriting PATty ports

/** The tag with its outside port replaced; everything else in the tag is kept as written. */
function withOutsidePort(tag: string, parsed: PattyTag, newPort: number): string {
  const parts = tag.split(':');
  const outsideIndex = parsed.kind === 'tcp' || parsed.kind === 'udp' ? parts.length - 2 : 1;
  parts[outsideIndex] = String(newPort);
  return parts.join(':');
}

function checkAllocations(ports: TaggedPort[], template: PortTemplate, allocations: PortAllocations): void {
  const expected = ports.map((p) => `${p.entry.name}:${p.entry.kind}`).sort();
  const given = template.map((e) => `${e.name}:${e.kind}`).sort();
  if (expected.length !== given.length || expected.some((v, i) => v !== given[i])) {
    throw new ValidationError('template', "does not match the topology's PATty tags", { expected, given });
  }
  const owner = new Map<number, string>();
  for (const { entry } of ports) {
    const value = Object.hasOwn(allocations, entry.name) ? allocations[entry.name] : undefined;
    if (value === undefined || !Number.isInteger(value) || value < 1 || value > 65_535) {
      throw new ValidationError(`allocations.${entry.name}`, `needs a port 1-65535, got ${String(value)}`);
    }
    const other = owner.get(value);
    if (other !== undefined) {
      throw new ValidationError(`allocations.${entry.name}`, `port ${value} is also allocated to ${other}`);
    }
    owner.set(value, entry.name);
  }
}

/**
 * Returns the topology YAML with every PATty tag's outside port replaced by the port allocated
 * to its template entry. Only the port digits change: the text is spliced at the source ranges
 * the yaml Document API reports, so comments, ordering, quoting and layout survive byte for byte.
 */
export function rewriteTopologyPorts(
  yamlText: string,
  template: PortTemplate,
  allocations: PortAllocations,
): string {
  const doc = parseYamlDocument(yamlText);
  const ports = collectTaggedPorts(validateTopology(toData(doc)));
  checkAllocations(ports, template, allocations);

  const nodes = doc.get('nodes', true);
  const edits: Array<{ scalar: Scalar; newTag: string }> = [];
  for (const p of ports) {
    const node = isSeq(nodes) ? nodes.items[p.nodeIndex] : undefined;
    const tags = isMap(node) ? node.get('tags', true) : undefined;
    const scalar = isSeq(tags) ? tags.items[p.tagIndex] : undefined;
    if (!isScalar(scalar) || String(scalar.value) !== p.tag) {
      // Only anchors/aliases can make the document tree differ from its resolved data.
      throw new ValidationError(
        `nodes.${p.nodeIndex}.tags.${p.tagIndex}`,
        'PATty tags must be plain YAML values',
      );
    }
    edits.push({ scalar, newTag: withOutsidePort(p.tag, p.parsed, allocations[p.entry.name]!) });
  }

  let text = yamlText;
  const quotes: Partial<Record<string, string>> = { PLAIN: '', QUOTE_DOUBLE: '"', QUOTE_SINGLE: "'" };
  const spliceable = edits.every(({ scalar }) => {
    const q = quotes[scalar.type ?? ''];
    const range = scalar.range;
    return (
      q !== undefined && range && yamlText.slice(range[0], range[1]) === `${q}${String(scalar.value)}${q}`
    );
  });
  if (spliceable) {
    for (const { scalar, newTag } of [...edits].sort((a, b) => b.scalar.range![0] - a.scalar.range![0])) {
      const q = quotes[scalar.type!]!;
      text = text.slice(0, scalar.range![0]) + q + newTag + q + text.slice(scalar.range![1]);
    }
  } else {
    // Escaped or block-style tags: let the Document re-serialise (comments and order still kept).
    for (const { scalar, newTag } of edits) scalar.value = newTag;
    text = doc.toString({ lineWidth: 0 });
  }

  // The result is imported into CML as is: prove every tag now carries its allocated port.
  for (const p of collectTaggedPorts(parseTopology(text))) {
    if (p.parsed.outside !== allocations[p.entry.name]) {
      throw new Error(`rewriteTopologyPorts: ${p.entry.name} has port ${p.parsed.outside} after rewriting`);
    }
  }
  return text;
}
