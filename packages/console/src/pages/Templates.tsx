import { useState } from 'react';
import { unwrap } from '../api/client.ts';
import type { components } from '../api/schema.gen.ts';
import { Field } from '../components/Field.tsx';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { useConsole } from '../lib/context.ts';
import { usd } from '../lib/fleet.ts';
import { useLoad } from '../lib/hooks.ts';
import { can } from '../lib/permissions.ts';
import { fieldErrors, type Problem, problemOf } from '../lib/problem.ts';
import { href } from '../lib/route.ts';
import { formOf, patchOf, TEMPLATE_FIELDS, type TemplateForm } from '../lib/templates.ts';

type Template = components['schemas']['WorkerTemplate'];

export function TemplatesPage({ edit }: { edit?: string | undefined }) {
  const { api, caller } = useConsole();
  const list = useLoad(
    () => unwrap(api.GET('/v1/worker-templates', { params: { query: { limit: 100 } } })),
    [api],
  );
  const editing = list.data?.items.find((t) => t.name === edit);
  return (
    <section aria-labelledby="tpl-h">
      <h2 id="tpl-h">Worker templates</h2>
      <ProblemBox problem={list.problem} />
      <table className="grid">
        <caption>Templates</caption>
        <thead>
          <tr>
            <th scope="col">Template</th>
            <th scope="col">Instance type</th>
            <th scope="col">Capacity</th>
            <th scope="col">Cost per hour</th>
            <th scope="col">License</th>
            <th scope="col">Enabled</th>
            {can(caller, 'updateWorkerTemplate') ? <th scope="col">Edit</th> : null}
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((t) => (
            <tr key={t.name}>
              <th scope="row">{t.name}</th>
              <td>{t.instanceType}</td>
              <td>
                {t.capacity.cpuCores} CPU, {t.capacity.memoryGb} GB, {t.capacity.storageGb} GB disk,{' '}
                {t.capacity.maxNodes} nodes
              </td>
              <td>{usd(t.costPerHourUsd)}</td>
              <td>{t.licenseType}</td>
              <td>{t.enabled === false ? 'no' : 'yes'}</td>
              {can(caller, 'updateWorkerTemplate') ? (
                <td>
                  <a href={href(['templates', t.name])} aria-label={`Edit ${t.name}`}>
                    Edit
                  </a>
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      {editing && can(caller, 'updateWorkerTemplate') ? (
        <TemplateEditor key={`${editing.name}-${editing.version}`} template={editing} onSaved={list.reload} />
      ) : null}
    </section>
  );
}

function TemplateEditor({ template, onSaved }: { template: Template; onSaved: () => void }) {
  const { api } = useConsole();
  const [form, setForm] = useState<TemplateForm>(() => formOf(template));
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState<string | null>(null);
  // No reset from `template` afterwards: the editor is keyed by name and version (a saved or
  // changed template mounts a new one), so a re-read of the same version never wipes an edit.
  const errors = fieldErrors(problem);
  const save = async () => {
    setSaved(null);
    try {
      const t = await unwrap(
        api.PATCH('/v1/worker-templates/{name}', {
          params: { path: { name: template.name } },
          body: patchOf(template, form),
        }),
      );
      setProblem(null);
      setSaved(`Saved version ${t.version}.`);
      onSaved();
    } catch (e) {
      setProblem(problemOf(e));
    }
  };
  return (
    <form
      className="editor"
      aria-labelledby="edit-h"
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <h3 id="edit-h">Edit {template.name}</h3>
      {TEMPLATE_FIELDS.map((f) => (
        <Field
          key={f.path}
          name={f.path}
          label={f.label}
          value={form[f.path]}
          error={errors[f.path]}
          onChange={(v) => setForm({ ...form, [f.path]: v })}
        />
      ))}
      <ProblemBox problem={problem} />
      {saved ? <p role="status">{saved}</p> : null}
      <div className="buttons">
        <button type="submit" className="primary">
          Save
        </button>
        <a href={href(['templates'])}>Close</a>
      </div>
    </form>
  );
}
