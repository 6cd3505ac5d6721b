import { strToU8, Zip, ZipDeflate, zipSync } from 'fflate';

/**
 * Content packages for the tests: well-formed ones built with fflate, and the hostile ones the
 * sync must refuse. Hostile archives that fflate will not write (lying sizes) are made by
 * patching the size fields of a well-formed archive: that is building test input, not parsing.
 */

export type Files = Record<string, string | Uint8Array>;

const MTIME = new Date(2025, 0, 1, 0, 0, 0);

export function zipOf(files: Files): Uint8Array {
  const input: Record<string, [Uint8Array, { mtime: Date }]> = {};
  for (const [name, content] of Object.entries(files)) {
    input[name] = [typeof content === 'string' ? strToU8(content) : content, { mtime: MTIME }];
  }
  return zipSync(input, { level: 6, mtime: MTIME });
}

/** The same files written by fflate's streaming Zip: data descriptors, no sizes in local headers. */
export function streamedZipOf(files: Files): Uint8Array {
  const chunks: Uint8Array[] = [];
  const zip = new Zip((err, chunk) => {
    if (err) throw err;
    chunks.push(chunk);
  });
  for (const [name, content] of Object.entries(files)) {
    const entry = new ZipDeflate(name, { level: 6 });
    zip.add(entry);
    entry.push(typeof content === 'string' ? strToU8(content) : content, true);
  }
  zip.end();
  return Buffer.concat(chunks);
}

