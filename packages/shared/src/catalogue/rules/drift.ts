import type { PortAllocations, PortDrift } from '../../kernel/index.ts';
import { ValidationError } from '../../kernel/index.ts';

/**
 * Port drift: the ports a running lab really uses (read back from its node tags) against the
 * ports leased to its session. CML labs can be edited behind LCM's back, so a lab may end up on
 * a port leased to another session on the same worker; those are reported as conflicts.
 */

const byName = (a: { name: string }, b: { name: string }): number =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0;

function checkPorts(ports: PortAllocations, field: string): Array<[string, number]> {
  const entries = Object.entries(ports ?? {});
  for (const [name, port] of entries) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new ValidationError(`${field}.${name}`, `must be an integer port 1-65535, got ${String(port)}`);
    }
  }
  return entries;
}

/**
 * Compares allocated and observed ports by name. `otherLeases` are the leases held by *other*
 * sessions on the same worker. `hasDrift` is true when anything was added, removed, changed or
 * is in conflict. Every list is sorted (by name; conflicts by name, port, session id).
 */
export function detectPortDrift(
  allocated: PortAllocations,
  observed: PortAllocations,
  otherLeases: ReadonlyArray<{ port: number; sessionId: string }> = [],
): PortDrift {
  const allocatedEntries = checkPorts(allocated, 'allocated');
  const observedEntries = checkPorts(observed, 'observed');
  const allocatedByName = new Map(allocatedEntries);
  const observedByName = new Map(observedEntries);

  const added: PortDrift['added'] = [];
  const changed: PortDrift['changed'] = [];
  for (const [name, port] of observedEntries) {
    const mine = allocatedByName.get(name);
    if (mine === undefined) added.push({ name, port });
    else if (mine !== port) changed.push({ name, allocated: mine, observed: port });
  }
  const removed: PortDrift['removed'] = allocatedEntries
    .filter(([name]) => !observedByName.has(name))
    .map(([name, port]) => ({ name, port }));

  const othersByPort = new Map<number, string[]>();
  for (const lease of otherLeases) {
    const list = othersByPort.get(lease.port);
    if (list) list.push(lease.sessionId);
    else othersByPort.set(lease.port, [lease.sessionId]);
  }
  const conflicts: PortDrift['conflicts'] = [];
  for (const [name, port] of observedEntries) {
    for (const otherSessionId of othersByPort.get(port) ?? []) conflicts.push({ name, port, otherSessionId });
  }

  added.sort(byName);
  removed.sort(byName);
  changed.sort(byName);
  conflicts.sort(
    (a, b) =>
      byName(a, b) ||
      a.port - b.port ||
      (a.otherSessionId < b.otherSessionId ? -1 : a.otherSessionId > b.otherSessionId ? 1 : 0),
  );
  const hasDrift = added.length + removed.length + changed.length + conflicts.length > 0;
  return { added, removed, changed, hasDrift, conflicts };
}
