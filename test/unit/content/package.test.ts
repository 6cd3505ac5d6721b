import { samplePackageBytes } from '@lcm/sandbox/content/samples';
import {
  ContentPackageError,
  type ExtractedContent,
  estimateResources,
  extractContentPackage,
  extractPortTemplate,
  parseTopology,
  sha256Of,
} from '@lcm/shared/catalogue';
import { describe, expect, it } from 'vitest';
import { HOSTILE, MANIFEST, TOPOLOGY, zipOf } from './packages.ts';

/** Content packages → definition fields: the two shipped samples, every rung of the pod-type chain, refusals. */

const refusal = (bytes: Uint8Array, opts = {}): ContentPackageError => {
  try {
    extractContentPackage(bytes, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(ContentPackageError);
    return e as ContentPackageError;
  }
  throw new Error('expected the package to be refused');
};

describe('the shipped sample packages', () => {
  it('cml-patty-lab.zip (legacy layout): topology, PATty port template, resources, devices, grading, LDS id', () => {
    const bytes = samplePackageBytes('cml-patty-lab.zip');
    const uri = 's3://lcm-content/cml-patty-lab.zip';
    const pkg = extractContentPackage(bytes, { sourceUri: uri });
    expect(pkg.contentHash).toBe(sha256Of(bytes));
    expect(pkg.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(pkg.layout).toBe('legacy');
    expect(pkg.files).toEqual(['cml.yaml', 'content.xml', 'devices.json', 'grade.xml', 'mosaic_meta.json']);
    expect(pkg.podType).toBe('CML_ON_AWS');
    expect(pkg.podTypeSignals).toEqual(['cml.yaml']);
    expect(pkg.topology?.path).toBe('cml.yaml');
    const topology = parseTopology(pkg.topology!.yaml);
    expect(pkg.portTemplate).toEqual(extractPortTemplate(topology));
    expect(pkg.portTemplate!.map((p) => `${p.name}:${p.kind}:${p.templatePort}`)).toEqual([
      'R1_serial:serial:5041',
      'R1_ssh:tcp:5022',
      'R2_serial:serial:5042',
      'PC_vnc:vnc:5044',
      'PC_serial:serial:5043',
    ]);
    expect(pkg.resourceRequirements).toEqual(estimateResources(topology));
    expect(pkg.resourceRequirements).toEqual({ cpuCores: 3, memoryGb: 3, storageGb: 6, nodeCount: 3 });
    expect(pkg.devices?.path).toBe('devices.json');
    expect(pkg.devices!.devices.map((d) => [d.name, d.nodeLabel, d.portName, d.protocol])).toEqual([
      ['R1', 'R1', 'R1_serial', 'telnet'],
      ['R1 (ssh)', 'R1', 'R1_ssh', 'ssh'],
      ['R2', 'R2', 'R2_serial', 'telnet'],
      ['Desktop', 'PC', 'PC_vnc', 'vnc'],
    ]);
    expect(pkg.gradingRulesRef).toBe(`${uri}#grade.xml`);
    expect(pkg.formQualifiedName).toBe('SAMPLE-PATTY-1.0-LAB-1');
    expect(pkg.manifest).toBeUndefined();
  });

  it('pav1-ospf-lab.zip (PAv1 layout): manifest pod type and refs, topology/devices under PAv1/, grading dir', () => {
    const uri = 's3://lcm-content/pav1-ospf-lab.zip';
    const pkg = extractContentPackage(samplePackageBytes('pav1-ospf-lab.zip'), { sourceUri: uri });
    expect(pkg.layout).toBe('PAv1');
    expect(pkg.podType).toBe('CML_ON_AWS');
    expect(pkg.podTypeSignals).toEqual(['PAv1/manifest.yaml pod_type=cml_on_aws', 'PAv1/topology/cml.yaml']);
    expect(pkg.topology?.path).toBe('PAv1/topology/cml.yaml');
    expect(pkg.portTemplate!.map((p) => p.name)).toEqual([
      'iosv-0_serial',
      'iosv-0_ssh',
      'iosv-1_serial',
      'iosv-2_serial',
    ]);
    // Three iosv routers; the unmanaged switch runs no VM.
    expect(pkg.resourceRequirements).toEqual({ cpuCores: 3, memoryGb: 1.5, storageGb: 3, nodeCount: 3 });
    // devices.json in the { devices: [...] } form with node/port aliases.
    expect(pkg.devices?.path).toBe('PAv1/topology/devices.json');
    expect(pkg.devices!.devices[1]).toEqual({
      name: 'iosv-0 (ssh)',
      nodeLabel: 'iosv-0',
      portName: 'iosv-0_ssh',
      protocol: 'ssh',
      username: 'cisco',
      password: 'cisco',
    });
    expect(pkg.gradingRulesRef).toBe(`${uri}#PAv1/grading/`);
    expect(pkg.formQualifiedName).toBe('SAMPLE-OSPF-1.0-LAB-2');
    expect(pkg.manifest).toMatchObject({ pod_type: 'cml_on_aws', topology: 'topology/cml.yaml' });
  });

  it('builds the same bytes every time (a stable content hash)', () => {
    expect(sha256Of(samplePackageBytes('pav1-ospf-lab.zip'))).toBe(
      sha256Of(samplePackageBytes('pav1-ospf-lab.zip')),
    );
  });
});

describe('pod type of a package: every rung of the priority chain', () => {
  const rung = (files: Record<string, string>): ExtractedContent => extractContentPackage(zipOf(files));

  it('1: the manifest pod_type wins over every file', () => {
    const pkg = rung({
      'PAv1/manifest.yaml': MANIFEST('roc_radkit'),
      'PAv1/topology/radkit.yaml': 'devices: []\n',
      'PAv1/topology/proxmox.yaml': 'vms: []\n',
      'cml.yaml': TOPOLOGY,
    });
    expect(pkg.podType).toBe('ROC_RADKIT');
    expect(pkg.topology).toBeUndefined();
    expect(pkg.podTypeSignals[0]).toBe('PAv1/manifest.yaml pod_type=roc_radkit');
  });

  it('2: PAv1/topology/radkit.yaml', () => {
    const pkg = rung({
      'PAv1/manifest.yaml': 'version: "1.0"\n',
      'PAv1/topology/radkit.yaml': 'devices: []\n',
      'cml.yml': TOPOLOGY,
    });
    expect(pkg.podType).toBe('ROC_RADKIT');
  });

  it('3: PAv1/topology/proxmox.yaml', () => {
    expect(
      rung({ 'PAv1/manifest.yaml': 'version: 1\n', 'PAv1/topology/proxmox.yaml': 'vms: []\n' }).podType,
    ).toBe('PROXMOX');
  });

  it('4: PAv1/topology/vmware.yaml', () => {
    expect(
      rung({ 'PAv1/manifest.yaml': 'version: 1\n', 'PAv1/topology/vmware.yaml': 'vms: []\n' }).podType,
    ).toBe('VMWARE');
  });

  it.each([['cml.yaml'], ['cml.yml'], ['PAv1/topology/cml.yaml'], ['PAv1/topology/cml.yml']])(
    '5: %s',
    (path) => {
      const files: Record<string, string> = { [path]: TOPOLOGY };
      if (path.startsWith('PAv1/')) files['PAv1/manifest.yaml'] = 'version: 1\n';
      const pkg = rung(files);
      expect(pkg.podType).toBe('CML_ON_AWS');
      expect(pkg.topology?.path).toBe(path);
    },
  );

  it('5 with radkit.yaml at the root too: cml.yaml outranks the legacy radkit.yaml', () => {
    expect(rung({ 'cml.yaml': TOPOLOGY, 'radkit.yaml': 'devices: []\n' }).podType).toBe('CML_ON_AWS');
  });

  it('6: radkit.yaml at the root', () => {
    const pkg = rung({ 'radkit.yaml': 'devices: []\n' });
    expect(pkg.podType).toBe('ROC_RADKIT');
    expect(pkg.topology).toBeUndefined();
  });

  it('PAv1/topology/cml.yaml wins over a legacy root cml.yml', () => {
    const pkg = rung({
      'PAv1/manifest.yaml': 'version: 1\n',
      'PAv1/topology/cml.yaml': TOPOLOGY,
      'cml.yml': TOPOLOGY.replace('R1', 'OLD'),
    });
    expect(pkg.topology?.path).toBe('PAv1/topology/cml.yaml');
    expect(pkg.portTemplate![0]!.nodeLabel).toBe('R1');
  });
});

describe('hostile and broken packages are refused with a diagnostic naming the file', () => {
  it.each(HOSTILE.map((h) => [h.name, h] as const))('%s', (_name, h) => {
    const e = refusal(h.bytes());
    expect(e.problem).toBe(h.problem);
    expect(e.file).toBe(h.file);
    expect(e.reason).toMatch(h.reason);
    expect(e.diagnostic).toBe(`${h.problem} ${h.file}: ${e.reason}`);
    expect(e.reason.startsWith(`${h.file}:`)).toBe(false); // the file is named once
  });

  it('a package larger than the limit is refused before it is opened', () => {
    const e = refusal(zipOf({ 'cml.yaml': TOPOLOGY }), { limits: { maxPackageBytes: 100 } });
    expect(e.problem).toBe('TOO_LARGE');
    expect(e.reason).toMatch(/a package may have at most 100/);
  });

  it.each([
    [
      'a PAv1 package without its manifest',
      { 'PAv1/topology/cml.yaml': TOPOLOGY },
      'MISSING_FILE',
      'PAv1/manifest.yaml',
      /required in a PAv1 package/,
    ],
    [
      'a manifest that is not valid YAML',
      { 'PAv1/manifest.yaml': 'pod_type: [cml\n', 'PAv1/topology/cml.yaml': TOPOLOGY },
      'INVALID_FILE',
      'PAv1/manifest.yaml',
      /invalid YAML at line/,
    ],
    [
      'a manifest that is not a mapping',
      { 'PAv1/manifest.yaml': '- a\n- b\n', 'PAv1/topology/cml.yaml': TOPOLOGY },
      'INVALID_FILE',
      'PAv1/manifest.yaml',
      /must be a YAML mapping/,
    ],
    [
      'a manifest naming a topology that is not there',
      {
        'PAv1/manifest.yaml': `${MANIFEST()}topology: topology/missing.yaml\n`,
        'PAv1/topology/cml.yaml': TOPOLOGY,
      },
      'MISSING_FILE',
      'PAv1/manifest.yaml',
      /topology: PAv1\/topology\/missing.yaml is not in the package/,
    ],
    [
      'a manifest reference escaping PAv1/',
      { 'PAv1/manifest.yaml': `${MANIFEST()}topology: ../cml.yaml\n`, 'cml.yaml': TOPOLOGY },
      'INVALID_FILE',
      'PAv1/manifest.yaml',
      /must be a path inside PAv1/,
    ],
    [
      'a CML package without a topology',
      { 'PAv1/manifest.yaml': MANIFEST(), 'PAv1/lifecycle.yaml': 'phases: {}\n' },
      'MISSING_FILE',
      'cml.yaml',
      /a CML package needs a topology/,
    ],
    [
      'a malformed PATty tag',
      { 'cml.yaml': TOPOLOGY.replace('serial:5002', 'serial:70000') },
      'INVALID_TOPOLOGY',
      'cml.yaml',
      /node R2: malformed PATty tag "serial:70000"/,
    ],
    [
      'devices.json that is not JSON',
      { 'cml.yaml': TOPOLOGY, 'devices.json': '[{"name": "R1",]' },
      'INVALID_FILE',
      'devices.json',
      /invalid JSON/,
    ],
    [
      'devices.json of the wrong shape',
      { 'cml.yaml': TOPOLOGY, 'devices.json': '{"routers": []}' },
      'INVALID_FILE',
      'devices.json',
      /must be a JSON array of devices/,
    ],
    [
      'a device without a name',
      { 'cml.yaml': TOPOLOGY, 'devices.json': '[{"nodeLabel": "R1"}]' },
      'INVALID_FILE',
      'devices.json',
      /devices\.0\.name/,
    ],
    [
      'a device on a node the topology does not have',
      { 'cml.yaml': TOPOLOGY, 'devices.json': '[{"name": "R9", "nodeLabel": "R9"}]' },
      'INVALID_FILE',
      'devices.json',
      /devices\.0\.nodeLabel: device R9 references unknown node R9/,
    ],
    [
      'a device on a port no PATty tag defines',
      { 'cml.yaml': TOPOLOGY, 'devices.json': '[{"name": "R2", "nodeLabel": "R2", "portName": "R2_ssh"}]' },
      'INVALID_FILE',
      'devices.json',
      /R2_ssh, which no PATty tag defines \(the topology defines: R1_serial, R1_ssh, R2_serial\)/,
    ],
    [
      'two devices with one name',
      { 'cml.yaml': TOPOLOGY, 'devices.json': '[{"name": "R1"}, {"name": "R1"}]' },
      'INVALID_FILE',
      'devices.json',
      /devices\.1\.name: duplicate device R1/,
    ],
    [
      'content.xml that is not XML',
      { 'cml.yaml': TOPOLOGY, 'content.xml': 'devices: R1' },
      'INVALID_FILE',
      'content.xml',
      /not an XML document/,
    ],
    [
      'mosaic_meta.json that is not an object',
      { 'cml.yaml': TOPOLOGY, 'mosaic_meta.json': '[1, 2]' },
      'INVALID_FILE',
      'mosaic_meta.json',
      /must be a JSON object/,
    ],
    [
      'a grading rubric that is not valid YAML',
      {
        'PAv1/manifest.yaml': MANIFEST(),
        'PAv1/topology/cml.yaml': TOPOLOGY,
        'PAv1/grading/rubric.yaml': 'a: [\n',
      },
      'INVALID_FILE',
      'PAv1/grading/rubric.yaml',
      /invalid YAML/,
    ],
    [
      'a RADKIT topology that is not a mapping',
      { 'radkit.yaml': '- just\n- a list\n' },
      'INVALID_FILE',
      'radkit.yaml',
      /must be a YAML mapping/,
    ],
    [
      'a YAML file larger than LCM parses (CPU bound)',
      {
        'PAv1/manifest.yaml': MANIFEST(),
        'PAv1/topology/cml.yaml': TOPOLOGY,
        'PAv1/grading/rubric.yaml': '- a: 1\n'.repeat(40_000),
      },
      'TOO_LARGE',
      'PAv1/grading/rubric.yaml',
      /280000 characters; files LCM parses may have at most 262144/,
    ],
    ['an empty package', {}, 'MISSING_FILE', '(package)', /contains no files/],
  ] as const)('%s', (_name, files, problem, file, reason) => {
    const e = refusal(zipOf(files));
    expect(e.problem).toBe(problem);
    expect(e.file).toBe(file);
    expect(e.reason).toMatch(reason);
  });

  it('a topology file that is not UTF-8', () => {
    const e = refusal(zipOf({ 'cml.yaml': new Uint8Array([0x6c, 0x61, 0x62, 0x3a, 0xff, 0xfe]) }));
    expect([e.problem, e.file, e.reason]).toEqual(['INVALID_FILE', 'cml.yaml', 'not UTF-8 text']);
  });
});