const u32 = (b: Uint8Array, at: number) =>
  (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
const u16 = (b: Uint8Array, at: number) => b[at]! | (b[at + 1]! << 8);
const put32 = (b: Uint8Array, at: number, v: number) => {
  b[at] = v & 0xff;
  b[at + 1] = (v >>> 8) & 0xff;
  b[at + 2] = (v >>> 16) & 0xff;
  b[at + 3] = (v >>> 24) & 0xff;
};

/**
 * A copy of `zip` whose entry `name` declares `size` uncompressed bytes, in its local header and
 * in the central directory (a zip bomb that lies about its size).
 */
export function withDeclaredSize(zip: Uint8Array, name: string, size: number): Uint8Array {
  const out = new Uint8Array(zip);
  const nameBytes = strToU8(name);
  const nameAt = (at: number) =>
    nameBytes.every((c, i) => out[at + i] === c) && out[at + nameBytes.length] !== undefined;
  let patched = 0;
  for (let i = 0; i + 46 < out.length; i++) {
    const sig = u32(out, i);
    if (sig === 0x04034b50 && u16(out, i + 26) === nameBytes.length && nameAt(i + 30)) {
      put32(out, i + 22, size);
      patched++;
    } else if (sig === 0x02014b50 && u16(out, i + 28) === nameBytes.length && nameAt(i + 46)) {
      put32(out, i + 24, size);
      patched++;
    }
  }
  if (patched !== 2) throw new Error(`withDeclaredSize: patched ${patched} headers of ${name}`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Lab content

export const TOPOLOGY = `lab:
  title: Two routers
  version: 0.3.0
nodes:
  - id: n0
    label: R1
    node_definition: iosv
    tags: [serial:5001, "pat:5022:22"]
    interfaces:
      - {id: i0, label: Gi0/0, type: physical, slot: 0}
  - id: n1
    label: R2
    node_definition: iosv
    tags: [serial:5002]
    interfaces:
      - {id: i0, label: Gi0/0, type: physical, slot: 0}
links:
  - {id: l0, n1: n0, i1: i0, n2: n1, i2: i0}
`;

export const DANGLING_TOPOLOGY = TOPOLOGY.replace('n2: n1, i2: i0', 'n2: n9, i2: i0');
export const INVALID_YAML_TOPOLOGY = 'lab:\n  version: 0.3.0\nnodes:\n  - id: n0\n   label: R1\n';

export const MANIFEST = (podType = 'cml_on_aws') =>
  `version: "1.0"\ncontent_id: LAB-X\npod_type: ${podType}\n`;

export interface HostileCase {
  name: string;
  bytes: () => Uint8Array;
  problem: string;
  /** The file the diagnostic names. */
  file: string;
  /** A phrase of the reason. */
  reason: RegExp;
}

/** Every kind of package the sync must refuse, with what the diagnostic must say. */
export const HOSTILE: readonly HostileCase[] = [
  {
    name: 'not a zip',
    bytes: () => strToU8('this is a text file, not an archive\n'.repeat(4)),
    problem: 'NOT_A_ZIP',
    file: '(package)',
    reason: /not a readable zip/,
  },
  {
    name: 'a truncated zip',
    bytes: () => zipOf({ 'cml.yaml': TOPOLOGY }).subarray(0, 60),
    problem: 'NOT_A_ZIP',
    file: '(package)',
    reason: /not a readable zip/,
  },
  {
    name: 'an entry escaping the root (../)',
    bytes: () => zipOf({ 'cml.yaml': TOPOLOGY, '../../etc/cron.d/evil': 'x' }),
    problem: 'UNSAFE_PATH',
    file: '../../etc/cron.d/evil',
    reason: /escapes the package root/,
  },
  {
    name: 'an entry escaping the root with backslashes',
    bytes: () => zipOf({ 'cml.yaml': TOPOLOGY, 'PAv1\\..\\..\\evil': 'x' }),
    problem: 'UNSAFE_PATH',
    file: 'PAv1\\..\\..\\evil',
    reason: /escapes the package root/,
  },
  {
    name: 'an absolute path',
    bytes: () => zipOf({ 'cml.yaml': TOPOLOGY, '/etc/passwd': 'root:x:0:0' }),
    problem: 'UNSAFE_PATH',
    file: '/etc/passwd',
    reason: /absolute path/,
  },
  {
    name: 'an absolute Windows path',
    bytes: () => zipOf({ 'cml.yaml': TOPOLOGY, 'C:/Windows/evil.dll': 'x' }),
    problem: 'UNSAFE_PATH',
    file: 'C:/Windows/evil.dll',
    reason: /drive letter/,
  },
  {
    name: 'more entries than allowed',
    bytes: () => {
      const files: Files = { 'cml.yaml': TOPOLOGY };
      for (let i = 0; i < 2000; i++) files[`extra/${i}.txt`] = '';
      return zipOf(files);
    },
    problem: 'TOO_MANY_ENTRIES',
    file: '(package)',
    reason: /more than 2000 entries/,
  },
  {
    name: 'an entry declaring more than the per-entry limit (zip bomb)',
    bytes: () => zipOf({ 'cml.yaml': TOPOLOGY, 'bomb.bin': new Uint8Array(17 * 1024 * 1024) }),
    problem: 'TOO_LARGE',
    file: 'bomb.bin',
    reason: /declares 17825792 bytes uncompressed/,
  },
  {
    name: 'entries declaring more than the total limit',
    bytes: () => {
      const files: Files = { 'cml.yaml': TOPOLOGY };
      for (let i = 0; i < 5; i++) files[`PAv1/blobs/${i}.bin`] = new Uint8Array(15 * 1024 * 1024);
      return zipOf(files);
    },
    problem: 'TOO_LARGE',
    file: '(package)',
    reason: /more than 67108864 bytes uncompressed in total/,
  },
  {
    name: 'an entry that inflates past its declared size (lying zip bomb)',
    bytes: () =>
      withDeclaredSize(
        zipOf({ 'cml.yaml': `${TOPOLOGY}#${' '.repeat(8 * 1024 * 1024)}\n` }),
        'cml.yaml',
        TOPOLOGY.length,
      ),
    problem: 'TOO_LARGE',
    file: 'cml.yaml',
    reason: /inflates past its declared/,
  },
  {
    name: 'a topology that is not valid YAML',
    bytes: () => zipOf({ 'cml.yaml': INVALID_YAML_TOPOLOGY }),
    problem: 'INVALID_TOPOLOGY',
    file: 'cml.yaml',
    reason: /invalid YAML at line 5/,
  },
  {
    name: 'a topology with a dangling link reference',
    bytes: () => zipOf({ 'cml.yaml': DANGLING_TOPOLOGY }),
    problem: 'INVALID_TOPOLOGY',
    file: 'cml.yaml',
    reason: /link l0: n2 references unknown node n9/,
  },
  {
    name: 'an ambiguous pod type',
    bytes: () =>
      zipOf({
        'PAv1/manifest.yaml': 'version: "1.0"\n',
        'PAv1/topology/cml.yaml': TOPOLOGY,
        'PAv1/topology/radkit.yaml': 'devices: []\n',
      }),
    problem: 'POD_TYPE_INDETERMINATE',
    file: '(package)',
    reason: /ambiguous content package: PAv1\/topology\/radkit.yaml, PAv1\/topology\/cml.yaml/,
  },
  {
    name: 'an unknown pod type',
    bytes: () => zipOf({ 'PAv1/manifest.yaml': MANIFEST('kubernetes'), 'PAv1/topology/cml.yaml': TOPOLOGY }),
    problem: 'POD_TYPE_INDETERMINATE',
    file: 'PAv1/manifest.yaml',
    reason: /unknown pod_type "kubernetes"/,
  },
  {
    name: 'no pod-type signal at all',
    bytes: () => zipOf({ 'README.md': '# a lab\n', 'grade.xml': '<grading/>' }),
    problem: 'POD_TYPE_INDETERMINATE',
    file: '(package)',
    reason: /no pod-type signal/,
  },
];
