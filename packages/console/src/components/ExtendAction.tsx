import { useId, useRef, useState } from 'react';
import { type Problem, problemOf } from '../lib/problem.ts';
import { ProblemBox } from './ProblemBox.tsx';

/**
 * Extend a session's timeslot (`POST /v1/sessions/{id}/extend`, issue 15 item 1) behind a
 * confirmation dialog: the minutes to add (1 to 1440, the API's bounds) and an optional reason.
 * What the API answers when it refuses (409 `extension-not-allowed` or `capacity-full`, 400 naming
 * the field) is shown in the dialog as it comes; the page is not left to guess the limits.
 */
export function ExtendAction(props: {
  sessionId: string;
  run: (minutes: number, reason: string | undefined) => Promise<unknown>;
  onDone?: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  const minutesId = useId();
  const reasonId = useId();
  const titleId = useId();
  const [minutes, setMinutes] = useState('15');
  const [reason, setReason] = useState('');
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);
  const open = () => {
    setProblem(null);
    setReason('');
    setMinutes('15');
    dialog.current?.showModal();
  };
  const confirm = async () => {
    setBusy(true);
    try {
      // Sent as typed (a number when it is one): the API validates and names the field otherwise.
      const n = Number(minutes);
      await props.run(
        minutes.trim() !== '' && Number.isFinite(n) ? n : Number.NaN,
        reason.trim() || undefined,
      );
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
      <button type="button" onClick={open}>
        Extend
      </button>
      <dialog ref={dialog} aria-labelledby={titleId}>
        <h3 id={titleId}>Extend session {props.sessionId}?</h3>
        <p>
          <label htmlFor={minutesId}>Minutes to add</label>
          <input
            id={minutesId}
            type="number"
            inputMode="numeric"
            min={1}
            max={1440}
            step={1}
            required
            value={minutes}
            onChange={(e) => setMinutes(e.target.value)}
          />
        </p>
        <p>
          <label htmlFor={reasonId}>Reason (optional)</label>
          <input id={reasonId} value={reason} onChange={(e) => setReason(e.target.value)} />
        </p>
        <ProblemBox problem={problem} />
        <div className="buttons">
          <button type="button" className="primary" disabled={busy} onClick={confirm}>
            Confirm extend
          </button>
          <button type="button" onClick={() => dialog.current?.close()}>
            Cancel
          </button>
        </div>
      </dialog>
    </>
  );
}
