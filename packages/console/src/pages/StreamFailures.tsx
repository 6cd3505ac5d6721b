import { useState } from 'react';
import { unwrap } from '../api/client.ts';
import type { components } from '../api/schema.gen.ts';
import { ConfirmAction } from '../components/ConfirmAction.tsx';
import { ProblemBox } from '../components/ProblemBox.tsx';
import { TableHead } from '../components/TableHead.tsx';
import { useConsole } from '../lib/context.ts';
import { formatTime } from '../lib/fleet.ts';
import { useLoad } from '../lib/hooks.ts';
import { can } from '../lib/permissions.ts';

type StreamFailure = components['schemas']['StreamFailure'];
type Status = StreamFailure['status'];

const STATUSES: readonly Status[] = ['PENDING', 'REPLAYED'];
const COLUMNS = ['Failure', 'Consumer', 'Failed at', 'Records', 'Attempts', 'Error', 'Status', 'Last replay'];

/**
 * Stream records a consumer gave up on (GET /v1/stream-failures, which first moves what the
 * failure queues hold into the table): what failed, and a replay for each (operators), whose
 * outcome shows in the row. Pages of 100, "More" reads the next.
 */
export function StreamFailuresPage() {
  const { api, caller } = useConsole();
  const [status, setStatus] = useState<Status | ''>('PENDING');
  const [pages, setPages] = useState<string[]>([]);
  const list = useLoad(async () => {
    const items: StreamFailure[] = [];
    let next: string | undefined;
    // The first page, then every page "More" asked for (their cursors), read again on reload.
    for (const cursor of [undefined, ...pages]) {
      if (cursor !== undefined && cursor !== next) break;
      const page = await unwrap(
        api.GET('/v1/stream-failures', {
          params: { query: { limit: 100, ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) } },
        }),
      );
      items.push(...page.items);
      next = page.nextCursor;
    }
    return { items, next };
  }, [api, status, pages]);
  const mayReplay = can(caller, 'replayStreamFailure');
  const items = list.data?.items ?? [];
  return (
    <section aria-labelledby="sf-h">
      <h2 id="sf-h">Stream failures</h2>
      <p>
        Table-stream records a consumer (the outbox publisher, the triggers) still failed on after its
        retries: it moved on so the shard is not blocked, and the records wait here to be replayed once the
        cause is fixed. DynamoDB Streams keeps records for 24 hours.
      </p>
      <p className="field">
        <label htmlFor="sf-status">Status</label>
        <select
          id="sf-status"
          value={status}
          onChange={(e) => {
            setStatus(e.target.value as Status | '');
            setPages([]);
          }}
        >
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </p>
      <ProblemBox problem={list.problem} />
      <table className="grid">
        <caption>
          {list.data ? `${items.length}${list.data.next ? '+' : ''} failures` : 'Stream failures'}
        </caption>
        <TableHead columns={mayReplay ? [...COLUMNS, 'Replay'] : COLUMNS} />
        <tbody>
          {items.length === 0 && list.data ? (
            <tr>
              <td colSpan={COLUMNS.length + (mayReplay ? 1 : 0)}>No stream failures.</td>
            </tr>
          ) : null}
          {items.map((f) => {
            const last = f.replays.at(-1);
            return (
              <tr key={f.id}>
                <th scope="row">
                  <code>{f.id}</code>
                </th>
                <td>{f.consumer}</td>
                <td>{formatTime(f.failedAt)}</td>
                <td>{f.recordCount}</td>
                <td>{f.attempts}</td>
                <td>{f.error}</td>
                <td data-testid={`sf-status-${f.id}`}>{f.status}</td>
                <td data-testid={`sf-replay-${f.id}`}>
                  {last
                    ? `${last.outcome} ${formatTime(last.at)} by ${last.by}${last.error ? `: ${last.error}` : ''}`
                    : 'never'}
                </td>
                {mayReplay ? (
                  <td>
                    <ConfirmAction
                      label="Replay"
                      name={`Replay ${f.id}`}
                      question={`Replay the ${f.recordCount} records of failure ${f.id} to ${f.consumer}?`}
                      run={() =>
                        unwrap(
                          api.POST('/v1/stream-failures/{id}/replay', { params: { path: { id: f.id } } }),
                        )
                      }
                      onDone={list.reload}
                    />
                  </td>
                ) : null}
              </tr>
            );
          })}
        </tbody>
      </table>
      {list.data?.next ? (
        <button type="button" onClick={() => setPages([...pages, list.data!.next!])}>
          More
        </button>
      ) : null}
    </section>
  );
}
