import type { Problem } from '../lib/problem.ts';

/** The API's problem+json as it came: title, status, detail, code and each field error. */
export function ProblemBox({ problem }: { problem: Problem | null }) {
  if (!problem) return null;
  return (
    <div role="alert" className="problem">
      <strong>
        {problem.title}
        {problem.status ? ` (${problem.status})` : ''}
      </strong>
      {problem.code ? <span className="code"> {problem.code}</span> : null}
      {problem.detail ? <p>{problem.detail}</p> : null}
      {problem.errors?.length ? (
        <ul>
          {problem.errors.map((e) => (
            <li key={`${e.path}:${e.message}`}>
              <code>{e.path}</code>: {e.message}
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
