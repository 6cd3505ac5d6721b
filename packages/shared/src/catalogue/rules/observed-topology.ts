import { isMap, isSeq, parseDocument } from 'yaml';
import type { PortTemplate, ResourceObservation } from '../../kernel/index.ts';
import { ConflictError } from '../../kernel/index.ts';
import { CmlTopologySchema, extractPortTemplate, parseTopology } from './topology.ts';

/**
 * What an observation of a running lab says about its definition's ports (learn from live,
 * `applyObservedToDefinition` in sessions/observations.ts): the PATty port template its nodes'
 * tags describe, and the topology with those tags folded back. Pure.
 */

/** The PATty port template the observed nodes' tags describe (names as placement uses them). */
export function portTemplateFromObservation(observation: Pick<ResourceObservation, 'nodes'>): PortTemplate {
  const topology = CmlTopologySchema.parse({
    lab: { version: 'observed' },
    nodes: observation.nodes.map((n, i) => ({
      id: `n${i}`,
      label: n.label,
      node_definition: n.nodeDefinition || 'unknown',
      tags: n.tags,
    })),
    links: [],
  });
  return extractPortTemplate(topology);
}

/**
 * The definition's topology with each observed node's tags replaced by the tags CML reported
 * (nodes matched by label; unobserved nodes keep theirs), and the port template it now derives.
 * Keeps topology and template consistent, which instantiation relies on. Observed nodes the
 * topology does not have cannot be folded back (their definition is unknown): 409.
 */
export function topologyWithObservedTags(
  topologyYaml: string,
  observation: Pick<ResourceObservation, 'nodes'>,
): { topologyYaml: string; portTemplate: PortTemplate } {
  const doc = parseDocument(topologyYaml, { uniqueKeys: true });
  const nodes = doc.get('nodes', true);
  const byLabel = new Map<string, { set: (tags: string[]) => void }>();
  if (isSeq(nodes)) {
    for (const node of nodes.items) {
      if (!isMap(node)) continue;
      const label = node.get('label');
      if (label === undefined || label === null) continue;
      byLabel.set(String(label), { set: (tags) => node.set('tags', doc.createNode(tags)) });
    }
  }
  const unknown = observation.nodes.map((n) => n.label).filter((l) => !byLabel.has(l));
  if (unknown.length > 0) {
    throw new ConflictError(
      `observed nodes ${unknown.join(', ')} are not in the definition's topology; update the topology instead`,
      { nodes: unknown },
    );
  }
  for (const n of observation.nodes) byLabel.get(n.label)!.set([...n.tags]);
  const text = doc.toString({ lineWidth: 0 });
  return { topologyYaml: text, portTemplate: extractPortTemplate(parseTopology(text)) };
}

/**
 * A port template without the outside ports, in name order: what a lab's ports are, not where.
 * Whether a console was derived does not matter either: once placed it is a tag like any other.
 */
const portsShape = (template: PortTemplate) =>
  template
    .map(({ templatePort: _port, derived: _derived, nodeId: _node, ...entry }) => entry)
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

/**
 * Whether two port templates name the same ports (name, node, kind, inside port), in any order.
 * Outside ports are not compared: they differ by nature (each session has its own leases).
 */
export const samePorts = (a: PortTemplate, b: PortTemplate): boolean =>
  JSON.stringify(portsShape(a)) === JSON.stringify(portsShape(b));
