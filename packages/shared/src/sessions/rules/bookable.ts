import type { LabletDefinition } from '../../kernel/index.ts';
import { UnprocessableError } from '../../kernel/index.ts';

/**
 * Booking refusals for a definition that is sure to fail (issue 11, item 4), pure: a CML lab
 * whose content package never gave it a topology (sync still PENDING, or FAILED with no earlier
 * good version) always; with `requireDeliverable`, also a CML lab with no topology at all and a
 * definition LDS cannot deliver (no `formQualifiedName`: the LDS part the learner's session is
 * created for). One 422 names every field at fault, so a portal can show why; what no enabled
 * template can hold is the admission's 422 (fleet/admission.ts).
 */
export function bookabilityProblems(
  definition: Pick<
    LabletDefinition,
    'podType' | 'topologyYaml' | 'topology' | 'formQualifiedName' | 'sync' | 'contentUri'
  >,
  opts: { requireDeliverable?: boolean | undefined } = {},
): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  const fromPackage = definition.contentUri !== undefined;
  if (
    definition.podType === 'CML_ON_AWS' &&
    // The topology lives in the content bucket (`topology`), or inline in versions written before.
    !definition.topology &&
    !definition.topologyYaml &&
    (fromPackage || opts.requireDeliverable)
  ) {
    const sync = definition.sync;
    let message = 'the definition has no CML topology to import';
    if (sync?.status === 'FAILED') {
      message = `the last content sync FAILED and there is no earlier good version${sync.diagnostic ? `: ${sync.diagnostic}` : ''}`;
    } else if (sync?.status === 'PENDING' || sync?.status === 'SYNCING') {
      message = `the content sync of ${definition.contentUri ?? 'its package'} has not finished (${sync.status})`;
    }
    problems.push({ path: 'topologyYaml', message });
  }
  if (opts.requireDeliverable && !definition.formQualifiedName) {
    problems.push({
      path: 'formQualifiedName',
      message: 'missing: LDS cannot deliver a session without the part it is created for',
    });
  }
  return problems;
}

/** Throws the 422 when the definition version cannot be booked (bookabilityProblems). */
export function assertBookable(
  definition: Pick<
    LabletDefinition,
    'id' | 'version' | 'podType' | 'topologyYaml' | 'topology' | 'formQualifiedName' | 'sync' | 'contentUri'
  >,
  opts: { requireDeliverable?: boolean | undefined } = {},
): void {
  const problems = bookabilityProblems(definition, opts);
  if (problems.length === 0) return;
  throw new UnprocessableError(
    `definition ${definition.id} v${definition.version} cannot be booked: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`,
    problems,
    { definitionId: definition.id, definitionVersion: definition.version },
  );
}
