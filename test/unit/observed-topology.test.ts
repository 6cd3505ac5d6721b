import {
  parseTopology,
  portTemplateFromObservation,
  samePorts,
  topologyWithObservedTags,
} from '@lcm/shared/catalogue';
import { ConflictError, type PortTemplate } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';

/** Learn from live, pure part (catalogue/rules/observed-topology.ts): ports from observed node tags. */

const node = (label: string, tags: string[], nodeDefinition = 'iosv') => ({ label, nodeDefinition, tags });

const TOPOLOGY = `lab:
  version: 0.2.2
  title: two routers
nodes:
  - id: n0
    label: R1
    node_definition: iosv
    tags:
      - serial:4000
      - core
  - id: n1
    label: R2
    node_definition: iosv
    tags: []
links: []
`;

describe('portTemplateFromObservation', () => {
  it('reads the PATty tags of the observed nodes, names as placement uses them', () => {
    const template = portTemplateFromObservation({
      nodes: [node('R1', ['serial:5000', 'pat:6022:22', 'lab']), node('R2', ['vnc:5900'], '')],
    });
    expect(template).toEqual([
      { name: 'R1_serial', nodeLabel: 'R1', kind: 'serial', insidePort: 0, templatePort: 5000 },
      { name: 'R1_ssh', nodeLabel: 'R1', kind: 'tcp', insidePort: 22, templatePort: 6022 },
      { name: 'R2_vnc', nodeLabel: 'R2', kind: 'vnc', templatePort: 5900 },
    ]);
  });

  it('has no ports when no node carries a PATty tag', () => {
    expect(portTemplateFromObservation({ nodes: [node('R1', ['core'])] })).toEqual([]);
  });
});

describe('topologyWithObservedTags', () => {
  it('replaces the observed nodes’ tags, keeps the others, and derives the template from the result', () => {
    const out = topologyWithObservedTags(TOPOLOGY, { nodes: [node('R2', ['serial:4100', 'pat:4122:22'])] });
    const topology = parseTopology(out.topologyYaml);
    expect(topology.nodes.map((n) => [n.label, n.tags])).toEqual([
      ['R1', ['serial:4000', 'core']],
      ['R2', ['serial:4100', 'pat:4122:22']],
    ]);
    expect(out.portTemplate.map((p) => p.name)).toEqual(['R1_serial', 'R2_serial', 'R2_ssh']);
    expect(out.topologyYaml).toContain('title: two routers');
  });

  it('refuses observed nodes the topology does not have (409)', () => {
    const run = () => topologyWithObservedTags(TOPOLOGY, { nodes: [node('R9', ['serial:4000'])] });
    expect(run).toThrow(ConflictError);
    expect(run).toThrow(/R9/);
  });
});

describe('samePorts', () => {
  const entry = (name: string, templatePort: number): PortTemplate[number] => ({
    name,
    nodeLabel: 'R1',
    kind: 'tcp',
    insidePort: 22,
    templatePort,
  });

  it('ignores outside ports and order', () => {
    expect(samePorts([entry('a', 2000), entry('b', 2001)], [entry('b', 7000), entry('a', 7001)])).toBe(true);
  });

  it('tells a different port set apart', () => {
    expect(samePorts([entry('a', 2000)], [entry('a', 2000), entry('b', 2001)])).toBe(false);
    expect(samePorts([entry('a', 2000)], [{ ...entry('a', 2000), insidePort: 23 }])).toBe(false);
  });
});
