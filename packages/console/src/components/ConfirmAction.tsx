import { useId, useRef, useState } from 'react';
import { type Problem, problemOf } from '../lib/problem.ts';
import { ProblemBox } from './ProblemBox.tsx';

/**
 * A command behind a confirmation dialog (native <dialog>: focus moves into it, Escape cancels).
 * An optional reason goes with the request; the API's problem+json is shown in the dialog.
 */
export function ConfirmAction(props: {
  label: string;
  /** The button's accessible name when the visible label is ambiguous in a list ("Drain sandbox-worker-1"). */
  name?: string;
  question: string;
  withReason?: boolean;
  danger?: boolean;
  run: (reason: string | undefined) => Promise<unknown>;
  onDone?: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const reasonId = useId();
  const titleId = useId();
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const open = () => {
    setProblem(null);
    setReason('');
    dialog.current?.showModal();
  };
  const confirm = async () => {
    setBusy(true);
    try {
      await props.run(reason.trim() || undefined);
      dialog.current?.close();
      props.onDone?.();
    } catch (e) {
      setProblem(problemOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className={props.danger ? 'danger' : ''} aria-label={props.name} onClick={open}>
        {props.label}
      </button>
      <dialog ref={dialog} aria-labelledby={titleId}>
        <h3 id={titleId}>{props.question}</h3>
        {props.withReason ? (
          <p>
            <label htmlFor={reasonId}>Reason (optional)</label>
            <input id={reasonId} value={reason} onChange={(e) => setReason(e.target.value)} />
          </p>
        ) : null}
        <ProblemBox problem={problem} />
        <div className="buttons">
          <button
            type="button"
            className={props.danger ? 'danger' : 'primary'}
            disabled={busy}
            onClick={confirm}
          >
            Confirm {props.label.toLowerCase()}
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </>
  );
}
