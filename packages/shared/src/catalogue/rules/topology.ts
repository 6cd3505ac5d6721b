import { type Document, isMap, isScalar, isSeq, parseDocument, type Scalar, type YAMLError } from 'yaml';
import * as z from 'zod';
import type {
  DefinitionWarning,
  PortAllocations,
  PortKind,
  PortTemplate,
  PortTemplateEntry,
  ResourceRequirements,
} from '../../kernel/index.ts';
import { DomainError, ValidationError } from '../../kernel/index.ts';
import {
  DEFAULT_NODE_DEFINITIONS,
  derivedConsoles,
  FALLBACK_DESCRIPTION,
  FALLBACK_NODE,
  lookupNodeDefinition,
  type NodeDefinitionCatalogue,
  REFERENCE_NODE_DEFINITIONS,
} from './node-definitions.ts';

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
  image_definition: z.string().nullish(),
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
  /** An older `ssh:`/`telnet:`/`http:<outside>` tag: placement writes it as `pat:<outside>:<inside>`. */
  legacy?: boolean;
}

const PATTY_PREFIX = /^\s*(serial|vnc|pat|ssh|telnet|http)\s*:/i;
/** Older tag forms (TCP forwards to the well-known port): `ssh:<outside>`, `telnet:<outside>`, `http:<outside>`. */
const LEGACY_TAG = /^(ssh|telnet|http):(\d{1,5})$/;
const LEGACY_INSIDE: Readonly<Record<string, number>> = { ssh: 22, telnet: 23, http: 80 };
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
  m = LEGACY_TAG.exec(tag);
  if (m) {
    const outside = port(m[2]!, 1) ?? bad('outside port must be 1-65535');
    return { kind: 'tcp', outside, inside: LEGACY_INSIDE[m[1]!]!, service: m[1]!, legacy: true };
  }
  return bad(
    'expected serial:<outside>[:<line>], vnc:<outside>, pat:[tcp:|udp:]<outside>:<inside> ' +
      'or the older ssh:<outside>, telnet:<outside>, http:<outside>',
  );
}

interface TaggedPort {
  nodeIndex: number;
  tagIndex: number;
  tag: string;
  parsed: PattyTag;
  entry: PortTemplateEntry;
}

/** Per node id, the consoles to derive for it (only nodes without PATty tags get any). */
type DeriveFor = (node: CmlNode) => ReadonlyArray<'serial' | 'vnc'>;

const NO_DERIVATION: DeriveFor = () => [];

/** Consoles from the node definition (catalogue) for a node without PATty tags. */
const deriveFromCatalogue =
  (catalogue: NodeDefinitionCatalogue): DeriveFor =>
  (node) =>
    derivedConsoles(lookupNodeDefinition(node.node_definition, catalogue).info);

/** Exactly the derived entries a template names (what placement rewrites). */
const deriveAsTemplate = (template: PortTemplate): DeriveFor => {
  const byNode = new Map<string, Array<'serial' | 'vnc'>>();
  for (const e of template) {
    if (!e.derived || e.nodeId === undefined || (e.kind !== 'serial' && e.kind !== 'vnc')) continue;
    byNode.set(e.nodeId, [...(byNode.get(e.nodeId) ?? []), e.kind]);
  }
  return (node) => (byNode.get(node.id) ?? []).sort((a, b) => (a === b ? 0 : a === 'serial' ? -1 : 1));
};

const hasPattyTag = (node: CmlNode): boolean => node.tags.some((t) => PATTY_PREFIX.test(t));

/**
 * Walks nodes and tags in document order; rewriting relies on this order being stable. A node
 * without PATty tags gets the consoles `derive` names (serial first, then VNC), named as the tags
 * placement writes for them would be, so the names survive the rewrite.
 */
function collectPorts(
  topology: CmlTopology,
  derive: DeriveFor,
): { tagged: TaggedPort[]; template: PortTemplateEntry[] } {
  const tagged: TaggedPort[] = [];
  const template: PortTemplateEntry[] = [];
  const used = new Set<string>();
  const nameFor = (base: string): string => {
    let name = base;
    for (let k = 2; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
  topology.nodes.forEach((node, nodeIndex) => {
    if (!hasPattyTag(node)) {
      for (const kind of derive(node)) {
        template.push({
          name: nameFor(`${node.label}_${kind}`),
          nodeLabel: node.label,
          kind,
          ...(kind === 'serial' ? { insidePort: 0 } : {}),
          derived: true,
          nodeId: node.id,
        });
      }
      return;
    }
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
      const entry: PortTemplateEntry = {
        name: nameFor(`${node.label}_${parsed.service}`),
        nodeLabel: node.label,
        kind: parsed.kind,
        ...(parsed.inside !== undefined ? { insidePort: parsed.inside } : {}),
        templatePort: parsed.outside,
      };
      tagged.push({ nodeIndex, tagIndex, tag, parsed, entry });
      template.push(entry);
    });
  });
  return { tagged, template };
}

