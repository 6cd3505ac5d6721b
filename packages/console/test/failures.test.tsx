// @vitest-environment jsdom
import { cleanup, fireEvent, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { renderConsole } from './support.tsx';

/**
 * A part of a page whose code cannot be loaded (the charts' chunk fetched while the server was
 * away: seen in test/e2e/console-reconnect.test.ts, where it used to blank the whole console) is
 * replaced by an alert that names it and offers to try again; the header (live state, navigation)
 * and the rest of the page stay. The chunk's loss is the one thing faked here: the first import of
 * the chart module fails as a browser's does, the next one loads.
 */

const imports = vi.hoisted(() => ({ chart: 0 }));
vi.mock('../src/components/Chart.tsx', () => {
  imports.chart++;
  if (imports.chart === 1)
    throw new TypeError('Failed to fetch dynamically imported module: /assets/Chart.js');
  return { default: ({ title }: { title: string }) => <figure data-testid="chart">{title}</figure> };
});

afterEach(cleanup);

const apiFetch: typeof fetch = async (input) => {
  const url = new URL((input as Request).url);
  const json = (b: unknown) =>
    new Response(JSON.stringify(b), { status: 200, headers: { 'content-type': 'application/json' } });
  if (url.pathname === '/v1/workers') return json({ items: [] });
  if (url.pathname === '/v1/fleet/usage')
    return json({
      from: '2026-12-06T00:00:00Z',
      to: '2026-12-07T00:00:00Z',
      step: 900,
      points: [
        {
          at: '2026-12-06T00:00:00Z',
          workersByStatus: { RUNNING: 1 },
          sessionsHeld: 2,
          sessionsActive: 1,
          declared: { cpuCores: 96, memoryGb: 384, storageGb: 1000, maxNodes: 100 },
          allocated: { cpuCores: 8, memoryGb: 32, storageGb: 50, maxNodes: 6 },
          costRatePerHourUsd: 4.6,
          costUsd: 1.15,
        },
      ],
    });
  return new Response(JSON.stringify({ title: 'Not Found', status: 404 }), {
    status: 404,
    headers: { 'content-type': 'application/problem+json' },
  });
};

describe('a part of the console that fails', () => {
  it('the charts chunk failing to load: an alert naming the charts with Try again, the header stays; Try again loads them', async () => {
    renderConsole('operator', '#/fleet', apiFetch);
    const failed = await screen.findByTestId('render-failed');
    expect(failed.textContent).toContain('The usage charts could not be shown');
    // With the reason (here vitest's wording around the import's failure).
    expect(failed.querySelector('p')?.textContent).toMatch(/error when mocking a module/);
    // The rest of the console is still there.
    expect(screen.getByTestId('live-state').textContent).toBe('live: closed');
    expect(screen.getByRole('heading', { name: 'Fleet' })).toBeTruthy();
    expect(screen.getByRole('navigation', { name: 'Pages' })).toBeTruthy();
    expect(screen.queryByTestId('chart')).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Try again' }));
    expect((await screen.findAllByTestId('chart')).map((c) => c.textContent)).toEqual([
      'Workers and sessions',
      'CPU cores, declared and allocated',
      'Cost',
    ]);
    expect(screen.queryByTestId('render-failed')).toBeNull();
    expect(imports.chart).toBe(2);
  });
});
