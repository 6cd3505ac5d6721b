import { createHash } from 'node:crypto';
import type * as z from 'zod';
import type { PodType } from '../../kernel/index.ts';
import {
  type Device,
  DomainError,
  type PortTemplate,
  type ResourceRequirements,
} from '../../kernel/index.ts';
import { DEFAULT_NODE_DEFINITIONS } from '../rules/node-definitions.ts';
import { detectPodType } from '../rules/pod-type.ts';
import { estimateResources, extractPortTemplate, parseTopology } from '../rules/topology.ts';
import { UPLOAD_MAX_BYTES } from '../topology-store.ts';
import { ContentPackageError, PACKAGE_FILE } from './errors.ts';
import {
  DevicesSchema,
  firstIssue,
  isRecord,
  jsonOf,
  ManifestSchema,
  MosaicMetaSchema,
  textOf,
  yamlOf,
} from './files.ts';
import { DEFAULT_ZIP_LIMITS, readZip, type ZipLimits } from './zip.ts';

/**
 * A content package (a lab's zip) → the fields of a definition version. Two layouts:
 *
 * - legacy: `cml.yaml` or `cml.yml` at the root, `devices.json`, `content.xml`, `grade.xml`,
 *   `mosaic_meta.json`;
 * - PAv1: `PAv1/manifest.yaml` (required as soon as anything lives under `PAv1/`),
 *   `PAv1/topology/cml.yaml` (wins over a root `cml.yml`), `PAv1/topology/devices.json` (wins over
 *   a root `devices.json`), `PAv1/grading/*`, `PAv1/lifecycle.yaml`, ….
 *
 * The pod type comes from the priority chain of catalogue/rules/pod-type.ts. Every file that is read is
 * validated (YAML/JSON syntax, the CML topology with its link references and PATty tags, device
 * references to nodes and named ports); the first problem becomes a ContentPackageError naming the
 * file (the readers and file schemas are in files.ts). Nothing here does I/O: the bytes come from
 * a ContentStore (store.ts).
 */

export interface ContentLimits extends ZipLimits {
  /** Largest package (the zip itself), in bytes. */
  maxPackageBytes: number;
  /**
   * Largest YAML/JSON file LCM parses (manifest, devices, grading, lifecycle, ...), in characters.
   * YAML parsing is CPU-heavy: this bounds the time a hostile package can burn. The topology has
   * its own bound, UPLOAD_MAX_BYTES (50 MiB): it is stored in the content bucket, not in the item.
   */
  maxParsedFileChars: number;
}

export const DEFAULT_CONTENT_LIMITS: Readonly<ContentLimits> = Object.freeze({
  ...DEFAULT_ZIP_LIMITS,
  maxPackageBytes: UPLOAD_MAX_BYTES,
  maxParsedFileChars: 256 * 1024,
});

export interface ExtractedContent {
  /** `sha256:<hex>` of the package bytes. */
  contentHash: string;
  sizeBytes: number;
  layout: 'PAv1' | 'legacy';
  /** Normalised paths of every file in the package. */
  files: string[];
  podType: PodType;
  /** Every pod-type signal seen, for audit. */
  podTypeSignals: string[];
  /** The CML topology (CML_ON_AWS packages) and what is derived from it. */
  topology?: { path: string; yaml: string };
  portTemplate?: PortTemplate;
  resourceRequirements?: ResourceRequirements;
  /** From devices.json; undefined when the package has none. */
  devices?: { path: string; devices: Device[] };
  /** `<sourceUri>#PAv1/grading/` or `<sourceUri>#grade.xml`; undefined without grading rules. */
  gradingRulesRef?: string;
  /** LDS content id: PAv1 manifest `content_id`, else mosaic_meta.json `formQualifiedName`. */
  formQualifiedName?: string;
  manifest?: Record<string, unknown>;
}

export interface ExtractOptions {
  /** The package's URI, used in the grading-rules reference. */
  sourceUri?: string;
  limits?: Partial<ContentLimits>;
}

