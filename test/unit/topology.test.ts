import { readFileSync } from 'node:fs';
import {
  allocatePorts,
  DEFAULT_NODE,
  estimateResources,
  extractPortTemplate,
  NODE_DEFAULTS,
  parsePattyTag,
  parseTopology,
  rewriteTopologyPorts,
} from '@lcm/shared/catalogue';
import { DomainError, PortTemplateSchema, ValidationError } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';

const fixture = (name: string): string =>
  readFileSync(new URL(`../fixtures/topologies/${name}`, import.meta.url), 'utf8');

const catchError = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('expected an error');
};

/** A minimal topology with the given nodes (YAML flow maps). */
const lab = (...nodes: string[]): string =>
  ['lab: {title: t, version: 0.3.0}', 'nodes:', ...nodes.map((n) => `  - ${n}`), 'links: []', ''].join('\n');

describe('parseTopology', () => {
  it('parses a valid topology and keeps unknown fields', () => {
    const t = parseTopology(fixture('patty-all-kinds.yaml'));
    expect(t.lab.version).toBe('0.3.0');
    expect(t.nodes.map((n) => [n.id, n.label, n.node_definition])).toEqual([
      ['n0', 'iosv-0', 'iosv'],
      ['n1', 'PC', 'ubuntu'],
      ['n2', 'sw', 'unmanaged_switch'],
      ['n3', 'ext', 'external_connector'],
    ]);
    expect(t.nodes[3]!.tags).toEqual([]);
    expect(t.links).toHaveLength(2);
    expect((t as Record<string, unknown>).annotations).toEqual([]);
    expect(t.nodes[0]!.configuration).toBe('hostname iosv-0');
  });

  it('names the link and the dangling node reference', () => {
    const err = catchError(() => parseTopology(fixture('dangling-link.yaml')));
    expect(err).toBeInstanceOf(DomainError);
    expect(err.code).toBe('TOPOLOGY_INVALID');
    expect(err.message).toBe('link l1: n2 references unknown node n9');
    expect(err.details).toMatchObject({ linkId: 'l1', reference: 'n9', field: 'links.1.n2' });
  });

  it('names the link and the dangling interface reference', () => {
    const text = fixture('dangling-link.yaml').replace('n2: n9, i2: i0', 'n2: n1, i2: i7');
    const err = catchError(() => parseTopology(text));
    expect(err.code).toBe('TOPOLOGY_INVALID');
    expect(err.message).toBe('link l1: i2 references unknown interface i7 of node n1');
    expect(err.details).toMatchObject({ linkId: 'l1', reference: 'i7', nodeId: 'n1', field: 'links.1.i2' });
  });

  it('reports invalid YAML with its line', () => {
    const text = 'lab:\n  version: 0.3.0\nnodes:\n  - id: n0\n    label: [R1\n    node_definition: iosv\n';
    const err = catchError(() => parseTopology(text));
    expect(err.code).toBe('TOPOLOGY_INVALID');
    expect(err.details.line).toEqual(expect.any(Number));
    expect(err.details.line as number).toBeGreaterThanOrEqual(5);
    expect(err.message).toMatch(/^invalid YAML at line \d+, column \d+: /);
  });

  it('rejects an alias bomb as invalid YAML instead of expanding it', () => {
    const rows = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 12; i++)
      rows.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(', ')}]`,
      );
    const err = catchError(() => parseTopology(`${rows.join('\n')}\nlab: {version: 0.3.0}\n`));
    expect(err.code).toBe('TOPOLOGY_INVALID');
  });

  it('rejects duplicate keys as invalid YAML', () => {
    const err = catchError(() => parseTopology('lab: {version: 0.3.0}\nlab: {version: 0.2.0}\n'));
    expect(err.code).toBe('TOPOLOGY_INVALID');
    expect(err.details.line).toBe(2);
  });

  it.each([
    ['lab.version', 'lab: {title: no version}\nnodes: []\n'],
    ['lab', 'nodes: []\n'],
    ['nodes.0.node_definition', lab('{id: n0, label: R1}')],
    ['nodes.0.label', lab('{id: n0, node_definition: iosv}')],
    ['nodes.0.id', lab('{label: R1, node_definition: iosv}')],
    ['nodes.0.tags', lab('{id: n0, label: R1, node_definition: iosv, tags: serial:4000}')],
    ['(root)', 'just text\n'],
    ['(root)', ''],
  ])('names %s when it is missing or malformed', (field, text) => {
    const err = catchError(() => parseTopology(text));
    expect(err.code).toBe('TOPOLOGY_INVALID');
    expect(err.details.field).toBe(field);
  });

  it('rejects duplicate node, interface and link ids', () => {
    expect(
      catchError(() =>
        parseTopology(
          lab('{id: n0, label: a, node_definition: iosv}', '{id: n0, label: b, node_definition: iosv}'),
        ),
      ).details,
    ).toMatchObject({ field: 'nodes.1.id' });
    expect(
      catchError(() =>
        parseTopology(lab('{id: n0, label: a, node_definition: iosv, interfaces: [{id: i0}, {id: i0}]}')),
      ).details,
    ).toMatchObject({ field: 'nodes.0.interfaces.1.id' });
    const links = fixture('dangling-link.yaml').replace(
      '{id: l1, n1: n0, i1: i0, n2: n9, i2: i0}',
      '{id: l0, n1: n1, i1: i0, n2: n0, i2: i0}',
    );
    expect(catchError(() => parseTopology(links)).details).toMatchObject({
      field: 'links.1.id',
      linkId: 'l0',
    });
  });

  it('accepts a lab without nodes or links', () => {
    expect(parseTopology('lab: {version: 0.3.0}\n')).toMatchObject({ nodes: [], links: [] });
  });
});

describe('extractPortTemplate', () => {
  it('reads every PATty tag kind in document order and ignores other tags', () => {
    const template = extractPortTemplate(parseTopology(fixture('patty-all-kinds.yaml')));
    expect(template).toEqual([
      { name: 'iosv-0_serial', nodeLabel: 'iosv-0', kind: 'serial', insidePort: 0, templatePort: 4001 },
      { name: 'iosv-0_ssh', nodeLabel: 'iosv-0', kind: 'tcp', insidePort: 22, templatePort: 5041 },
      { name: 'iosv-0_telnet', nodeLabel: 'iosv-0', kind: 'tcp', insidePort: 23, templatePort: 5042 },
      { name: 'PC_serial', nodeLabel: 'PC', kind: 'serial', insidePort: 0, templatePort: 4010 },
      { name: 'PC_serial1', nodeLabel: 'PC', kind: 'serial', insidePort: 1, templatePort: 4011 },
      { name: 'PC_vnc', nodeLabel: 'PC', kind: 'vnc', templatePort: 5900 },
      { name: 'PC_udp161', nodeLabel: 'PC', kind: 'udp', insidePort: 161, templatePort: 5161 },
      { name: 'PC_tcp8080', nodeLabel: 'PC', kind: 'tcp', insidePort: 8080, templatePort: 8080 },
      { name: 'PC_rdp', nodeLabel: 'PC', kind: 'tcp', insidePort: 3389, templatePort: 3390 },
      { name: 'PC_https', nodeLabel: 'PC', kind: 'tcp', insidePort: 443, templatePort: 8443 },
      { name: 'PC_http', nodeLabel: 'PC', kind: 'tcp', insidePort: 80, templatePort: 8081 },
      { name: 'PC_netconf', nodeLabel: 'PC', kind: 'tcp', insidePort: 830, templatePort: 8830 },
    ]);
    expect(PortTemplateSchema.parse(template)).toEqual(template);
  });

  it('suffixes colliding names deterministically', () => {
    const t = parseTopology(
      lab(
        '{id: n0, label: R1, node_definition: iosv, tags: [serial:4000, "pat:5000:22", "pat:tcp:5001:22"]}',
        '{id: n1, label: R1, node_definition: iosv, tags: [serial:4001]}',
      ),
    );
    expect(extractPortTemplate(t).map((e) => e.name)).toEqual([
      'R1_serial',
      'R1_ssh',
      'R1_ssh_2',
      'R1_serial_2',
    ]);
  });

  it.each([
    'serial:abc',
    'serial:',
    'serial:4000:1:2',
    'serial:0',
    'vnc:70000',
    'vnc:',
    'pat:22',
    'pat:5000:0',
    'pat:sctp:5000:22',
    'pat:tcp:5000',
    'SERIAL:4000',
    'Pat:5000:22',
    ' serial:4000',
  ])('rejects the malformed PATty tag %j, naming node and tag', (tag) => {
    const t = parseTopology(
      lab(`{id: n0, label: R1, node_definition: iosv, tags: [core, ${JSON.stringify(tag)}]}`),
    );
    const err = catchError(() => extractPortTemplate(t));
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'nodes.0.tags.1' });
    expect(err.message).toContain('node R1');
    expect(err.message).toContain(JSON.stringify(tag));
    expect(err.details).toMatchObject({ node: 'R1', tag });
  });

  it('rejects a second vnc tag on one node', () => {
    const t = parseTopology(lab('{id: n0, label: D, node_definition: desktop, tags: [vnc:5900, vnc:5901]}'));
    expect(catchError(() => extractPortTemplate(t))).toMatchObject({ field: 'nodes.0.tags.1' });
  });

  it.each(['core', 'group:students', 'serials:1', 'patch:1:2', 'vncx:1', 'serial', 'pat'])(
    'ignores the ordinary tag %j',
    (tag) => {
      expect(parsePattyTag(tag)).toBeUndefined();
    },
  );
});

describe('estimateResources', () => {
  it('sums node defaults and explicit values; switches and connectors are free', () => {
    // iosv-0: defaults 1 cpu, 512 MB, 1 GB; PC (ubuntu): cpus 2, ram 4096, default 4 GB disk.
    expect(estimateResources(parseTopology(fixture('patty-all-kinds.yaml')))).toEqual({
      cpuCores: 3,
      memoryGb: 4.5,
      storageGb: 5,
      nodeCount: 2,
    });
  });

  it('rounds memory up to 0.5 GB and storage up to whole GB', () => {
    const t = parseTopology(
      lab('{id: n0, label: a, node_definition: iosv}', '{id: n1, label: b, node_definition: iosvl2}'),
    );
    // 512 + 768 = 1280 MB = 1.25 GB → 1.5
    expect(estimateResources(t)).toEqual({ cpuCores: 2, memoryGb: 1.5, storageGb: 2, nodeCount: 2 });
    const exact = parseTopology(
      lab('{id: n0, label: a, node_definition: alpine, ram: 1024, boot_disk_size: 2.2}'),
    );
    expect(estimateResources(exact)).toEqual({ cpuCores: 1, memoryGb: 1, storageGb: 3, nodeCount: 1 });
  });

  it('scales cpus by cpu_limit and rounds up to 0.1 core', () => {
    const t = parseTopology(
      lab(
        '{id: n0, label: a, node_definition: ubuntu, cpus: 3, cpu_limit: 33}',
        '{id: n1, label: b, node_definition: ubuntu, cpus: 1, cpu_limit: 20}',
      ),
    );
    // 3 × 0.33 + 1 × 0.2 = 1.19 → 1.2
    expect(estimateResources(t).cpuCores).toBe(1.2);
  });

  it('adds data volumes and uses the DEFAULT for unknown node definitions', () => {
    const t = parseTopology(
      lab(
        '{id: n0, label: a, node_definition: my-custom-vm, data_volume: 10}',
        '{id: n1, label: b, node_definition: CAT9000V}',
      ),
    );
    const cat = NODE_DEFAULTS.cat9000v!;
    expect(estimateResources(t)).toEqual({
      cpuCores: DEFAULT_NODE.cpus + cat.cpus,
      memoryGb: (DEFAULT_NODE.ramMb + cat.ramMb) / 1024,
      storageGb: DEFAULT_NODE.diskGb + 10 + cat.diskGb,
      nodeCount: 2,
    });
  });

  it('treats null and 0 as unset', () => {
    const t = parseTopology(lab('{id: n0, label: a, node_definition: csr1000v, ram: 0, cpus: null}'));
    expect(estimateResources(t)).toEqual({ cpuCores: 1, memoryGb: 3, storageGb: 8, nodeCount: 1 });
  });

  it('is zero for an empty lab', () => {
    expect(estimateResources(parseTopology('lab: {version: 0.3.0}\n'))).toEqual({
      cpuCores: 0,
      memoryGb: 0,
      storageGb: 0,
      nodeCount: 0,
    });
  });

  it('has a default for every node definition the design names', () => {
    for (const d of [
      'iosv',
      'iosvl2',
      'iol-xe',
      'ioll2-xe',
      'csr1000v',
      'cat8000v',
      'cat9000v',
      'nxosv9000',
      'asav',
      'iosxrv9000',
      'ubuntu',
      'alpine',
      'desktop',
      'server',
      'trex',
      'wan_emulator',
    ]) {
      expect(NODE_DEFAULTS[d], d).toMatchObject({ countsAsNode: true });
      expect(NODE_DEFAULTS[d]!.ramMb, d).toBeGreaterThan(0);
    }
    for (const d of ['external_connector', 'unmanaged_switch']) {
      expect(NODE_DEFAULTS[d]).toEqual({ cpus: 0, ramMb: 0, diskGb: 0, countsAsNode: false });
    }
  });
});

describe('rewriteTopologyPorts', () => {
  const text = fixture('patty-all-kinds.yaml');
  const template = extractPortTemplate(parseTopology(text));
  const allocations = allocatePorts(template, { start: 2000, end: 7999 }, [2001]);

  it('replaces only the outside port digits, keeping comments, quoting and layout', () => {
    const out = rewriteTopologyPorts(text, template, allocations);
    const before = text.split('\n');
    const after = out.split('\n');
    expect(after).toHaveLength(before.length);
    const changed = before.flatMap((line, i) => (line === after[i] ? [] : [[line, after[i]]]));
    expect(changed).toEqual([
      [
        `    tags: [serial:4001, "pat:5041:22", 'pat:tcp:5042:23', core] # flow style, mixed quoting`,
        `    tags: [serial:2000, "pat:2002:22", 'pat:tcp:2003:23', core] # flow style, mixed quoting`,
      ],
      ['      - serial:4010          # console line 0', '      - serial:2004          # console line 0'],
      [
        '      - serial:4011:1        # second console line',
        '      - serial:2005:1        # second console line',
      ],
      ['      - vnc:5900', '      - vnc:2006'],
      ['      - pat:udp:5161:161', '      - pat:udp:2007:161'],
      ['      - pat:8080:8080', '      - pat:2008:8080'],
      ['      - pat:tcp:3390:3389', '      - pat:tcp:2009:3389'],
      ['      - pat:8443:443', '      - pat:2010:443'],
      ['      - pat:8081:80', '      - pat:2011:80'],
      ['      - pat:8830:830', '      - pat:2012:830'],
    ]);
  });

  it('round-trips: the rewritten topology yields the same template with the allocated ports', () => {
    const again = extractPortTemplate(parseTopology(rewriteTopologyPorts(text, template, allocations)));
    expect(again.map((e) => e.name)).toEqual(template.map((e) => e.name));
    expect(Object.fromEntries(again.map((e) => [e.name, e.templatePort]))).toEqual(allocations);
  });

  it('accepts the template in any order', () => {
    const out = rewriteTopologyPorts(text, [...template].reverse(), allocations);
    expect(out).toBe(rewriteTopologyPorts(text, template, allocations));
  });

  it('re-serialises through the Document when a tag is written with escapes, keeping comments', () => {
    const escaped = `# keep me\n${lab('{id: n0, label: R1, node_definition: iosv, tags: ["serial:400\\x30", core]} # and me')}`;
    const t = extractPortTemplate(parseTopology(escaped));
    const out = rewriteTopologyPorts(escaped, t, { R1_serial: 2345 });
    expect(out).toContain('# keep me');
    expect(out).toContain('# and me');
    expect(parseTopology(out).nodes[0]!.tags).toEqual(['serial:2345', 'core']);
  });

  it('leaves a topology without PATty tags unchanged', () => {
    const plain = lab('{id: n0, label: R1, node_definition: iosv, tags: [core]}');
    expect(rewriteTopologyPorts(plain, [], {})).toBe(plain);
  });

  it('rejects a missing or duplicate allocation and a template that does not match', () => {
    const { PC_vnc: _drop, ...missing } = allocations;
    expect(catchError(() => rewriteTopologyPorts(text, template, missing))).toMatchObject({
      field: 'allocations.PC_vnc',
    });
    const duplicate = { ...allocations, PC_vnc: allocations.PC_serial! };
    expect(catchError(() => rewriteTopologyPorts(text, template, duplicate))).toMatchObject({
      field: 'allocations.PC_vnc',
    });
    expect(catchError(() => rewriteTopologyPorts(text, template.slice(1), allocations))).toMatchObject({
      field: 'template',
    });
    const renamed = template.map((e, i) => (i === 0 ? { ...e, name: 'other' } : e));
    expect(catchError(() => rewriteTopologyPorts(text, renamed, allocations))).toBeInstanceOf(
      ValidationError,
    );
  });

  it('rejects invalid topology text like parseTopology does', () => {
    expect(catchError(() => rewriteTopologyPorts(fixture('dangling-link.yaml'), [], {})).code).toBe(
      'TOPOLOGY_INVALID',
    );
  });
});
