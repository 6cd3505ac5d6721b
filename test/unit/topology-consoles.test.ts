import { readFileSync } from 'node:fs';
import {
  analyseTopology,
  DEFAULT_NODE_DEFINITIONS,
  deriveFromTopology,
  extractPortTemplate,
  lookupNodeDefinition,
  nodeDefinitionCatalogue,
  parseTopology,
  REFERENCE_NODE_DEFINITIONS,
  rewriteTopologyPorts,
  workerDefinitionsFromCml,
} from '@lcm/shared/catalogue';
import { checkAdmission } from '@lcm/shared/fleet';
import { type PortAllocations, UnprocessableError, ValidationError } from '@lcm/shared/kernel';
import { bookabilityProblems } from '@lcm/shared/sessions';
import { describe, expect, it } from 'vitest';
import { largeLabYaml } from '../fixtures/topologies/large-lab.ts';
import { template as workerTemplate } from './builders.ts';

/**
 * Issue 11, items 2–4, on realistic labs modelled on CML community topologies: consoles derived
 * from node definitions for nodes without PATty tags, the older ssh:/telnet:/http: tags, the
 * node-definition catalogue behind estimates, warnings, and the booking refusals.
 */

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/topologies/${name}`, import.meta.url), 'utf8');

/** Distinct ports 5000, 5001, … in template order. */
const allocate = (names: readonly string[]): PortAllocations =>
  Object.fromEntries(names.map((n, i) => [n, 5000 + i]));

describe('multi-vendor edge (14 nodes, one authored node)', () => {
  const text = fixture('multivendor-edge.yaml');
  const analysis = analyseTopology(parseTopology(text));

  it('derives a serial console for every VM node, VNC where offered, nothing for switch and connector; authored tags win', () => {
    expect(analysis.portTemplate.map((e) => e.name)).toEqual([
      'R1_serial',
      'R2_serial',
      'CSR1_serial',
      'NX1_serial',
      'XR1_serial',
      'XR2_serial',
      'FW1_serial',
      'FW1_vnc',
      'R3_serial',
      'SW1_serial',
      'SRV1_serial',
      'SRV1_vnc',
      'PC1_serial',
      'PC1_vnc',
      'R4_serial',
      'R4_ssh',
    ]);
    expect(analysis.portTemplate.find((e) => e.name === 'PC1_vnc')).toEqual({
      name: 'PC1_vnc',
      nodeLabel: 'PC1',
      kind: 'vnc',
      derived: true,
      nodeId: 'n10',
    });
    // R4's author wrote its ports: kept as written, nothing derived for it.
    expect(analysis.portTemplate.filter((e) => e.nodeLabel === 'R4')).toEqual([
      { name: 'R4_serial', nodeLabel: 'R4', kind: 'serial', insidePort: 0, templatePort: 4001 },
      { name: 'R4_ssh', nodeLabel: 'R4', kind: 'tcp', insidePort: 22, templatePort: 4022 },
    ]);
    expect(analysis.counts).toEqual({ nodes: 14, vmNodes: 12, consoleNodes: 12, ports: 16 });
    // Without a catalogue only the tags count (what CML itself reads).
    expect(extractPortTemplate(parseTopology(text)).map((e) => e.name)).toEqual(['R4_serial', 'R4_ssh']);
  });

  it('estimates from the node-definition table (IOS XRv classic on the fallback)', () => {
    // cpus: iosv 1+1+1, csr 1, nxos 2, xrv9k 4, iosxrv fallback 1, asav 1, iol 1+1, ubuntu 1, desktop 1 = 16
    // MB: 512+1024+512 + 3072 + 8192 + 16384 + 2048 + 2048 + 768+768 + 2048 + 2048 = 39424 → 38.5 GB
    // GB: 1+1+1 + 8 + 8 + 8 + 4 + 8 + 1+1 + 4 + 4 = 49
    expect(analysis.resourceRequirements).toEqual({
      cpuCores: 16,
      memoryGb: 38.5,
      storageGb: 49,
      nodeCount: 12,
    });
    expect(analysis.nodeDefinitions).toEqual([
      'iosv',
      'csr1000v',
      'nxosv9000',
      'iosxrv9000',
      'iosxrv',
      'asav',
      'iol-xe',
      'ioll2-xe',
      'ubuntu',
      'desktop',
      'unmanaged_switch',
      'external_connector',
    ]);
  });

  it('warns of the unknown node definition with the fallback used, and of RAM above the default', () => {
    expect(analysis.warnings).toEqual([
      {
        code: 'RAM_ABOVE_DEFAULT',
        message: 'node R2 sets ram 1024 MB, above the iosv default of 512 MB: estimated with 1024 MB',
        node: 'R2',
        nodeDefinition: 'iosv',
      },
      {
        code: 'UNKNOWN_NODE_DEFINITION',
        message:
          'node definition iosxrv (node XR2) is not in the node-definition catalogue: estimated with the ' +
          'fallback (1 vCPU, 2048 MB RAM, 4 GB disk, one serial console)',
        node: 'XR2',
        nodeDefinition: 'iosxrv',
      },
    ]);
  });

  it('placement writes the derived consoles into the imported topology as PATty tags', () => {
    const template = analysis.portTemplate;
    const ports = allocate(template.map((e) => e.name));
    const out = rewriteTopologyPorts(text, template, ports);
    const imported = parseTopology(out);
    const tagsOf = (label: string) => imported.nodes.find((n) => n.label === label)!.tags;
    expect(tagsOf('R1')).toEqual([`serial:${ports.R1_serial}`]);
    expect(tagsOf('PC1')).toEqual([`serial:${ports.PC1_serial}`, `vnc:${ports.PC1_vnc}`]);
    expect(tagsOf('R4')).toEqual([`serial:${ports.R4_serial}`, `pat:${ports.R4_ssh}:22`]);
    expect(tagsOf('MGMT-SW')).toEqual([]);
    expect(tagsOf('Internet')).toEqual([]);
    // What CML reads back from the imported lab is the same template, port for port.
    const readBack = extractPortTemplate(imported);
    expect(Object.fromEntries(readBack.map((e) => [e.name, e.templatePort]))).toEqual(ports);
    expect(out).toContain('# A 14-node multi-vendor enterprise edge');
  });

  it('a template whose derived consoles name a node the topology lacks is refused', () => {
    const bad = analysis.portTemplate.map((e) => (e.name === 'R1_serial' ? { ...e, nodeId: 'n99' } : e));
    expect(() => rewriteTopologyPorts(text, bad, allocate(bad.map((e) => e.name)))).toThrow(ValidationError);
  });
});

describe('OSPF practice lab (8 IOL nodes, older tag forms)', () => {
  const text = fixture('ospf-practice-iol.yaml');
  const analysis = analyseTopology(parseTopology(text));

  it('reads telnet:/ssh: tags as TCP forwards and derives serial consoles for the untagged nodes', () => {
    expect(analysis.portTemplate).toEqual([
      { name: 'R1_telnet', nodeLabel: 'R1', kind: 'tcp', insidePort: 23, templatePort: 3001 },
      { name: 'R2_serial', nodeLabel: 'R2', kind: 'serial', insidePort: 0, derived: true, nodeId: 'n1' },
      { name: 'R3_serial', nodeLabel: 'R3', kind: 'serial', insidePort: 0, derived: true, nodeId: 'n2' },
      { name: 'R4_ssh', nodeLabel: 'R4', kind: 'tcp', insidePort: 22, templatePort: 3004 },
      { name: 'R5_serial', nodeLabel: 'R5', kind: 'serial', insidePort: 0, derived: true, nodeId: 'n4' },
      { name: 'SW1_serial', nodeLabel: 'SW1', kind: 'serial', insidePort: 0, derived: true, nodeId: 'n5' },
      { name: 'H1_serial', nodeLabel: 'H1', kind: 'serial', insidePort: 0, derived: true, nodeId: 'n6' },
      { name: 'H2_serial', nodeLabel: 'H2', kind: 'serial', insidePort: 0, derived: true, nodeId: 'n7' },
    ]);
    // iol-xe 5 × (1, 768 MB, 1 GB) + ioll2-xe (1, 768, 1) + alpine 2 × (1, 512, 1)
    expect(analysis.resourceRequirements).toEqual({
      cpuCores: 8,
      memoryGb: 5.5,
      storageGb: 8,
      nodeCount: 8,
    });
    expect(analysis.warnings).toEqual([]);
    expect(analysis.counts.consoleNodes).toBe(8);
  });

  it('placement writes the older forms as pat:<port>:<inside>, which CML PATty reads', () => {
    const ports = allocate(analysis.portTemplate.map((e) => e.name));
    const imported = parseTopology(rewriteTopologyPorts(text, analysis.portTemplate, ports));
    expect(imported.nodes[0]!.tags).toEqual([`pat:${ports.R1_telnet}:23`]);
    expect(imported.nodes[3]!.tags).toEqual([`pat:${ports.R4_ssh}:22`]);
    expect(imported.nodes[7]!.tags).toEqual(['group:hosts', `serial:${ports.H2_serial}`]);
  });

  it('refuses an older tag it cannot read, naming the node and the tag', () => {
    const bad = text.replace('ssh:3004', 'ssh:abc');
    expect(() => analyseTopology(parseTopology(bad))).toThrow(
      /node R4: malformed PATty tag "ssh:abc".*ssh:<outside>, telnet:<outside>, http:<outside>/,
    );
  });
});

describe('a 302-node scale lab (generated)', () => {
  const text = largeLabYaml();
  const analysis = analyseTopology(parseTopology(text));

  it('derives every console and requirements far beyond one worker', () => {
    expect(analysis.counts).toEqual({ nodes: 302, vmNodes: 290, consoleNodes: 290, ports: 320 });
    // iosv 100 × 1, csr 60 × 1, nxos 40 × 2, xrv9k 20 × 4, iol 40 × 1, ubuntu 30 × 1
    expect(analysis.resourceRequirements).toEqual({
      cpuCores: 390,
      // MB: 100×512 + 60×3072 + 40×8192 + 20×16384 + 40×768 + 30×2048 = 983,040 → 960 GB
      memoryGb: 960,
      // GB: 100×1 + 60×8 + 40×8 + 20×8 + 40×1 + 30×4 = 1220
      storageGb: 1220,
      nodeCount: 290,
    });
  });

  it('no template can hold it: admission names each failing dimension', () => {
    const result = checkAdmission(
      {
        requirements: analysis.resourceRequirements,
        licenseAffinity: [],
        podType: 'CML_ON_AWS',
        portsNeeded: analysis.portTemplate.length,
      },
      [workerTemplate({ capacity: { cpuCores: 48, memoryGb: 192, storageGb: 500, maxNodes: 40 } })],
    );
    expect(result).toEqual({
      admitted: false,
      shortfalls: [
        { dimension: 'cpuCores', required: 390, largest: 48, message: 'cpuCores 390 > 48 on every template' },
        {
          dimension: 'memoryGb',
          required: 960,
          largest: 192,
          message: 'memoryGb 960 > 192 on every template',
        },
        {
          dimension: 'storageGb',
          required: 1220,
          largest: 500,
          message: 'storageGb 1220 > 500 on every template',
        },
        {
          dimension: 'maxNodes',
          required: 290,
          largest: 40,
          message: 'nodeCount 290 > 40 on every template',
        },
      ],
    });
  });
});

describe('definition warnings and requirements (deriveFromTopology)', () => {
  const text = fixture('multivendor-edge.yaml');

  it('derives the template, requirements, node definitions and warnings', () => {
    const d = deriveFromTopology(text, {});
    expect(d.portTemplate).toHaveLength(16);
    expect(d.resourceRequirements).toEqual({ cpuCores: 16, memoryGb: 38.5, storageGb: 49, nodeCount: 12 });
    expect(d.nodeDefinitions).toContain('iosxrv');
    expect(d.warnings.map((w) => w.code)).toEqual(['RAM_ABOVE_DEFAULT', 'UNKNOWN_NODE_DEFINITION']);
  });

  it('refuses stated requirements below the topology with a 422 naming each field; force keeps a warning', () => {
    const low = { cpuCores: 16, memoryGb: 8, storageGb: 49, nodeCount: 1 };
    let caught: unknown;
    try {
      deriveFromTopology(text, { resourceRequirements: low });
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(UnprocessableError);
    expect((caught as UnprocessableError).fieldErrors).toEqual([
      { path: 'resourceRequirements.memoryGb', message: '8 is below the 38.5 the topology needs' },
      { path: 'resourceRequirements.nodeCount', message: '1 is below the 12 the topology needs' },
    ]);
    const forced = deriveFromTopology(text, { resourceRequirements: low, force: true });
    expect(forced.resourceRequirements).toBeUndefined();
    expect(forced.warnings.filter((w) => w.code === 'REQUIREMENTS_BELOW_TOPOLOGY')).toEqual([
      {
        code: 'REQUIREMENTS_BELOW_TOPOLOGY',
        message: 'resourceRequirements.memoryGb 8 is below the 38.5 the topology needs (accepted with force)',
        field: 'resourceRequirements.memoryGb',
      },
      {
        code: 'REQUIREMENTS_BELOW_TOPOLOGY',
        message: 'resourceRequirements.nodeCount 1 is below the 12 the topology needs (accepted with force)',
        field: 'resourceRequirements.nodeCount',
      },
    ]);
  });

  it('warns of a VM node left without any console', () => {
    const noConsole = nodeDefinitionCatalogue(REFERENCE_NODE_DEFINITIONS, [
      { ...lookupNodeDefinition('iosv').info, serialConsoles: 0, vnc: false },
    ]);
    const a = analyseTopology(parseTopology(fixture('multivendor-edge.yaml')), noConsole);
    expect(a.warnings.filter((w) => w.code === 'NO_CONSOLE').map((w) => w.node)).toEqual(['R1', 'R2']);
    expect(a.counts.consoleNodes).toBe(10);
  });
});

describe('node-definition catalogue', () => {
  it('ships the reference platforms with consoles; switch and connector run no VM and have none', () => {
    for (const id of ['iosv', 'csr1000v', 'nxosv9000', 'iosxrv9000', 'asav', 'iol-xe', 'ubuntu', 'desktop']) {
      const { info, known } = lookupNodeDefinition(id);
      expect(known, id).toBe(true);
      expect(info.serialConsoles, id).toBeGreaterThan(0);
      expect(info.image, id).toBeTruthy();
    }
    for (const id of ['unmanaged_switch', 'external_connector']) {
      expect(DEFAULT_NODE_DEFINITIONS.get(id)).toMatchObject({
        countsAsNode: false,
        serialConsoles: 0,
        vnc: false,
      });
    }
    expect(lookupNodeDefinition('IOSv').known).toBe(true);
    expect(lookupNodeDefinition('iosxrv')).toMatchObject({ known: false, info: { cpus: 1, ramMb: 2048 } });
  });

  it("reads a worker's CML node and image definitions (the wire shapes)", () => {
    const defs = workerDefinitionsFromCml(
      [
        {
          id: 'iosv',
          general: { nature: 'router' },
          device: { interfaces: { serial_ports: 1 } },
          sim: { linux_native: { cpus: 1, ram: 768, boot_disk_size: null } },
          boot: { timeout: 240 },
        },
        {
          id: 'desktop',
          device: { interfaces: { serial_ports: 1 } },
          sim: { linux_native: { cpus: 1, ram: 2048, video: { memory: 32 } } },
        },
        { id: 'unmanaged_switch', general: { nature: 'switch' }, device: { interfaces: {} }, sim: {} },
        { general: { nature: 'broken' } },
      ],
      [
        { id: 'iosv-159-3-m8', node_definition_id: 'iosv' },
        { id: 'alpine-desktop-custom', node_definition_id: 'desktop' },
      ],
      '2026-12-07T00:00:00.000Z',
    );
    expect(defs.nodeDefinitions).toEqual([
      {
        id: 'iosv',
        cpus: 1,
        ramMb: 768,
        diskGb: 1,
        bootSeconds: 240,
        serialConsoles: 1,
        vnc: false,
        countsAsNode: true,
        image: 'iosv-159-3-m8',
      },
      {
        id: 'desktop',
        cpus: 1,
        ramMb: 2048,
        diskGb: 4,
        bootSeconds: 90,
        serialConsoles: 1,
        vnc: true,
        countsAsNode: true,
        image: 'alpine-desktop-custom',
      },
      {
        id: 'unmanaged_switch',
        cpus: 0,
        ramMb: 0,
        diskGb: 0,
        bootSeconds: 0,
        serialConsoles: 0,
        vnc: false,
        countsAsNode: false,
      },
    ]);
    expect(defs.imageDefinitions).toEqual([
      { id: 'iosv-159-3-m8', nodeDefinition: 'iosv' },
      { id: 'alpine-desktop-custom', nodeDefinition: 'desktop' },
    ]);
  });
});

describe('bookability (booking refusals)', () => {
  const base = {
    podType: 'CML_ON_AWS' as const,
    topologyYaml: 'lab: {version: 0.3.0}\n',
    formQualifiedName: 'part-1',
  };

  it('a deliverable definition has no problem', () => {
    expect(bookabilityProblems(base, { requireDeliverable: true })).toEqual([]);
  });

  it('a content package whose sync FAILED with no earlier good version: always refused, naming the diagnostic', () => {
    expect(
      bookabilityProblems({
        ...base,
        topologyYaml: undefined,
        contentUri: 's3://lcm-content/lab.zip',
        sync: { status: 'FAILED', diagnostic: 'INVALID_TOPOLOGY: nodes.0.node_definition: required' },
      }),
    ).toEqual([
      {
        path: 'topologyYaml',
        message:
          'the last content sync FAILED and there is no earlier good version: INVALID_TOPOLOGY: nodes.0.node_definition: required',
      },
    ]);
    expect(
      bookabilityProblems({
        ...base,
        topologyYaml: undefined,
        contentUri: 's3://lcm-content/lab.zip',
        sync: { status: 'PENDING' },
      })[0]?.message,
    ).toBe('the content sync of s3://lcm-content/lab.zip has not finished (PENDING)');
  });

  it('with requireDeliverable: no topology and no formQualifiedName are both named', () => {
    const def = { ...base, topologyYaml: undefined, formQualifiedName: undefined };
    expect(bookabilityProblems(def, { requireDeliverable: true }).map((p) => p.path)).toEqual([
      'topologyYaml',
      'formQualifiedName',
    ]);
    expect(bookabilityProblems(def)).toEqual([]);
  });
});
