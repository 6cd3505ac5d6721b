// @vitest-environment jsdom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { components } from '../src/api/schema.gen.ts';
import { renderConsole } from './support.tsx';

/**
 * Component tests (Testing Library, jsdom): the pages with the real typed client, whose fetch
 * answers as the API does (bodies shaped by docs/openapi.json). What a browser must do (dialogs,
 * charts, axe) is in test/e2e/console.test.ts.
 */

afterEach(cleanup);

const template: components['schemas']['WorkerTemplate'] = {
  name: 'sandbox-cml',
  instanceType: 'm5.2xlarge',
  capacity: { cpuCores: 8, memoryGb: 32, storageGb: 200, maxNodes: 20 },
  costPerHourUsd: 0.4,
  licenseType: 'PERSONAL',
  createdAt: '2026-12-01T00:00:00Z',
  updatedAt: '2026-12-01T00:00:00Z',
  version: 2,
};

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/** The API as seen through fetch: GET the template list; PATCH refused naming the field. */
function apiFetch(calls: Call[]): typeof fetch {
  return async (input: RequestInfo | URL) => {
    const req = input as Request;
    const url = new URL(req.url);
    const body = req.method === 'GET' ? undefined : await req.json();
    calls.push({ method: req.method, path: url.pathname, body });
    const json = (status: number, b: unknown, type = 'application/json') =>
      new Response(JSON.stringify(b), { status, headers: { 'content-type': type } });
    if (req.method === 'GET' && url.pathname === '/v1/worker-templates')
      return json(200, { items: [template] });
    if (req.method === 'PATCH' && url.pathname === '/v1/worker-templates/sandbox-cml') {
      return json(
        400,
        {
          type: 'https://lcm.example/problems/validation',
          title: 'Bad Request',
          status: 400,
          detail: 'Invalid request body',
          code: 'VALIDATION',
          errors: [{ path: 'costPerHourUsd', message: 'Too small: expected number to be >=0', in: 'body' }],
        },
        'application/problem+json',
      );
    }
    return json(404, { type: 'about:blank', title: 'Not Found', status: 404, detail: url.pathname });
  };
}

const renderAs = (role: string, hash: string, calls: Call[] = []) =>
  renderConsole(role, hash, apiFetch(calls));

describe('console pages', () => {
  it('the navigation shows the pages the role may read', () => {
    renderAs('portal', '#/sessions');
    const nav = screen.getByRole('navigation', { name: 'Pages' });
    expect(
      within(nav)
        .getAllByRole('link')
        .map((a) => a.textContent),
    ).toEqual(['Sessions', 'Definitions']);
    cleanup();
    renderAs('viewer', '#/templates');
    expect(
      within(screen.getByRole('navigation', { name: 'Pages' }))
        .getAllByRole('link')
        .map((a) => a.textContent),
    ).toEqual(['Fleet', 'Sessions', 'Definitions', 'Templates']);
  });

  it('templates: a viewer gets no edit link; an operator edits, and the API error lands on the field it names', async () => {
    renderAs('viewer', '#/templates');
    await screen.findByRole('rowheader', { name: 'sandbox-cml' });
    expect(screen.queryByRole('link', { name: 'Edit sandbox-cml' })).toBeNull();
    cleanup();

    const calls: Call[] = [];
    renderAs('operator', '#/templates/sandbox-cml', calls);
    const cost = await screen.findByLabelText('Cost per hour (USD)');
    expect((cost as HTMLInputElement).value).toBe('0.4');
    fireEvent.change(cost, { target: { value: '-1' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(cost.getAttribute('aria-invalid')).toBe('true'));
    expect(document.getElementById(cost.getAttribute('aria-describedby')!)?.textContent).toBe(
      'Too small: expected number to be >=0',
    );
    // Only the changed field went, with the version the form was read at.
    expect(calls.at(-1)).toEqual({
      method: 'PATCH',
      path: '/v1/worker-templates/sandbox-cml',
      body: { expectedVersion: 2, costPerHourUsd: -1 },
    });
    // The whole problem is shown too.
    expect(screen.getByRole('alert').textContent).toContain('Bad Request (400)');
    // Other fields are not marked.
    expect(screen.getByLabelText('Instance type').getAttribute('aria-invalid')).toBeNull();
  });
});