export const MANIFEST_PATH = 'PAv1/manifest.yaml';
const PAV1_PREFIX = 'PAv1/';
const GRADING_PREFIX = 'PAv1/grading/';
/** Root files of the legacy layout that are read. */
const ROOT_FILES = new Set([
  'cml.yaml',
  'cml.yml',
  'radkit.yaml',
  'devices.json',
  'content.xml',
  'grade.xml',
  'mosaic_meta.json',
]);
const CML_TOPOLOGY_PATHS = ['PAv1/topology/cml.yaml', 'PAv1/topology/cml.yml', 'cml.yaml', 'cml.yml'];
const OTHER_TOPOLOGY_PATHS: Record<Exclude<PodType, 'CML_ON_AWS'>, string[]> = {
  ROC_RADKIT: ['PAv1/topology/radkit.yaml', 'radkit.yaml'],
  PROXMOX: ['PAv1/topology/proxmox.yaml'],
  VMWARE: ['PAv1/topology/vmware.yaml'],
};
/** The package's CML topology may declare up to 50 MiB uncompressed; every other file keeps the zip's bound. */
const LARGE_ENTRIES = { paths: CML_TOPOLOGY_PATHS, maxBytes: UPLOAD_MAX_BYTES } as const;
const DEVICES_PATHS = ['PAv1/topology/devices.json', 'devices.json'];
/** A package's topology may be as large as an upload (catalogue/topology-store.ts): it goes to the content bucket. */
const MAX_TOPOLOGY_CHARS = UPLOAD_MAX_BYTES;

export const sha256Of = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

/** A path named in the manifest, relative to PAv1/; it must stay inside PAv1/ and exist. */
function manifestRef(field: string, ref: string, present: Set<string>): string {
  const segments = ref
    .replace(/\\/g, '/')
    .split('/')
    .filter((s) => s !== '' && s !== '.');
  if (ref.startsWith('/') || segments.includes('..') || segments.length === 0) {
    throw new ContentPackageError(
      'INVALID_FILE',
      MANIFEST_PATH,
      `${field}: ${ref} must be a path inside PAv1/`,
    );
  }
  const path = PAV1_PREFIX + segments.join('/');
  if (!present.has(path)) {
    throw new ContentPackageError('MISSING_FILE', MANIFEST_PATH, `${field}: ${path} is not in the package`, {
      field,
      reference: path,
    });
  }
  return path;
}

function cmlTopology(path: string, yaml: string) {
  if (yaml.length > MAX_TOPOLOGY_CHARS) {
    throw new ContentPackageError(
      'TOO_LARGE',
      path,
      `the topology has ${yaml.length} characters; a definition's topology may have at most ${MAX_TOPOLOGY_CHARS}`,
    );
  }
  try {
    const topology = parseTopology(yaml);
    return {
      topology,
      // Consoles of untagged nodes derived from their node definitions (issue 11, item 2).
      portTemplate: extractPortTemplate(topology, { catalogue: DEFAULT_NODE_DEFINITIONS }),
      resourceRequirements: estimateResources(topology),
    };
  } catch (e) {
    if (e instanceof DomainError) {
      throw new ContentPackageError('INVALID_TOPOLOGY', path, e.message, { ...e.details, code: e.code });
    }
    throw e;
  }
}

/**
 * Reads, checks and interprets a content package. Throws ContentPackageError (never anything
 * else for bad content) with the file and the problem.
 */
