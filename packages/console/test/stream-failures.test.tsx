// @vitest-environment jsdom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { components } from '../src/api/schema.gen.ts';
import { renderConsole } from './support.tsx';

/**
 * The stream-failures page with the real typed client; fetch answers as the API does (bodies shaped
 * by docs/openapi.json): a PENDING failure, a replay the consumer fails again (200, still PENDING,
 * outcome FAILED), a second replay that is handled (REPLAYED). Viewers see no page.
 */

afterEach(cleanup);

// jsdom has <dialog> without showModal/close (jsdom/jsdom#3294); the browser test drives real ones.
HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
  this.open = true;
};
HTMLDialogElement.prototype.close ??= function (this: HTMLDialogElement) {
  this.open = false;
};

type StreamFailure = components['schemas']['StreamFailure'];

function stack() {
  const failure: StreamFailure = {
    id: '01JSF0000000000000000000A1',
    consumer: 'outbox',
    shardId: 'shardId-000001',
    startSequenceNumber: '100',
    endSequenceNumber: '102',
    attempts: 3,
    error: 'EventBridge PutEvents: 1 of 3 entries failed',
    failedAt: '2026-12-07T10:00:00Z',
    status: 'PENDING',
    recordCount: 3,
    replays: [],
  };
  const calls: string[] = [];
  const json = (status: number, b: unknown) =>
    new Response(JSON.stringify(b), { status, headers: { 'content-type': 'application/json' } });
  const fetchImpl: typeof fetch = async (input) => {
    const req = input as Request;
    const url = new URL(req.url);
    calls.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.method === 'GET' && url.pathname === '/v1/stream-failures') {
      const status = url.searchParams.get('status');
      return json(200, { items: !status || status === failure.status ? [failure] : [] });
    }
    if (req.method === 'POST' && url.pathname === `/v1/stream-failures/${failure.id}/replay`) {
      const second = failure.replays.length > 0;
      failure.replays.push({
        at: second ? '2026-12-07T10:06:00Z' : '2026-12-07T10:05:00Z',
        by: 'operator-user',
        outcome: second ? 'HANDLED' : 'FAILED',
        ...(second ? {} : { error: 'EventBridge PutEvents: 1 of 3 entries failed' }),
      });
      if (second) failure.status = 'REPLAYED';
      return json(200, failure);
    }
    return json(404, { title: 'Not Found', status: 404 });
  };
  return { failure, calls, fetchImpl };
}

const renderAs = (role: string, fetchImpl: typeof fetch) =>
  renderConsole(role, '#/stream-failures', fetchImpl);

describe('stream failures page', () => {
  it('an operator sees the pending failure, replays it twice: FAILED shows with its error, then REPLAYED', async () => {
    const { failure, calls, fetchImpl } = stack();
    renderAs('operator', fetchImpl);
    const row = (await screen.findByRole('rowheader', { name: failure.id })).closest('tr')!;
    expect(within(row).getByText('outbox')).toBeTruthy();
    expect(screen.getByTestId(`sf-status-${failure.id}`).textContent).toBe('PENDING');
    expect(screen.getByTestId(`sf-replay-${failure.id}`).textContent).toBe('never');
    expect(calls[0]).toBe('GET /v1/stream-failures?limit=100&status=PENDING');

    const replay = async () => {
      fireEvent.click(screen.getByRole('button', { name: `Replay ${failure.id}` }));
      const dialog = screen.getByRole('dialog', { hidden: true });
      expect(dialog.textContent).toContain(`Replay the 3 records of failure ${failure.id} to outbox?`);
      fireEvent.click(within(dialog).getByRole('button', { name: 'Confirm replay', hidden: true }));
    };
    await replay();
    await waitFor(() =>
      expect(screen.getByTestId(`sf-replay-${failure.id}`).textContent).toMatch(
        /^FAILED .* by operator-user: EventBridge PutEvents: 1 of 3 entries failed$/,
      ),
    );
    expect(screen.getByTestId(`sf-status-${failure.id}`).textContent).toBe('PENDING');

    await replay();
    // Handled: REPLAYED, so it leaves the PENDING listing; "any" shows it with its last replay.
    await waitFor(() => expect(screen.queryByRole('rowheader', { name: failure.id })).toBeNull());
    expect(screen.getByText('No stream failures.')).toBeTruthy();
    fireEvent.change(screen.getByLabelText('Status'), { target: { value: '' } });
    await screen.findByRole('rowheader', { name: failure.id });
    expect(screen.getByTestId(`sf-status-${failure.id}`).textContent).toBe('REPLAYED');
    expect(screen.getByTestId(`sf-replay-${failure.id}`).textContent).toMatch(/^HANDLED /);
    expect(calls.filter((c) => c.startsWith('POST'))).toEqual([
      `POST /v1/stream-failures/${failure.id}/replay`,
      `POST /v1/stream-failures/${failure.id}/replay`,
    ]);
  });

  it('a viewer has no stream-failures page: the console shows the first page it may read', () => {
    const { calls, fetchImpl } = stack();
    renderAs('viewer', fetchImpl);
    expect(
      within(screen.getByRole('navigation', { name: 'Pages' }))
        .getAllByRole('link')
        .map((a) => a.textContent),
    ).not.toContain('Stream failures');
    expect(calls.some((c) => c.includes('stream-failures'))).toBe(false);
  });
});
