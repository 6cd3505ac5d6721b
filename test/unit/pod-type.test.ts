import { type ContentPackage, detectPodType } from '@lcm/shared/catalogue';
import { DomainError } from '@lcm/shared/kernel';
import { describe, expect, it } from 'vitest';

/** An in-memory content package: path → file text. */
const pkg = (files: Record<string, string>): ContentPackage => ({
  paths: Object.keys(files),
  read: (path) => files[path],
});

const catchError = (fn: () => unknown): DomainError => {
  try {
    fn();
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('expected an error');
};

describe('detectPodType', () => {
  it('1: an explicit manifest pod_type wins over every file signal, case-insensitively', () => {
    const result = detectPodType(
      pkg({
        'PAv1/manifest.yaml': 'version: 1\npod_type: roc_radkit\n',
        'PAv1/topology/cml.yaml': 'lab: {}',
        'PAv1/topology/proxmox.yaml': '',
        'cml.yml': '',
      }),
    );
    expect(result.podType).toBe('ROC_RADKIT');
    expect(result.signals).toEqual([
      'PAv1/manifest.yaml pod_type=roc_radkit',
      'PAv1/topology/proxmox.yaml',
      'cml.yml',
      'PAv1/topology/cml.yaml',
    ]);
  });

  it.each([
    ['CML_ON_AWS', 'CML_ON_AWS'],
    ['cml-on-aws', 'CML_ON_AWS'],
    ['Proxmox', 'PROXMOX'],
    [' vmware ', 'VMWARE'],
  ])('reads manifest pod_type %j as %s', (value, expected) => {
    const manifest = `pod_type: ${JSON.stringify(value)}\n`;
    expect(detectPodType(pkg({ 'PAv1/manifest.yaml': manifest })).podType).toBe(expected);
  });

  it('rejects an unknown manifest pod_type, naming it', () => {
    const err = catchError(() =>
      detectPodType(pkg({ 'PAv1/manifest.yaml': 'pod_type: kubernetes\n', 'cml.yml': '' })),
    );
    expect(err).toBeInstanceOf(DomainError);
    expect(err.code).toBe('POD_TYPE_INDETERMINATE');
    expect(err.message).toContain('"kubernetes"');
    expect(err.details).toMatchObject({ value: 'kubernetes', field: 'PAv1/manifest.yaml.pod_type' });
  });

  it('rejects a manifest that is not YAML', () => {
    const err = catchError(() => detectPodType(pkg({ 'PAv1/manifest.yaml': 'pod_type: [oops\n' })));
    expect(err.code).toBe('POD_TYPE_INDETERMINATE');
    expect(err.details.field).toBe('PAv1/manifest.yaml');
  });

  it('falls through when the manifest has no pod_type', () => {
    const result = detectPodType(
      pkg({ 'PAv1/manifest.yaml': 'version: 1\n', 'PAv1/topology/vmware.yaml': '' }),
    );
    expect(result).toEqual({
      podType: 'VMWARE',
      signals: ['PAv1/manifest.yaml (no pod_type)', 'PAv1/topology/vmware.yaml'],
    });
  });

  it.each([
    [['PAv1/topology/radkit.yaml'], 'ROC_RADKIT'],
    [['PAv1/topology/proxmox.yaml'], 'PROXMOX'],
    [['PAv1/topology/vmware.yaml'], 'VMWARE'],
    [['PAv1/topology/cml.yaml'], 'CML_ON_AWS'],
    [['PAv1/topology/cml.yml'], 'CML_ON_AWS'],
    [['cml.yaml'], 'CML_ON_AWS'],
    [['cml.yml', 'grade.xml', 'content.xml'], 'CML_ON_AWS'],
    [['radkit.yaml'], 'ROC_RADKIT'],
    // Priority between levels: PAv1 topology files beat the legacy root files.
    [['cml.yml', 'PAv1/topology/radkit.yaml'], 'ROC_RADKIT'],
    [['cml.yml', 'PAv1/topology/proxmox.yaml'], 'PROXMOX'],
    [['radkit.yaml', 'cml.yml'], 'CML_ON_AWS'],
    [['radkit.yaml', 'PAv1/topology/cml.yaml'], 'CML_ON_AWS'],
    // cml.yaml and cml.yml both name CML: not a conflict.
    [['PAv1/topology/cml.yaml', 'PAv1/topology/cml.yml'], 'CML_ON_AWS'],
  ])('files %j → %s', (paths, expected) => {
    const files = Object.fromEntries(paths.map((p) => [p, '']));
    const result = detectPodType(pkg(files));
    expect(result.podType).toBe(expected);
    expect([...result.signals].sort()).toEqual(paths.filter((p) => !p.endsWith('.xml')).sort());
  });

  it.each([
    [['PAv1/topology/radkit.yaml', 'PAv1/topology/proxmox.yaml']],
    [['PAv1/topology/vmware.yaml', 'PAv1/topology/cml.yaml']],
    [['PAv1/topology/radkit.yaml', 'PAv1/topology/proxmox.yaml', 'PAv1/topology/vmware.yaml', 'cml.yml']],
  ])('is ambiguous without an explicit pod_type when PAv1/topology names several: %j', (paths) => {
    const err = catchError(() => detectPodType(pkg(Object.fromEntries(paths.map((p) => [p, ''])))));
    expect(err.code).toBe('POD_TYPE_INDETERMINATE');
    expect(err.details.conflicting).toEqual(paths.filter((p) => p.startsWith('PAv1/topology/')));
    expect(err.message).toContain('ambiguous');
  });

  it('fails with the signals it saw when nothing identifies the pod type', () => {
    const err = catchError(() =>
      detectPodType(
        pkg({ 'PAv1/manifest.yaml': 'version: 1\n', 'grade.xml': '', 'PAv1/topology/devices.json': '' }),
      ),
    );
    expect(err.code).toBe('POD_TYPE_INDETERMINATE');
    expect(err.details.signals).toEqual(['PAv1/manifest.yaml (no pod_type)']);
    expect(catchError(() => detectPodType(pkg({}))).details.signals).toEqual([]);
  });

  it('normalises ./, leading / and backslashes in entry names', () => {
    expect(detectPodType(pkg({ './PAv1/topology/proxmox.yaml': '' })).podType).toBe('PROXMOX');
    expect(detectPodType(pkg({ '/cml.yml': '' })).podType).toBe('CML_ON_AWS');
    expect(detectPodType(pkg({ 'PAv1\\manifest.yaml': 'pod_type: vmware' })).podType).toBe('VMWARE');
  });

  it('does not treat a nested file as a root signal', () => {
    expect(() => detectPodType(pkg({ 'extras/cml.yml': '', 'docs/radkit.yaml': '' }))).toThrow(DomainError);
  });
});