export function extractContentPackage(bytes: Uint8Array, opts: ExtractOptions = {}): ExtractedContent {
  const limits: ContentLimits = { ...DEFAULT_CONTENT_LIMITS, ...opts.limits };
  if (bytes.length > limits.maxPackageBytes) {
    throw new ContentPackageError(
      'TOO_LARGE',
      PACKAGE_FILE,
      `${bytes.length} bytes; a package may have at most ${limits.maxPackageBytes}`,
    );
  }
  const contentHash = sha256Of(bytes);
  const zip = readZip(bytes, (p) => ROOT_FILES.has(p) || p.startsWith(PAV1_PREFIX), {
    largeEntries: LARGE_ENTRIES,
    ...limits,
  });
  const present = new Set(zip.files);
  const text = new Map<string, string>();
  const read = (path: string): string => {
    let t = text.get(path);
    if (t === undefined) {
      const data = zip.data.get(path);
      if (!data) throw new ContentPackageError('MISSING_FILE', path, 'not in the package');
      t = textOf(path, data);
      text.set(path, t);
    }
    return t;
  };
  if (zip.files.length === 0) {
    throw new ContentPackageError('MISSING_FILE', PACKAGE_FILE, 'the package contains no files');
  }
  const yamlFile = (path: string) => yamlOf(path, read(path), limits.maxParsedFileChars);
  const jsonFile = (path: string) => jsonOf(path, read(path), limits.maxParsedFileChars);

  // Layout and manifest
  const layout = zip.files.some((p) => p.startsWith(PAV1_PREFIX)) ? 'PAv1' : 'legacy';
  let manifest: z.output<typeof ManifestSchema> | undefined;
  if (layout === 'PAv1') {
    if (!present.has(MANIFEST_PATH)) {
      throw new ContentPackageError(
        'MISSING_FILE',
        MANIFEST_PATH,
        'required in a PAv1 package (files under PAv1/ but no manifest)',
      );
    }
    const raw = yamlFile(MANIFEST_PATH);
    if (!isRecord(raw))
      throw new ContentPackageError('INVALID_FILE', MANIFEST_PATH, 'must be a YAML mapping');
    const parsed = ManifestSchema.safeParse(raw);
    if (!parsed.success) throw firstIssue(MANIFEST_PATH, parsed.error);
    manifest = parsed.data;
  }

  // Pod type (priority chain)
  let podType: PodType;
  let podTypeSignals: string[];
  try {
    ({ podType, signals: podTypeSignals } = detectPodType({
      paths: zip.files,
      read: (p) => (zip.data.has(p) ? read(p) : undefined),
    }));
  } catch (e) {
    if (e instanceof DomainError && e.code === 'POD_TYPE_INDETERMINATE') {
      const field = typeof e.details.field === 'string' ? e.details.field : '';
      const file = field.startsWith(MANIFEST_PATH) ? MANIFEST_PATH : PACKAGE_FILE;
      const reason = e.message.startsWith(`${file}: `) ? e.message.slice(file.length + 2) : e.message;
      throw new ContentPackageError('POD_TYPE_INDETERMINATE', file, reason, { signals: e.details.signals });
    }
    throw e;
  }

  const out: ExtractedContent = {
    contentHash,
    sizeBytes: bytes.length,
    layout,
    files: zip.files,
    podType,
    podTypeSignals,
    ...(manifest ? { manifest } : {}),
  };

  // Topology
  const topologyRef = manifest?.topology ? manifestRef('topology', manifest.topology, present) : undefined;
  let nodeLabels: Set<string> | undefined;
  if (podType === 'CML_ON_AWS') {
    const path = topologyRef ?? CML_TOPOLOGY_PATHS.find((p) => present.has(p));
    if (!path) {
      throw new ContentPackageError('MISSING_FILE', 'cml.yaml', 'a CML package needs a topology (cml.yaml)');
    }
    const yaml = read(path);
    const derived = cmlTopology(path, yaml);
    out.topology = { path, yaml };
    out.portTemplate = derived.portTemplate;
    out.resourceRequirements = derived.resourceRequirements;
    nodeLabels = new Set(derived.topology.nodes.map((n) => n.label));
  } else {
    const path = topologyRef ?? OTHER_TOPOLOGY_PATHS[podType].find((p) => present.has(p));
    if (!path) {
      const expected = OTHER_TOPOLOGY_PATHS[podType][0]!;
      throw new ContentPackageError('MISSING_FILE', expected, `a ${podType} package needs its topology file`);
    }
    if (!isRecord(yamlFile(path))) {
      throw new ContentPackageError('INVALID_FILE', path, 'must be a YAML mapping');
    }
  }

  // Devices
  const devicesPath = manifest?.devices
    ? manifestRef('devices', manifest.devices, present)
    : DEVICES_PATHS.find((p) => present.has(p));
  if (devicesPath) {
    const raw = jsonFile(devicesPath);
    const list = Array.isArray(raw) ? raw : isRecord(raw) ? raw.devices : undefined;
    if (!Array.isArray(list)) {
      throw new ContentPackageError(
        'INVALID_FILE',
        devicesPath,
        'must be a JSON array of devices or an object with a "devices" array',
      );
    }
    const parsed = DevicesSchema.safeParse(list);
    if (!parsed.success) throw firstIssue(devicesPath, parsed.error, 'devices');
    const devices = parsed.data;
    const names = new Set<string>();
    const portNames = new Set((out.portTemplate ?? []).map((p) => p.name));
    devices.forEach((d, i) => {
      if (names.has(d.name)) {
        throw new ContentPackageError(
          'INVALID_FILE',
          devicesPath,
          `devices.${i}.name: duplicate device ${d.name}`,
        );
      }
      names.add(d.name);
      if (nodeLabels && d.nodeLabel !== undefined && !nodeLabels.has(d.nodeLabel)) {
        throw new ContentPackageError(
          'INVALID_FILE',
          devicesPath,
          `devices.${i}.nodeLabel: device ${d.name} references unknown node ${d.nodeLabel}`,
          { field: `devices.${i}.nodeLabel`, reference: d.nodeLabel },
        );
      }
      if (out.portTemplate && d.portName !== undefined && !portNames.has(d.portName)) {
        throw new ContentPackageError(
          'INVALID_FILE',
          devicesPath,
          `devices.${i}.portName: device ${d.name} references ${d.portName}, which no PATty tag defines` +
            ` (the topology defines: ${[...portNames].join(', ') || 'none'})`,
          { field: `devices.${i}.portName`, reference: d.portName },
        );
      }
    });
    out.devices = { path: devicesPath, devices };
  }

  // Legacy XML files: LCM does not interpret them, but they must at least be XML text.
  for (const path of ['content.xml', 'grade.xml']) {
    if (!present.has(path)) continue;
    if (!read(path).trimStart().startsWith('<')) {
      throw new ContentPackageError('INVALID_FILE', path, 'not an XML document');
    }
  }

  // Every other YAML/JSON file under PAv1/ must parse (lifecycle, scenarios, grading, reports, ...).
  for (const path of zip.files) {
    if (!path.startsWith(PAV1_PREFIX) || path === MANIFEST_PATH || text.has(path)) continue;
    if (/\.ya?ml$/i.test(path)) yamlFile(path);
    else if (/\.json$/i.test(path)) jsonFile(path);
  }

  // Grading rules reference
  const ref = (path: string) => (opts.sourceUri ? `${opts.sourceUri}#${path}` : path);
  if (zip.files.some((p) => p.startsWith(GRADING_PREFIX))) out.gradingRulesRef = ref(GRADING_PREFIX);
  else if (present.has('grade.xml')) out.gradingRulesRef = ref('grade.xml');

  // LDS content id
  let formQualifiedName = manifest?.content_id;
  if (present.has('mosaic_meta.json')) {
    const raw = jsonFile('mosaic_meta.json');
    if (!isRecord(raw))
      throw new ContentPackageError('INVALID_FILE', 'mosaic_meta.json', 'must be a JSON object');
    const meta = MosaicMetaSchema.safeParse(raw);
    if (!meta.success) throw firstIssue('mosaic_meta.json', meta.error);
    formQualifiedName ??= meta.data.formQualifiedName ?? meta.data.form_qualified_name;
  }
  if (formQualifiedName !== undefined) out.formQualifiedName = formQualifiedName;
  return out;
}
