import { parse as parseYaml } from 'yaml';
import { DomainError, POD_TYPES, type PodType } from '../../kernel/index.ts';

/**
 * Pod-type detection for a content package (seeds: cpa-scenario-engine-integration-plan §5.1).
 * Priority: 1 explicit `pod_type` in PAv1/manifest.yaml; 2 PAv1/topology/radkit.yaml;
 * 3 PAv1/topology/proxmox.yaml; 4 PAv1/topology/vmware.yaml; 5 cml.yaml/cml.yml at the root or
 * in PAv1/topology/; 6 radkit.yaml at the root. Without an explicit pod_type, PAv1/topology/
 * files naming different pod types are ambiguous. `signals` lists everything seen, for audit.
 */

export interface ContentPackage {
  paths: readonly string[];
  read(path: string): string | undefined;
}

export interface PodTypeDetection {
  podType: PodType;
  signals: string[];
}

const MANIFEST = 'PAv1/manifest.yaml';

/** Files whose presence names a pod type, in priority order (rule 1, the manifest, aside). */
const FILE_SIGNALS: ReadonlyArray<{ path: string; podType: PodType; inPav1Topology: boolean }> = [
  { path: 'PAv1/topology/radkit.yaml', podType: 'ROC_RADKIT', inPav1Topology: true },
  { path: 'PAv1/topology/proxmox.yaml', podType: 'PROXMOX', inPav1Topology: true },
  { path: 'PAv1/topology/vmware.yaml', podType: 'VMWARE', inPav1Topology: true },
  { path: 'cml.yaml', podType: 'CML_ON_AWS', inPav1Topology: false },
  { path: 'cml.yml', podType: 'CML_ON_AWS', inPav1Topology: false },
  { path: 'PAv1/topology/cml.yaml', podType: 'CML_ON_AWS', inPav1Topology: true },
  { path: 'PAv1/topology/cml.yml', podType: 'CML_ON_AWS', inPav1Topology: true },
  { path: 'radkit.yaml', podType: 'ROC_RADKIT', inPav1Topology: false },
];

/** Zip entries may be written as `./x`, `/x` or with backslashes. */
const normalisePath = (p: string): string => p.replace(/\\/g, '/').replace(/^(\.\/|\/)+/, '');

function indeterminate(message: string, signals: string[], extra: Record<string, unknown> = {}): never {
  throw new DomainError('POD_TYPE_INDETERMINATE', message, { signals, ...extra });
}

/** Reads `pod_type` from the manifest; undefined when the manifest does not set one. */
function manifestPodType(pkg: ContentPackage, manifestPath: string, signals: string[]): PodType | undefined {
  const text = pkg.read(manifestPath);
  if (text === undefined) {
    signals.push(`${MANIFEST} (unreadable)`);
    return undefined;
  }
  let manifest: unknown;
  try {
    manifest = parseYaml(text);
  } catch (e) {
    signals.push(`${MANIFEST} (invalid YAML)`);
    indeterminate(`${MANIFEST} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, signals, {
      field: MANIFEST,
    });
  }
  const raw =
    manifest !== null && typeof manifest === 'object'
      ? (manifest as Record<string, unknown>).pod_type
      : undefined;
  if (raw === undefined || raw === null || raw === '') {
    signals.push(`${MANIFEST} (no pod_type)`);
    return undefined;
  }
  signals.push(`${MANIFEST} pod_type=${String(raw)}`);
  const value =
    typeof raw === 'string'
      ? raw
          .trim()
          .toUpperCase()
          .replace(/[-\s]+/g, '_')
      : '';
  if (!(POD_TYPES as readonly string[]).includes(value)) {
    indeterminate(
      `${MANIFEST}: unknown pod_type ${JSON.stringify(raw)} (expected one of ${POD_TYPES.join(', ')})`,
      signals,
      {
        field: `${MANIFEST}.pod_type`,
        value: raw,
      },
    );
  }
  return value as PodType;
}

export function detectPodType(pkg: ContentPackage): PodTypeDetection {
  const byNormalised = new Map<string, string>();
  for (const p of pkg.paths) byNormalised.set(normalisePath(p), p);

  const signals: string[] = [];
  const manifestPath = byNormalised.get(MANIFEST);
  const explicit = manifestPath === undefined ? undefined : manifestPodType(pkg, manifestPath, signals);

  const present = FILE_SIGNALS.filter((s) => byNormalised.has(s.path));
  signals.push(...present.map((s) => s.path));
  if (explicit) return { podType: explicit, signals };

  const pav1Types = new Set(present.filter((s) => s.inPav1Topology).map((s) => s.podType));
  if (pav1Types.size > 1) {
    const conflicting = present.filter((s) => s.inPav1Topology).map((s) => s.path);
    indeterminate(`ambiguous content package: ${conflicting.join(', ')} name different pod types`, signals, {
      conflicting,
    });
  }
  const winner = present[0];
  if (!winner) {
    indeterminate(
      'no pod-type signal (no manifest pod_type, no PAv1/topology/*.yaml, cml.yml or radkit.yaml)',
      signals,
    );
  }
  return { podType: winner.podType, signals };
}