/** The ports the PATty tags alone describe (what CML reads from an imported lab). */
function collectTaggedPorts(topology: CmlTopology): TaggedPort[] {
  return collectPorts(topology, NO_DERIVATION).tagged;
}

export interface PortTemplateOptions {
  /**
   * Derive consoles for nodes without PATty tags from this node-definition catalogue (issue 11,
   * item 2). Absent: only the tags count (what CML itself reads from a topology).
   */
  catalogue?: NodeDefinitionCatalogue | undefined;
}

/**
 * The named ports a lab needs, in document order: one per PATty tag, and with a `catalogue`, the
 * consoles of each node without PATty tags (a serial console where its node definition has one,
 * VNC where offered; `derived: true`). Names are `<label>_<service>`; a name already taken gets
 * `_2`, `_3`, … in document order.
 */
export function extractPortTemplate(topology: CmlTopology, opts: PortTemplateOptions = {}): PortTemplate {
  const derive = opts.catalogue ? deriveFromCatalogue(opts.catalogue) : NO_DERIVATION;
  return collectPorts(topology, derive).template;
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

const defaultsOf = (d: {
  cpus: number;
  ramMb: number;
  diskGb: number;
  countsAsNode: boolean;
}): NodeDefaults => ({ cpus: d.cpus, ramMb: d.ramMb, diskGb: d.diskGb, countsAsNode: d.countsAsNode });

/**
 * Per node_definition estimates used when a node sets no ram/cpus (see docs/topology.md): the
 * figures of the shipped node-definition table (node-definitions.ts).
 */
export const NODE_DEFAULTS: Readonly<Record<string, NodeDefaults>> = Object.freeze(
  Object.fromEntries(REFERENCE_NODE_DEFINITIONS.map((d) => [d.id, Object.freeze(defaultsOf(d))])),
);

/** For a node_definition not in the table (custom images). */
export const DEFAULT_NODE: NodeDefaults = Object.freeze(defaultsOf(FALLBACK_NODE));

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
export function estimateResources(
  topology: CmlTopology,
  catalogue: NodeDefinitionCatalogue = DEFAULT_NODE_DEFINITIONS,
): ResourceRequirements {
  let cpu = 0;
  let ramMb = 0;
  let diskGb = 0;
  let nodeCount = 0;
  for (const node of topology.nodes) {
    const d = lookupNodeDefinition(node.node_definition, catalogue).info;
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

/**
 * The tag with its outside port replaced; everything else in the tag is kept as written. An older
 * `ssh:`/`telnet:`/`http:` tag becomes `pat:<port>:<inside>`, the form CML's PATty reads.
 */
function withOutsidePort(tag: string, parsed: PattyTag, newPort: number): string {
  if (parsed.legacy) return `pat:${newPort}:${parsed.inside}`;
  const parts = tag.split(':');
  const outsideIndex = parsed.kind === 'tcp' || parsed.kind === 'udp' ? parts.length - 2 : 1;
  parts[outsideIndex] = String(newPort);
  return parts.join(':');
}

function checkAllocations(
  ports: readonly PortTemplateEntry[],
  template: PortTemplate,
  allocations: PortAllocations,
): void {
  const expected = ports.map((p) => `${p.name}:${p.kind}`).sort();
  const given = template.map((e) => `${e.name}:${e.kind}`).sort();
  if (expected.length !== given.length || expected.some((v, i) => v !== given[i])) {
    throw new ValidationError('template', "does not match the topology's PATty tags and derived consoles", {
      expected,
      given,
    });
  }
  const owner = new Map<number, string>();
  for (const entry of ports) {
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
  const collected = collectPorts(validateTopology(toData(doc)), deriveAsTemplate(template));
  checkAllocations(collected.template, template, allocations);
  const ports = collected.tagged;
  const derived = collected.template.filter((e) => e.derived);

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
  if (derived.length > 0) text = withDerivedTags(text, derived, allocations);

  // The result is imported into CML as is: prove every tag now carries its allocated port, and
  // every entry of the template is now a tag.
  const after = collectTaggedPorts(parseTopology(text));
  for (const p of after) {
    if (p.parsed.outside !== allocations[p.entry.name]) {
      throw new Error(`rewriteTopologyPorts: ${p.entry.name} has port ${p.parsed.outside} after rewriting`);
    }
  }
  if (after.length !== template.length) {
    throw new Error(`rewriteTopologyPorts: ${after.length} tags after rewriting, ${template.length} ports`);
  }
  return text;
}

/** Adds `serial:<port>` / `vnc:<port>` to each node a derived console belongs to (serial first). */
function withDerivedTags(
  yamlText: string,
  derived: readonly PortTemplateEntry[],
  allocations: PortAllocations,
): string {
  const doc = parseYamlDocument(yamlText);
  const nodes = doc.get('nodes', true);
  const byId = new Map<string, ReturnType<typeof doc.createNode>>();
  if (isSeq(nodes)) {
    for (const node of nodes.items) {
      if (isMap(node)) byId.set(String(node.get('id')), node);
    }
  }
  for (const entry of derived) {
    const node = byId.get(entry.nodeId!);
    if (!isMap(node)) throw new ValidationError(`template.${entry.name}`, `no node ${entry.nodeId}`);
    const tag = `${entry.kind}:${allocations[entry.name]!}`;
    const tags = node.get('tags', true);
    if (isSeq(tags)) tags.items.push(doc.createNode(tag));
    else node.set('tags', doc.createNode([tag]));
  }
  return doc.toString({ lineWidth: 0 });
}

// ---------------------------------------------------------------------------------------------
// Analysis: everything a definition derives from its topology, with the warnings

export interface TopologyAnalysis {
  portTemplate: PortTemplate;
  resourceRequirements: ResourceRequirements;
  /** Node definitions the nodes use (as written, first occurrence order, distinct case-insensitively). */
  nodeDefinitions: string[];
  /** Image definitions nodes pin (`image_definition`). */
  imageDefinitions: string[];
  warnings: DefinitionWarning[];
  counts: { nodes: number; vmNodes: number; consoleNodes: number; ports: number };
}

/**
 * Reads a topology the way a definition needs it: the port template with derived consoles, the
 * resource estimate, the node and image definitions it needs, and warnings — unknown node
 * definitions (with the fallback used), VM nodes left without any console, nodes whose `ram`
 * is above their definition's default.
 */
export function analyseTopology(
  topology: CmlTopology,
  catalogue: NodeDefinitionCatalogue = DEFAULT_NODE_DEFINITIONS,
): TopologyAnalysis {
  const portTemplate = extractPortTemplate(topology, { catalogue });
  const warnings: DefinitionWarning[] = [];
  const nodeDefinitions = new Map<string, string>();
  const imageDefinitions = new Set<string>();
  const unknown = new Map<string, string[]>();
  const withPorts = new Set(portTemplate.map((e) => e.nodeLabel));
  let vmNodes = 0;
  let consoleNodes = 0;
  for (const node of topology.nodes) {
    const key = node.node_definition.toLowerCase();
    if (!nodeDefinitions.has(key)) nodeDefinitions.set(key, node.node_definition);
    if (node.image_definition) imageDefinitions.add(node.image_definition);
    const { info, known } = lookupNodeDefinition(node.node_definition, catalogue);
    if (!known) unknown.set(node.node_definition, [...(unknown.get(node.node_definition) ?? []), node.label]);
    if (!info.countsAsNode) continue;
    vmNodes++;
    if (withPorts.has(node.label)) consoleNodes++;
    else {
      warnings.push({
        code: 'NO_CONSOLE',
        message: `node ${node.label} (${node.node_definition}) has no PATty tag and its node definition no console: the learner cannot reach it`,
        node: node.label,
        nodeDefinition: node.node_definition,
      });
    }
    if (known && node.ram && node.ram > info.ramMb) {
      warnings.push({
        code: 'RAM_ABOVE_DEFAULT',
        message: `node ${node.label} sets ram ${node.ram} MB, above the ${info.id} default of ${info.ramMb} MB: estimated with ${node.ram} MB`,
        node: node.label,
        nodeDefinition: node.node_definition,
      });
    }
  }
  for (const [definition, labels] of unknown) {
    warnings.push({
      code: 'UNKNOWN_NODE_DEFINITION',
      message:
        `node definition ${definition} (node${labels.length > 1 ? 's' : ''} ${labels.slice(0, 5).join(', ')}` +
        `${labels.length > 5 ? `, … ${labels.length} in all` : ''}) is not in the node-definition catalogue: ` +
        `estimated with the fallback (${FALLBACK_DESCRIPTION})`,
      node: labels[0]!,
      nodeDefinition: definition,
    });
  }
  return {
    portTemplate,
    resourceRequirements: estimateResources(topology, catalogue),
    nodeDefinitions: [...nodeDefinitions.values()],
    imageDefinitions: [...imageDefinitions],
    warnings,
    counts: { nodes: topology.nodes.length, vmNodes, consoleNodes, ports: portTemplate.length },
  };
}
