import type { components } from '../api/schema.gen.ts';

type Template = components['schemas']['WorkerTemplate'];
type Update = components['schemas']['UpdateWorkerTemplate'];

/** The editable fields of a template, by the API's field path (so a problem's `errors[].path` lands on its input). */
export const TEMPLATE_FIELDS = [
  { path: 'description', label: 'Description', type: 'text' },
  { path: 'instanceType', label: 'Instance type', type: 'text' },
  { path: 'capacity.cpuCores', label: 'CPU cores', type: 'number' },
  { path: 'capacity.memoryGb', label: 'Memory GB', type: 'number' },
  { path: 'capacity.storageGb', label: 'Storage GB', type: 'number' },
  { path: 'capacity.maxNodes', label: 'Max nodes', type: 'number' },
  { path: 'costPerHourUsd', label: 'Cost per hour (USD)', type: 'number' },
  { path: 'stoppedCostPerHourUsd', label: 'Stopped cost per hour (USD)', type: 'number' },
  { path: 'bootMinutes', label: 'Boot minutes', type: 'number' },
  { path: 'amiNamePattern', label: 'AMI name pattern', type: 'text' },
] as const;

export type TemplateForm = Record<(typeof TEMPLATE_FIELDS)[number]['path'], string>;

const get = (t: Template, path: string): unknown =>
  path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], t);

export function formOf(t: Template): TemplateForm {
  return Object.fromEntries(
    TEMPLATE_FIELDS.map((f) => [f.path, get(t, f.path) === undefined ? '' : String(get(t, f.path))]),
  ) as TemplateForm;
}

/**
 * The PATCH body: the fields that differ from the template, numbers as typed (a non-number is
 * sent as typed, so the API's validation names the field), with the version it was read at.
 */
export function patchOf(t: Template, form: TemplateForm): Update {
  const before = formOf(t);
  const body: Record<string, unknown> = { expectedVersion: t.version };
  const capacity: Record<string, unknown> = { ...t.capacity };
  let capacityChanged = false;
  for (const f of TEMPLATE_FIELDS) {
    const v = form[f.path];
    if (v === before[f.path]) continue;
    const value = f.type === 'number' ? (v.trim() === '' || Number.isNaN(Number(v)) ? v : Number(v)) : v;
    if (f.path.startsWith('capacity.')) {
      capacity[f.path.slice('capacity.'.length)] = value;
      capacityChanged = true;
    } else body[f.path] = value;
  }
  if (capacityChanged) body.capacity = capacity;
  return body as Update;
}
